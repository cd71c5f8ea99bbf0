//! The store contract: the same cases against the embedded store and against DynamoDB.

use std::sync::Arc;

use e2e::{dynamo_store, memory_store, unique_email};
use shared::domain::{Email, Role, Session, User};
use shared::store::{AccessTokenRef, LoginAttempts, Rotation, RotationOutcome, Store, StoreError, UserChanges};
use shared::time::UnixTime;

const NOW: UnixTime = UnixTime::from_millis(1_800_000_000_000);

fn user(email: &str) -> User {
    let hash = "$argon2id$v=19$m=256,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA".into();
    User::new(Email::parse(email).unwrap(), hash, Role::User, NOW)
}

fn session(user: &User, created: UnixTime) -> Session {
    Session::new(
        uuid::Uuid::new_v4().to_string(),
        user.id.clone(),
        uuid::Uuid::new_v4().to_string(),
        created.millis(),
        created.secs() + 3600,
    )
}

fn rotation(session: &Session, presented: &str, now: UnixTime) -> Rotation {
    Rotation {
        session_id: session.id.clone(),
        user_id: session.user_id.clone(),
        presented_jti: presented.to_owned(),
        next_jti: uuid::Uuid::new_v4().to_string(),
        next_expires_at: now.secs() + 3600,
        sessions_valid_after_ms: 0,
        grace_ms: 0,
        now,
    }
}

async fn a_user_is_found_by_id_and_by_any_case_of_email(store: Arc<dyn Store>) {
    let email = unique_email();
    let alice = user(&email);
    store.create_user(&alice, Some(&session(&alice, NOW))).await.unwrap();
    assert_eq!(store.user_by_id(&alice.id).await.unwrap(), Some(alice.clone()));
    let shouted = Email::parse(&email.to_uppercase()).unwrap();
    assert_eq!(store.user_by_email(&shouted).await.unwrap(), Some(alice));
    assert_eq!(store.user_by_email(&Email::parse(&unique_email()).unwrap()).await.unwrap(), None);
    assert_eq!(store.user_by_id("no-such-user").await.unwrap(), None);
}

async fn one_account_per_email(store: Arc<dyn Store>) {
    let email = unique_email();
    let first = user(&email);
    store.create_user(&first, Some(&session(&first, NOW))).await.unwrap();
    let second = user(&email);
    let second_session = session(&second, NOW);
    assert!(matches!(store.create_user(&second, Some(&second_session)).await, Err(StoreError::EmailTaken)));
    // Nothing of the refused registration was written.
    assert_eq!(store.user_by_id(&second.id).await.unwrap(), None);
    let refused = rotation(&second_session, &second_session.current_jti, NOW);
    assert_eq!(store.rotate_session(&refused).await.unwrap(), RotationOutcome::Revoked);
}

async fn rotation_spends_the_current_token_once(store: Arc<dyn Store>) {
    let alice = user(&unique_email());
    let first = session(&alice, NOW);
    store.create_user(&alice, Some(&first)).await.unwrap();
    let spend = rotation(&first, &first.current_jti, NOW);
    assert_eq!(store.rotate_session(&spend).await.unwrap(), RotationOutcome::Rotated);
    // The spent token again: reuse.
    let again = rotation(&first, &first.current_jti, NOW);
    assert_eq!(store.rotate_session(&again).await.unwrap(), RotationOutcome::Reused);
    // The newest token still works until the session is revoked.
    let next = rotation(&first, &spend.next_jti, NOW);
    assert_eq!(store.rotate_session(&next).await.unwrap(), RotationOutcome::Rotated);
    store.revoke_session(&first.id).await.unwrap();
    let after_revoke = rotation(&first, &next.next_jti, NOW);
    assert_eq!(store.rotate_session(&after_revoke).await.unwrap(), RotationOutcome::Revoked);
    // Revoking twice, or an unknown session, is not an error.
    store.revoke_session(&first.id).await.unwrap();
    store.revoke_session("no-such-session").await.unwrap();
}

