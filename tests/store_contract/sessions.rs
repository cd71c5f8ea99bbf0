//! The session store's contract (and the authorizer's revocation check), the same on both stores.

use std::sync::Arc;

use e2e::unique_email;
use shared::domain::{Role, SeenFrom, Session, User};
use shared::store::{
    AccessTokenRef, KeptSession, OwnedSession, Rotation, RotationOutcome, SessionCursor, SessionEnd, SessionListing,
    Store, UserChanges,
};
use shared::time::UnixTime;

use super::{NOW, by_password, rotation, session, user};

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
    // A login after the global logout checks the account as it is now.
    let alice = store.user_by_id(&alice.id).await.unwrap().unwrap();
    assert!(store.start_session(&newer, &by_password(&alice)).await.unwrap());
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
    store.start_session(&second, &by_password(&alice)).await.unwrap();
    store.revoke_session(&second.id).await.unwrap();
    assert!(store.is_access_revoked(&token(&second), NOW).await.unwrap());
    let mut orphan = token(&first);
    orphan.session_id = "no-such-session".into();
    assert!(store.is_access_revoked(&orphan, NOW).await.unwrap());

    // The account's cutoff (global logout, role change) and a disable.
    store.revoke_user_sessions(&alice.id, NOW).await.unwrap();
    assert!(store.is_access_revoked(&token(&first), NOW).await.unwrap());
    let third = session(&alice, NOW.plus_secs(1));
    let alice = store.user_by_id(&alice.id).await.unwrap().unwrap();
    assert!(store.start_session(&third, &by_password(&alice)).await.unwrap());
    assert!(!store.is_access_revoked(&token(&third), NOW).await.unwrap());
    let disable = UserChanges { role: None, disabled: Some(true), claims: None, roles: None };
    store.update_user(&alice.id, &disable, None).await.unwrap();
    assert!(store.is_access_revoked(&token(&third), NOW).await.unwrap());
}

/// A login's session is written only while the account is as the login's check saw it: a
/// credential event since (here a sign-out everywhere) makes the check stale.
async fn a_session_needs_the_verified_hash_still_in_place(store: Arc<dyn Store>) {
    let alice = user(&unique_email());
    store.create_user(&alice, None).await.unwrap();
    assert!(store.start_session(&session(&alice, NOW), &by_password(&alice)).await.unwrap());
    store.revoke_user_sessions(&alice.id, NOW).await.unwrap();
    let stale = session(&alice, NOW.plus_secs(1));
    assert!(!store.start_session(&stale, &by_password(&alice)).await.unwrap(), "a stale check started a session");
    assert_eq!(store.session(&stale.id).await.unwrap(), None);
    // A rehash over a hash that changed meanwhile writes nothing.
    assert!(
        store.set_password_hash(&alice.id, alice.password_hash.as_deref().unwrap(), "$argon2id$changed").await.unwrap()
    );
    assert!(
        !store.set_password_hash(&alice.id, alice.password_hash.as_deref().unwrap(), "$argon2id$rehash").await.unwrap()
    );
    assert_eq!(store.user_by_id(&alice.id).await.unwrap().unwrap().password_hash.as_deref(), Some("$argon2id$changed"));
    let disable = UserChanges { role: None, disabled: Some(true), claims: None, roles: None };
    store.update_user(&alice.id, &disable, None).await.unwrap();
    let fresh = store.user_by_id(&alice.id).await.unwrap().unwrap();
    assert!(!store.start_session(&session(&alice, NOW.plus_secs(2)), &by_password(&fresh)).await.unwrap());
}

