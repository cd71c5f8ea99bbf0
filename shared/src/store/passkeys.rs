//! Passkeys: the ceremonies in flight (each a single-use item under its challenge's digest, with
//! a TTL) and the account's passkeys, a map on the account's item changed only by credential
//! events (adding, removing) — and by their uses, which rewrite one credential in the write that
//! starts the session (`LoginProof::Passkey`).

use async_trait::async_trait;

use super::StoreError;
use crate::domain::passkeys::Ceremony;
use crate::domain::{PasskeyId, StoredPasskey};
use crate::time::UnixTime;

/// A change to an account's passkeys, as one atomic write: the account still in the credential
/// epoch it was read in (so `passkeys`, read with it, is still what it holds) and the change a
/// credential event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasskeyChange {
    pub user_id: String,
    pub credential_epoch: u64,
    /// The account's passkeys after the change.
    pub passkeys: Vec<StoredPasskey>,
}

#[async_trait]
pub trait PasskeyStore: Send + Sync {
    async fn put_ceremony(&self, ceremony: &Ceremony) -> Result<(), StoreError>;

    /// Takes a ceremony: deletes it and returns it, when it is stored and unexpired. Of two
    /// answers to one challenge, one gets it.
    async fn take_ceremony(&self, challenge_digest: &str, now: UnixTime) -> Result<Option<Ceremony>, StoreError>;

    /// `false`, writing nothing, when the account changed or is gone.
    async fn change_passkeys(&self, change: &PasskeyChange) -> Result<bool, StoreError>;

    /// Renames one passkey (not a credential event); `false` when the account has no such passkey.
    async fn rename_passkey(&self, user_id: &str, passkey: &PasskeyId, name: &str) -> Result<bool, StoreError>;
}
