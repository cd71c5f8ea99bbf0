//! Persistence of users, sessions and revoked access tokens, behind one trait with two
//! implementations: DynamoDB (`dynamo`) and an embedded in-process store (`memory`) for the
//! local API and fast tests. Both pass the same contract tests (`tests/store_contract.rs`).

mod dynamo;
mod memory;
#[cfg(test)]
mod rules_tests;
pub mod schema;
mod throttle;

use async_trait::async_trait;

pub use dynamo::{DynamoStore, TableNames};
pub use memory::MemoryStore;
pub(crate) use throttle::{Decision, ThrottleRecord, judge_draw, lock_after_failure, window_end};
pub use throttle::{Draw, DrawOutcome, HOLD_MS};

use crate::domain::mfa::{MfaChallenge, PendingEnrolment, SpentFactor};
use crate::domain::{Bucket, CustomClaims, Email, OneTimeToken, Role, SeenFrom, Session, User};
use crate::time::UnixTime;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("an account with this email already exists")]
    EmailTaken,
    /// DynamoDB is unreachable, throttling or timing out: the caller may retry later.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Stored data this code cannot read, or a request DynamoDB refused as malformed.
    #[error("store failure: {0}")]
    Internal(String),
}

/// A password change, as one atomic write: the account still has the hash the caller proved
/// and no session started since it was read; the caller's session is still the live one read.
/// A credential event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasswordChange {
    pub user_id: String,
    pub verified_hash: String,
    pub sessions_started: u64,
    pub new_hash: String,
    pub renewal: SessionRenewal,
}

/// The caller's session carried over a credential event that ends every other session: every
/// session created at or before `cutoff` is revoked (the cutoff only rises), and the caller's,
/// if still as read (live, created at `session_created_ms`, not cut off since), moves just
/// after it with a new refresh token and no grace for the old one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRenewal {
    pub session_id: String,
    pub session_created_ms: u64,
    pub cutoff: UnixTime,
    pub next_jti: String,
    pub expires_at: u64,
    /// Whether the renewed session has proved a second factor (`amr` gains `otp`).
    pub mfa: bool,
}

/// What a logout's refresh token found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionEnd {
    /// It was the live session's current token; the session is revoked now.
    Ended { created_ms: u64 },
    /// It was the current token of a session already revoked.
    AlreadyEnded,
    /// It was spent (a replay): the session is revoked now.
    Spent,
    /// No such session.
    Unknown,
}

/// Spending a one-time token, and what it does, as one atomic write: the token must still be
/// stored, unexpired, for this purpose and account, and the account as `effect` requires.
#[derive(Clone, Debug)]
pub struct Redemption {
    pub token: OneTimeToken,
    pub effect: Effect,
    pub now: UnixTime,
}