async fn expired_unknown_or_foreign_sessions_do_not_rotate(store: Arc<dyn Store>) {
    let alice = user(&unique_email());
    let first = session(&alice, NOW);
    store.create_user(&alice, Some(&first)).await.unwrap();
    let late = UnixTime::from_secs(first.expires_at);
    assert_eq!(
        store.rotate_session(&rotation(&first, &first.current_jti, late)).await.unwrap(),
        RotationOutcome::Revoked
    );
    let mut foreign = rotation(&first, &first.current_jti, NOW);
    foreign.user_id = "someone-else".into();
    assert_eq!(store.rotate_session(&foreign).await.unwrap(), RotationOutcome::Revoked);
    let mut unknown = rotation(&first, &first.current_jti, NOW);
    unknown.session_id = "no-such-session".into();
    assert_eq!(store.rotate_session(&unknown).await.unwrap(), RotationOutcome::Revoked);
    // None of that spent the token.
    assert_eq!(
        store.rotate_session(&rotation(&first, &first.current_jti, NOW)).await.unwrap(),
        RotationOutcome::Rotated
    );
}

async fn account_wide_revocation_ends_older_sessions_only(store: Arc<dyn Store>) {
    let alice = user(&unique_email());
    let old = session(&alice, NOW);
    store.create_user(&alice, Some(&old)).await.unwrap();
    let cutoff = UnixTime::from_millis(NOW.millis() + 10);
    store.revoke_user_sessions(&alice.id, cutoff).await.unwrap();
    let stored = store.user_by_id(&alice.id).await.unwrap().unwrap();
    assert_eq!(stored.sessions_valid_after_ms, cutoff.millis());
    // An older cutoff never moves it back.
    store.revoke_user_sessions(&alice.id, NOW).await.unwrap();
    assert_eq!(store.user_by_id(&alice.id).await.unwrap().unwrap().sessions_valid_after_ms, cutoff.millis());

    let newer = session(&alice, UnixTime::from_millis(cutoff.millis() + 1));
    store.create_session(&newer).await.unwrap();
    let mut spend_old = rotation(&old, &old.current_jti, NOW);
    spend_old.sessions_valid_after_ms = stored.sessions_valid_after_ms;
    assert_eq!(store.rotate_session(&spend_old).await.unwrap(), RotationOutcome::Revoked);
    let mut spend_newer = rotation(&newer, &newer.current_jti, NOW);
    spend_newer.sessions_valid_after_ms = stored.sessions_valid_after_ms;
    assert_eq!(store.rotate_session(&spend_newer).await.unwrap(), RotationOutcome::Rotated);
}

async fn access_tokens_are_revoked_by_every_kind_of_revocation(store: Arc<dyn Store>) {
    let alice = user(&unique_email());
    let first = session(&alice, NOW);
    store.create_user(&alice, Some(&first)).await.unwrap();
    let token = |session: &Session| AccessTokenRef {
        jti: uuid::Uuid::new_v4().to_string(),
        session_id: session.id.clone(),
        user_id: alice.id.clone(),
    };

    let fresh = token(&first);
    assert!(!store.is_access_revoked(&fresh, NOW).await.unwrap());
    // Its own entry (logout with the access token) blocks it until the entry's expires_at...
    store.revoke_access_token(&fresh.jti, NOW.secs() + 60).await.unwrap();
    assert!(store.is_access_revoked(&fresh, NOW).await.unwrap());
    // ...and not after, though DynamoDB may not have deleted the entry yet.
    let later = UnixTime::from_secs(NOW.secs() + 60);
    assert!(!store.is_access_revoked(&fresh, later).await.unwrap());
    let stale = token(&first);
    store.revoke_access_token(&stale.jti, NOW.secs() - 1).await.unwrap();
    assert!(!store.is_access_revoked(&stale, NOW).await.unwrap());

    // Its session revoked (logout, reuse) or unknown.
    let second = session(&alice, NOW);
    store.create_session(&second).await.unwrap();
    store.revoke_session(&second.id).await.unwrap();
    assert!(store.is_access_revoked(&token(&second), NOW).await.unwrap());
    let mut orphan = token(&first);
    orphan.session_id = "no-such-session".into();
    assert!(store.is_access_revoked(&orphan, NOW).await.unwrap());

    // The account's cutoff (global logout, role change) and a disable.
    store.revoke_user_sessions(&alice.id, NOW).await.unwrap();
    assert!(store.is_access_revoked(&token(&first), NOW).await.unwrap());
    let third = session(&alice, NOW.plus_secs(1));
    store.create_session(&third).await.unwrap();
    assert!(!store.is_access_revoked(&token(&third), NOW).await.unwrap());
    let disable = UserChanges { role: None, disabled: Some(true) };
    store.update_user(&alice.id, &disable, None).await.unwrap();
    assert!(store.is_access_revoked(&token(&third), NOW).await.unwrap());
}

