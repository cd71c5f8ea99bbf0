//! One-time tokens of the email flows and their redemption.

use async_trait::async_trait;

use super::StoreError;
use crate::domain::{Email, LinkedIdentity, OneTimeToken};
use crate::time::UnixTime;

/// Spending a one-time token, and what it does, as one atomic write: the token must still be
/// stored, unexpired, for this purpose and account, and the account as `effect` requires.
#[derive(Clone, Debug)]
pub struct Redemption {
    pub token: OneTimeToken,
    pub effect: Effect,
    pub now: UnixTime,
}

/// Every redemption also requires that the account had no credential event since the token was
/// issued ([`crate::domain::User::unchanged_since`]), and is one itself except a verification
/// that removes nothing.
#[derive(Clone, Debug)]
pub enum Effect {
    /// The account still has the address the token was mailed to: it counts as verified. The
    /// first proof of an address also removes a second factor set up before it
    /// (`remove_factor`: someone who registered the address first may have planted it).
    VerifyEmail { remove_factor: bool },
    /// The token is the account's newest reset token, the account still has the address it was
    /// mailed to, no login started a session since the account was read, and the account is
    /// enabled: the new hash, every session revoked (`cutoff`, only ever raised), the address
    /// verified (and, as its first proof, a second factor removed when `remove_factor`, and
    /// `remove_identities` — the identities as read — unlinked: whoever made a placeholder account
    /// with the address through a provider that did not verify it must not keep a way in; and,
    /// when `remove_passkeys`, every passkey, for the same reason).
    ResetPassword {
        new_hash: String,
        sessions_started: u64,
        cutoff: UnixTime,
        remove_factor: bool,
        remove_identities: Vec<LinkedIdentity>,
        remove_passkeys: bool,
    },
    /// The account still has `old_email` and is enabled: the token's address becomes the
    /// account's (its guard moves) unless another account holds it.
    ChangeEmail { old_email: Email },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Redeemed {
    Done,
    /// Nothing written: the token is spent, expired or for something else, or the account is
    /// not as the effect requires.
    Refused,
    /// Nothing written: the new address belongs to another account now.
    EmailTaken,
}

/// The one-time tokens: stored as digests, each spent with its effect in one atomic write.
#[async_trait]
pub trait OneTimeStore: Send + Sync {
    /// Stores a one-time token (its digest only). A reset token becomes the account's only
    /// working one in the same write. `false`, writing nothing, when the account is gone.
    async fn issue_one_time_token(&self, token: &OneTimeToken) -> Result<bool, StoreError>;

    /// The stored token with this digest, if any (a strongly consistent read; expired ones
    /// included: the caller judges them with its clock).
    async fn one_time_token(&self, digest: &str) -> Result<Option<OneTimeToken>, StoreError>;

    /// Spends the token and applies its effect, atomically; of concurrent redemptions of one
    /// token, one wins.
    async fn redeem(&self, redemption: &Redemption) -> Result<Redeemed, StoreError>;
}
