//! The rules both stores share ([`judge_access`], [`judge_rotation`]), at their edges: a session
//! created exactly at an account-wide cutoff is revoked, one a millisecond later is not.

use super::*;
use crate::domain::{Email, Role, Session, User};
use crate::time::UnixTime;

const NOW: UnixTime = UnixTime::from_millis(1_800_000_000_500);
const CUTOFF_MS: u64 = 1_799_999_000_000;

fn user() -> User {
    let user = User::new(Email::parse("alice@example.com").unwrap(), String::new(), Role::User, NOW);
    User { id: "u1".into(), sessions_valid_after_ms: CUTOFF_MS, ..user }
}

fn session(created_ms: u64) -> Session {
    Session::new("s1".into(), "u1".into(), "current".into(), created_ms, NOW.secs() + 3600)
}

fn token() -> AccessTokenRef {
    AccessTokenRef { jti: "a1".into(), session_id: "s1".into(), user_id: "u1".into() }
}

fn revoked(user: Option<&User>, session: Option<(&Session, bool)>, entry: Option<u64>) -> bool {
    judge_access(&token(), user, session, entry, NOW)
}

#[test]
fn strict_revocation_refuses_a_session_created_exactly_at_the_cutoff() {
    let user = user();
    assert!(revoked(Some(&user), Some((&session(CUTOFF_MS), false)), None), "created at the cutoff");
    assert!(revoked(Some(&user), Some((&session(CUTOFF_MS - 1), false)), None), "created before it");
    assert!(!revoked(Some(&user), Some((&session(CUTOFF_MS + 1), false)), None), "created just after it");
}

#[test]
fn strict_revocation_refuses_every_way_a_token_can_die() {
    let user = user();
    let live = session(CUTOFF_MS + 1);
    assert!(!revoked(Some(&user), Some((&live, false)), None));
    // Logout: the token's own entry, while it lasts.
    assert!(revoked(Some(&user), Some((&live, false)), Some(NOW.secs() + 60)));
    assert!(!revoked(Some(&user), Some((&live, false)), Some(NOW.secs() - 1)), "a lapsed entry counts as absent");
    // The session revoked (logout, reuse), ended by expiry, unknown, or another account's.
    assert!(revoked(Some(&user), Some((&live, true)), None));
    let expired = Session { expires_at: NOW.secs(), ..live.clone() };
    assert!(revoked(Some(&user), Some((&expired, false)), None));
    assert!(revoked(Some(&user), None, None));
    let foreign = Session { user_id: "u2".into(), ..live.clone() };
    assert!(revoked(Some(&user), Some((&foreign, false)), None));
    // The account disabled or gone.
    let disabled = User { disabled: true, ..user.clone() };
    assert!(revoked(Some(&disabled), Some((&live, false)), None));
    assert!(revoked(None, Some((&live, false)), None));
}

fn rotation(presented: &str, now: UnixTime) -> Rotation {
    Rotation {
        session_id: "s1".into(),
        user_id: "u1".into(),
        presented_jti: presented.into(),
        next_jti: "next".into(),
        next_expires_at: now.secs() + 3600,
        sessions_valid_after_ms: CUTOFF_MS,
        grace_ms: 10_000,
        seen_from: Default::default(),
        now,
    }
}

#[test]
fn a_refresh_of_a_session_created_exactly_at_the_cutoff_is_revoked() {
    let at = session(CUTOFF_MS);
    assert_eq!(judge_rotation(Some((&at, false)), &rotation("current", NOW)), RotationOutcome::Revoked);
    let after = session(CUTOFF_MS + 1);
    assert_eq!(judge_rotation(Some((&after, false)), &rotation("current", NOW)), RotationOutcome::Rotated);
    // Ended otherwise: revoked, expired this second, another account's, unknown.
    assert_eq!(judge_rotation(Some((&after, true)), &rotation("current", NOW)), RotationOutcome::Revoked);
    let expired = Session { expires_at: NOW.secs(), ..after.clone() };
    assert_eq!(judge_rotation(Some((&expired, false)), &rotation("current", NOW)), RotationOutcome::Revoked);
    let foreign = Session { user_id: "u2".into(), ..after.clone() };
    assert_eq!(judge_rotation(Some((&foreign, false)), &rotation("current", NOW)), RotationOutcome::Revoked);
    assert_eq!(judge_rotation(None, &rotation("current", NOW)), RotationOutcome::Revoked);
}

#[test]
fn the_just_spent_token_gets_one_grace_answer_within_the_period_only() {
    let rotated_ms = NOW.millis() - 10_000;
    let session = Session { previous_jti: Some("spent".into()), rotated_ms, ..session(CUTOFF_MS + 1) };
    let grace = RotationOutcome::Grace { current_jti: "current".into(), expires_at: session.expires_at };
    // Exactly at the end of the period: still the grace answer; a millisecond later: reuse.
    assert_eq!(judge_rotation(Some((&session, false)), &rotation("spent", NOW)), grace);
    let late = UnixTime::from_millis(NOW.millis() + 1);
    assert_eq!(judge_rotation(Some((&session, false)), &rotation("spent", late)), RotationOutcome::Reused);
    // Once only, never for a revoked session, never with the grace period off.
    let used = Session { grace_used: true, ..session.clone() };
    assert_eq!(judge_rotation(Some((&used, false)), &rotation("spent", NOW)), RotationOutcome::Reused);
    assert_eq!(judge_rotation(Some((&session, true)), &rotation("spent", NOW)), RotationOutcome::Reused);
    let no_grace = Rotation { grace_ms: 0, ..rotation("spent", NOW) };
    assert_eq!(judge_rotation(Some((&session, false)), &no_grace), RotationOutcome::Reused);
    // A token that was never the previous one is reuse at once.
    assert_eq!(judge_rotation(Some((&session, false)), &rotation("older", NOW)), RotationOutcome::Reused);
}

#[test]
fn with_the_grace_period_off_a_replay_in_the_millisecond_of_its_rotation_is_reuse() {
    let session = Session { previous_jti: Some("spent".into()), rotated_ms: NOW.millis(), ..session(CUTOFF_MS + 1) };
    let no_grace = Rotation { grace_ms: 0, ..rotation("spent", NOW) };
    assert_eq!(judge_rotation(Some((&session, false)), &no_grace), RotationOutcome::Reused);
}
