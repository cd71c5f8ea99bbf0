//! The password policy end to end on both stores, against a stand-in of the Have I Been Pwned
//! range API (tests/support/pwned.rs, the published format): `block` refuses a breached password
//! at registration, change and reset with the field's code, and only five hex characters of its
//! SHA-1 leave; `warn` accepts it and says so in the token response, as a login does; the
//! strength rule refuses a guessable one with zxcvbn's advice; an API that fails or hangs is
//! passed (fail-open) or, when configured, refused with a 503.

use std::time::Duration;

use e2e::proxy::{FaultProxy, Link};
use e2e::pwned::PwnedStandIn;
use e2e::{PASSWORD, TestApp, on_both_stores, unique_email};
use serde_json::{Value, json};
use shared::password_policy::{BreachCheck, BreachMode, OnBreachApiError, PasswordPolicy};

const BREACHED: &str = "iloveyou";

fn policy(api: &str, breach_mode: BreachMode, on_error: OnBreachApiError, min_strength: u8) -> PasswordPolicy {
    let breaches = Some(BreachCheck::over_http(api, Duration::from_millis(400)).unwrap());
    PasswordPolicy { breach_mode, breaches, on_error, min_strength }
}

fn field_error(body: &Value) -> (&str, &str) {
    let error = &body["errors"][0];
    (
        error["field"].as_str().unwrap_or_else(|| panic!("{body}")),
        error["code"].as_str().unwrap_or_else(|| panic!("{body}")),
    )
}

async fn block_refuses_a_breached_password_and_only_the_prefix_leaves(app: TestApp) {
    let pwned = PwnedStandIn::start().await;
    let app = app.with_password_policy(policy(&pwned.url(), BreachMode::Block, OnBreachApiError::Accept, 0));
    let email = unique_email();
    let refused = app.register(&email, BREACHED).await;
    assert_eq!((refused.status, refused.code()), (400, "validation_failed"), "{:?}", refused.body);
    assert_eq!(field_error(&refused.body), ("password", "password_breached"));
    assert!(refused.body["errors"][0]["message"].as_str().unwrap().contains("breach"));
    assert_eq!(app.login(&email, BREACHED).await.status, 401, "no account was made");
    let requests = pwned.requests();
    assert_eq!(requests.len(), 2, "the registration's check, and the login's");
    for request in &requests {
        let prefix = request.path.strip_prefix("/range/").unwrap();
        assert!(prefix.len() == 5 && prefix.bytes().all(|b| b.is_ascii_hexdigit()), "{}", request.path);
        assert!(request.padded, "Add-Padding: true");
    }

    let registered = app.register(&email, PASSWORD).await;
    assert_eq!(registered.status, 201);
    assert_eq!(registered.body.get("password_breached"), None, "said only when true");
    let access = registered.text("access_token");
    let change = json!({ "current_password": PASSWORD, "new_password": "sunshine" });
    let changed = app.send(e2e::request(http::Method::POST, "/auth/password", Some(change), Some(&access))).await;
    assert_eq!((changed.status, field_error(&changed.body)), (400, ("new_password", "password_breached")));

    app.post("/auth/password/forgot", json!({ "email": email })).await;
    let token = app.mailed_token(&email, "/reset-password");
    let reset = app.post("/auth/password/reset", json!({ "token": token, "new_password": "princess" })).await;
    assert_eq!((reset.status, field_error(&reset.body)), (400, ("new_password", "password_breached")));
    let reset =
        app.post("/auth/password/reset", json!({ "token": token, "new_password": "a sound new passphrase" })).await;
    assert_eq!(reset.status, 204, "a refused password leaves the link unspent: {:?}", reset.body);
}

async fn warn_accepts_and_flags_at_registration_and_login(app: TestApp) {
    let pwned = PwnedStandIn::start().await;
    let app = app.with_password_policy(policy(&pwned.url(), BreachMode::Warn, OnBreachApiError::Accept, 0));
    let email = unique_email();
    let registered = app.register(&email, BREACHED).await;
    assert_eq!(registered.status, 201);
    assert_eq!(registered.body["password_breached"], true);
    let login = app.login(&email, BREACHED).await;
    assert_eq!((login.status, &login.body["password_breached"]), (200, &json!(true)));
    let other = unique_email();
    assert_eq!(app.register(&other, PASSWORD).await.body.get("password_breached"), None);
    assert_eq!(app.login(&other, PASSWORD).await.body.get("password_breached"), None);
}

async fn a_guessable_password_is_refused_with_zxcvbn_s_advice(app: TestApp) {
    let app = app.with_password_policy(PasswordPolicy { min_strength: 3, ..PasswordPolicy::lengths_only() });
    let email = format!("ada.lovelace-{}@example.com", uuid::Uuid::new_v4().simple());
    let refused = app.register(&email, "adalovelace").await;
    assert_eq!((refused.status, field_error(&refused.body)), (400, ("password", "password_weak")));
    let message = refused.body["errors"][0]["message"].as_str().unwrap();
    assert!(message.starts_with("is too easy to guess (strength "), "{message}");
    assert_eq!(app.register(&email, "correct horse battery staple violin").await.status, 201);
}

async fn an_api_that_fails_or_hangs_is_passed_or_refused_as_configured(app: TestApp) {
    let pwned = PwnedStandIn::start().await;
    let proxy = FaultProxy::start(pwned.addr).await;
    let api = format!("http://{}", proxy.addr);
    proxy.set(Link::BlackHole);
    let app = app.with_password_policy(policy(&api, BreachMode::Block, OnBreachApiError::Accept, 0));
    let passed = app.register(&unique_email(), BREACHED).await;
    assert_eq!(passed.status, 201, "fail-open: an outage there does not stop sign-ups");
    assert_eq!(passed.body.get("password_breached"), None);
    let strict = app.with_password_policy(policy(&api, BreachMode::Block, OnBreachApiError::Refuse, 0));
    proxy.set(Link::Refused);
    let refused = strict.register(&unique_email(), PASSWORD).await;
    assert_eq!((refused.status, refused.code()), (503, "unavailable"));
}

on_both_stores!(
    block_refuses_a_breached_password_and_only_the_prefix_leaves,
    warn_accepts_and_flags_at_registration_and_login,
    a_guessable_password_is_refused_with_zxcvbn_s_advice,
    an_api_that_fails_or_hangs_is_passed_or_refused_as_configured,
);
