//! The holes an outside review found, each as the attack that opened it: throttling that holds
//! under concurrency without letting anyone lock a victim out, cutoffs that hold against racing
//! logins and dead sessions, spent tokens at logout, stale admin power, and ids no store knows.

use std::sync::Arc;
use std::time::Duration;

use e2e::{TestApp, TestResponse, request, unique_email};
use futures::future::join_all;
use http::Method;
use serde_json::json;
use shared::domain::{Budget, LoginThrottle, PasswordHasher, PasswordParams, Role};
use shared::store::UserChanges;
use shared::transport::DEVICE_COOKIE;

use e2e::PASSWORD;
const VICTIM_IP: &str = "198.51.100.7";
const ATTACKER_IP: &str = "203.0.113.66";

fn change_password(access_token: &str, current: &str, new: &str) -> shared::http::ApiRequest {
    let body = json!({ "current_password": current, "new_password": new });
    request(Method::POST, "/auth/password", Some(body), Some(access_token))
}

/// Locks that outlast a test (the default backoff starts at 1 s).
fn with_long_locks(app: TestApp) -> TestApp {
    let defaults = e2e::test_throttle();
    app.with_throttle(LoginThrottle { per_client: Budget { base_lock_secs: 60, ..defaults.per_client }, ..defaults })
}

/// 40 parallel wrong guesses at one account from one client: at most the free budget reaches
/// Argon2, the rest are refused before any hashing; and the victim is not locked out.
async fn parallel_guesses_cost_at_most_the_budget_and_lock_nobody_else_out(app: TestApp) {
    let app = with_long_locks(app);
    let email = unique_email();
    assert_eq!(app.register(&email, PASSWORD).await.status, 201);
    // The victim signed in on this device before: it holds a device cookie.
    let earlier = app.login_from(&email, PASSWORD, VICTIM_IP, None).await;
    assert_eq!(earlier.status, 200);
    let device = earlier.cookie(DEVICE_COOKIE).expect("a login sets the device cookie");

    let hasher = &app.gateway.accounts.hasher;
    let checks_before = hasher.computations();
    let guesses = (0..40).map(|_| app.login_from(&email, "wrong password", ATTACKER_IP, None));
    let answers: Vec<TestResponse> = join_all(guesses).await;
    let statuses: Vec<u16> = answers.iter().map(|answer| answer.status).collect();
    let hashed = hasher.computations() - checks_before;
    assert_eq!(hashed, 5, "Argon2 ran {hashed} times for 40 parallel guesses: {statuses:?}");
    assert_eq!(statuses.iter().filter(|status| **status == 401).count(), 5, "{statuses:?}");
    assert!(answers.iter().filter(|answer| answer.status != 401).all(|answer| answer.code() == "too_many_attempts"));

    // The attacker's client is locked out of that account...
    let attacker = app.login_from(&email, PASSWORD, ATTACKER_IP, None).await;
    assert_eq!((attacker.status, attacker.code()), (429, "too_many_attempts"));
    assert!(attacker.headers.contains_key("retry-after"));
    // ...the victim is not: from another address, or from the device they used before, even
    // behind the attacker's address.
    assert_eq!(app.login_from(&email, PASSWORD, VICTIM_IP, None).await.status, 200);
    let trusted = app.login_from(&email, PASSWORD, ATTACKER_IP, Some(&device)).await;
    assert_eq!(trusted.status, 200, "{:?}", trusted.body);
    // A password change with a live session is never blocked by others' login failures.
    let changed = app.send(change_password(&trusted.text("access_token"), PASSWORD, "a brand new passphrase")).await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
}

/// A device cookie counts only for the account it was issued for, and only as issued.
async fn device_cookies_are_per_account_and_unforgeable(app: TestApp) {
    let app = with_long_locks(app);
    let (alice, bob) = (unique_email(), unique_email());
    for email in [&alice, &bob] {
        assert_eq!(app.register(email, PASSWORD).await.status, 201);
    }
    let alices_device = app.login_from(&alice, PASSWORD, VICTIM_IP, None).await.cookie(DEVICE_COOKIE).unwrap();
    let forged = format!("{}x", &alices_device[..alices_device.len() - 1]);
    for _ in 0..5 {
        assert_eq!(app.login_from(&bob, "wrong password", ATTACKER_IP, None).await.status, 401);
    }
    for device in [alices_device.as_str(), forged.as_str(), "garbage"] {
        let refused = app.login_from(&bob, PASSWORD, ATTACKER_IP, Some(device)).await;
        assert_eq!((refused.status, refused.code()), (429, "too_many_attempts"), "{device}");
    }
}

