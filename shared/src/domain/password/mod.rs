//! Passwords: the secret as received, the Argon2id hasher every new hash comes from, and the
//! stored hashes it can check (Argon2id and the formats other systems export, see `stored`).

mod hasher;
mod stored;

pub use hasher::PasswordHasher;
pub use stored::{HashFormatError, StoredHash};

use secrecy::{ExposeSecret, SecretString};

pub const MIN_PASSWORD_CHARS: usize = 8;
/// Far above any real passphrase, far below what would make hashing a denial-of-service lever.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// A password as received: kept secret (no `Debug` output, zeroised on drop) from parse to hash.
pub struct Password(SecretString);

impl Password {
    /// A new password chosen by a user: must satisfy the policy.
    pub fn parse_new(raw: String) -> Result<Self, &'static str> {
        let candidate = Self::parse_presented(raw)?;
        if candidate.0.expose_secret().chars().count() < MIN_PASSWORD_CHARS {
            return Err("must be at least 8 characters");
        }
        Ok(candidate)
    }

    /// A password presented to log in: only bounded, since the policy may have changed since
    /// the account was made and a short password must still cost a full hash to reject.
    pub fn parse_presented(raw: String) -> Result<Self, &'static str> {
        if raw.len() > MAX_PASSWORD_BYTES {
            return Err("must be at most 1024 bytes");
        }
        Ok(Self(SecretString::from(raw)))
    }

    /// A second handle on the same secret, for a login that must both check and rehash it.
    pub fn duplicate(&self) -> Self {
        Self(SecretString::from(self.0.expose_secret().to_owned()))
    }

    /// The password itself, for the one place that must show it to another system: the
    /// directory a lazy migration checks it against (`legacy`). Never logged.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    fn bytes(&self) -> &[u8] {
        self.0.expose_secret().as_bytes()
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password([redacted])")
    }
}

/// Argon2id cost. The defaults are OWASP's first recommendation (19 MiB, 2 passes, 1 lane).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PasswordParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for PasswordParams {
    fn default() -> Self {
        Self { memory_kib: 19_456, iterations: 2, parallelism: 1 }
    }
}

/// The outcome of checking a password against a stored hash.
#[derive(Debug, PartialEq, Eq)]
pub enum PasswordCheck {
    /// Correct; `needs_rehash` when the stored hash used other parameters than today's.
    Valid {
        needs_rehash: bool,
    },
    Invalid,
}

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashingError(String);

#[cfg(test)]
mod tests {
    use super::*;

    fn presented(raw: &str) -> Password {
        Password::parse_presented(raw.to_owned()).unwrap()
    }

    #[test]
    fn policy_bounds_new_passwords() {
        assert!(Password::parse_new("short".into()).is_err());
        assert!(Password::parse_new("long enough".into()).is_ok());
        assert!(Password::parse_new("x".repeat(MAX_PASSWORD_BYTES + 1)).is_err());
        assert!(Password::parse_presented("short".into()).is_ok());
        assert!(Password::parse_presented("x".repeat(MAX_PASSWORD_BYTES + 1)).is_err());
        // The bounds themselves: exactly 8 characters (not bytes) is enough, exactly 1024 bytes
        // is not too long.
        assert!(Password::parse_new("12345678".into()).is_ok());
        assert!(Password::parse_new("1234567".into()).is_err());
        assert!(Password::parse_new("éééééééé".into()).is_ok(), "8 characters in 16 bytes");
        assert!(Password::parse_new("x".repeat(MAX_PASSWORD_BYTES)).is_ok());
        assert!(Password::parse_presented("x".repeat(MAX_PASSWORD_BYTES)).is_ok());
    }

    #[test]
    fn debug_output_hides_the_password() {
        assert_eq!(format!("{:?}", presented("hunter22")), "Password([redacted])");
    }
}
