//! The account store's contract, the same on both stores.

use std::sync::Arc;

use e2e::unique_email;
use shared::domain::{Email, Role, Session, User};
use shared::store::{PasswordChange, Rotation, RotationOutcome, SessionRenewal, Store, StoreError, UserChanges};
use shared::time::UnixTime;

use super::{NOW, by_password, rotation, session, user};

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

async fn password_hash_updates_in_place(store: Arc<dyn Store>) {
    let alice = user(&unique_email());
    store.create_user(&alice, Some(&session(&alice, NOW))).await.unwrap();
    assert!(
        store.set_password_hash(&alice.id, alice.password_hash.as_deref().unwrap(), "$argon2id$new").await.unwrap()
    );
    assert_eq!(store.user_by_id(&alice.id).await.unwrap().unwrap().password_hash.as_deref(), Some("$argon2id$new"));
    // Unknown users are not created by an update.
    assert!(!store.set_password_hash("ghost", "$argon2id$old", "$argon2id$x").await.unwrap());
    assert_eq!(store.user_by_id("ghost").await.unwrap(), None);
}

async fn an_admin_change_can_revoke_older_sessions(store: Arc<dyn Store>) {
    let bob = user(&unique_email());
    store.create_user(&bob, None).await.unwrap();
    let before = session(&bob, NOW);
    store.start_session(&before, &by_password(&bob)).await.unwrap();
    let cutoff = UnixTime::from_millis(NOW.millis() + 5);
    let promote = UserChanges { role: Some(Role::Admin), disabled: None, claims: None, roles: None };
    let updated = store.update_user(&bob.id, &promote, Some(cutoff)).await.unwrap().unwrap();
    assert_eq!(
        (updated.role, updated.disabled, updated.sessions_valid_after_ms),
        (Role::Admin, false, cutoff.millis())
    );
    assert_eq!(store.user_by_id(&bob.id).await.unwrap(), Some(updated.clone()));
    let mut spend = rotation(&before, &before.current_jti, NOW);
    spend.sessions_valid_after_ms = updated.sessions_valid_after_ms;
    assert_eq!(store.rotate_session(&spend).await.unwrap(), RotationOutcome::Revoked);

    let enable = UserChanges { role: None, disabled: Some(false), claims: None, roles: None };
    let unchanged_cutoff = store.update_user(&bob.id, &enable, None).await.unwrap().unwrap();
    assert_eq!(unchanged_cutoff.sessions_valid_after_ms, cutoff.millis());
    let disable = UserChanges { role: None, disabled: Some(true), claims: None, roles: None };
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

fn password_change(user: &User, session: &Session, cutoff: UnixTime) -> PasswordChange {
    PasswordChange {
        user_id: user.id.clone(),
        credential_epoch: user.credential_epoch,
        sessions_started: user.sessions_started,
        new_hash: "$argon2id$changed".into(),
        renewal: SessionRenewal {
            session_id: session.id.clone(),
            session_created_ms: session.created_ms,
            cutoff,
            next_jti: uuid::Uuid::new_v4().to_string(),
            expires_at: cutoff.secs() + 3600,
            methods: session.methods,
        },
    }
}

/// A password change renews the caller's session past its cutoff (with no grace left from the
/// old chain) and ends the others, all at once; with the account or session not as read it
/// writes nothing.
async fn a_password_change_commits_only_over_what_it_read(store: Arc<dyn Store>) {
    let alice = user(&unique_email());
    let mine = session(&alice, NOW);
    store.create_user(&alice, Some(&mine)).await.unwrap();
    let other = session(&alice, NOW);
    assert!(store.start_session(&other, &by_password(&alice)).await.unwrap());
    let alice = store.user_by_id(&alice.id).await.unwrap().unwrap();
    assert_eq!(alice.sessions_started, 1);
    // The caller's session rotated once: its previous token could claim grace.
    let spend = Rotation { grace_ms: 10_000, ..rotation(&mine, &mine.current_jti, NOW) };
    assert_eq!(store.rotate_session(&spend).await.unwrap(), RotationOutcome::Rotated);

    let cutoff = NOW.plus_secs(1);
    // Not as read: a credential event since, another count of sessions, another session incarnation.
    let stale_hash =
        PasswordChange { credential_epoch: alice.credential_epoch + 1, ..password_change(&alice, &mine, cutoff) };
    let raced = PasswordChange { sessions_started: 0, ..password_change(&alice, &mine, cutoff) };
    let mut replaced = password_change(&alice, &mine, cutoff);
    replaced.renewal.session_created_ms = mine.created_ms + 1;
    for refused in [stale_hash, raced, replaced] {
        assert!(!store.change_password(&refused).await.unwrap(), "{refused:?}");
        assert_eq!(store.user_by_id(&alice.id).await.unwrap().unwrap(), alice, "a refused change wrote");
    }

    let change = password_change(&alice, &mine, cutoff);
    assert!(store.change_password(&change).await.unwrap());
    let changed = store.user_by_id(&alice.id).await.unwrap().unwrap();
    assert_eq!(
        (changed.password_hash.as_deref(), changed.sessions_valid_after_ms),
        (Some("$argon2id$changed"), cutoff.millis())
    );
    let (renewed, revoked) = store.session(&mine.id).await.unwrap().unwrap();
    assert_eq!(
        (renewed.current_jti.as_str(), renewed.created_ms, revoked),
        (change.renewal.next_jti.as_str(), cutoff.millis() + 1, false)
    );
    assert_eq!(renewed.previous_jti, None, "grace left over from before the change");
    // The renewed session rotates past the cutoff; the other one is cut off.
    let at = cutoff.plus_secs(1);
    let next =
        Rotation { sessions_valid_after_ms: cutoff.millis(), ..rotation(&renewed, &change.renewal.next_jti, at) };
    assert_eq!(store.rotate_session(&next).await.unwrap(), RotationOutcome::Rotated);
    let old = Rotation { sessions_valid_after_ms: cutoff.millis(), ..rotation(&other, &other.current_jti, at) };
    assert_eq!(store.rotate_session(&old).await.unwrap(), RotationOutcome::Revoked);
    // The pre-change token of the caller's session is reuse, not grace.
    let parent = Rotation {
        grace_ms: 10_000,
        sessions_valid_after_ms: cutoff.millis(),
        ..rotation(&mine, &mine.current_jti, at)
    };
    assert_eq!(store.rotate_session(&parent).await.unwrap(), RotationOutcome::Reused);
}

e2e::on_both_store_adapters!(
    a_user_is_found_by_id_and_by_any_case_of_email,
    one_account_per_email,
    password_hash_updates_in_place,
    an_admin_change_can_revoke_older_sessions,
    users_list_newest_first_in_pages,
    a_password_change_commits_only_over_what_it_read,
    a_deletion_takes_the_account_as_read_with_its_guard,
);

async fn a_deletion_takes_the_account_as_read_with_its_guard(store: Arc<dyn Store>) {
    use shared::store::AccountDeletion;
    let email = unique_email();
    let alice = user(&email);
    let live = session(&alice, NOW);
    store.create_user(&alice, Some(&live)).await.unwrap();
    // A credential event since the read: refused, nothing written.
    let stale = AccountDeletion { credential_epoch: alice.credential_epoch + 1, ..AccountDeletion::of(&alice) };
    assert!(!store.delete_user(&stale).await.unwrap());
    let other_roles = AccountDeletion { roles: vec!["01a2f000-role".into()], ..AccountDeletion::of(&alice) };
    assert!(!store.delete_user(&other_roles).await.unwrap());
    assert!(store.user_by_id(&alice.id).await.unwrap().is_some());
    assert!(store.delete_user(&AccountDeletion::of(&alice)).await.unwrap());
    assert_eq!(store.user_by_id(&alice.id).await.unwrap(), None);
    assert!(!store.delete_user(&AccountDeletion::of(&alice)).await.unwrap(), "gone already");
    // The live session's item goes on request; the address is free again.
    assert_eq!(store.forget_sessions(&alice.id).await.unwrap(), 1);
    assert_eq!(store.session(&live.id).await.unwrap(), None);
    let again = user(&email);
    store.create_user(&again, None).await.unwrap();
    assert_eq!(store.user_by_email(&Email::parse(&email).unwrap()).await.unwrap().map(|user| user.id), Some(again.id));
}
