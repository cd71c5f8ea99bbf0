//! A session's `amr` is what its login earned, for its whole life: through every refresh, the
//! grace answer and a password change (a mutant of the refresh claims' methods answering "with a code" (`used_mfa` → `true`)
//! passed every test before, so a password-only session could have come out of its first
//! refresh claiming a second factor and fooled a resource server asking for step-up).

use e2e::{PASSWORD, TestApp, TestResponse, on_both_stores, request, unique_email};
use http::Method;
use serde_json::json;
use shared::domain::mfa::TotpKey;
use shared::time::UnixTime;

on_both_stores!(a_password_only_session_never_claims_a_second_factor, an_mfa_session_keeps_its_second_factor);

fn amr(app: &TestApp, tokens: &TestResponse) -> Vec<String> {
    app.gateway.accounts.verifier.verify_access(&tokens.text("access_token"), UnixTime::now()).unwrap().amr
}

/// Refresh, the grace answer to the just-spent token, a password change, and a refresh after it:
/// each answer's access token, in order.
async fn through_a_sessions_life(app: &TestApp, signed_in: TestResponse) -> Vec<TestResponse> {
    let refreshed = app.refresh(&signed_in.text("refresh_token")).await;
    assert_eq!(refreshed.status, 200, "{:?}", refreshed.body);
    let grace = app.refresh(&signed_in.text("refresh_token")).await;
    assert_eq!(grace.status, 200, "the grace answer: {:?}", grace.body);
    let change = json!({ "current_password": PASSWORD, "new_password": "another long passphrase" });
    let access = refreshed.text("access_token");
    let changed = app.send(request(Method::POST, "/auth/password", Some(change), Some(&access))).await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    let after = app.refresh(&changed.text("refresh_token")).await;
    assert_eq!(after.status, 200, "{:?}", after.body);
    vec![signed_in, refreshed, grace, changed, after]
}

async fn a_password_only_session_never_claims_a_second_factor(app: TestApp) {
    let signed_in = app.register(&unique_email(), PASSWORD).await;
    for (step, tokens) in through_a_sessions_life(&app, signed_in).await.iter().enumerate() {
        assert_eq!(amr(&app, tokens), ["pwd"], "step {step}");
    }
}

async fn an_mfa_session_keeps_its_second_factor(app: TestApp) {
    let email = unique_email();
    let registered = app.register(&email, PASSWORD).await;
    let link = app.mailed_token(&email, "/verify-email");
    assert_eq!(app.post("/auth/email/verify", json!({ "token": link })).await.status, 200);
    let access = registered.text("access_token");
    let started = app.send(request(Method::POST, "/auth/mfa/totp", None, Some(&access))).await;
    let key = TotpKey::from_base32(&started.text("secret")).unwrap();
    let confirm = json!({ "code": key.code_at(UnixTime::now().secs()), "current_password": PASSWORD });
    let renewed = app.send(request(Method::POST, "/auth/mfa/totp/confirm", Some(confirm), Some(&access))).await;
    assert_eq!(renewed.status, 200, "{:?}", renewed.body);
    assert_eq!(amr(&app, &renewed), ["pwd", "otp"], "the session that turned MFA on");
    // A login's second step, through its life (its password change ends the other session).
    let waiting = app.login(&email, PASSWORD).await;
    let code = key.code_at(UnixTime::now().secs() + 30);
    let second = app.post("/auth/mfa/verify", json!({ "mfa_token": waiting.text("mfa_token"), "code": code })).await;
    assert_eq!(second.status, 200, "{:?}", second.body);
    for (step, tokens) in through_a_sessions_life(&app, second).await.iter().enumerate() {
        assert_eq!(amr(&app, tokens), ["pwd", "otp"], "step {step}");
    }
}
