//! Accounts in the embedded store.

use async_trait::async_trait;

use super::roles::same_roles;
use super::{MemoryStore, StoredSession};
use crate::domain::{Email, Session, User};
use crate::store::{
    AccountDeletion, AccountStore, PasswordChange, RoleAssignment, StoreError, UserChanges, UserPage, UserSummary,
};
use crate::time::UnixTime;

#[async_trait]
impl AccountStore for MemoryStore {
    async fn create_user(&self, user: &User, first_session: Option<&Session>) -> Result<(), StoreError> {
        let mut state = self.lock()?;
        if state.user_id_by_email.contains_key(user.email.as_str()) {
            return Err(StoreError::EmailTaken);
        }
        let identities: Vec<(String, String)> =
            user.identities.iter().map(|identity| (identity.provider.clone(), identity.subject.clone())).collect();
        if identities.iter().any(|key| state.user_id_by_identity.contains_key(key)) {
            return Err(StoreError::Conflict);
        }
        for key in identities {
            state.user_id_by_identity.insert(key, user.id.clone());
        }
        state.user_id_by_email.insert(user.email.as_str().to_owned(), user.id.clone());
        state.users.insert(user.id.clone(), user.clone());
        if let Some(session) = first_session {
            state.sessions.insert(session.id.clone(), StoredSession { session: session.clone(), revoked: false });
        }
        Ok(())
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        let state = self.lock()?;
        Ok(state.user_id_by_email.get(email.as_str()).and_then(|id| state.users.get(id)).cloned())
    }

    async fn user_by_id(&self, user_id: &str) -> Result<Option<User>, StoreError> {
        Ok(self.lock()?.users.get(user_id).cloned())
    }

    async fn set_password_hash(&self, user_id: &str, current: &str, new: &str) -> Result<bool, StoreError> {
        let mut state = self.lock()?;
        let Some(user) = state.users.get_mut(user_id).filter(|user| user.password_hash.as_deref() == Some(current))
        else {
            return Ok(false);
        };
        user.password_hash = Some(new.to_owned());
        Ok(true)
    }

    async fn change_password(&self, change: &PasswordChange) -> Result<bool, StoreError> {
        let mut state = self.lock()?;
        let account_as_read = state.users.get(&change.user_id).is_some_and(|user| {
            user.unchanged_since(change.credential_epoch) && user.sessions_started == change.sessions_started
        });
        if !(account_as_read && state.renewable(&change.user_id, &change.renewal)) {
            return Ok(false);
        }
        if let Some(user) = state.users.get_mut(&change.user_id) {
            user.password_hash = Some(change.new_hash.clone());
            // A reset link mailed before the change must not undo it.
            user.latest_reset_ms = None;
        }
        state.renew(&change.user_id, &change.renewal);
        Ok(true)
    }

    async fn update_user(
        &self,
        user_id: &str,
        changes: &UserChanges,
        revoke_sessions_at: Option<UnixTime>,
    ) -> Result<Option<User>, StoreError> {
        let mut state = self.lock()?;
        if !state.users.contains_key(user_id) {
            return Ok(None);
        }
        if let Some(assignment) = &changes.roles {
            if !state.assignable(user_id, assignment) {
                return Err(StoreError::Conflict);
            }
            state.count_holders(assignment);
        }
        let Some(user) = state.users.get_mut(user_id) else { return Ok(None) };
        if let Some(assignment) = &changes.roles {
            user.roles = assignment.new.clone();
        }
        if let Some(role) = changes.role {
            user.role = role;
        }
        if let Some(disabled) = changes.disabled {
            user.disabled = disabled;
        }
        if let Some(claims) = &changes.claims {
            user.claims = claims.clone();
        }
        if let Some(cutoff) = revoke_sessions_at {
            user.sessions_valid_after_ms = user.sessions_valid_after_ms.max(cutoff.millis());
            user.credentials_changed();
        }
        Ok(Some(user.clone()))
    }

    async fn delete_user(&self, deletion: &AccountDeletion) -> Result<bool, StoreError> {
        let mut state = self.lock()?;
        let as_read = state.users.get(&deletion.user_id).is_some_and(|user| {
            user.unchanged_since(deletion.credential_epoch) && same_roles(&user.roles, &deletion.roles)
        });
        if !as_read {
            return Ok(false);
        }
        state.users.remove(&deletion.user_id);
        state.user_id_by_email.remove(deletion.email.as_str());
        for identity in &deletion.identities {
            state.user_id_by_identity.remove(&(identity.provider.clone(), identity.subject.clone()));
        }
        state.mfa_enrolments.remove(&deletion.user_id);
        state.count_holders(&RoleAssignment { previous: deletion.roles.clone(), new: Vec::new() });
        Ok(true)
    }

    async fn list_users(&self, limit: u32, after: Option<&str>) -> Result<UserPage, StoreError> {
        let state = self.lock()?;
        let mut ids: Vec<&String> =
            state.users.keys().filter(|id| after.is_none_or(|after| id.as_str() < after)).collect();
        ids.sort_unstable_by(|a, b| b.cmp(a));
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let users: Vec<UserSummary> = ids.iter().take(limit).map(|id| UserSummary::from(&state.users[*id])).collect();
        let next_after = (ids.len() > limit).then(|| users.last().map(|user| user.id.clone())).flatten();
        Ok(UserPage { users, next_after })
    }
}
