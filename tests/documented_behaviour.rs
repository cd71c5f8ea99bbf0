//! README claims that had no test: the backoff's growth and cap with an explicit clock, password
//! change failures counting toward the throttle, `WWW-Authenticate` on token refusals, and the
//! JWK Set during a key rotation.

use std::sync::Arc;

use e2e::{TestApp, accounts, request, token_settings, unique_email};
use http::Method;
use serde_json::json;
use shared::domain::{Email, Entitlements, Password};
use shared::error::ApiError;
use shared::gateway::Gateway;
use shared::service::{self, ClientInfo};
use shared::store::Store;
use shared::time::UnixTime;
use shared::tokens::keys::{generate_ed25519, generate_p256};
use shared::tokens::{TokenIssuer, TokenVerifier, VerifyingKeys};

use e2e::PASSWORD;

fn presented(raw: &str) -> Password {
    Password::parse_presented(raw.to_owned()).unwrap()
}

/// Five free failures, then a lock of 1 s that doubles with each failure past the budget, up to
/// 15 minutes; each lock holds until its end and lapses then. The clock is the use case's `now`.
async fn backoff_grows_from_one_second_and_is_capped(store: Arc<dyn Store>) {
    let accounts = accounts(store);
    let email = Email::parse(&unique_email()).unwrap();
    let start = UnixTime::from_secs(1_800_000_000);
    service::register(
        &accounts,
        email.clone(),
        Password::parse_new(PASSWORD.into()).unwrap(),
        &ClientInfo::default(),
        None,
        start,
    )
    .await
    .unwrap();
    let client = ClientInfo { ip: Some("192.0.2.44".parse().unwrap()), device_token: None, user_agent: None };
    let login = |password: &'static str, at: UnixTime| {
        let (accounts, email, client) = (&accounts, email.clone(), &client);
        async move { service::login(accounts, Some(email), presented(password), client, None, at).await }
    };
    let mut now = start;
    for _ in 0..5 {
        assert!(matches!(login("wrong", now).await, Err(ApiError::InvalidCredentials)));
    }
    let mut locks = Vec::new();
    for _ in 0..12 {
        // Locked: refused (even with the right password) until the lock's end...
        let Err(ApiError::TooManyAttempts { retry_after_secs }) = login(PASSWORD, now).await else {
            panic!("not locked at {now:?}")
        };
        locks.push(retry_after_secs);
        // ...and one attempt may go once it has passed: another failure locks for twice as long.
        now = now.plus_secs(retry_after_secs);
        assert!(matches!(login("wrong", now).await, Err(ApiError::InvalidCredentials)));
    }
    assert_eq!(locks, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]);
    // Past the last lock the right password gets in, and the count starts again.
    now = now.plus_secs(900);
    assert!(login(PASSWORD, now).await.is_ok());
    assert!(matches!(login("wrong", now).await, Err(ApiError::InvalidCredentials)));
    assert!(login(PASSWORD, now).await.is_ok());
}

#[tokio::test]
async fn backoff_grows_from_one_second_and_is_capped_embedded() {
    backoff_grows_from_one_second_and_is_capped(e2e::memory_store()).await;
}

#[tokio::test]
async fn backoff_grows_from_one_second_and_is_capped_dynamodb() {
    backoff_grows_from_one_second_and_is_capped(e2e::dynamo_store().await).await;
}

/// Wrong current passwords at a password change count toward the session's own budget.
async fn password_change_failures_count_toward_the_throttle(app: TestApp) {
    let registered = app.register(&unique_email(), PASSWORD).await;
    let access = registered.text("access_token");
    let change = |current: &str| {
        let body = json!({ "current_password": current, "new_password": "another long passphrase" });
        app.send(request(Method::POST, "/auth/password", Some(body), Some(&access)))
    };
    for _ in 0..5 {
        let wrong = change("not my password").await;
        assert_eq!((wrong.status, wrong.code()), (401, "invalid_credentials"));
    }
    let locked = change(PASSWORD).await;
    assert_eq!((locked.status, locked.code()), (429, "too_many_attempts"), "{:?}", locked.body);
    assert!(locked.headers.contains_key("retry-after"));
}

