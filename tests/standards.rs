//! The standards for services behind us: the discovery document, RFC 7009 revocation
//! and RFC 7662 introspection, through the gateway on both stores.

use base64::Engine as _;
use bytes::Bytes;
use e2e::{
    INTROSPECTION_CLIENT, INTROSPECTION_SECRET, PASSWORD, PUBLIC_BASE_URL, TestApp, TestResponse, request, unique_email,
};
use http::{HeaderValue, Method};
use serde_json::{Value, json};
use shared::domain::Entitlements;
use shared::time::UnixTime;

const FORM: &str = "application/x-www-form-urlencoded";

fn form_request(path: &str, body: &str) -> shared::http::ApiRequest {
    let mut request = request(Method::POST, path, None, None);
    request.headers.insert("content-type", HeaderValue::from_static(FORM));
    request.body = Bytes::from(body.to_owned());
    request
}

fn basic(id: &str, secret: &str) -> HeaderValue {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
    HeaderValue::from_str(&format!("Basic {encoded}")).unwrap()
}

async fn revoke(app: &TestApp, token: &str) -> TestResponse {
    app.send(form_request("/auth/revoke", &format!("token={token}"))).await
}

async fn introspect(app: &TestApp, token: &str) -> TestResponse {
    let mut request = form_request("/auth/introspect", &format!("token={token}"));
    request.headers.insert("authorization", basic(INTROSPECTION_CLIENT, INTROSPECTION_SECRET));
    let response = app.send(request).await;
    assert_eq!(response.status, 200, "{:?}", response.body);
    assert_eq!(response.headers["cache-control"], "no-store");
    response
}

async fn signed_in(app: &TestApp) -> TestResponse {
    let email = unique_email();
    assert_eq!(app.register(&email, PASSWORD).await.status, 201);
    app.login(&email, PASSWORD).await
}

async fn discovery_names_our_urls_and_algorithms(app: TestApp) {
    let document = app.get("/.well-known/openid-configuration", None).await;
    assert_eq!(document.status, 200);
    assert_eq!(document.headers["cache-control"], "public, max-age=300");
    assert_eq!(document.body["issuer"], e2e::ISSUER);
    assert_eq!(document.body["jwks_uri"], format!("{PUBLIC_BASE_URL}/.well-known/jwks.json"));
    assert_eq!(document.body["revocation_endpoint"], format!("{PUBLIC_BASE_URL}/auth/revoke"));
    assert_eq!(document.body["introspection_endpoint"], format!("{PUBLIC_BASE_URL}/auth/introspect"));
    assert_eq!(document.body["id_token_signing_alg_values_supported"], json!(["EdDSA"]));
    assert_eq!(document.body["introspection_endpoint_auth_methods_supported"], json!(["client_secret_basic"]));
    let jwks = app.get("/.well-known/jwks.json", None).await;
    assert_eq!(jwks.headers["cache-control"], "public, max-age=300");
}

async fn revoking_a_refresh_token_ends_its_session(app: TestApp) {
    let tokens = signed_in(&app).await;
    let revoked = revoke(&app, &tokens.text("refresh_token")).await;
    assert_eq!((revoked.status, revoked.body.clone()), (200, Value::Null), "an empty body");
    let refresh = app.refresh(&tokens.text("refresh_token")).await;
    assert_eq!((refresh.status, refresh.code()), (401, "token_revoked"));
    // Again, and garbage, and a token of no kind of ours: the same answer, revealing nothing.
    for token in [tokens.text("refresh_token"), "garbage".into(), "eyJhbGciOiJub25lIn0.e30.".into()] {
        let again = revoke(&app, &token).await;
        assert_eq!((again.status, again.body.clone()), (200, Value::Null), "{token}");
    }
}

async fn revoking_an_access_token_makes_it_inactive(app: TestApp) {
    let tokens = signed_in(&app).await;
    let access = tokens.text("access_token");
    let active = introspect(&app, &access).await;
    assert_eq!(active.body["active"], true);
    assert_eq!(active.body["token_type"], "access_token");
    assert_eq!(active.body["sub"], tokens.body["user"]["id"]);
    assert_eq!(active.body["role"], "user");
    for claim in ["exp", "iat", "jti", "sid", "client_id"] {
        assert!(!active.body[claim].is_null(), "{claim} missing: {}", active.body);
    }
    let hinted = form_request("/auth/revoke", &format!("token={access}&token_type_hint=access_token"));
    assert_eq!(app.send(hinted).await.status, 200);
    assert_eq!(introspect(&app, &access).await.body, json!({ "active": false }));
    // The session itself goes on: the refresh token still works.
    assert_eq!(app.refresh(&tokens.text("refresh_token")).await.status, 200);
}

