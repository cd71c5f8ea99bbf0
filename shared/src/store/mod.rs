//! Persistence of users, sessions and revoked access tokens, by role: one small trait per concern
//! (accounts, sessions, throttle, one-time tokens, MFA, the authorizer's revocation check), each
//! beside its intent structs and the rules both adapters share, composed into [`Store`]. Two
//! adapters implement every trait, each in its own file: DynamoDB (`dynamo`) and an embedded
//! in-process store (`memory`) for the local API and fast tests. Both pass the same contract tests
//! (`tests/store_contract`). A use case takes the narrowest trait it needs.

mod accounts;
mod dynamo;
mod federation;
mod memory;
mod mfa;
mod one_time;
mod passkeys;
mod revocation;
mod roles;
#[cfg(test)]
mod rules_tests;
pub mod schema;
mod sessions;
mod throttle;
mod transfer;

pub use accounts::{AccountDeletion, AccountStore, PasswordChange, UserChanges, UserPage, UserSummary};
pub use dynamo::{DynamoStore, TableNames};
pub use federation::{FederationStore, IdentityLink, Linked};
pub use memory::MemoryStore;
pub use mfa::{ChallengeDraw, MfaActivation, MfaRemoval, MfaStore};
pub use one_time::{Effect, OneTimeStore, Redeemed, Redemption};
pub use passkeys::{PasskeyChange, PasskeyStore};
pub(crate) use revocation::judge_access;
pub use revocation::{AccessTokenRef, RevocationCheck};
pub use roles::{RoleAssignment, RoleStore};
pub use sessions::{
    KeptSession, LoginProof, OwnedSession, Rotation, RotationOutcome, SessionCursor, SessionEnd, SessionListing,
    SessionPage, SessionRenewal, SessionStore,
};
pub(crate) use sessions::{is_live, judge_rotation};
pub(crate) use throttle::{Decision, ThrottleRecord, judge_draw, lock_after_failure, window_end};
pub use throttle::{Draw, DrawOutcome, HOLD_MS, ThrottleStore};
pub use transfer::{ExportPage, Imported, TransferStore};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("an account with this email already exists")]
    EmailTaken,
    /// DynamoDB is unreachable, throttling or timing out: the caller may retry later.
    /// A conditional write lost to a concurrent change the caller must look at again.
    #[error("changed concurrently")]
    Conflict,
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Stored data this code cannot read, or a request DynamoDB refused as malformed.
    #[error("store failure: {0}")]
    Internal(String),
}

/// Everything a deployment's store does: every role, as one object. Use cases take the role they
/// need; the functions' bundles hold this.
pub trait Store:
    AccountStore
    + SessionStore
    + ThrottleStore
    + OneTimeStore
    + MfaStore
    + RoleStore
    + FederationStore
    + PasskeyStore
    + RevocationCheck
{
}

impl<T> Store for T where
    T: AccountStore
        + SessionStore
        + ThrottleStore
        + OneTimeStore
        + MfaStore
        + RoleStore
        + FederationStore
        + PasskeyStore
        + RevocationCheck
        + ?Sized
{
}

/// The roles' methods in scope at once, for callers that hold a whole [`Store`] (tests, tools).
pub mod prelude {
    pub use super::{
        AccountStore as _, FederationStore as _, MfaStore as _, OneTimeStore as _, PasskeyStore as _,
        RevocationCheck as _, RoleStore as _, SessionStore as _, ThrottleStore as _,
    };
}
