//! Session lifecycle beyond login and refresh: password change.

use e2e::{TestApp, TestResponse, request, unique_email};
use http::Method;
use serde_json::json;

const PASSWORD: &str = "correct horse battery staple";
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
    assert_eq!(app.login(&email, PASSWORD).await.status, 401);
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
    assert_eq!(anonymous.status, 401);
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

e2e::on_both_stores!(
    a_password_change_keeps_this_session_and_ends_the_others,
    a_password_change_needs_the_current_password_and_a_valid_new_one,
    a_logged_out_session_cannot_change_the_password,
);