async fn introspection_answers_active_only_for_tokens_good_now(app: TestApp) {
    let tokens = signed_in(&app).await;
    let refresh = introspect(&app, &tokens.text("refresh_token")).await;
    assert_eq!(
        (refresh.body["active"].clone(), refresh.body["token_type"].clone()),
        (json!(true), json!("refresh_token"))
    );
    // A rotated (spent) refresh token is inactive; the new one is active.
    let rotated = app.refresh(&tokens.text("refresh_token")).await;
    assert_eq!(introspect(&app, &tokens.text("refresh_token")).await.body, json!({ "active": false }));
    assert_eq!(introspect(&app, &rotated.text("refresh_token")).await.body["active"], true);
    // A logged-out session's access token is inactive (its session is checked, strict or not).
    assert_eq!(app.logout(&rotated.text("refresh_token"), "local", None).await.status, 204);
    assert_eq!(introspect(&app, &rotated.text("access_token")).await.body, json!({ "active": false }));
    // Garbage; and for a live session (so that only the signature or the time is wrong): a
    // token signed by another key, and one of ours that has expired.
    let live = signed_in(&app).await;
    let claims = app.gateway.accounts.verifier.verify_access(&live.text("access_token"), UnixTime::now()).unwrap();
    let user = shared::domain::User { id: claims.sub.clone(), ..e2e::fixed_user(shared::domain::Role::User) };
    let ours = &app.gateway.accounts.issuer;
    let other_keys = e2e::keys();
    let sign = |issuer: &shared::tokens::TokenIssuer, at: UnixTime| {
        issuer
            .issue(&user, &Entitlements::default(), &issuer.continue_session(claims.sid.clone(), at.secs(), at), at)
            .unwrap()
            .access_token
    };
    let now = UnixTime::now();
    assert_eq!(introspect(&app, &sign(ours, now)).await.body["active"], true, "the same, signed now by us");
    let long_ago = UnixTime::from_secs(now.secs() - 7200);
    for token in ["garbage".to_owned(), sign(&other_keys.issuer, now), sign(ours, long_ago)] {
        assert_eq!(introspect(&app, &token).await.body, json!({ "active": false }));
    }
}

async fn introspection_needs_a_listed_client(app: TestApp) {
    let tokens = signed_in(&app).await;
    let body = format!("token={}", tokens.text("access_token"));
    for credentials in [None, Some(basic(INTROSPECTION_CLIENT, "wrong")), Some(basic("nobody", INTROSPECTION_SECRET))] {
        let mut request = form_request("/auth/introspect", &body);
        if let Some(credentials) = credentials.clone() {
            request.headers.insert("authorization", credentials);
        }
        let refused = app.send(request).await;
        assert_eq!((refused.status, refused.code()), (401, "invalid_client"), "{credentials:?}");
        assert!(refused.headers["www-authenticate"].to_str().unwrap().starts_with("Basic "));
        assert!(refused.body.get("active").is_none(), "nothing about the token");
    }
    // As sent by `curl -u`, Python requests, Go: not form-encoded, `+` standing for itself.
    let plus = ("plus-client", "a+secret+with/slashes+of+32+bytes==");
    let listed = format!("{}:{}", plus.0, shared::domain::sha256_hex(plus.1));
    let clients = shared::domain::IntrospectionClients::parse(&listed).unwrap();
    let mut raw = form_request("/auth/introspect", &body);
    raw.headers.insert("authorization", basic(plus.0, plus.1));
    let store = app.gateway.accounts.store.as_ref();
    let answered = shared::http::standards::introspect(store, &app.gateway.accounts.verifier, &clients, raw).await;
    assert_eq!(answered.status(), 200, "{}", answered.body());
    let mut bearer = form_request("/auth/introspect", &body);
    let access = format!("Bearer {}", tokens.text("access_token"));
    bearer.headers.insert("authorization", HeaderValue::from_str(&access).unwrap());
    assert_eq!(app.send(bearer).await.code(), "invalid_client", "a user's token is no client credential");
}

async fn only_the_oauth_routes_take_form_bodies(app: TestApp) {
    let email = unique_email();
    let form = format!("email={email}&password=correct+horse+battery+staple");
    for path in ["/auth/register", "/auth/login", "/auth/refresh", "/auth/logout", "/auth/password/forgot"] {
        let refused = app.send(form_request(path, &form)).await;
        assert_eq!((refused.status, refused.code()), (415, "unsupported_media_type"), "{path}");
    }
    // And the OAuth routes refuse JSON.
    let json = app.post("/auth/revoke", json!({ "token": "x" })).await;
    assert_eq!((json.status, json.code()), (415, "unsupported_media_type"));
    let missing = app.send(form_request("/auth/revoke", "token_type_hint=access_token")).await;
    assert_eq!((missing.status, missing.code()), (400, "validation_failed"));
}

/// Each client may make 1000 introspections in a calendar minute; the next minute opens again
/// (the rate's window does not slide along with a steady caller).
#[tokio::test]
async fn introspection_is_throttled_per_client_per_minute() {
    let store = e2e::memory_store();
    let keys = e2e::keys();
    let start = UnixTime::from_secs(30_000_000 * 60); // the start of a minute
    let token = "not-a-token";
    let ask = |client: &'static str, at: UnixTime| {
        let (store, keys) = (store.clone(), &keys);
        async move { shared::service::introspect(store.as_ref(), &keys.verifier, client, token, None, at).await }
    };
    for request in 0..1000u64 {
        let answer = ask("busy", UnixTime::from_millis(start.millis() + request * 55)).await;
        assert_eq!(answer, Ok(None), "request {request}");
    }
    let late = UnixTime::from_millis(start.millis() + 56_000);
    assert!(matches!(ask("busy", late).await, Err(shared::error::ApiError::TooManyAttempts { .. })));
    assert_eq!(ask("calm", late).await, Ok(None), "another client has its own budget");
    assert_eq!(ask("busy", start.plus_secs(60)).await, Ok(None), "a steady caller is served again next minute");
}

e2e::on_both_stores!(
    discovery_names_our_urls_and_algorithms,
    revoking_a_refresh_token_ends_its_session,
    revoking_an_access_token_makes_it_inactive,
    introspection_answers_active_only_for_tokens_good_now,
    introspection_needs_a_listed_client,
    only_the_oauth_routes_take_form_bodies,
);
