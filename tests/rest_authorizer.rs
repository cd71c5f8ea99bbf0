//! The same authorizer answers REST API TOKEN and REQUEST events with IAM policies, and in
//! strict mode refuses access tokens revoked in DynamoDB.

use std::path::PathBuf;
use std::sync::Arc;

use e2e::{dynamo_store, keys, spawn_app_with, unique_email};
use serde_json::{Value, json};
use shared::authorizer::Authorizer;
use shared::domain::{Entitlements, Role, User};
use shared::store::Store;
use shared::time::UnixTime;

fn sample(name: &str) -> String {
    std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../samples").join(name)).unwrap()
}

fn user(role: Role) -> User {
    e2e::fixed_user(role)
}

fn resources(response: &Value) -> (String, Vec<String>) {
    let statement = &response["policyDocument"]["Statement"][0];
    let resources = match &statement["Resource"] {
        Value::Array(items) => items.iter().map(|item| item.as_str().unwrap().to_owned()).collect(),
        Value::String(one) => vec![one.clone()],
        other => panic!("{other}"),
    };
    (statement["Effect"].as_str().unwrap().to_owned(), resources)
}

const STAGE: &str = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod";

#[tokio::test]
async fn rest_events_get_policies_that_never_exceed_the_role() {
    let keys = keys();
    let authorizer = Authorizer::new(&keys.verifier, None);
    let now = UnixTime::now();
    for (role, expected) in [
        (
            Role::User,
            vec![
                format!("{STAGE}/GET/auth/me"),
                format!("{STAGE}/POST/auth/password"),
                format!("{STAGE}/POST/auth/email"),
                format!("{STAGE}/GET/auth/sessions"),
                format!("{STAGE}/DELETE/auth/sessions/*"),
                format!("{STAGE}/POST/auth/mfa/totp"),
                format!("{STAGE}/POST/auth/mfa/totp/confirm"),
                format!("{STAGE}/DELETE/auth/mfa/totp"),
                format!("{STAGE}/DELETE/auth/me"),
                format!("{STAGE}/GET/auth/identities"),
                format!("{STAGE}/POST/auth/identities/*"),
                format!("{STAGE}/DELETE/auth/identities/*"),
                format!("{STAGE}/POST/auth/passkeys/register/options"),
                format!("{STAGE}/POST/auth/passkeys/register"),
                format!("{STAGE}/GET/auth/passkeys"),
                format!("{STAGE}/PATCH/auth/passkeys/*"),
                format!("{STAGE}/DELETE/auth/passkeys/*"),
            ],
        ),
        (
            Role::Admin,
            vec![
                format!("{STAGE}/GET/auth/me"),
                format!("{STAGE}/POST/auth/password"),
                format!("{STAGE}/POST/auth/email"),
                format!("{STAGE}/GET/admin/users"),
                format!("{STAGE}/GET/admin/users/*"),
                format!("{STAGE}/PATCH/admin/users/*"),
                format!("{STAGE}/GET/auth/sessions"),
                format!("{STAGE}/DELETE/auth/sessions/*"),
                format!("{STAGE}/GET/admin/users/*/sessions"),
                format!("{STAGE}/DELETE/admin/users/*/sessions"),
                format!("{STAGE}/GET/admin/users/*/passkeys"),
                format!("{STAGE}/DELETE/admin/users/*/passkeys/*"),
                format!("{STAGE}/POST/auth/mfa/totp"),
                format!("{STAGE}/POST/auth/mfa/totp/confirm"),
                format!("{STAGE}/DELETE/auth/mfa/totp"),
                format!("{STAGE}/DELETE/admin/users/*/mfa"),
                format!("{STAGE}/GET/admin/roles"),
                format!("{STAGE}/GET/admin/roles/*"),
                format!("{STAGE}/PUT/admin/roles/*"),
                format!("{STAGE}/DELETE/admin/roles/*"),
                format!("{STAGE}/DELETE/admin/users/*"),
                format!("{STAGE}/GET/auth/identities"),
                format!("{STAGE}/POST/auth/identities/*"),
                format!("{STAGE}/DELETE/auth/identities/*"),
                format!("{STAGE}/POST/auth/passkeys/register/options"),
                format!("{STAGE}/POST/auth/passkeys/register"),
                format!("{STAGE}/GET/auth/passkeys"),
                format!("{STAGE}/PATCH/auth/passkeys/*"),
                format!("{STAGE}/DELETE/auth/passkeys/*"),
                format!("{STAGE}/DELETE/auth/me"),
            ],
        ),
    ] {
        let grant = keys.issuer.next_refresh("session-1".into(), now);
        let access = keys.issuer.issue(&user(role), &Entitlements::default(), &grant, now).unwrap().access_token;
        for event_file in ["authorizer-rest-token.json", "authorizer-rest-request.json"] {
            let event = sample(event_file).replace("REPLACE_WITH_ACCESS_TOKEN", &access);
            let response = serde_json::to_value(authorizer.handle(&event, now).await.unwrap()).unwrap();
            assert_eq!(response["principalId"], "0190a5b2-0000-7000-8000-000000000001", "{event_file}");
            assert_eq!(response["context"]["role"], role.as_str());
            let (effect, mut granted) = resources(&response);
            assert_eq!(effect, "Allow");
            granted.sort();
            let mut wanted = expected.clone();
            wanted.sort();
            assert_eq!(granted, wanted, "{event_file} as {role:?}");
        }
    }
}