/// Every redemption also requires that the account had no credential event since the token was
/// issued ([`crate::domain::User::unchanged_since`]), and is one itself except a verification
/// that removes nothing.
#[derive(Clone, Debug)]
pub enum Effect {
    /// The account still has the address the token was mailed to: it counts as verified. The
    /// first proof of an address also removes a second factor set up before it
    /// (`remove_factor`: someone who registered the address first may have planted it).
    VerifyEmail { remove_factor: bool },
    /// The token is the account's newest reset token, the account still has the address it was
    /// mailed to, no login started a session since the account was read, and the account is
    /// enabled: the new hash, every session revoked (`cutoff`, only ever raised), the address
    /// verified (and, as its first proof, a second factor removed when `remove_factor`).
    ResetPassword { new_hash: String, sessions_started: u64, cutoff: UnixTime, remove_factor: bool },
    /// The account still has `old_email` and is enabled: the token's address becomes the
    /// account's (its guard moves) unless another account holds it.
    ChangeEmail { old_email: Email },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Redeemed {
    Done,
    /// Nothing written: the token is spent, expired or for something else, or the account is
    /// not as the effect requires.
    Refused,
    /// Nothing written: the new address belongs to another account now.
    EmailTaken,
}

/// Turning MFA on, as one atomic write and a credential event: the pending enrolment spent
/// (still stored as read, unexpired, and started since the latest credential event), the account
/// given its factor unless it already has one (no session started since it was read), and every
/// other session ended while the caller's is renewed with the second factor proved.
#[derive(Clone, Debug)]
pub struct MfaActivation {
    pub user_id: String,
    pub sealed_key: String,
    /// The step of the confirming code: it does not work again.
    pub step: u64,
    pub recovery_digests: Vec<String>,
    pub credential_epoch: u64,
    pub sessions_started: u64,
    pub renewal: SessionRenewal,
}

/// The second step of a login, as one atomic write: the challenge spent, the factor spent (the
/// account still has the key as read, and the code is fresh or the recovery code unused), and
/// the session started, as a login starts it (the account still has the password as verified,
/// and is enabled).
#[derive(Clone, Debug)]
pub struct MfaCompletion {
    pub challenge_digest: String,
    /// The challenge's: a credential event since the login ends it.
    pub credential_epoch: u64,
    pub session: Session,
    pub verified_hash: String,
    pub sealed_key: String,
    pub spent: SpentFactor,
}

/// Taking an account's factor away, a credential event: its owner's, with a factor spent in the
/// same write (the account still has the key as read); or an administrator's, with every
/// session revoked.
#[derive(Clone, Debug)]
pub struct MfaRemoval {
    pub user_id: String,
    pub proof: Option<(String, SpentFactor)>,
    pub revoke_sessions_at: Option<UnixTime>,
}

/// What one attempt at an `mfa_token` found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChallengeDraw {
    /// The attempt is counted; the challenge as it stands now.
    Drawn(MfaChallenge),
    /// Unexpired, but its attempts are used up: it is ended.
    Exhausted,
    /// Unknown, spent or expired.
    Unknown,
}

/// What identifies an access token for a revocation check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessTokenRef {
    pub jti: String,
    pub session_id: String,
    pub user_id: String,
}

/// The rule for [`RevocationCheck::is_access_revoked`], shared by both stores. `session` is the
/// stored session with its revoked flag; `revoked_jti_until` the expiry of a revocation entry.
pub(crate) fn judge_access(
    token: &AccessTokenRef,
    user: Option<&User>,
    session: Option<(&Session, bool)>,
    revoked_jti_until: Option<u64>,
    now: UnixTime,
) -> bool {
    if revoked_jti_until.is_some_and(|expires_at| expires_at > now.secs()) {
        return true;
    }
    let Some(user) = user.filter(|user| !user.disabled) else { return true };
    !session
        .is_some_and(|(session, revoked)| is_live(session, revoked, &token.user_id, user.sessions_valid_after_ms, now))
}

/// What an administrator may change on an account.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserChanges {
    pub role: Option<Role>,
    pub disabled: Option<bool>,
    /// Replaces the custom claims (an empty set removes them).
    pub claims: Option<CustomClaims>,
}

/// An account as listed for administrators: no password hash (the index does not hold it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserSummary {
    pub id: String,
    pub email: String,
    pub role: Role,
    pub disabled: bool,
    /// Epoch seconds.
    pub created_at: u64,
    pub email_verified: bool,
    /// Known when the whole account was read; the list's index does not project it.
    pub mfa_enabled: Option<bool>,
    /// The same: the one-user views show them.
    pub claims: Option<CustomClaims>,
}

