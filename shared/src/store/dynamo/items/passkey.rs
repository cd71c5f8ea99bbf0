//! Passkeys' items: a ceremony in flight (`passkey_ceremony#<challenge digest>`, in the
//! revocations table under its TTL) and the account's passkeys, a map by passkey id on the user
//! item, each credential kept as `webauthn-rs`'s JSON text.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Entity, Item, read, write};
use crate::domain::StoredPasskey;
use crate::domain::passkeys::{Ceremony, CeremonyPurpose};
use crate::store::StoreError;

pub(crate) fn ceremony_key(challenge_digest: &str) -> String {
    format!("passkey_ceremony#{challenge_digest}")
}

#[derive(Serialize, Deserialize)]
struct CeremonyItem {
    /// Registration: the account adding a passkey, and its epoch; absent when signing in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user_id: Option<String>,
    #[serde(default)]
    credential_epoch: u64,
    state: String,
    /// Epoch seconds; the TTL.
    expires_at: u64,
}

pub(crate) fn ceremony(ceremony: &Ceremony) -> Result<Item, StoreError> {
    let (user_id, credential_epoch) = match &ceremony.purpose {
        CeremonyPurpose::SignIn => (None, 0),
        CeremonyPurpose::Registration { user_id, credential_epoch } => (Some(user_id.clone()), *credential_epoch),
    };
    let record =
        CeremonyItem { user_id, credential_epoch, state: ceremony.state.clone(), expires_at: ceremony.expires_at };
    write(ceremony_key(&ceremony.challenge_digest), Entity::PasskeyCeremony, record)
}

pub(crate) fn read_ceremony(challenge_digest: &str, item: Item) -> Result<Ceremony, StoreError> {
    let record = read::<CeremonyItem, CeremonyItem>(item)?;
    let purpose = match record.user_id {
        Some(user_id) => CeremonyPurpose::Registration { user_id, credential_epoch: record.credential_epoch },
        None => CeremonyPurpose::SignIn,
    };
    Ok(Ceremony {
        challenge_digest: challenge_digest.to_owned(),
        purpose,
        state: record.state,
        expires_at: record.expires_at,
    })
}

/// One passkey as the user item's `passkeys` map holds it, under its id.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct PasskeyItem {
    name: String,
    created_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_used_at: Option<u64>,
    credential: String,
}

pub(crate) fn passkeys_map(passkeys: &[StoredPasskey]) -> BTreeMap<String, PasskeyItem> {
    passkeys
        .iter()
        .map(|passkey| {
            let item = PasskeyItem {
                name: passkey.name.clone(),
                created_at: passkey.created_at,
                last_used_at: passkey.last_used_at,
                credential: passkey.key_as_stored.clone(),
            };
            (passkey.id.as_str().to_owned(), item)
        })
        .collect()
}

pub(crate) fn passkeys_value(
    passkeys: &[StoredPasskey],
) -> Result<aws_sdk_dynamodb::types::AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(passkeys_map(passkeys))
        .map_err(|error| StoreError::Internal(format!("passkeys not writable: {error}")))
}

/// The passkeys as stored, oldest first; one whose credential does not read back is left out
/// (and logged): it can sign in no more, and the rest still can.
pub(crate) fn passkeys_from_map(map: BTreeMap<String, PasskeyItem>) -> Vec<StoredPasskey> {
    let mut passkeys: Vec<StoredPasskey> = map
        .into_iter()
        .filter_map(|(id, item)| {
            let passkey =
                StoredPasskey::from_stored(id.clone(), item.name, item.created_at, item.last_used_at, item.credential);
            if passkey.is_none() {
                tracing::error!(passkey_id = %id, "a stored passkey's credential does not read back");
            }
            passkey
        })
        .collect();
    passkeys.sort_by(|a, b| (a.created_at, a.id.as_str()).cmp(&(b.created_at, b.id.as_str())));
    passkeys
}
