//! Custom claims: an administrator sets them on an account; its access tokens carry
//! them from the next refresh or login, and the authorizer hands them to the handler.

use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use e2e::{PASSWORD, TestApp, TestResponse, request, unique_email};
use http::{HeaderValue, Method};
use serde_json::{Value, json};
use shared::authorizer::Authorizer;
use shared::time::UnixTime;

async fn patch(app: &TestApp, admin: &str, user_id: &str, body: Value) -> TestResponse {
    app.send(request(Method::PATCH, &format!("/admin/users/{user_id}"), Some(body), Some(admin))).await
}

async fn claims_reach_the_next_token_and_the_authorizer_context(app: TestApp) {
    let admin = app.sign_in_admin().await.text("access_token");
    let email = unique_email();
    let registered = app.register(&email, PASSWORD).await;
    let user_id = registered.body["user"]["id"].as_str().unwrap().to_owned();
    let claims = json!({ "tenant_id": "t-42", "seats": 5, "beta": true, "plan": { "tier": 2 } });
    let updated = patch(&app, &admin, &user_id, json!({ "claims": claims })).await;
    assert_eq!(updated.status, 200, "{:?}", updated.body);
    assert_eq!(updated.body["claims"], claims);
    assert_eq!(app.get(&format!("/admin/users/{user_id}"), Some(&admin)).await.body["claims"], claims);
    // The session goes on (a claims change revokes nothing); its next token carries them.
    let refreshed = app.refresh(&registered.text("refresh_token")).await;
    assert_eq!(refreshed.status, 200);
    let verifier = &app.gateway.accounts.verifier;
    let token = verifier.verify_access(&refreshed.text("access_token"), UnixTime::now()).unwrap();
    assert_eq!(Value::Object(token.custom.clone()), claims);
    let before = verifier.verify_access(&registered.text("access_token"), UnixTime::now()).unwrap();
    assert!(before.custom.is_empty(), "an earlier token is as it was signed");

    let mut event = ApiGatewayV2CustomAuthorizerV2Request::default();
    event.route_key = Some("GET /auth/me".into());
    let bearer = format!("Bearer {}", refreshed.text("access_token"));
    event.headers.insert("authorization", HeaderValue::from_str(&bearer).unwrap());
    let decision = Authorizer::new(verifier, None).http_api(&event, UnixTime::now()).await;
    assert!(decision.is_authorized);
    assert_eq!(decision.context["claim_tenant_id"], "t-42");
    assert_eq!(decision.context["claim_seats"], 5);
    assert_eq!(decision.context["claim_beta"], true);
    assert_eq!(decision.context["claim_plan"], r#"{"tier":2}"#, "nested values travel as JSON text");

    // `{}` removes them, from the next token on.
    assert_eq!(patch(&app, &admin, &user_id, json!({ "claims": {} })).await.status, 200);
    let later = app.login(&email, PASSWORD).await;
    assert!(verifier.verify_access(&later.text("access_token"), UnixTime::now()).unwrap().custom.is_empty());
}

async fn bad_claims_are_refused_naming_the_problem(app: TestApp) {
    let admin = app.sign_in_admin().await.text("access_token");
    let registered = app.register(&unique_email(), PASSWORD).await;
    let user_id = registered.body["user"]["id"].as_str().unwrap().to_owned();
    for (claims, named) in [
        (json!({ "role": "admin" }), "\"role\" is reserved"),
        (json!({ "sub": "another-user" }), "\"sub\" is reserved"),
        (json!({ "Tenant": "x" }), "\"Tenant\""),
        (json!({ "blob": "x".repeat(2100) }), "2048 bytes"),
        (json!(["tenant"]), "JSON object"),
    ] {
        let refused = patch(&app, &admin, &user_id, json!({ "claims": claims })).await;
        assert_eq!((refused.status, refused.code()), (400, "validation_failed"), "{claims}");
        let message = refused.body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(named), "{message}");
        assert_eq!(refused.body["errors"][0]["field"], "claims");
    }
    let viewed = app.get(&format!("/admin/users/{user_id}"), Some(&admin)).await;
    assert_eq!(viewed.body["claims"], json!({}), "nothing was written");
    let user = registered.text("access_token");
    let by_user = patch(&app, &user, &user_id, json!({ "claims": { "tenant_id": "mine" } })).await;
    assert_eq!(by_user.status, 403, "a user cannot set claims, not even their own");
}

/// Registered claim names that resource servers and API Gateway's JWT
/// authorizer read as authorization (RFC 9068 §2.2.3.1, RFC 8693, RFC 7800, OpenID Connect) are
/// refused like the service's own, each named, and the request writes nothing at all.
async fn claims_that_carry_authorization_are_reserved(app: TestApp) {
    let admin = app.sign_in_admin().await.text("access_token");
    let registered = app.register(&unique_email(), PASSWORD).await;
    let user_id = registered.body["user"]["id"].as_str().unwrap().to_owned();
    for name in [
        "scope",
        "scp",
        "roles",
        "groups",
        "entitlements",
        "permissions",
        "acr",
        "azp",
        "cnf",
        "act",
        "nonce",
        "auth_time",
        "at_hash",
        "c_hash",
        "idp",
        "org_id",
    ] {
        // Beside an acceptable claim and a change that would otherwise be made.
        let body = json!({ "disabled": true, "claims": { "tenant_id": "t-42", name: "admin" } });
        let refused = patch(&app, &admin, &user_id, body).await;
        assert_eq!((refused.status, refused.code()), (400, "validation_failed"), "{name}: {:?}", refused.body);
        assert_eq!(refused.body["errors"][0]["field"], "claims", "{name}");
        let message = refused.body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(&format!("\"{name}\" is reserved")), "{name}: {message}");
    }
    let viewed = app.get(&format!("/admin/users/{user_id}"), Some(&admin)).await;
    assert_eq!((viewed.body["claims"].clone(), viewed.body["disabled"].clone()), (json!({}), json!(false)));
    let refreshed = app.refresh(&registered.text("refresh_token")).await;
    assert_eq!(refreshed.status, 200, "nothing was revoked either");
    let token = app.gateway.accounts.verifier.verify_access(&refreshed.text("access_token"), UnixTime::now()).unwrap();
    assert!(token.custom.is_empty(), "{:?}", token.custom);
}

e2e::on_both_stores!(
    claims_reach_the_next_token_and_the_authorizer_context,
    bad_claims_are_refused_naming_the_problem,
    claims_that_carry_authorization_are_reserved
);
