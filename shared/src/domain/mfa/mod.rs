//! Multi-factor authentication's values: the TOTP key and its codes (RFC 6238), the key sealed
//! at rest (AES-256-GCM, bound to its account), the recovery codes kept only as digests, and the
//! records of an enrolment waiting for its first code and of a login waiting for its second step.

mod recovery;
mod sealed;
mod totp;

pub use recovery::{RECOVERY_CODE_COUNT, RecoveryCodes, recovery_code_digest};
pub use sealed::{MfaKeyError, MfaSealingKey};
pub use totp::{CODE_DIGITS, STEP_SECS, TotpKey};

/// How long an enrolment waits for its confirming code.
pub const ENROLMENT_TTL_SECS: u64 = 600;
/// How long the second step of a login may wait (the `mfa_token`'s lifetime).
pub const CHALLENGE_TTL_SECS: u64 = 300;
/// Wrong codes one `mfa_token` may take: the next attempt finds it ended.
pub const CHALLENGE_ATTEMPTS: u32 = 5;

/// A TOTP key made by `POST /auth/mfa/totp`, sealed, until a code confirms it (or its TTL ends it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingEnrolment {
    pub user_id: String,
    pub sealed_key: String,
    /// Epoch seconds; the TTL.
    pub expires_at: u64,
    /// The account's credential epoch when it was started: a credential event since voids it.
    pub credential_epoch: u64,
}

/// A login that proved the password and waits for the second factor: what an `mfa_token` stands
/// for. The token itself is never stored, only its digest; a credential event meanwhile (a
/// password change, ...) ends it through its `credential_epoch`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MfaChallenge {
    /// Hex SHA-256 of the `mfa_token`: the stored key.
    pub digest: String,
    pub user_id: String,
    /// Hex SHA-256 of the client the login came from (its `User-Agent`).
    pub client_digest: String,
    /// Codes tried with it so far.
    pub attempts: u32,
    /// Epoch seconds; the TTL.
    pub expires_at: u64,
    /// The account's credential epoch at the login: a credential event since voids it.
    pub credential_epoch: u64,
    /// The device a valid device cookie named at the login, if any: its codes draw from that
    /// device's own budget, so strangers with the password cannot lock the owner out.
    pub device_id: Option<String>,
    /// The provider, when the first step was a federated sign-in (else it was a password).
    pub idp: Option<String>,
    /// The passkey ceremony's state (JSON), when the account has passkeys: the second step may
    /// be an assertion for the challenge the `mfa_required` answer carried.
    pub passkey_state: Option<String>,
}

/// A second factor as the client presents it.
#[derive(Clone, Debug)]
pub enum SecondFactor {
    /// A 6-digit TOTP code.
    Totp(secrecy::SecretString),
    RecoveryCode(secrecy::SecretString),
    /// A passkey's assertion (`AuthenticationResponseJSON`).
    Passkey(Box<webauthn_rs::prelude::PublicKeyCredential>),
}

impl SecondFactor {
    /// What the logs and the notices call it.
    pub fn method(&self) -> &'static str {
        match self {
            SecondFactor::Totp(_) => "totp",
            SecondFactor::RecoveryCode(_) => "recovery_code",
            SecondFactor::Passkey(_) => "passkey",
        }
    }
}

/// A second factor that checked out, as the store spends it: the step a TOTP code was for (no
/// code of that step or earlier works again), or the digest of a recovery code (removed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpentFactor {
    TotpStep(u64),
    RecoveryCode(String),
    /// A passkey's use: its credential rewritten (counter, backup flags) only if still as read.
    Passkey(super::passkeys::PasskeyUse),
}