#[tokio::test]
async fn rest_events_with_bad_tokens_get_an_explicit_deny() {
    let keys = keys();
    let authorizer = Authorizer::new(&keys.verifier, None);
    let now = UnixTime::now();
    let grant = keys.issuer.next_refresh("session-1".into(), now);
    let refresh = keys.issuer.issue(&user(Role::Admin), &Entitlements::default(), &grant, now).unwrap().refresh_token;
    for token in ["REPLACE_WITH_ACCESS_TOKEN", refresh.as_str(), ""] {
        for event_file in ["authorizer-rest-token.json", "authorizer-rest-request.json"] {
            let event = sample(event_file).replace("REPLACE_WITH_ACCESS_TOKEN", token);
            let response = serde_json::to_value(authorizer.handle(&event, now).await.unwrap()).unwrap();
            assert_eq!(resources(&response), ("Deny".to_owned(), vec![format!("{STAGE}/*")]), "{event_file}");
            assert_eq!(response["context"], json!({}));
        }
    }
    let malformed = json!({"type": "TOKEN", "authorizationToken": "Bearer x", "methodArn": "nonsense"});
    let response = serde_json::to_value(authorizer.handle(&malformed.to_string(), now).await.unwrap()).unwrap();
    assert_eq!(resources(&response).0, "Deny");
}

#[tokio::test]
async fn strict_mode_refuses_a_logged_out_access_token() {
    let store: Arc<dyn Store> = dynamo_store().await;
    let app = spawn_app_with(Arc::clone(&store), true);
    let email = unique_email();
    let registered = app.register(&email, e2e::PASSWORD).await;
    let access = registered.text("access_token");
    assert_eq!(app.get("/auth/me", Some(&access)).await.status, 200);
    // Local logout without sending the access token: the session's revocation alone blocks it.
    assert_eq!(app.logout(&registered.text("refresh_token"), "local", None).await.status, 204);
    let refused = app.get("/auth/me", Some(&access)).await;
    assert_eq!((refused.status, refused.body.clone()), (403, json!({"message": "Forbidden"})));

    // Global logout blocks the access tokens of every session.
    let one = app.login(&email, e2e::PASSWORD).await;
    let two = app.login(&email, e2e::PASSWORD).await;
    assert_eq!(app.get("/auth/me", Some(&one.text("access_token"))).await.status, 200);
    assert_eq!(app.logout(&two.text("refresh_token"), "global", None).await.status, 204);
    assert_eq!(app.get("/auth/me", Some(&one.text("access_token"))).await.status, 403);
}
