use async_trait::async_trait;

use super::MemoryStore;
use crate::domain::User;
use crate::domain::federation::{LoginCode, UpstreamLogin};
use crate::store::{FederationStore, IdentityLink, Linked, StoreError};
use crate::time::UnixTime;

#[async_trait]
impl FederationStore for MemoryStore {
    async fn put_upstream_login(&self, login: &UpstreamLogin) -> Result<(), StoreError> {
        self.lock()?.upstream_logins.insert(login.state_digest.clone(), login.clone());
        Ok(())
    }

    async fn take_upstream_login(
        &self,
        state_digest: &str,
        now: UnixTime,
    ) -> Result<Option<UpstreamLogin>, StoreError> {
        let taken = self.lock()?.upstream_logins.remove(state_digest);
        Ok(taken.filter(|login| login.expires_at > now.secs()))
    }

    async fn put_login_code(&self, code: &LoginCode) -> Result<(), StoreError> {
        self.lock()?.login_codes.insert(code.digest.clone(), code.clone());
        Ok(())
    }

    async fn take_login_code(&self, digest: &str, now: UnixTime) -> Result<Option<LoginCode>, StoreError> {
        let taken = self.lock()?.login_codes.remove(digest);
        Ok(taken.filter(|code| code.expires_at > now.secs()))
    }

    async fn user_by_identity(&self, provider: &str, subject: &str) -> Result<Option<User>, StoreError> {
        let state = self.lock()?;
        let key = (provider.to_owned(), subject.to_owned());
        Ok(state.user_id_by_identity.get(&key).and_then(|id| state.users.get(id)).cloned())
    }

    async fn link_identity(&self, link: &IdentityLink) -> Result<Linked, StoreError> {
        let mut state = self.lock()?;
        let identity = &link.identity;
        let key = (identity.provider.clone(), identity.subject.clone());
        if state.user_id_by_identity.contains_key(&key) {
            return Ok(Linked::IdentityTaken);
        }
        let Some(user) = state.users.get_mut(&link.user_id).filter(|user| {
            user.unchanged_since(link.credential_epoch)
                && !user.identities.iter().any(|linked| linked.provider == identity.provider)
        }) else {
            return Ok(Linked::Stale);
        };
        user.identities.push(identity.clone());
        user.credentials_changed();
        state.user_id_by_identity.insert(key, link.user_id.clone());
        Ok(Linked::Done)
    }

    async fn unlink_identity(&self, link: &IdentityLink) -> Result<bool, StoreError> {
        let mut state = self.lock()?;
        let identity = &link.identity;
        let Some(user) = state.users.get_mut(&link.user_id).filter(|user| {
            user.unchanged_since(link.credential_epoch) && user.identities.iter().any(|linked| linked == identity)
        }) else {
            return Ok(false);
        };
        user.identities.retain(|linked| linked.provider != identity.provider);
        user.credentials_changed();
        state.user_id_by_identity.remove(&(identity.provider.clone(), identity.subject.clone()));
        Ok(true)
    }
}