async fn password_hash_updates_in_place(store: Arc<dyn Store>) {
    let alice = user(&unique_email());
    store.create_user(&alice, Some(&session(&alice, NOW))).await.unwrap();
    store.set_password_hash(&alice.id, "$argon2id$new").await.unwrap();
    assert_eq!(store.user_by_id(&alice.id).await.unwrap().unwrap().password_hash, "$argon2id$new");
    // Unknown users are not created by an update.
    store.set_password_hash("ghost", "$argon2id$x").await.unwrap();
    assert_eq!(store.user_by_id("ghost").await.unwrap(), None);
}

async fn an_admin_change_can_revoke_older_sessions(store: Arc<dyn Store>) {
    let bob = user(&unique_email());
    store.create_user(&bob, None).await.unwrap();
    let before = session(&bob, NOW);
    store.create_session(&before).await.unwrap();
    let cutoff = UnixTime::from_millis(NOW.millis() + 5);
    let promote = UserChanges { role: Some(Role::Admin), disabled: None };
    let updated = store.update_user(&bob.id, &promote, Some(cutoff)).await.unwrap().unwrap();
    assert_eq!(
        (updated.role, updated.disabled, updated.sessions_valid_after_ms),
        (Role::Admin, false, cutoff.millis())
    );
    assert_eq!(store.user_by_id(&bob.id).await.unwrap(), Some(updated.clone()));
    let mut spend = rotation(&before, &before.current_jti, NOW);
    spend.sessions_valid_after_ms = updated.sessions_valid_after_ms;
    assert_eq!(store.rotate_session(&spend).await.unwrap(), RotationOutcome::Revoked);

    let enable = UserChanges { role: None, disabled: Some(false) };
    let unchanged_cutoff = store.update_user(&bob.id, &enable, None).await.unwrap().unwrap();
    assert_eq!(unchanged_cutoff.sessions_valid_after_ms, cutoff.millis());
    let disable = UserChanges { role: None, disabled: Some(true) };
    assert!(store.update_user(&bob.id, &disable, None).await.unwrap().unwrap().disabled);
    // The password hash is untouched by administration.
    assert_eq!(store.user_by_id(&bob.id).await.unwrap().unwrap().password_hash, bob.password_hash);
    // Unknown users are reported, not created.
    assert_eq!(store.update_user("ghost", &promote, Some(NOW)).await.unwrap(), None);
    assert_eq!(store.user_by_id("ghost").await.unwrap(), None);
}