/// Cutoffs only ever rise, whichever write sets them.
async fn cutoffs_only_rise(store: Arc<dyn Store>) {
    let alice = user(&unique_email());
    store.create_user(&alice, None).await.unwrap();
    let later = UnixTime::from_millis(NOW.millis() + 10_000);
    store.revoke_user_sessions(&alice.id, later).await.unwrap();
    let promote = UserChanges { role: Some(Role::Admin), disabled: None, claims: None, roles: None };
    let updated = store.update_user(&alice.id, &promote, Some(NOW)).await.unwrap().unwrap();
    assert_eq!((updated.role, updated.sessions_valid_after_ms), (Role::Admin, later.millis()));
    assert_eq!(store.user_by_id(&alice.id).await.unwrap().unwrap(), updated);
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

/// The session list: live sessions only (not revoked, reused, expired or cut off), newest
/// first, in pages; a refresh records its client and the time of use.
async fn sessions_list_live_ones_newest_first_in_pages(store: Arc<dyn Store>) {
    let owner = user(&unique_email());
    let other = user(&unique_email());
    store.create_user(&owner, None).await.unwrap();
    store.create_user(&other, None).await.unwrap();
    let mut started = Vec::new();
    for offset in 1..=5 {
        let mut login = session(&owner, NOW.plus_secs(offset));
        login.seen_from = SeenFrom::new(Some(&format!("login-{offset}")), None);
        assert!(store.start_session(&login, &by_password(&owner)).await.unwrap());
        started.push(login);
    }
    let foreign = session(&other, NOW.plus_secs(3));
    assert!(store.start_session(&foreign, &by_password(&other)).await.unwrap());
    // Logged out, reused (revoked for it), expired by the clock the list is asked with.
    store.revoke_session(&started[1].id).await.unwrap();
    assert_eq!(store.end_session(&started[3].id, "not-the-current-jti").await.unwrap(), SessionEnd::Spent);
    let short = Session { expires_at: NOW.secs() + 100, ..session(&owner, NOW.plus_secs(6)) };
    assert!(store.start_session(&short, &by_password(&owner)).await.unwrap());
    let at = NOW.plus_secs(200);
    let refreshed = &started[4];
    let rotation = rotation(refreshed, &refreshed.current_jti, NOW.plus_secs(150));
    assert_eq!(store.rotate_session(&rotation).await.unwrap(), RotationOutcome::Rotated);

    let listing =
        |limit, after| SessionListing { user_id: owner.id.clone(), sessions_valid_after_ms: 0, now: at, limit, after };
    let all = store.list_sessions(&listing(50, None)).await.unwrap();
    let ids: Vec<_> = all.sessions.iter().map(|session| session.id.as_str()).collect();
    assert_eq!(ids, [started[4].id.as_str(), started[2].id.as_str(), started[0].id.as_str()]);
    assert_eq!(all.next_after, None);
    let listed = &all.sessions[0];
    assert_eq!(listed.last_used_ms, NOW.plus_secs(150).millis());
    assert_eq!(listed.seen_from, rotation.seen_from);
    assert_eq!(all.sessions[1].seen_from.user_agent.as_deref(), Some("login-3"));
    assert_eq!(all.sessions[1].last_used_ms, all.sessions[1].created_ms);

    // Pages of one: each continues where the last ended, and the last says no more.
    let mut paged = Vec::new();
    let mut after = None;
    for _ in 0..10 {
        let page = store.list_sessions(&listing(1, after)).await.unwrap();
        paged.extend(page.sessions.into_iter().map(|session| session.id));
        after = page.next_after;
        if after.is_none() {
            break;
        }
    }
    assert_eq!(paged, ids);

    // An account-wide cutoff at the first login hides it.
    let cut = SessionListing { sessions_valid_after_ms: started[0].created_ms, ..listing(50, None) };
    let ids: Vec<_> = store.list_sessions(&cut).await.unwrap().sessions.into_iter().map(|session| session.id).collect();
    assert_eq!(ids, [started[4].id.clone(), started[2].id.clone()]);

    // A cursor from before the cutoff rose (or made up) ends the list; it is no store fault.
    let stale = SessionCursor { created_ms: started[0].created_ms, session_id: started[0].id.clone() };
    let past_cut = store.list_sessions(&SessionListing { after: Some(stale), ..cut.clone() }).await.unwrap();
    assert_eq!((past_cut.sessions.len(), past_cut.next_after), (0, None));
    let made_up = SessionCursor { created_ms: 0, session_id: "nobody".into() };
    let from_zero = store.list_sessions(&SessionListing { after: Some(made_up), ..cut }).await.unwrap();
    assert_eq!((from_zero.sessions.len(), from_zero.next_after), (0, None));
}

/// Ending sessions from the list: only the owner's listed ones; "everywhere else" only from a
/// session still as read, keeping it (and its token) while every other one ends.
async fn sessions_end_from_the_list_only_as_listed(store: Arc<dyn Store>) {
    let owner = user(&unique_email());
    let other = user(&unique_email());
    store.create_user(&owner, None).await.unwrap();
    store.create_user(&other, None).await.unwrap();
    let [first, second, third] = [1, 2, 3].map(|offset| session(&owner, NOW.plus_secs(offset)));
    for started in [&first, &second, &third] {
        assert!(store.start_session(started, &by_password(&owner)).await.unwrap());
    }
    let owned = |session: &Session, user: &User, now| OwnedSession {
        user_id: user.id.clone(),
        session_id: session.id.clone(),
        sessions_valid_after_ms: 0,
        now,
    };
    let at = NOW.plus_secs(10);
    // Another user's, an expired or a cut-off one is not there to end; nothing changes.
    assert!(!store.revoke_owned_session(&owned(&first, &other, at)).await.unwrap());
    assert!(!store.revoke_owned_session(&owned(&first, &owner, UnixTime::from_secs(first.expires_at))).await.unwrap());
    let cut = OwnedSession { sessions_valid_after_ms: first.created_ms, ..owned(&first, &owner, at) };
    assert!(!store.revoke_owned_session(&cut).await.unwrap());
    assert_eq!(store.session(&first.id).await.unwrap().map(|(_, revoked)| revoked), Some(false));
    // The owner's own: ended once.
    assert!(store.revoke_owned_session(&owned(&first, &owner, at)).await.unwrap());
    assert!(!store.revoke_owned_session(&owned(&first, &owner, at)).await.unwrap());
    assert_eq!(store.session(&first.id).await.unwrap().map(|(_, revoked)| revoked), Some(true));

    let started = store.user_by_id(&owner.id).await.unwrap().unwrap().sessions_started;
    assert_eq!(started, 3);
    let kept = |jti: &str, created_ms| KeptSession {
        user_id: owner.id.clone(),
        sessions_started: started,
        session_id: third.id.clone(),
        jti: jti.to_owned(),
        session_created_ms: created_ms,
        cutoff: at,
    };
    // A stale token or creation time is refused, writing nothing.
    assert!(!store.end_other_sessions(&kept("spent-jti", third.created_ms)).await.unwrap());
    assert!(!store.end_other_sessions(&kept(&third.current_jti, third.created_ms - 1)).await.unwrap());
    // A login that started a session since the account was read: refused, so it is not missed.
    let raced = KeptSession { sessions_started: started - 1, ..kept(&third.current_jti, third.created_ms) };
    assert!(!store.end_other_sessions(&raced).await.unwrap());
    let listing = SessionListing {
        user_id: owner.id.clone(),
        sessions_valid_after_ms: store.user_by_id(&owner.id).await.unwrap().unwrap().sessions_valid_after_ms,
        now: at,
        limit: 50,
        after: None,
    };
    assert_eq!(store.list_sessions(&listing).await.unwrap().sessions.len(), 2);
    assert!(store.end_other_sessions(&kept(&third.current_jti, third.created_ms)).await.unwrap());
    let cutoff = store.user_by_id(&owner.id).await.unwrap().unwrap().sessions_valid_after_ms;
    assert_eq!(cutoff, at.millis());
    let left = store.list_sessions(&SessionListing { sessions_valid_after_ms: cutoff, ..listing }).await.unwrap();
    let ids: Vec<_> = left.sessions.iter().map(|session| session.id.as_str()).collect();
    assert_eq!(ids, [third.id.as_str()]);
    assert_eq!(left.sessions[0].current_jti, third.current_jti, "the kept session keeps its refresh token");
    // The kept one still rotates past the new cutoff; the others do not.
    let go_on = Rotation { sessions_valid_after_ms: cutoff, ..rotation(&third, &third.current_jti, at) };
    assert_eq!(store.rotate_session(&go_on).await.unwrap(), RotationOutcome::Rotated);
    let ended = Rotation { sessions_valid_after_ms: cutoff, ..rotation(&second, &second.current_jti, at) };
    assert_eq!(store.rotate_session(&ended).await.unwrap(), RotationOutcome::Revoked);
}

e2e::on_both_store_adapters!(
    rotation_spends_the_current_token_once,
    expired_unknown_or_foreign_sessions_do_not_rotate,
    account_wide_revocation_ends_older_sessions_only,
    access_tokens_are_revoked_by_every_kind_of_revocation,
    a_session_needs_the_verified_hash_still_in_place,
    cutoffs_only_rise,
    the_just_spent_token_is_accepted_once_within_the_grace_period,
    sessions_list_live_ones_newest_first_in_pages,
    sessions_end_from_the_list_only_as_listed,
);
