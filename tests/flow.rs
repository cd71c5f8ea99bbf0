//! The contract's flows through the whole stack (gateway emulation → handlers → store), on
//! DynamoDB and on the embedded store.

use std::sync::Arc;

use e2e::{TestApp, request, spawn_app, unique_email};
use http::Method;
use serde_json::json;
use shared::domain::{Budget, LoginThrottle, PasswordHasher, PasswordParams};
use shared::store::AccessTokenRef;
use shared::time::UnixTime;

use e2e::PASSWORD;

async fn registration_login_me_refresh_logout(app: TestApp) {
    let email = unique_email();
    let registered = app.register(&format!("  {}  ", email.to_uppercase()), PASSWORD).await;
    assert_eq!(registered.status, 201, "{:?}", registered.body);
    assert_eq!(registered.headers["cache-control"], "no-store");
    assert_eq!(registered.body["token_type"], "Bearer");
    assert_eq!(registered.body["expires_in"], 900);
    assert_eq!(registered.body["refresh_expires_in"], 3600);
    assert_eq!(registered.body["user"]["email"], email.as_str());
    assert_eq!(registered.body["user"]["role"], "user");
    let user_id = registered.body["user"]["id"].clone();

    let logged_in = app.login(&email, PASSWORD).await;
    assert_eq!(logged_in.status, 200, "{:?}", logged_in.body);
    assert_eq!(logged_in.body["user"]["id"], user_id);
    let access = logged_in.text("access_token");

    let me = app.get("/auth/me", Some(&access)).await;
    assert_eq!(me.status, 200, "{:?}", me.body);
    assert_eq!(
        me.body,
        json!({ "id": user_id, "email": email, "role": "user", "email_verified": false, "mfa_enabled": false })
    );

    let refreshed = app.refresh(&logged_in.text("refresh_token")).await;
    assert_eq!(refreshed.status, 200, "{:?}", refreshed.body);
    assert_ne!(refreshed.text("refresh_token"), logged_in.text("refresh_token"));
    let newest = refreshed.text("refresh_token");
    assert_eq!(app.get("/auth/me", Some(&refreshed.text("access_token"))).await.status, 200);

    assert_eq!(app.logout(&newest, "local", None).await.status, 204);
    let after_logout = app.refresh(&newest).await;
    assert_eq!((after_logout.status, after_logout.code()), (401, "token_revoked"));
    // Logging out an already revoked session still succeeds.
    assert_eq!(app.logout(&newest, "local", None).await.status, 204);
    // The session from registration is untouched by the other session's logout.
    assert_eq!(app.refresh(&registered.text("refresh_token")).await.status, 200);
}

async fn unknown_email_and_wrong_password_look_the_same(app: TestApp) {
    let email = unique_email();
    assert_eq!(app.register(&email, PASSWORD).await.status, 201);
    let wrong_password = app.login(&email, "not the password").await;
    let unknown_email = app.login(&unique_email(), PASSWORD).await;
    let malformed_email = app.login("not an email", PASSWORD).await;
    assert_eq!(wrong_password.status, 401);
    assert_eq!(wrong_password.code(), "invalid_credentials");
    assert_eq!(wrong_password.body, unknown_email.body);
    assert_eq!(wrong_password.body, malformed_email.body);
    assert_eq!(wrong_password.headers, unknown_email.headers);
}

async fn one_account_per_email_whatever_the_case(app: TestApp) {
    let email = unique_email();
    assert_eq!(app.register(&email, PASSWORD).await.status, 201);
    let again = app.register(&email.to_uppercase(), "another password").await;
    assert_eq!((again.status, again.code()), (409, "email_taken"));
    // The first password still works; the second was never stored.
    assert_eq!(app.login(&email, PASSWORD).await.status, 200);
    assert_eq!(app.login(&email, "another password").await.status, 401);
}

/// A display name, a comment or another spelling of an address is never a second account, and
/// never reaches the `email` claim.
async fn an_address_has_one_account_whatever_its_spelling(app: TestApp) {
    let local = uuid::Uuid::new_v4().simple().to_string();
    let email = format!("{local}@example.com");
    for disguised in [format!("Mallory <{email}>"), format!("{email} (Mallory)"), format!("\"{local}\"@example.com")] {
        let refused = app.register(&disguised, PASSWORD).await;
        assert_eq!((refused.status, refused.code()), (400, "validation_failed"), "{disguised}");
    }
    let registered = app.register(&email, PASSWORD).await;
    assert_eq!(registered.status, 201);
    assert_eq!(registered.body["user"]["email"], email.as_str());
    // NFC and IDNA: the decomposed and the punycode spellings are the same address.
    let unicode = app.register(&format!("jose\u{301}.{local}@b\u{fc}cher.example"), PASSWORD).await;
    assert_eq!(unicode.status, 201, "{:?}", unicode.body);
    assert_eq!(unicode.body["user"]["email"], format!("jos\u{e9}.{local}@xn--bcher-kva.example"));
    let again = app.register(&format!("JOS\u{c9}.{local}@XN--BCHER-KVA.example"), PASSWORD).await;
    assert_eq!((again.status, again.code()), (409, "email_taken"));
    assert_eq!(app.login(&format!("jos\u{e9}.{local}@b\u{fc}cher.example"), PASSWORD).await.status, 200);
}

