//! Session lifecycle beyond login and refresh: password change, the reuse grace period.

use std::sync::Arc;

use e2e::{Keys, TestApp, TestResponse, dynamo_store, keys_with, memory_store, request, token_settings, unique_email};
use http::Method;
use serde_json::json;
use shared::domain::{Email, Password, SessionPolicy};
use shared::service::{self, Accounts, ClientInfo};
use shared::store::Store;
use shared::time::UnixTime;
use shared::tokens::Rebinding;

use e2e::PASSWORD;
const NEW_PASSWORD: &str = "a brand new passphrase";

async fn change(app: &TestApp, access: &str, current: &str, new: &str) -> TestResponse {
    let body = json!({ "current_password": current, "new_password": new });
    app.send(request(Method::POST, "/auth/password", Some(body), Some(access))).await
}

async fn a_password_change_keeps_this_session_and_ends_the_others(app: TestApp) {
    let email = unique_email();
    let other = app.register(&email, PASSWORD).await;
    let this = app.login(&email, PASSWORD).await;

    let changed = change(&app, &this.text("access_token"), PASSWORD, NEW_PASSWORD).await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    assert_eq!(changed.headers["cache-control"], "no-store");
    assert_eq!(changed.body["user"]["email"], email.as_str());
    // This session goes on with the new pair...
    let renewed = app.refresh(&changed.text("refresh_token")).await;
    assert_eq!(renewed.status, 200, "{:?}", renewed.body);
    assert_eq!(app.get("/auth/me", Some(&changed.text("access_token"))).await.status, 200);
    // ...every other session is over.
    let refused = app.refresh(&other.text("refresh_token")).await;
    assert_eq!((refused.status, refused.code()), (401, "token_revoked"));
    // Only the new password logs in.
    let old = app.login(&email, PASSWORD).await;
    assert_eq!((old.status, old.code()), (401, "invalid_credentials"));
    assert_eq!(app.login(&email, NEW_PASSWORD).await.status, 200);
}

async fn a_password_change_needs_the_current_password_and_a_valid_new_one(app: TestApp) {
    let email = unique_email();
    let session = app.register(&email, PASSWORD).await;
    let access = session.text("access_token");
    let wrong = change(&app, &access, "not my password", NEW_PASSWORD).await;
    assert_eq!((wrong.status, wrong.code()), (401, "invalid_credentials"));
    let weak = change(&app, &access, PASSWORD, "short").await;
    assert_eq!((weak.status, weak.code()), (400, "validation_failed"));
    let missing = app.send(request(Method::POST, "/auth/password", Some(json!({})), Some(&access))).await;
    assert_eq!((missing.status, missing.body["errors"].as_array().map(Vec::len)), (400, Some(2)));
    let anonymous = app.send(request(Method::POST, "/auth/password", Some(json!({})), None)).await;
    assert_eq!((anonymous.status, anonymous.body.clone()), (401, json!({ "message": "Unauthorized" })));
    // Nothing changed: the session and the old password still work.
    assert_eq!(app.refresh(&session.text("refresh_token")).await.status, 200);
    assert_eq!(app.login(&email, PASSWORD).await.status, 200);
}

async fn a_logged_out_session_cannot_change_the_password(app: TestApp) {
    let email = unique_email();
    let session = app.register(&email, PASSWORD).await;
    assert_eq!(app.logout(&session.text("refresh_token"), "local", None).await.status, 204);
    let refused = change(&app, &session.text("access_token"), PASSWORD, NEW_PASSWORD).await;
    assert_eq!((refused.status, refused.code()), (401, "token_revoked"));
    // Atomic: the password did not change either.
    assert_eq!(app.login(&email, PASSWORD).await.status, 200);
}

fn with_grace(app: TestApp, reuse_grace_secs: u64) -> TestApp {
    app.with_sessions(SessionPolicy { reuse_grace_secs })
}

