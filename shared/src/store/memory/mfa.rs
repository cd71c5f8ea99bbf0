//! MFA's records in the embedded store.

use async_trait::async_trait;

use super::MemoryStore;
use crate::domain::mfa::{CHALLENGE_ATTEMPTS, MfaChallenge, PendingEnrolment, SpentFactor};
use crate::domain::{MfaFactor, User};
use crate::store::{ChallengeDraw, MfaActivation, MfaRemoval, MfaStore, StoreError};
use crate::time::UnixTime;

#[async_trait]
impl MfaStore for MemoryStore {
    async fn put_mfa_enrolment(&self, enrolment: &PendingEnrolment) -> Result<(), StoreError> {
        self.lock()?.mfa_enrolments.insert(enrolment.user_id.clone(), enrolment.clone());
        Ok(())
    }

    async fn mfa_enrolment(&self, user_id: &str) -> Result<Option<PendingEnrolment>, StoreError> {
        Ok(self.lock()?.mfa_enrolments.get(user_id).cloned())
    }

    async fn enable_mfa(&self, activation: &MfaActivation) -> Result<bool, StoreError> {
        let mut state = self.lock()?;
        let renewal = &activation.renewal;
        let pending_as_read = state.mfa_enrolments.get(&activation.user_id).is_some_and(|pending| {
            pending.sealed_key == activation.sealed_key
                && pending.expires_at > renewal.cutoff.secs()
                && pending.credential_epoch == activation.credential_epoch
        });
        let account_as_read = state.users.get(&activation.user_id).is_some_and(|user| {
            user.mfa.is_none()
                && !user.disabled
                && user.unchanged_since(activation.credential_epoch)
                && user.sessions_started == activation.sessions_started
        });
        if !(pending_as_read && account_as_read && state.renewable(&activation.user_id, renewal)) {
            return Ok(false);
        }
        if let Some(user) = state.users.get_mut(&activation.user_id) {
            user.mfa = Some(MfaFactor {
                sealed_key: activation.sealed_key.clone(),
                last_used_step: Some(activation.step),
                recovery_digests: activation.recovery_digests.clone(),
            });
        }
        state.renew(&activation.user_id, renewal);
        state.mfa_enrolments.remove(&activation.user_id);
        Ok(true)
    }

    async fn put_mfa_challenge(&self, challenge: &MfaChallenge) -> Result<(), StoreError> {
        self.lock()?.mfa_challenges.insert(challenge.digest.clone(), challenge.clone());
        Ok(())
    }

    async fn draw_mfa_challenge(&self, digest: &str, now: UnixTime) -> Result<ChallengeDraw, StoreError> {
        let mut state = self.lock()?;
        let Some(challenge) = state.mfa_challenges.get_mut(digest).filter(|found| found.expires_at > now.secs()) else {
            return Ok(ChallengeDraw::Unknown);
        };
        if challenge.attempts >= CHALLENGE_ATTEMPTS {
            return Ok(ChallengeDraw::Exhausted);
        }
        challenge.attempts += 1;
        Ok(ChallengeDraw::Drawn(challenge.clone()))
    }

    async fn remove_mfa(&self, removal: &MfaRemoval) -> Result<Option<User>, StoreError> {
        let mut state = self.lock()?;
        let Some(user) = state.users.get_mut(&removal.user_id) else { return Ok(None) };
        if let Some((sealed_key, spent)) = &removal.proof {
            let holds =
                user.mfa.as_ref().is_some_and(|factor| &factor.sealed_key == sealed_key && unspent(factor, spent));
            if !holds {
                return Ok(None);
            }
        }
        user.mfa = None;
        user.credentials_changed();
        if let Some(cutoff) = removal.revoke_sessions_at {
            user.sessions_valid_after_ms = user.sessions_valid_after_ms.max(cutoff.millis());
        }
        Ok(Some(user.clone()))
    }
}

/// Whether the factor can still be spent: a step after the last one used, or an unused code.
pub(super) fn unspent(factor: &MfaFactor, spent: &SpentFactor) -> bool {
    match spent {
        SpentFactor::TotpStep(step) => factor.last_used_step.is_none_or(|used| *step > used),
        SpentFactor::RecoveryCode(digest) => factor.recovery_digests.contains(digest),
        // A passkey is the account's, not the factor's: `passkeys::unspent` judges it.
        SpentFactor::Passkey(_) => true,
    }
}

pub(super) fn spend(factor: &mut MfaFactor, spent: &SpentFactor) {
    match spent {
        SpentFactor::TotpStep(step) => factor.last_used_step = Some(*step),
        SpentFactor::RecoveryCode(digest) => factor.recovery_digests.retain(|kept| kept != digest),
        SpentFactor::Passkey(_) => {}
    }
}