async fn bad_requests_get_problem_documents(app: TestApp) {
    let invalid = app.post("/auth/register", json!({ "email": "nope", "password": "short" })).await;
    assert_eq!((invalid.status, invalid.code()), (400, "validation_failed"));
    assert_eq!(invalid.headers["content-type"], "application/problem+json");
    assert_eq!(invalid.body["errors"].as_array().unwrap().len(), 2);
    assert!(!invalid.body.to_string().contains("short\""), "echoed the password");

    let missing = app.post("/auth/login", json!({})).await;
    assert_eq!((missing.status, missing.code()), (400, "validation_failed"));

    let long_password = "x".repeat(2000);
    let absurd = app.post("/auth/login", json!({ "email": unique_email(), "password": long_password })).await;
    assert_eq!((absurd.status, absurd.code()), (400, "validation_failed"));

    let mut wrong_type = request(Method::POST, "/auth/login", Some(json!({})), None);
    wrong_type.headers.insert("content-type", "text/plain".parse().unwrap());
    let wrong_type = app.send(wrong_type).await;
    assert_eq!((wrong_type.status, wrong_type.code()), (415, "unsupported_media_type"));

    let mut garbled = request(Method::POST, "/auth/refresh", Some(json!({})), None);
    garbled.body = bytes::Bytes::from_static(b"{\"refresh_token\": ");
    let garbled = app.send(garbled).await;
    assert_eq!((garbled.status, garbled.code()), (400, "malformed_json"));

    let mut huge = request(Method::POST, "/auth/register", Some(json!({})), None);
    huge.body = bytes::Bytes::from(format!("{{\"email\": \"{}\"}}", "a".repeat(17 * 1024)));
    let huge = app.send(huge).await;
    assert_eq!((huge.status, huge.code()), (413, "payload_too_large"));

    let nowhere = app.get("/auth/nowhere", None).await;
    assert_eq!((nowhere.status, nowhere.code()), (404, "not_found"));
}

async fn the_authorizer_guards_protected_routes(app: TestApp) {
    let registered = app.register(&unique_email(), PASSWORD).await;
    let missing = app.get("/auth/me", None).await;
    assert_eq!((missing.status, missing.body.clone()), (401, json!({ "message": "Unauthorized" })));
    for bad in [registered.text("refresh_token"), "garbage".into(), format!("{}x", registered.text("access_token"))] {
        let refused = app.get("/auth/me", Some(&bad)).await;
        assert_eq!((refused.status, refused.body.clone()), (403, json!({ "message": "Forbidden" })));
    }
}

async fn token_kinds_are_not_interchangeable(app: TestApp) {
    let registered = app.register(&unique_email(), PASSWORD).await;
    let refreshed_with_access = app.refresh(&registered.text("access_token")).await;
    assert_eq!((refreshed_with_access.status, refreshed_with_access.code()), (401, "invalid_token"));
    let logout_with_access = app.logout(&registered.text("access_token"), "local", None).await;
    assert_eq!((logout_with_access.status, logout_with_access.code()), (401, "invalid_token"));
    let bad_scope = app.logout(&registered.text("refresh_token"), "everywhere", None).await;
    assert_eq!((bad_scope.status, bad_scope.code()), (400, "validation_failed"));
}

async fn global_logout_ends_every_session_and_the_access_token(app: TestApp) {
    let email = unique_email();
    let first = app.register(&email, PASSWORD).await;
    let second = app.login(&email, PASSWORD).await;
    let access = second.text("access_token");
    let out = app.logout(&second.text("refresh_token"), "global", Some(&access)).await;
    assert_eq!(out.status, 204);
    for session in [&first, &second] {
        let refused = app.refresh(&session.text("refresh_token")).await;
        assert_eq!((refused.status, refused.code()), (401, "token_revoked"));
    }
    let claims = app.gateway.accounts.verifier.verify_access(&access, UnixTime::now()).unwrap();
    let token = AccessTokenRef { jti: claims.jti, session_id: claims.sid, user_id: claims.sub };
    assert!(app.gateway.accounts.store.is_access_revoked(&token, UnixTime::now()).await.unwrap());
    // A later login starts a fresh session that works.
    let later = app.login(&email, PASSWORD).await;
    assert_eq!(app.refresh(&later.text("refresh_token")).await.status, 200);
}

