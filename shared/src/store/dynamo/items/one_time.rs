//! A one-time token of the email flows (`otk#<digest>`).

use serde::{Deserialize, Serialize};

use super::{Entity, Item, one_time_key, read, write};
use crate::domain::{Email, OneTimeToken, Purpose};
use crate::store::StoreError;

/// A one-time token: the key is its digest; the token itself is never stored.
#[derive(Serialize, Deserialize)]
pub(crate) struct OneTimeTokenItem {
    purpose: String,
    user_id: String,
    email: String,
    issued_ms: u64,
    /// Epoch seconds; the TTL.
    expires_at: u64,
    #[serde(default)]
    credential_epoch: u64,
}

pub(crate) fn one_time_token(token: &OneTimeToken) -> Result<Item, StoreError> {
    let record = OneTimeTokenItem {
        purpose: token.purpose.as_str().to_owned(),
        user_id: token.user_id.clone(),
        email: token.email.as_str().to_owned(),
        issued_ms: token.issued_ms,
        expires_at: token.expires_at,
        credential_epoch: token.credential_epoch,
    };
    write(one_time_key(&token.digest), Entity::OneTimeToken, record)
}

pub(crate) fn read_one_time_token(digest: &str, item: Item) -> Result<OneTimeToken, StoreError> {
    let record = read::<OneTimeTokenItem, OneTimeTokenItem>(item)?;
    let purpose = Purpose::parse(&record.purpose)
        .ok_or_else(|| StoreError::Internal(format!("stored one-time token has purpose {:?}", record.purpose)))?;
    Ok(OneTimeToken {
        digest: digest.to_owned(),
        purpose,
        user_id: record.user_id,
        email: Email::from_stored(record.email),
        issued_ms: record.issued_ms,
        expires_at: record.expires_at,
        credential_epoch: record.credential_epoch,
    })
}