async fn within_the_grace_period_the_just_spent_token_works_once(app: TestApp) {
    let app = with_grace(app, 10);
    let first = app.register(&unique_email(), PASSWORD).await;
    let original = first.text("refresh_token");
    let rotated = app.refresh(&original).await;
    assert_eq!(rotated.status, 200);
    // A second tab presents the same token a moment later: same session, nothing revoked.
    let second_tab = app.refresh(&original).await;
    assert_eq!(second_tab.status, 200, "{:?}", second_tab.body);
    // Both tabs now hold the session's current token, and either can go on.
    assert_eq!(app.refresh(&second_tab.text("refresh_token")).await.status, 200);
    // A third presentation of the original is reuse, and ends the session.
    let third = app.refresh(&original).await;
    assert_eq!((third.status, third.code()), (401, "token_reused"));
    // The first rotation's token was spent by the second tab's next refresh: a replay too.
    let ended = app.refresh(&rotated.text("refresh_token")).await;
    assert_eq!((ended.status, ended.code()), (401, "token_reused"));
}

async fn an_older_token_is_reuse_even_within_the_grace_period(app: TestApp) {
    let app = with_grace(app, 10);
    let first = app.register(&unique_email(), PASSWORD).await;
    let original = first.text("refresh_token");
    let second = app.refresh(&original).await;
    assert_eq!(app.refresh(&second.text("refresh_token")).await.status, 200);
    let replay = app.refresh(&original).await;
    assert_eq!((replay.status, replay.code()), (401, "token_reused"));
}

async fn concurrent_refreshes_within_the_grace_period(app: TestApp) {
    let app = with_grace(app, 10);
    let first = app.register(&unique_email(), PASSWORD).await;
    let token = first.text("refresh_token");
    let (one, two) = tokio::join!(app.refresh(&token), app.refresh(&token));
    assert_eq!((one.status, two.status), (200, 200), "{:?} {:?}", one.body, two.body);
    // Both answers carry the session's one current token: either tab can refresh next.
    assert_eq!(app.refresh(&two.text("refresh_token")).await.status, 200);
}

/// Rotation never extends a session past its absolute lifetime from the login.
async fn sessions_end_at_their_absolute_lifetime(store: Arc<dyn Store>) {
    let mut settings = token_settings();
    settings.refresh_ttl_secs = 60;
    settings.session_max_age_secs = 100;
    let Keys { issuer, verifier } = keys_with(settings);
    let base = e2e::accounts(store);
    let accounts = Accounts { issuer, recovery: shared::service::Recovery { verifier, ..base.recovery }, ..base };
    let start = UnixTime::from_secs(1_800_000_000);
    let email = Email::parse(&unique_email()).unwrap();
    let new = Password::parse_new(PASSWORD.into()).unwrap();
    let login = service::register(&accounts, email, new, &ClientInfo::default(), None, start)
        .await
        .unwrap()
        .signed_in()
        .unwrap();
    assert_eq!(login.refresh_expires_in, 60);

    let at = |secs| UnixTime::from_secs(start.secs() + secs);
    let second =
        service::refresh(&accounts, &login.refresh_token, Rebinding::UNCHANGED, &ClientInfo::default(), at(50))
            .await
            .unwrap();
    assert_eq!(second.refresh_expires_in, 50, "capped by the session's lifetime, not the refresh lifetime");
    let third =
        service::refresh(&accounts, &second.refresh_token, Rebinding::UNCHANGED, &ClientInfo::default(), at(99))
            .await
            .unwrap();
    assert_eq!(third.refresh_expires_in, 1);
    // At 102 the token itself still passes (its exp is 100, the leeway 5 s): only the session's
    // absolute lifetime refuses it.
    assert!(accounts.verifier.verify_refresh(&third.refresh_token, at(102)).is_ok());
    let over =
        service::refresh(&accounts, &third.refresh_token, Rebinding::UNCHANGED, &ClientInfo::default(), at(102)).await;
    assert!(matches!(over, Err(shared::error::ApiError::TokenExpired)), "{over:?}");
}

#[tokio::test]
async fn sessions_end_at_their_absolute_lifetime_embedded() {
    sessions_end_at_their_absolute_lifetime(memory_store()).await;
}

#[tokio::test]
async fn sessions_end_at_their_absolute_lifetime_dynamodb() {
    sessions_end_at_their_absolute_lifetime(dynamo_store().await).await;
}

e2e::on_both_stores!(
    a_password_change_keeps_this_session_and_ends_the_others,
    a_password_change_needs_the_current_password_and_a_valid_new_one,
    a_logged_out_session_cannot_change_the_password,
    within_the_grace_period_the_just_spent_token_works_once,
    an_older_token_is_reuse_even_within_the_grace_period,
    concurrent_refreshes_within_the_grace_period,
);
