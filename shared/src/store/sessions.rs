//! Sessions: a login's refresh-token family, its rotation and its ends, and the rules both
//! stores share to judge them.

use async_trait::async_trait;

use super::StoreError;
use crate::domain::mfa::SpentFactor;
use crate::domain::passkeys::PasskeyUse;
use crate::domain::{AuthMethods, SeenFrom, Session};
use crate::time::UnixTime;

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
    /// How the renewed session's sign-in proved who it was, from now on.
    pub methods: AuthMethods,
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

/// What a sign-in proved, as the write that starts its session checks it: the account still in
/// the credential epoch the proof saw (no password change, factor turned on or off, disable, ...
/// since: see [`crate::domain::User::credentials_changed`]) and enabled, and whatever the proof
/// spends, spent in the same write. A new way to sign in is a new variant, which each adapter
/// maps to its conditions; a new factor needs none (turning it on is a credential event).
#[derive(Clone, Debug)]
pub enum LoginProof {
    /// A password, checked against the account as read.
    Password { credential_epoch: u64 },
    /// A login's second step: its challenge spent, and the factor — the account's key as read,
    /// a fresh step or an unused recovery code — spent.
    SecondFactor { challenge_digest: String, sealed_key: String, spent: SpentFactor, credential_epoch: u64 },
    /// Another provider's sign-in, its login code already spent: the account as resolved.
    Federated { credential_epoch: u64 },
    /// A passkey's assertion, its ceremony already taken: the credential rewritten (counter,
    /// backup flags, last use) only if still as read.
    Passkey { credential_epoch: u64, used: PasskeyUse },
}

impl LoginProof {
    pub fn credential_epoch(&self) -> u64 {
        match self {
            LoginProof::Password { credential_epoch }
            | LoginProof::Federated { credential_epoch }
            | LoginProof::Passkey { credential_epoch, .. }
            | LoginProof::SecondFactor { credential_epoch, .. } => *credential_epoch,
        }
    }
}

/// The sessions: started by a login (or a registration), rotated by refreshes, ended by logouts,
/// reuse and account-wide cutoffs.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Starts a sign-in's session, atomically with the checks and spends of its proof (and
    /// counting it in `sessions_started`); `false`, writing nothing, when the proof does not hold
    /// (of two uses of one code or challenge, one wins).
    async fn start_session(&self, session: &Session, proof: &LoginProof) -> Result<bool, StoreError>;

    /// A session as stored, with its revoked flag (a strongly consistent read).
    async fn session(&self, session_id: &str) -> Result<Option<(Session, bool)>, StoreError>;

    /// One atomic conditional write: of concurrent rotations with one token, one wins.
    async fn rotate_session(&self, rotation: &Rotation) -> Result<RotationOutcome, StoreError>;

    /// Revokes the session if `jti` is its current refresh token, atomically with that check;
    /// if `jti` was spent, revokes it as a replay.
    async fn end_session(&self, session_id: &str, jti: &str) -> Result<SessionEnd, StoreError>;

    /// Revokes one session; revoking an unknown or revoked session is not an error.
    async fn revoke_session(&self, session_id: &str) -> Result<(), StoreError>;

    /// Revokes the session if it is the user's and still listed; `false`, writing nothing,
    /// when it is not (unknown, another user's, already ended, expired or cut off).
    async fn revoke_owned_session(&self, session: &OwnedSession) -> Result<bool, StoreError>;

    /// Ends every other session of the account, atomically with the check that the kept one is
    /// as read, as a credential event; `false`, writing nothing, when it is not.
    async fn end_other_sessions(&self, kept: &KeptSession) -> Result<bool, StoreError>;

    /// Revokes every session of the user created at or before `cutoff` (global logout), as a
    /// credential event.
    async fn revoke_user_sessions(&self, user_id: &str, cutoff: UnixTime) -> Result<(), StoreError>;

    /// One page of a user's live sessions, newest first: a query on the `sessions_by_user`
    /// index in DynamoDB, never a scan. A page may hold fewer than `limit` and still continue.
    async fn list_sessions(&self, listing: &SessionListing) -> Result<SessionPage, StoreError>;

    /// Blocks one access token until `expires_at` (epoch seconds), when its entry expires.
    async fn revoke_access_token(&self, jti: &str, expires_at: u64) -> Result<(), StoreError>;

    /// Deletes the session items of a deleted account that were still live (where a device's
    /// address and User-Agent sit); the count deleted.
    async fn forget_sessions(&self, user_id: &str) -> Result<usize, StoreError>;
}
