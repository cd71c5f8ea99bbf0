//! One-time tokens in the embedded store.

use async_trait::async_trait;

use super::MemoryStore;
use crate::domain::{OneTimeToken, Purpose};
use crate::store::{Effect, OneTimeStore, Redeemed, Redemption, StoreError};

#[async_trait]
impl OneTimeStore for MemoryStore {
    async fn issue_one_time_token(&self, token: &OneTimeToken) -> Result<bool, StoreError> {
        let mut state = self.lock()?;
        let Some(user) = state.users.get_mut(&token.user_id) else { return Ok(false) };
        if token.purpose == Purpose::ResetPassword {
            user.latest_reset_ms = Some(token.issued_ms);
        }
        state.one_time_tokens.insert(token.digest.clone(), token.clone());
        Ok(true)
    }

    async fn one_time_token(&self, digest: &str) -> Result<Option<OneTimeToken>, StoreError> {
        Ok(self.lock()?.one_time_tokens.get(digest).cloned())
    }

    async fn redeem(&self, redemption: &Redemption) -> Result<Redeemed, StoreError> {
        let mut state = self.lock()?;
        let token = &redemption.token;
        let stored_as_presented = state.one_time_tokens.get(&token.digest).is_some_and(|stored| {
            stored.purpose == token.purpose
                && stored.user_id == token.user_id
                && stored.expires_at > redemption.now.secs()
        });
        let Some(user) = state
            .users
            .get(&token.user_id)
            .filter(|user| stored_as_presented && user.unchanged_since(token.credential_epoch) && !user.disabled)
        else {
            return Ok(Redeemed::Refused);
        };
        let account_as_required = match &redemption.effect {
            Effect::VerifyEmail { .. } => user.email == token.email,
            Effect::ResetPassword { sessions_started, cutoff, .. } => {
                user.email == token.email
                    && user.latest_reset_ms == Some(token.issued_ms)
                    && user.sessions_started == *sessions_started
                    && user.sessions_valid_after_ms < cutoff.millis()
            }
            Effect::ChangeEmail { old_email } => user.email == *old_email,
        };
        if !account_as_required {
            return Ok(Redeemed::Refused);
        }
        if let Effect::ChangeEmail { old_email } = &redemption.effect {
            if state.user_id_by_email.contains_key(token.email.as_str()) {
                return Ok(Redeemed::EmailTaken);
            }
            state.user_id_by_email.remove(old_email.as_str());
            state.user_id_by_email.insert(token.email.as_str().to_owned(), token.user_id.clone());
        }
        state.one_time_tokens.remove(&token.digest);
        let Some(user) = state.users.get_mut(&token.user_id) else { return Ok(Redeemed::Refused) };
        user.email_verified = true;
        match &redemption.effect {
            Effect::VerifyEmail { remove_factor: false } => {}
            Effect::VerifyEmail { remove_factor: true } => {
                user.mfa = None;
                user.credentials_changed();
            }
            Effect::ResetPassword { new_hash, cutoff, remove_factor, remove_identities, remove_passkeys, .. } => {
                if *remove_passkeys {
                    user.passkeys.clear();
                }
                user.credentials_changed();
                user.password_hash = Some(new_hash.clone());
                user.sessions_valid_after_ms = cutoff.millis();
                user.latest_reset_ms = None;
                if *remove_factor {
                    user.mfa = None;
                }
                user.identities.retain(|identity| !remove_identities.contains(identity));
                for identity in remove_identities {
                    state.user_id_by_identity.remove(&(identity.provider.clone(), identity.subject.clone()));
                }
            }
            Effect::ChangeEmail { .. } => {
                user.email = token.email.clone();
                user.credentials_changed();
            }
        }
        Ok(Redeemed::Done)
    }
}