async fn a_reused_refresh_token_revokes_the_session(app: TestApp) {
    let registered = app.register(&unique_email(), PASSWORD).await;
    let original = registered.text("refresh_token");
    let rotated = app.refresh(&original).await;
    assert_eq!(rotated.status, 200);
    let newest = app.refresh(&rotated.text("refresh_token")).await;
    assert_eq!(newest.status, 200);
    // Two rotations old: reuse whatever the grace period (which covers only the previous token).
    let replay = app.refresh(&original).await;
    assert_eq!((replay.status, replay.code()), (401, "token_reused"));
    let after_reuse = app.refresh(&newest.text("refresh_token")).await;
    assert_eq!((after_reuse.status, after_reuse.code()), (401, "token_revoked"));
}

async fn jwks_serves_the_public_key(app: TestApp) {
    let jwks = app.get("/.well-known/jwks.json", None).await;
    assert_eq!(jwks.status, 200);
    assert_eq!(jwks.body["keys"][0]["kid"], "test-key");
    assert_eq!(jwks.body["keys"][0]["kty"], "OKP");
    assert!(jwks.body["keys"][0].get("d").is_none());
}

async fn a_login_upgrades_a_hash_made_with_older_parameters(app: TestApp) {
    let email = unique_email();
    let registered = app.register(&email, PASSWORD).await;
    let user_id = registered.body["user"]["id"].as_str().unwrap().to_owned();
    let stronger = PasswordParams { memory_kib: 512, iterations: 2, parallelism: 1 };
    let upgraded = spawn_app_with_hasher(&app, PasswordHasher::new(stronger).unwrap());
    assert_eq!(upgraded.login(&email, PASSWORD).await.status, 200);
    let stored = app.gateway.accounts.store.user_by_id(&user_id).await.unwrap().unwrap();
    let stored_hash = stored.password_hash.unwrap_or_default();
    assert!(stored_hash.starts_with("$argon2id$v=19$m=512,t=2,p=1$"), "{stored_hash}");
    assert_eq!(upgraded.login(&email, PASSWORD).await.status, 200);
}

async fn repeated_failures_lock_the_client_out_of_the_address(app: TestApp) {
    // A lock that outlasts the round trips below; the backoff's own timing (1 s, doubling, the
    // cap) is checked with an explicit clock in tests/claims.rs.
    let defaults = e2e::test_throttle();
    let app = app
        .with_throttle(LoginThrottle { per_client: Budget { base_lock_secs: 30, ..defaults.per_client }, ..defaults });
    let email = unique_email();
    assert_eq!(app.register(&email, PASSWORD).await.status, 201);
    let unknown = unique_email();
    for address in [&email, &unknown] {
        for _ in 0..5 {
            assert_eq!(app.login(address, "wrong password").await.status, 401);
        }
        let locked = app.login(address, PASSWORD).await;
        assert_eq!((locked.status, locked.code()), (429, "too_many_attempts"), "{address}");
        let retry_after: u64 = locked.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((29..=30).contains(&retry_after), "{retry_after}");
    }
    // Known and unknown addresses are locked alike: the lockout reveals nothing.
    assert_eq!(app.login(&email, PASSWORD).await.body, app.login(&unknown, PASSWORD).await.body);
    // Other addresses are never affected.
    let bystander = unique_email();
    assert_eq!(app.register(&bystander, PASSWORD).await.status, 201);
    assert_eq!(app.login(&bystander, PASSWORD).await.status, 200);
}

fn spawn_app_with_hasher(app: &TestApp, hasher: PasswordHasher) -> TestApp {
    spawn_app(Arc::clone(&app.gateway.accounts.store)).with_hasher(hasher)
}

e2e::on_both_stores!(
    registration_login_me_refresh_logout,
    unknown_email_and_wrong_password_look_the_same,
    one_account_per_email_whatever_the_case,
    an_address_has_one_account_whatever_its_spelling,
    bad_requests_get_problem_documents,
    the_authorizer_guards_protected_routes,
    token_kinds_are_not_interchangeable,
    global_logout_ends_every_session_and_the_access_token,
    a_reused_refresh_token_revokes_the_session,
    jwks_serves_the_public_key,
    a_login_upgrades_a_hash_made_with_older_parameters,
    repeated_failures_lock_the_client_out_of_the_address,
);