impl From<&User> for UserSummary {
    fn from(user: &User) -> Self {
        Self {
            id: user.id.clone(),
            email: user.email.as_str().to_owned(),
            role: user.role,
            disabled: user.disabled,
            created_at: user.created_at,
            email_verified: user.email_verified,
            mfa_enabled: Some(user.mfa.is_some()),
            claims: Some(user.claims.clone()),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserPage {
    pub users: Vec<UserSummary>,
    /// The id of the last user of this page when another page may follow.
    pub next_after: Option<String>,
}

/// Spending a session's current refresh token for the next one.
#[derive(Clone, Debug)]
pub struct Rotation {
    pub session_id: String,
    pub user_id: String,
    pub presented_jti: String,
    pub next_jti: String,
    /// When the next refresh token expires (epoch seconds): the session's new TTL.
    pub next_expires_at: u64,
    /// Sessions created at or before this instant were revoked for the whole account.
    pub sessions_valid_after_ms: u64,
    /// The reuse grace period, in milliseconds (0: none).
    pub grace_ms: u64,
    /// The client refreshing: the session list shows it, with `now` as the last use.
    pub seen_from: SeenFrom,
    pub now: UnixTime,
}

/// Which of a user's sessions to list: those live at `now` and created after the account's
/// cutoff, newest first, at most `limit`, continuing after `after`.
#[derive(Clone, Debug)]
pub struct SessionListing {
    pub user_id: String,
    pub sessions_valid_after_ms: u64,
    pub now: UnixTime,
    pub limit: u32,
    pub after: Option<SessionCursor>,
}

/// One of a user's sessions, ended by its owner from the session list: only if it is theirs and
/// still listed (live at `now`, created after the account's cutoff).
#[derive(Clone, Debug)]
pub struct OwnedSession {
    pub user_id: String,
    pub session_id: String,
    pub sessions_valid_after_ms: u64,
    pub now: UnixTime,
}

/// "Sign out everywhere else", as one atomic write: every session of the account created up to
/// `cutoff` is revoked (the cutoff only rises) and the caller's is moved just after it, keeping
/// its refresh token, if that session is still as read: live, created at `session_created_ms`,
/// with `jti` as its current token, and not cut off since; and if no login started a session
/// since the account was read (`sessions_started`), as for a password change: a login on a
/// clock a little ahead could otherwise create one after the cutoff.
#[derive(Clone, Debug)]
pub struct KeptSession {
    pub user_id: String,
    pub sessions_started: u64,
    pub session_id: String,
    pub jti: String,
    pub session_created_ms: u64,
    pub cutoff: UnixTime,
}

/// Where a page of sessions ended: the last session listed (or looked at) on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionCursor {
    pub created_ms: u64,
    pub session_id: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionPage {
    pub sessions: Vec<Session>,
    /// Where to continue when more may follow.
    pub next_after: Option<SessionCursor>,
}

/// Whether a stored session still works: the one rule the session list, the caller checks
/// (`live_session`) and the authorizer's strict mode share.
pub(crate) fn is_live(
    session: &Session,
    revoked: bool,
    user_id: &str,
    sessions_valid_after_ms: u64,
    now: UnixTime,
) -> bool {
    !revoked
        && session.user_id == user_id
        && session.expires_at > now.secs()
        && session.created_ms > sessions_valid_after_ms
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RotationOutcome {
    /// The presented token was current; `next_jti` is current now.
    Rotated,
    /// The presented token was spent by the latest rotation moments ago (within the grace
    /// period, and for the first time since): answer with the session's current token.
    Grace { current_jti: String, expires_at: u64 },
    /// The presented token belongs to the session but was already spent: a replay.
    Reused,
    /// The session is revoked, expired, unknown or revoked account-wide.
    Revoked,
}

/// The one rule deciding a rotation, shared by both stores so they cannot disagree.
/// `stored` is the session as stored (with its revoked flag), if any.
pub(crate) fn judge_rotation(stored: Option<(&Session, bool)>, rotation: &Rotation) -> RotationOutcome {
    let Some((session, revoked)) = stored else {
        return RotationOutcome::Revoked;
    };
    if session.user_id != rotation.user_id
        || session.expires_at <= rotation.now.secs()
        || session.created_ms <= rotation.sessions_valid_after_ms
    {
        return RotationOutcome::Revoked;
    }
    if session.current_jti != rotation.presented_jti {
        let within_grace = session.previous_jti.as_deref() == Some(rotation.presented_jti.as_str())
            && !session.grace_used
            && !revoked
            && rotation.grace_ms > 0
            && rotation.now.millis() <= session.rotated_ms.saturating_add(rotation.grace_ms);
        if within_grace {
            return RotationOutcome::Grace { current_jti: session.current_jti.clone(), expires_at: session.expires_at };
        }
        // A spent token is a replay even after the session was revoked: the answer tells the
        // client (and the logs) that a token leaked, not just that the session ended.
        return RotationOutcome::Reused;
    }
    if revoked {
        return RotationOutcome::Revoked;
    }
    RotationOutcome::Rotated
}

/// The one question the authorizer's strict mode asks, so that it holds no more of a store than
/// that.
#[async_trait]
pub trait RevocationCheck: Send + Sync {
    /// Whether an access token has been revoked since it was issued: its own entry (logout),
    /// its session (logout, reuse), its account's cutoff (global logout, role change) or a
    /// disable. Entries whose `expires_at` has passed count as absent: DynamoDB's TTL deletes
    /// them only within days. One request (a strongly consistent batch read) in DynamoDB.
    async fn is_access_revoked(&self, token: &AccessTokenRef, now: UnixTime) -> Result<bool, StoreError>;
}

#[async_trait]
pub trait Store: RevocationCheck {
    /// Creates the account, and its first session when given, in one atomic write;
    /// `EmailTaken` if the email is in use, even when two registrations race.
    async fn create_user(&self, user: &User, first_session: Option<&Session>) -> Result<(), StoreError>;

    async fn user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError>;

    /// A strongly consistent read: a revocation just written is seen.
    async fn user_by_id(&self, user_id: &str) -> Result<Option<User>, StoreError>;

    /// Replaces the hash `current` (a rehash after login); `false`, writing nothing, when the
    /// account no longer has it (a password change won) or does not exist.
    async fn set_password_hash(&self, user_id: &str, current: &str, new: &str) -> Result<bool, StoreError>;

    /// A password change, atomically: the new hash, every session of the account revoked
    /// (cutoff, only ever raised), and the caller's own session renewed past the cutoff with a
    /// new refresh token and no grace for the old one. `false`, writing nothing, when the
    /// account or the session is not as [`PasswordChange`] says.
    async fn change_password(&self, change: &PasswordChange) -> Result<bool, StoreError>;

    /// Applies an administrator's change; `None` when there is no such user. With
    /// `revoke_sessions_at`, every session created up to that instant is revoked in the same
    /// write (the cutoff only ever rises), so a new role or a disable reaches every token from
    /// the next login on; and it is a credential event.
    async fn update_user(
        &self,
        user_id: &str,
        changes: &UserChanges,
        revoke_sessions_at: Option<UnixTime>,
    ) -> Result<Option<User>, StoreError>;

    /// Draws one attempt from a throttle bucket, atomically: of any number of concurrent draws,
    /// at most the budget is granted.
    async fn draw_attempt(&self, bucket: &Bucket, now: UnixTime) -> Result<DrawOutcome, StoreError>;

    /// The drawn attempt failed: lock the bucket until `lock_until` when given. A lock is only
    /// ever raised (or the attempt's own hold replaced), never shortened by a later write.
    async fn attempt_failed(
        &self,
        bucket: &Bucket,
        draw: &Draw,
        lock_until: Option<UnixTime>,
        now: UnixTime,
    ) -> Result<(), StoreError>;

    /// The drawn attempt did not fail: forget the bucket (`forget`), or give back this attempt
    /// (and its hold) only.
    async fn attempt_returned(&self, bucket: &Bucket, draw: &Draw, forget: bool) -> Result<(), StoreError>;

    /// One page of users, newest first, starting after the user id `after`. Returns the page
    /// and, when more may follow, the id to continue after.
    async fn list_users(&self, limit: u32, after: Option<&str>) -> Result<UserPage, StoreError>;

    /// Revokes every session of the user created at or before `cutoff` (global logout), as a
    /// credential event.
    async fn revoke_user_sessions(&self, user_id: &str, cutoff: UnixTime) -> Result<(), StoreError>;

    /// Starts a session for a login that verified `verified_hash`, atomically with the check
    /// that the account still has that hash, is enabled and has no second factor (and counting
    /// it in `sessions_started`); `false`, writing nothing, when it is not.
    async fn create_session(&self, session: &Session, verified_hash: &str) -> Result<bool, StoreError>;

    /// One page of a user's live sessions, newest first: a query on the `sessions_by_user`
    /// index in DynamoDB, never a scan. A page may hold fewer than `limit` and still continue.
    async fn list_sessions(&self, listing: &SessionListing) -> Result<SessionPage, StoreError>;

    /// Revokes the session if it is the user's and still listed; `false`, writing nothing,
    /// when it is not (unknown, another user's, already ended, expired or cut off).
    async fn revoke_owned_session(&self, session: &OwnedSession) -> Result<bool, StoreError>;

    /// Ends every other session of the account, atomically with the check that the kept one is
    /// as read, as a credential event; `false`, writing nothing, when it is not.
    async fn end_other_sessions(&self, kept: &KeptSession) -> Result<bool, StoreError>;

    /// A session as stored, with its revoked flag (a strongly consistent read).
    async fn session(&self, session_id: &str) -> Result<Option<(Session, bool)>, StoreError>;

    /// One atomic conditional write: of concurrent rotations with one token, one wins.
    async fn rotate_session(&self, rotation: &Rotation) -> Result<RotationOutcome, StoreError>;

    /// Revokes the session if `jti` is its current refresh token, atomically with that check;
    /// if `jti` was spent, revokes it as a replay.
    async fn end_session(&self, session_id: &str, jti: &str) -> Result<SessionEnd, StoreError>;

    /// Revokes one session; revoking an unknown or revoked session is not an error.
    async fn revoke_session(&self, session_id: &str) -> Result<(), StoreError>;

    /// Blocks one access token until `expires_at` (epoch seconds), when its entry expires.
    async fn revoke_access_token(&self, jti: &str, expires_at: u64) -> Result<(), StoreError>;

    /// Stores a one-time token (its digest only). A reset token becomes the account's only
    /// working one in the same write. `false`, writing nothing, when the account is gone.
    async fn issue_one_time_token(&self, token: &OneTimeToken) -> Result<bool, StoreError>;

    /// The stored token with this digest, if any (a strongly consistent read; expired ones
    /// included: the caller judges them with its clock).
    async fn one_time_token(&self, digest: &str) -> Result<Option<OneTimeToken>, StoreError>;

    /// Spends the token and applies its effect, atomically; of concurrent redemptions of one
    /// token, one wins.
    async fn redeem(&self, redemption: &Redemption) -> Result<Redeemed, StoreError>;

    /// Stores an enrolment waiting for its code, replacing the account's earlier one.
    async fn put_mfa_enrolment(&self, enrolment: &PendingEnrolment) -> Result<(), StoreError>;

    /// The account's pending enrolment, if any (a strongly consistent read; an expired one
    /// included: the caller judges it with its clock).
    async fn mfa_enrolment(&self, user_id: &str) -> Result<Option<PendingEnrolment>, StoreError>;

    /// Turns MFA on; `false`, writing nothing, when the enrolment or the account is not as
    /// [`MfaActivation`] says.
    async fn enable_mfa(&self, activation: &MfaActivation) -> Result<bool, StoreError>;

    /// Stores a login's challenge (its attempts at zero).
    async fn put_mfa_challenge(&self, challenge: &MfaChallenge) -> Result<(), StoreError>;

    /// Counts one attempt at the challenge, atomically: of any number of concurrent attempts,
    /// at most [`crate::domain::mfa::CHALLENGE_ATTEMPTS`] are granted over its life.
    async fn draw_mfa_challenge(&self, digest: &str, now: UnixTime) -> Result<ChallengeDraw, StoreError>;

    /// The second step of a login; `false`, writing nothing, when anything is not as
    /// [`MfaCompletion`] says (of two uses of one code or challenge, one wins).
    async fn complete_mfa(&self, completion: &MfaCompletion) -> Result<bool, StoreError>;

    /// Removes the account's factor; the account as it is now, or `None`, writing nothing, when
    /// there is no such account or the proof does not hold.
    async fn remove_mfa(&self, removal: &MfaRemoval) -> Result<Option<User>, StoreError>;
}