async fn users_list_newest_first_in_pages(store: Arc<dyn Store>) {
    let mut created = Vec::new();
    for _ in 0..5 {
        let next = user(&unique_email());
        store.create_user(&next, None).await.unwrap();
        created.push(next.id);
    }
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..10 {
        let page = store.list_users(2, after.as_deref()).await.unwrap();
        assert!(page.users.len() <= 2);
        seen.extend(page.users.iter().map(|user| user.id.clone()));
        match page.next_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    created.reverse();
    assert_eq!(seen, created, "every user exactly once, newest first");
}

async fn login_failures_count_lock_and_lapse(store: Arc<dyn Store>) {
    let email = Email::parse(&unique_email()).unwrap();
    assert_eq!(store.login_attempts(&email, NOW).await.unwrap(), LoginAttempts::default());
    for expected in 1..=3 {
        assert_eq!(store.record_login_failure(&email, NOW, 900).await.unwrap(), expected);
    }
    let state = store.login_attempts(&email, NOW).await.unwrap();
    assert_eq!(state, LoginAttempts { locked_until: None, has_failures: true });

    let until = NOW.plus_secs(30);
    store.lock_login(&email, until).await.unwrap();
    assert_eq!(store.login_attempts(&email, NOW).await.unwrap().locked_until, Some(until));
    // The lock ends by itself.
    let later = NOW.plus_secs(31);
    assert_eq!(store.login_attempts(&email, later).await.unwrap().locked_until, None);
    // Past the window the record counts as absent and a new failure starts again at 1.
    let lapsed = NOW.plus_secs(901);
    assert_eq!(store.login_attempts(&email, lapsed).await.unwrap(), LoginAttempts::default());
    assert_eq!(store.record_login_failure(&email, lapsed, 900).await.unwrap(), 1);

    store.clear_login_failures(&email).await.unwrap();
    assert_eq!(store.login_attempts(&email, lapsed).await.unwrap(), LoginAttempts::default());
    // A lock longer than the window keeps the record alive until the lock ends.
    assert_eq!(store.record_login_failure(&email, NOW, 60).await.unwrap(), 1);
    store.lock_login(&email, NOW.plus_secs(600)).await.unwrap();
    assert!(store.login_attempts(&email, NOW.plus_secs(300)).await.unwrap().locked_until.is_some());
}

async fn the_just_spent_token_is_accepted_once_within_the_grace_period(store: Arc<dyn Store>) {
    let alice = user(&unique_email());
    let first = session(&alice, NOW);
    store.create_user(&alice, Some(&first)).await.unwrap();
    let with_grace = |presented: &str, now: UnixTime| Rotation { grace_ms: 10_000, ..rotation(&first, presented, now) };

    let spend = with_grace(&first.current_jti, NOW);
    assert_eq!(store.rotate_session(&spend).await.unwrap(), RotationOutcome::Rotated);
    // The just-spent token, moments later: the session's current token, nothing revoked.
    let again = with_grace(&first.current_jti, UnixTime::from_millis(NOW.millis() + 2_000));
    let expected = RotationOutcome::Grace { current_jti: spend.next_jti.clone(), expires_at: spend.next_expires_at };
    assert_eq!(store.rotate_session(&again).await.unwrap(), expected);
    // Only once.
    assert_eq!(store.rotate_session(&again).await.unwrap(), RotationOutcome::Reused);
    // The current token still rotates normally.
    let next = with_grace(&spend.next_jti, UnixTime::from_millis(NOW.millis() + 3_000));
    assert_eq!(store.rotate_session(&next).await.unwrap(), RotationOutcome::Rotated);
    // An older token is reuse even inside the window.
    let older = with_grace(&first.current_jti, UnixTime::from_millis(NOW.millis() + 4_000));
    assert_eq!(store.rotate_session(&older).await.unwrap(), RotationOutcome::Reused);
    // Outside the window the just-spent token is reuse too.
    let late = with_grace(&spend.next_jti, UnixTime::from_millis(NOW.millis() + 3_000 + 10_001));
    assert_eq!(store.rotate_session(&late).await.unwrap(), RotationOutcome::Reused);
}

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod embedded {
            $(#[tokio::test]
            async fn $case() {
                super::$case(super::memory_store()).await;
            })*
        }
        mod dynamodb {
            $(#[tokio::test]
            async fn $case() {
                super::$case(super::dynamo_store().await).await;
            })*
        }
    };
}

contract!(
    a_user_is_found_by_id_and_by_any_case_of_email,
    one_account_per_email,
    rotation_spends_the_current_token_once,
    expired_unknown_or_foreign_sessions_do_not_rotate,
    account_wide_revocation_ends_older_sessions_only,
    access_tokens_are_revoked_by_every_kind_of_revocation,
    password_hash_updates_in_place,
    an_admin_change_can_revoke_older_sessions,
    users_list_newest_first_in_pages,
    login_failures_count_lock_and_lapse,
    the_just_spent_token_is_accepted_once_within_the_grace_period,
);
