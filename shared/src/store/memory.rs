use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{
    AccessTokenRef, LoginAttempts, RevocationCheck, Rotation, RotationOutcome, SessionRenewal, Store, StoreError,
    UserChanges, UserPage, UserSummary, judge_access, judge_rotation,
};
use crate::domain::{Email, Session, User};
use crate::time::UnixTime;

/// The embedded store: the same semantics as DynamoDB, in one process's memory. Every
/// operation takes the lock once, which gives the atomicity DynamoDB's conditions give.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    users: HashMap<String, User>,
    user_id_by_email: HashMap<String, String>,
    sessions: HashMap<String, StoredSession>,
    revoked_access_tokens: HashMap<String, u64>,
    login_failures: HashMap<String, FailureRecord>,
}

struct FailureRecord {
    failures: u32,
    locked_until_ms: u64,
    /// Epoch seconds, as the DynamoDB item's TTL.
    expires_at: u64,
}

struct StoredSession {
    session: Session,
    revoked: bool,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, State>, StoreError> {
        self.state.lock().map_err(|_| StoreError::Internal("embedded store lock poisoned".into()))
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn create_user(&self, user: &User, first_session: Option<&Session>) -> Result<(), StoreError> {
        let mut state = self.lock()?;
        if state.user_id_by_email.contains_key(user.email.as_str()) {
            return Err(StoreError::EmailTaken);
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

    async fn set_password_hash(&self, user_id: &str, password_hash: &str) -> Result<(), StoreError> {
        if let Some(user) = self.lock()?.users.get_mut(user_id) {
            user.password_hash = password_hash.to_owned();
        }
        Ok(())
    }

    async fn change_password(
        &self,
        user_id: &str,
        password_hash: &str,
        cutoff: UnixTime,
        renewal: &SessionRenewal,
    ) -> Result<bool, StoreError> {
        let mut state = self.lock()?;
        let live = state.sessions.get(&renewal.session_id).is_some_and(|stored| {
            !stored.revoked && stored.session.user_id == user_id && stored.session.expires_at > renewal.now.secs()
        });
        let Some(user) = state.users.get_mut(user_id).filter(|_| live) else { return Ok(false) };
        user.password_hash = password_hash.to_owned();
        user.sessions_valid_after_ms = user.sessions_valid_after_ms.max(cutoff.millis());
        if let Some(stored) = state.sessions.get_mut(&renewal.session_id) {
            stored.session.current_jti = renewal.next_jti.clone();
            stored.session.created_ms = renewal.created_ms;
            stored.session.expires_at = renewal.expires_at;
        }
        Ok(true)
    }

    async fn update_user(
        &self,
        user_id: &str,
        changes: &UserChanges,
        revoke_sessions_at: Option<UnixTime>,
    ) -> Result<Option<User>, StoreError> {
        let mut state = self.lock()?;
        let Some(user) = state.users.get_mut(user_id) else { return Ok(None) };
        if let Some(role) = changes.role {
            user.role = role;
        }
        if let Some(disabled) = changes.disabled {
            user.disabled = disabled;
        }
        if let Some(cutoff) = revoke_sessions_at {
            user.sessions_valid_after_ms = user.sessions_valid_after_ms.max(cutoff.millis());
        }
        Ok(Some(user.clone()))
    }

    async fn login_attempts(&self, email: &Email, now: UnixTime) -> Result<LoginAttempts, StoreError> {
        let state = self.lock()?;
        let Some(record) = state.login_failures.get(email.as_str()).filter(|record| record.expires_at > now.secs())
        else {
            return Ok(LoginAttempts::default());
        };
        let locked_until =
            (record.locked_until_ms > now.millis()).then(|| UnixTime::from_millis(record.locked_until_ms));
        Ok(LoginAttempts { locked_until, has_failures: record.failures > 0 })
    }

    async fn record_login_failure(&self, email: &Email, now: UnixTime, window_secs: u64) -> Result<u32, StoreError> {
        let mut state = self.lock()?;
        let expires_at = now.secs() + window_secs;
        let record = state.login_failures.entry(email.as_str().to_owned()).or_insert(FailureRecord {
            failures: 0,
            locked_until_ms: 0,
            expires_at,
        });
        if record.expires_at <= now.secs() {
            *record = FailureRecord { failures: 0, locked_until_ms: 0, expires_at };
        }
        record.failures += 1;
        record.expires_at = record.expires_at.max(expires_at);
        Ok(record.failures)
    }

    async fn lock_login(&self, email: &Email, until: UnixTime) -> Result<(), StoreError> {
        if let Some(record) = self.lock()?.login_failures.get_mut(email.as_str()) {
            record.locked_until_ms = until.millis();
            record.expires_at = record.expires_at.max(until.secs() + 1);
        }
        Ok(())
    }

    async fn clear_login_failures(&self, email: &Email) -> Result<(), StoreError> {
        self.lock()?.login_failures.remove(email.as_str());
        Ok(())
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

    async fn revoke_user_sessions(&self, user_id: &str, cutoff: UnixTime) -> Result<(), StoreError> {
        if let Some(user) = self.lock()?.users.get_mut(user_id) {
            user.sessions_valid_after_ms = user.sessions_valid_after_ms.max(cutoff.millis());
        }
        Ok(())
    }

    async fn create_session(&self, session: &Session) -> Result<(), StoreError> {
        let mut state = self.lock()?;
        if state.sessions.contains_key(&session.id) {
            return Err(StoreError::Internal("session id collision".into()));
        }
        state.sessions.insert(session.id.clone(), StoredSession { session: session.clone(), revoked: false });
        Ok(())
    }

    async fn session(&self, session_id: &str) -> Result<Option<(Session, bool)>, StoreError> {
        Ok(self.lock()?.sessions.get(session_id).map(|stored| (stored.session.clone(), stored.revoked)))
    }

    async fn rotate_session(&self, rotation: &Rotation) -> Result<RotationOutcome, StoreError> {
        let mut state = self.lock()?;
        let Some(stored) = state.sessions.get_mut(&rotation.session_id) else {
            return Ok(RotationOutcome::Revoked);
        };
        let outcome = judge_rotation(Some((&stored.session, stored.revoked)), rotation);
        match outcome {
            RotationOutcome::Rotated => {
                let session = &mut stored.session;
                session.previous_jti = Some(std::mem::replace(&mut session.current_jti, rotation.next_jti.clone()));
                session.rotated_ms = rotation.now.millis();
                session.grace_used = false;
                session.expires_at = rotation.next_expires_at;
            }
            RotationOutcome::Grace { .. } => stored.session.grace_used = true,
            RotationOutcome::Reused | RotationOutcome::Revoked => {}
        }
        Ok(outcome)
    }

    async fn revoke_session(&self, session_id: &str) -> Result<(), StoreError> {
        if let Some(stored) = self.lock()?.sessions.get_mut(session_id) {
            stored.revoked = true;
        }
        Ok(())
    }

    async fn revoke_access_token(&self, jti: &str, expires_at: u64) -> Result<(), StoreError> {
        self.lock()?.revoked_access_tokens.insert(jti.to_owned(), expires_at);
        Ok(())
    }
}

#[async_trait]
impl RevocationCheck for MemoryStore {
    async fn is_access_revoked(&self, token: &AccessTokenRef, now: UnixTime) -> Result<bool, StoreError> {
        let state = self.lock()?;
        let session = state.sessions.get(&token.session_id).map(|stored| (&stored.session, stored.revoked));
        let revoked_until = state.revoked_access_tokens.get(&token.jti).copied();
        Ok(judge_access(token, state.users.get(&token.user_id), session, revoked_until, now))
    }
}
