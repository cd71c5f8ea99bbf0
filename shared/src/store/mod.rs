//! Persistence of users, sessions and revoked access tokens, behind one trait with two
//! implementations: DynamoDB (`dynamo`) and an embedded in-process store (`memory`) for the
//! local API and fast tests. Both pass the same contract tests (`tests/store_contract.rs`).

mod dynamo;
mod memory;
pub mod schema;

use async_trait::async_trait;

pub use dynamo::{DynamoStore, TableNames};
pub use memory::MemoryStore;

use crate::domain::{Email, Role, Session, User};
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
    pub now: UnixTime,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RotationOutcome {
    /// The presented token was current; `next_jti` is current now.
    Rotated,
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
    // A spent token is a replay even after the session was revoked: the answer tells the
    // client (and the logs) that a token leaked, not just that the session ended.
    if session.current_jti != rotation.presented_jti {
        return RotationOutcome::Reused;
    }
    if revoked {
        return RotationOutcome::Revoked;
    }
    RotationOutcome::Rotated
}

#[async_trait]
pub trait Store: Send + Sync {
    /// Creates the account, and its first session when given, in one atomic write;
    /// `EmailTaken` if the email is in use, even when two registrations race.
    async fn create_user(&self, user: &User, first_session: Option<&Session>) -> Result<(), StoreError>;

    async fn user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError>;

    /// A strongly consistent read: a revocation just written is seen.
    async fn user_by_id(&self, user_id: &str) -> Result<Option<User>, StoreError>;

    async fn set_password_hash(&self, user_id: &str, password_hash: &str) -> Result<(), StoreError>;

    /// Changes the user's role and revokes their sessions created at or before `cutoff`, so
    /// the new role is in every token they hold from the next login on.
    async fn set_role(&self, user_id: &str, role: Role, cutoff: UnixTime) -> Result<(), StoreError>;

    /// Revokes every session of the user created at or before `cutoff` (global logout).
    async fn revoke_user_sessions(&self, user_id: &str, cutoff: UnixTime) -> Result<(), StoreError>;

    async fn create_session(&self, session: &Session) -> Result<(), StoreError>;

    /// One atomic conditional write: of concurrent rotations with one token, one wins.
    async fn rotate_session(&self, rotation: &Rotation) -> Result<RotationOutcome, StoreError>;

    /// Revokes one session; revoking an unknown or revoked session is not an error.
    async fn revoke_session(&self, session_id: &str) -> Result<(), StoreError>;

    /// Blocks one access token until `expires_at` (epoch seconds), when its entry expires.
    async fn revoke_access_token(&self, jti: &str, expires_at: u64) -> Result<(), StoreError>;

    /// Whether an unexpired revocation entry exists for this access token id. An entry whose
    /// `expires_at` has passed counts as absent: DynamoDB's TTL deletes it only within days.
    async fn is_access_token_revoked(&self, jti: &str, now: UnixTime) -> Result<bool, StoreError>;
}
