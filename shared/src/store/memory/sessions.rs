//! Sessions in the embedded store.

use async_trait::async_trait;

use super::mfa::{spend, unspent};
use super::passkeys;
use super::{MemoryStore, StoredSession};
use crate::domain::mfa::{CHALLENGE_ATTEMPTS, SpentFactor};
use crate::domain::{SeenFrom, Session};
use crate::store::{
    KeptSession, LoginProof, OwnedSession, Rotation, RotationOutcome, SessionCursor, SessionEnd, SessionListing,
    SessionPage, SessionStore, StoreError, is_live, judge_rotation,
};
use crate::time::UnixTime;

#[async_trait]
impl SessionStore for MemoryStore {
    async fn start_session(&self, session: &Session, proof: &LoginProof) -> Result<bool, StoreError> {
        let mut state = self.lock()?;
        if state.sessions.contains_key(&session.id) {
            return Err(StoreError::Internal("session id collision".into()));
        }
        let challenge_stands = match proof {
            LoginProof::Password { .. } | LoginProof::Federated { .. } | LoginProof::Passkey { .. } => true,
            LoginProof::SecondFactor { challenge_digest, .. } => {
                state.mfa_challenges.get(challenge_digest).is_some_and(|challenge| {
                    challenge.user_id == session.user_id && challenge.attempts <= CHALLENGE_ATTEMPTS
                })
            }
        };
        let passkey_use = match proof {
            LoginProof::Passkey { used, .. } | LoginProof::SecondFactor { spent: SpentFactor::Passkey(used), .. } => {
                Some(used)
            }
            _ => None,
        };
        let Some(user) = state.users.get_mut(&session.user_id).filter(|user| {
            challenge_stands
                && !user.disabled
                && user.unchanged_since(proof.credential_epoch())
                && passkey_use.is_none_or(|used| passkeys::unspent(user, used))
                && match proof {
                    LoginProof::Password { .. } | LoginProof::Federated { .. } | LoginProof::Passkey { .. } => true,
                    LoginProof::SecondFactor { sealed_key, spent, .. } => user
                        .mfa
                        .as_ref()
                        .is_some_and(|factor| &factor.sealed_key == sealed_key && unspent(factor, spent)),
                }
        }) else {
            return Ok(false);
        };
        if let Some(used) = passkey_use {
            passkeys::spend(user, used);
        }
        user.sessions_started += 1;
        if let LoginProof::SecondFactor { challenge_digest, spent, .. } = proof {
            if let Some(factor) = user.mfa.as_mut() {
                spend(factor, spent);
            }
            state.mfa_challenges.remove(challenge_digest);
        }
        state.sessions.insert(session.id.clone(), StoredSession { session: session.clone(), revoked: false });
        Ok(true)
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
                session.last_used_ms = rotation.now.millis();
                merge_seen_from(&mut session.seen_from, &rotation.seen_from);
            }
            RotationOutcome::Grace { .. } => stored.session.grace_used = true,
            RotationOutcome::Reused | RotationOutcome::Revoked => {}
        }
        Ok(outcome)
    }

    async fn end_session(&self, session_id: &str, jti: &str) -> Result<SessionEnd, StoreError> {
        let mut state = self.lock()?;
        let Some(stored) = state.sessions.get_mut(session_id) else { return Ok(SessionEnd::Unknown) };
        let was_revoked = std::mem::replace(&mut stored.revoked, true);
        Ok(match (stored.session.current_jti == jti, was_revoked) {
            (true, false) => SessionEnd::Ended { created_ms: stored.session.created_ms },
            (true, true) => SessionEnd::AlreadyEnded,
            (false, _) => SessionEnd::Spent,
        })
    }

    async fn revoke_session(&self, session_id: &str) -> Result<(), StoreError> {
        if let Some(stored) = self.lock()?.sessions.get_mut(session_id) {
            stored.revoked = true;
        }
        Ok(())
    }

    async fn revoke_owned_session(&self, owned: &OwnedSession) -> Result<bool, StoreError> {
        let mut state = self.lock()?;
        let Some(stored) = state.sessions.get_mut(&owned.session_id).filter(|stored| {
            is_live(&stored.session, stored.revoked, &owned.user_id, owned.sessions_valid_after_ms, owned.now)
        }) else {
            return Ok(false);
        };
        stored.revoked = true;
        Ok(true)
    }

    async fn end_other_sessions(&self, kept: &KeptSession) -> Result<bool, StoreError> {
        let mut state = self.lock()?;
        let account_as_read = state.users.get(&kept.user_id).is_some_and(|user| {
            user.sessions_valid_after_ms < kept.session_created_ms && user.sessions_started == kept.sessions_started
        });
        let session_as_read = state.sessions.get(&kept.session_id).is_some_and(|stored| {
            !stored.revoked
                && stored.session.user_id == kept.user_id
                && stored.session.current_jti == kept.jti
                && stored.session.created_ms == kept.session_created_ms
                && stored.session.expires_at > kept.cutoff.secs()
        });
        if !(account_as_read && session_as_read) {
            return Ok(false);
        }
        if let Some(user) = state.users.get_mut(&kept.user_id) {
            user.sessions_valid_after_ms = user.sessions_valid_after_ms.max(kept.cutoff.millis());
            user.credentials_changed();
        }
        if let Some(stored) = state.sessions.get_mut(&kept.session_id) {
            stored.session.created_ms = kept.cutoff.millis() + 1;
        }
        Ok(true)
    }

    async fn revoke_user_sessions(&self, user_id: &str, cutoff: UnixTime) -> Result<(), StoreError> {
        if let Some(user) = self.lock()?.users.get_mut(user_id) {
            user.sessions_valid_after_ms = user.sessions_valid_after_ms.max(cutoff.millis());
            user.credentials_changed();
        }
        Ok(())
    }

    async fn list_sessions(&self, listing: &SessionListing) -> Result<SessionPage, StoreError> {
        let state = self.lock()?;
        // The index's order: created_ms, then the key, both descending.
        let position = |session: &Session| (session.created_ms, session.id.clone());
        let mut live: Vec<Session> = state
            .sessions
            .values()
            .filter(|stored| {
                is_live(&stored.session, stored.revoked, &listing.user_id, listing.sessions_valid_after_ms, listing.now)
            })
            .map(|stored| stored.session.clone())
            .filter(|session| {
                listing
                    .after
                    .as_ref()
                    .is_none_or(|after| position(session) < (after.created_ms, after.session_id.clone()))
            })
            .collect();
        live.sort_by_key(|session| std::cmp::Reverse(position(session)));
        let more = live.len() > listing.limit as usize;
        live.truncate(listing.limit as usize);
        let next_after = live
            .last()
            .filter(|_| more)
            .map(|last| SessionCursor { created_ms: last.created_ms, session_id: last.id.clone() });
        Ok(SessionPage { sessions: live, next_after })
    }

    async fn forget_sessions(&self, user_id: &str) -> Result<usize, StoreError> {
        let mut state = self.lock()?;
        let before = state.sessions.len();
        state.sessions.retain(|_, stored| stored.revoked || stored.session.user_id != user_id);
        Ok(before - state.sessions.len())
    }

    async fn revoke_access_token(&self, jti: &str, expires_at: u64) -> Result<(), StoreError> {
        self.lock()?.revoked_access_tokens.insert(jti.to_owned(), expires_at);
        Ok(())
    }
}

/// What a refresh saw of its client replaces what was known; what it did not see stays.
fn merge_seen_from(known: &mut SeenFrom, seen: &SeenFrom) {
    if seen.user_agent.is_some() {
        known.user_agent.clone_from(&seen.user_agent);
    }
    if seen.ip.is_some() {
        known.ip.clone_from(&seen.ip);
    }
}