/// Token refusals carry RFC 6750's challenge; a wrong password does not (it is no token).
async fn token_refusals_carry_www_authenticate(app: TestApp) {
    let email = unique_email();
    let registered = app.register(&email, PASSWORD).await;
    let challenge = "Bearer error=\"invalid_token\"";
    for refused in [app.refresh("not.a.token").await, app.refresh(&registered.text("access_token")).await] {
        assert_eq!((refused.status, refused.code()), (401, "invalid_token"));
        assert_eq!(refused.headers["www-authenticate"], challenge);
    }
    let spent = registered.text("refresh_token");
    app.refresh(&spent).await;
    // The second presentation is the grace answer; the third is reuse.
    assert_eq!(app.refresh(&spent).await.status, 200);
    let reused = app.refresh(&spent).await;
    assert_eq!((reused.status, reused.headers["www-authenticate"].to_str().unwrap()), (401, challenge));
    let wrong = app.login(&email, "wrong password").await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.headers.get("www-authenticate").is_none());
}

e2e::on_both_stores!(password_change_failures_count_toward_the_throttle, token_refusals_carry_www_authenticate);

/// During a rotation the set publishes every key (public members only), and tokens of either
/// key verify: the new key signs, the old one's tokens live until they expire.
#[tokio::test]
async fn the_jwks_serves_every_key_of_a_rotation() {
    let (old, new) = (generate_ed25519("old-key").unwrap(), generate_p256("new-key").unwrap());
    let set = json!({ "keys": [new.public_jwk, old.public_jwk] }).to_string();
    let keys = || VerifyingKeys::from_public_jwks(&set).unwrap();
    let (old_signing, _) = old.key_pair().unwrap();
    let (new_signing, _) = new.key_pair().unwrap();
    let old_issuer = TokenIssuer::new(token_settings(), old_signing);
    let app = e2e::spawn_app(e2e::memory_store());
    let gateway = Arc::into_inner(app.gateway).unwrap();
    let recovery = shared::service::Recovery {
        verifier: TokenVerifier::new(token_settings(), keys()),
        ..gateway.accounts.recovery
    };
    let accounts = shared::service::Accounts {
        issuer: TokenIssuer::new(token_settings(), new_signing),
        recovery,
        ..gateway.accounts
    };
    let app = TestApp { gateway: Arc::new(Gateway { accounts, ..gateway }), outbox: app.outbox, events: app.events };

    let jwks = app.get("/.well-known/jwks.json", None).await;
    assert_eq!(jwks.headers["cache-control"], "public, max-age=300");
    let published = jwks.body["keys"].as_array().unwrap();
    let kids: Vec<_> = published.iter().map(|key| key["kid"].as_str().unwrap()).collect();
    assert_eq!(kids, ["new-key", "old-key"]);
    assert!(published.iter().all(|key| key.get("d").is_none() && key["use"] == "sig"));

    let registered = app.register(&unique_email(), PASSWORD).await;
    assert_eq!(app.get("/auth/me", Some(&registered.text("access_token"))).await.status, 200);
    let user = shared::domain::User::new(
        Email::parse(registered.body["user"]["email"].as_str().unwrap()).unwrap(),
        String::new(),
        shared::domain::Role::User,
        UnixTime::now(),
    );
    let user = shared::domain::User { id: registered.body["user"]["id"].as_str().unwrap().to_owned(), ..user };
    let now = UnixTime::now();
    let old_token = old_issuer
        .issue(&user, &Entitlements::default(), &old_issuer.next_refresh("s".into(), now), now)
        .unwrap()
        .access_token;
    assert_eq!(app.get("/auth/me", Some(&old_token)).await.status, 200, "a token of the old key stopped working");
}