/// Password spraying from one address across many accounts meets the address's own budget.
async fn spraying_from_one_address_meets_its_budget(app: TestApp) {
    let defaults = e2e::test_throttle();
    let app = app.with_throttle(LoginThrottle { per_ip: Budget { free: 3, ..defaults.per_ip }, ..defaults });
    for _ in 0..3 {
        assert_eq!(app.login_from(&unique_email(), "guess", ATTACKER_IP, None).await.status, 401);
    }
    let sprayed = app.login_from(&unique_email(), "guess", ATTACKER_IP, None).await;
    assert_eq!((sprayed.status, sprayed.code()), (429, "too_many_attempts"));
    assert_eq!(app.login_from(&unique_email(), "guess", VICTIM_IP, None).await.status, 401);
}

/// A login that checked the old password while a change was under way does not survive the
/// change: either it is refused, or its session is cut off with the others.
async fn a_login_racing_a_password_change_does_not_survive_it(app: TestApp) {
    // Slow enough (tens of ms per hash) that the login lands inside the change.
    let slow = PasswordHasher::new(PasswordParams { memory_kib: 4096, iterations: 24, parallelism: 1 }).unwrap();
    let app = app.with_hasher(slow);
    let email = unique_email();
    let registered = app.register(&email, PASSWORD).await;
    assert_eq!(registered.status, 201);
    let access = registered.text("access_token");
    let change = {
        let app = app.clone();
        tokio::spawn(async move { app.send(change_password(&access, PASSWORD, "the new passphrase")).await })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    let racing = app.login_from(&email, PASSWORD, VICTIM_IP, None).await;
    let changed = change.await.unwrap();
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    println!("racing login answered {}", racing.status);
    if racing.status == 200 {
        let after = app.refresh(&racing.text("refresh_token")).await;
        assert_eq!((after.status, after.code()), (401, "token_revoked"), "the stale login's session survived");
    } else {
        assert_eq!((racing.status, racing.code()), (401, "invalid_credentials"), "{:?}", racing.body);
    }
    assert_eq!(app.refresh(&changed.text("refresh_token")).await.status, 200);
}

/// A session ended by a global logout cannot change the password, nor be renewed by trying.
async fn a_globally_logged_out_session_cannot_change_the_password(app: TestApp) {
    let email = unique_email();
    assert_eq!(app.register(&email, PASSWORD).await.status, 201);
    let first = app.login(&email, PASSWORD).await;
    let second = app.login(&email, PASSWORD).await;
    assert_eq!(app.logout(&second.text("refresh_token"), "global", None).await.status, 204);
    let change = app.send(change_password(&first.text("access_token"), PASSWORD, "the new passphrase")).await;
    assert_eq!((change.status, change.code()), (401, "token_revoked"), "{:?}", change.body);
    assert!(change.body.get("refresh_token").is_none());
    let refreshed = app.refresh(&first.text("refresh_token")).await;
    assert_eq!((refreshed.status, refreshed.code()), (401, "token_revoked"));
    // The password did not change.
    assert_eq!(app.login(&email, PASSWORD).await.status, 200);
}

/// A refresh token two rotations old at logout is a replay: its session is revoked, and it
/// never logs out every session.
async fn a_spent_refresh_token_at_logout_is_reuse_not_a_global_logout(app: TestApp) {
    let email = unique_email();
    let registered = app.register(&email, PASSWORD).await;
    let spent = registered.text("refresh_token");
    let once = app.refresh(&spent).await;
    let twice = app.refresh(&once.text("refresh_token")).await;
    assert_eq!(twice.status, 200);
    let other = app.login(&email, PASSWORD).await;

    let logout = app.logout(&spent, "global", None).await;
    assert_eq!((logout.status, logout.code()), (401, "token_reused"));
    let replayed_session = app.refresh(&twice.text("refresh_token")).await;
    assert_eq!((replayed_session.status, replayed_session.code()), (401, "token_revoked"));
    assert_eq!(app.refresh(&other.text("refresh_token")).await.status, 200, "another session died");
}

/// After a password change, a token from before it cannot take the reuse grace answer.
async fn the_renewed_session_gives_no_grace_to_tokens_from_before(app: TestApp) {
    let email = unique_email();
    let registered = app.register(&email, PASSWORD).await;
    let parent = registered.text("refresh_token");
    let rotated = app.refresh(&parent).await;
    assert_eq!(rotated.status, 200);
    let changed = app.send(change_password(&rotated.text("access_token"), PASSWORD, "the new passphrase")).await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    let replay = app.refresh(&parent).await;
    assert_eq!((replay.status, replay.code()), (401, "token_reused"), "{:?}", replay.body);
}

/// Admin power ends when the account's role does, not when the token expires.
async fn a_demoted_or_disabled_admin_loses_admin_power_at_once(app: TestApp) {
    for change in [
        UserChanges { role: Some(Role::User), disabled: None, claims: None, roles: None },
        UserChanges { role: None, disabled: Some(true), claims: None, roles: None },
    ] {
        let email = unique_email();
        let registered = app.register(&email, PASSWORD).await;
        let admin_id = registered.body["user"]["id"].as_str().unwrap().to_owned();
        let store = Arc::clone(&app.gateway.accounts.store);
        let promote = UserChanges { role: Some(Role::Admin), disabled: None, claims: None, roles: None };
        store.update_user(&admin_id, &promote, None).await.unwrap();
        let token = app.login(&email, PASSWORD).await.text("access_token");
        let victim = app.register(&unique_email(), PASSWORD).await.body["user"]["id"].as_str().unwrap().to_owned();
        assert_eq!(app.get("/admin/users", Some(&token)).await.status, 200);

        store.update_user(&admin_id, &change, None).await.unwrap();
        let patch =
            request(Method::PATCH, &format!("/admin/users/{victim}"), Some(json!({"disabled": true})), Some(&token));
        let refused = app.send(patch).await;
        assert_eq!((refused.status, refused.code()), (403, "forbidden"), "{change:?}");
        assert!(!store.user_by_id(&victim).await.unwrap().unwrap().disabled);
        assert_eq!(app.get("/admin/users", Some(&token)).await.status, 403);
    }
}

/// An id no account can have is not found, on both stores alike (DynamoDB refuses such a key).
async fn an_over_long_or_malformed_id_is_not_found(app: TestApp) {
    let email = unique_email();
    let registered = app.register(&email, PASSWORD).await;
    let id = registered.body["user"]["id"].as_str().unwrap().to_owned();
    let promote = UserChanges { role: Some(Role::Admin), disabled: None, claims: None, roles: None };
    app.gateway.accounts.store.update_user(&id, &promote, None).await.unwrap();
    let token = app.login(&email, PASSWORD).await.text("access_token");
    for bad in ["x".repeat(2100), "not-a-uuid".to_owned()] {
        let read = app.get(&format!("/admin/users/{bad}"), Some(&token)).await;
        assert_eq!((read.status, read.code()), (404, "not_found"));
        let patch =
            request(Method::PATCH, &format!("/admin/users/{bad}"), Some(json!({"disabled": true})), Some(&token));
        assert_eq!(app.send(patch).await.status, 404);
    }
}

/// Every login sets the device cookie, in every token transport, with the attributes that keep
/// it this host's alone and out of scripts' reach.
async fn every_login_sets_a_device_cookie(app: TestApp) {
    let email = unique_email();
    assert_eq!(app.register(&email, PASSWORD).await.status, 201);
    let login = app.login(&email, PASSWORD).await;
    let header = login
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .find(|value| value.starts_with(&format!("{DEVICE_COOKIE}=")))
        .expect("a device cookie");
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/", "Max-Age=15552000"] {
        assert!(header.split("; ").any(|part| part == attribute), "{attribute} missing: {header}");
    }
    assert!(!header.contains("Domain"), "{header}");
}

e2e::on_both_stores!(
    parallel_guesses_cost_at_most_the_budget_and_lock_nobody_else_out,
    device_cookies_are_per_account_and_unforgeable,
    spraying_from_one_address_meets_its_budget,
    a_login_racing_a_password_change_does_not_survive_it,
    a_globally_logged_out_session_cannot_change_the_password,
    a_spent_refresh_token_at_logout_is_reuse_not_a_global_logout,
    the_renewed_session_gives_no_grace_to_tokens_from_before,
    a_demoted_or_disabled_admin_loses_admin_power_at_once,
    an_over_long_or_malformed_id_is_not_found,
    every_login_sets_a_device_cookie,
);
