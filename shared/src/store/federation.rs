//! Federation: the state of upstream logins in flight, the one-time login codes, and the linked
//! identities (each a guard item, as the email guard is, written with the account or the link).

use async_trait::async_trait;

use super::StoreError;
use crate::domain::federation::{LoginCode, UpstreamLogin};
use crate::domain::{LinkedIdentity, User};
use crate::time::UnixTime;

/// Linking an identity to an account, as one atomic write: the identity's guard new, the account
/// in the credential epoch the owner was checked in, with no identity of that provider yet. A
/// credential event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityLink {
    pub user_id: String,
    pub credential_epoch: u64,
    pub identity: LinkedIdentity,
    /// The account's identities as read (in that epoch).
    pub existing: Vec<LinkedIdentity>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Linked {
    Done,
    /// Nothing written: another account (or this one) has the identity already.
    IdentityTaken,
    /// Nothing written: the account changed (a credential event, an identity of that provider)
    /// or is gone.
    Stale,
}

#[async_trait]
pub trait FederationStore: Send + Sync {
    /// Stores an upstream login's state under its digest, expiring at its `expires_at`.
    async fn put_upstream_login(&self, login: &UpstreamLogin) -> Result<(), StoreError>;

    /// Takes the state: deletes it and returns it, when it is stored and unexpired. Of two
    /// callbacks with one `state`, one gets it.
    async fn take_upstream_login(&self, state_digest: &str, now: UnixTime)
    -> Result<Option<UpstreamLogin>, StoreError>;

    async fn put_login_code(&self, code: &LoginCode) -> Result<(), StoreError>;

    /// Takes the code: deletes it and returns it, when it is stored and unexpired. Single use.
    async fn take_login_code(&self, digest: &str, now: UnixTime) -> Result<Option<LoginCode>, StoreError>;

    /// The account the identity is linked to (a strongly consistent read).
    async fn user_by_identity(&self, provider: &str, subject: &str) -> Result<Option<User>, StoreError>;

    async fn link_identity(&self, link: &IdentityLink) -> Result<Linked, StoreError>;

    /// Unlinks the account's identity of `link.identity.provider`, atomically with the check
    /// that the account is in `link.credential_epoch` (so the caller's "not the last way to sign
    /// in" still holds); a credential event. `false`, writing nothing, when it is not.
    async fn unlink_identity(&self, link: &IdentityLink) -> Result<bool, StoreError>;
}
