//! MFA's waiting records: an enrolment (`mfa_enrolment#<user id>`) and a login's challenge
//! (`mfa_challenge#<digest>`).

use serde::{Deserialize, Serialize};

use super::{Entity, Item, mfa_challenge_key, mfa_enrolment_key, read, write};
use crate::domain::mfa::{MfaChallenge, PendingEnrolment};
use crate::store::StoreError;

/// A TOTP enrolment waiting for its code, one per account (a new one replaces it).
#[derive(Serialize, Deserialize)]
pub(crate) struct MfaEnrolmentItem {
    user_id: String,
    sealed_key: String,
    /// Epoch seconds; the TTL.
    expires_at: u64,
    #[serde(default)]
    credential_epoch: u64,
}

pub(crate) fn mfa_enrolment(enrolment: &PendingEnrolment) -> Result<Item, StoreError> {
    let record = MfaEnrolmentItem {
        user_id: enrolment.user_id.clone(),
        sealed_key: enrolment.sealed_key.clone(),
        expires_at: enrolment.expires_at,
        credential_epoch: enrolment.credential_epoch,
    };
    write(mfa_enrolment_key(&enrolment.user_id), Entity::MfaEnrolment, record)
}

impl From<MfaEnrolmentItem> for PendingEnrolment {
    fn from(item: MfaEnrolmentItem) -> Self {
        Self {
            user_id: item.user_id,
            sealed_key: item.sealed_key,
            expires_at: item.expires_at,
            credential_epoch: item.credential_epoch,
        }
    }
}

/// A login waiting for its second factor: keyed by the `mfa_token`'s digest.
#[derive(Serialize, Deserialize)]
pub(crate) struct MfaChallengeItem {
    user_id: String,
    client_digest: String,
    #[serde(default)]
    attempts: u32,
    /// Epoch seconds; the TTL.
    expires_at: u64,
    #[serde(default)]
    credential_epoch: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    device_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    idp: Option<String>,
    /// The passkey ceremony's state (JSON) for a second step with a passkey.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    passkey_state: Option<String>,
}

pub(crate) fn mfa_challenge(challenge: &MfaChallenge) -> Result<Item, StoreError> {
    let record = MfaChallengeItem {
        user_id: challenge.user_id.clone(),
        client_digest: challenge.client_digest.clone(),
        attempts: challenge.attempts,
        expires_at: challenge.expires_at,
        credential_epoch: challenge.credential_epoch,
        device_id: challenge.device_id.clone(),
        idp: challenge.idp.clone(),
        passkey_state: challenge.passkey_state.clone(),
    };
    write(mfa_challenge_key(&challenge.digest), Entity::MfaChallenge, record)
}

pub(crate) fn read_mfa_challenge(digest: &str, item: Item) -> Result<MfaChallenge, StoreError> {
    let record = read::<MfaChallengeItem, MfaChallengeItem>(item)?;
    Ok(MfaChallenge {
        digest: digest.to_owned(),
        user_id: record.user_id,
        client_digest: record.client_digest,
        attempts: record.attempts,
        expires_at: record.expires_at,
        credential_epoch: record.credential_epoch,
        device_id: record.device_id,
        idp: record.idp,
        passkey_state: record.passkey_state,
    })
}
