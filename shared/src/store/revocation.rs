//! The one question the authorizer's strict mode asks, and the rule both stores answer it by.

use async_trait::async_trait;

use super::{StoreError, is_live};
use crate::domain::{Session, User};
use crate::time::UnixTime;

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
