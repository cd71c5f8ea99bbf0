//! The authorizer's revocation check in the embedded store.

use async_trait::async_trait;

use super::MemoryStore;
use crate::store::{AccessTokenRef, RevocationCheck, StoreError, judge_access};
use crate::time::UnixTime;

#[async_trait]
impl RevocationCheck for MemoryStore {
    async fn is_access_revoked(&self, token: &AccessTokenRef, now: UnixTime) -> Result<bool, StoreError> {
        let state = self.lock()?;
        let session = state.sessions.get(&token.session_id).map(|stored| (&stored.session, stored.revoked));
        let revoked_until = state.revoked_access_tokens.get(&token.jti).copied();
        Ok(judge_access(token, state.users.get(&token.user_id), session, revoked_until, now))
    }
}
