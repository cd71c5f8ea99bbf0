//! Multi-factor authentication's records: enrolments, login challenges and the factor itself.

use async_trait::async_trait;

use super::{SessionRenewal, StoreError};
use crate::domain::User;
use crate::domain::mfa::{MfaChallenge, PendingEnrolment, SpentFactor};
use crate::time::UnixTime;

/// Turning MFA on, as one atomic write and a credential event: the pending enrolment spent
/// (still stored as read, unexpired, and started since the latest credential event), the account
/// given its factor unless it already has one (no session started since it was read), and every
/// other session ended while the caller's is renewed with the second factor proved.
#[derive(Clone, Debug)]
pub struct MfaActivation {
    pub user_id: String,
    pub sealed_key: String,
    /// The step of the confirming code: it does not work again.
    pub step: u64,
    pub recovery_digests: Vec<String>,
    pub credential_epoch: u64,
    pub sessions_started: u64,
    pub renewal: SessionRenewal,
}

/// Taking an account's factor away, a credential event: its owner's, with a factor spent in the
/// same write (the account still has the key as read); or an administrator's, with every
/// session revoked.
#[derive(Clone, Debug)]
pub struct MfaRemoval {
    pub user_id: String,
    pub proof: Option<(String, SpentFactor)>,
    pub revoke_sessions_at: Option<UnixTime>,
}

/// What one attempt at an `mfa_token` found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChallengeDraw {
    /// The attempt is counted; the challenge as it stands now.
    Drawn(MfaChallenge),
    /// Unexpired, but its attempts are used up: it is ended.
    Exhausted,
    /// Unknown, spent or expired.
    Unknown,
}

/// The second factor: enrolments waiting for a code, logins waiting for their second step, and
/// the factor on the account.
#[async_trait]
pub trait MfaStore: Send + Sync {
    /// Stores an enrolment waiting for its code, replacing the account's earlier one.
    async fn put_mfa_enrolment(&self, enrolment: &PendingEnrolment) -> Result<(), StoreError>;

    /// The account's pending enrolment, if any (a strongly consistent read; an expired one
    /// included: the caller judges it with its clock).
    async fn mfa_enrolment(&self, user_id: &str) -> Result<Option<PendingEnrolment>, StoreError>;

    /// Turns MFA on; `false`, writing nothing, when the enrolment or the account is not as
    /// [`MfaActivation`] says.
    async fn enable_mfa(&self, activation: &MfaActivation) -> Result<bool, StoreError>;

    /// Stores a login's challenge (its attempts at zero).
    async fn put_mfa_challenge(&self, challenge: &MfaChallenge) -> Result<(), StoreError>;

    /// Counts one attempt at the challenge, atomically: of any number of concurrent attempts,
    /// at most [`crate::domain::mfa::CHALLENGE_ATTEMPTS`] are granted over its life.
    async fn draw_mfa_challenge(&self, digest: &str, now: UnixTime) -> Result<ChallengeDraw, StoreError>;

    /// Removes the account's factor; the account as it is now, or `None`, writing nothing, when
    /// there is no such account or the proof does not hold.
    async fn remove_mfa(&self, removal: &MfaRemoval) -> Result<Option<User>, StoreError>;
}
