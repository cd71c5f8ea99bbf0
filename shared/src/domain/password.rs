use std::sync::{Arc, OnceLock};

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher as _, PasswordVerifier as _, Version};
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

/// Hashes and verifies passwords with Argon2id. Every call runs on Tokio's blocking pool:
/// a hash takes tens of milliseconds and would otherwise stall the runtime.
#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    params: PasswordParams,
    argon2: Argon2<'static>,
    /// A hash of a random password made with the current parameters. Unknown emails are
    /// checked against it so that they cost exactly as much as a wrong password.
    dummy_hash: OnceLock<String>,
}

impl PasswordHasher {
    pub fn new(params: PasswordParams) -> Result<Self, String> {
        let argon2_params = Params::new(params.memory_kib, params.iterations, params.parallelism, None)
            .map_err(|error| error.to_string())?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, argon2_params);
        Ok(Self { inner: Arc::new(Inner { params, argon2, dummy_hash: OnceLock::new() }) })
    }

    pub fn params(&self) -> PasswordParams {
        self.inner.params
    }

    pub async fn hash(&self, password: Password) -> Result<String, HashingError> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || inner.hash(&password))
            .await
            .map_err(|join| HashingError(join.to_string()))?
    }

    /// Checks `password` against `stored`, or against the dummy hash when there is no account,
    /// so that both cases take the same time. With no account the answer is always `Invalid`.
    pub async fn verify(&self, password: Password, stored: Option<String>) -> Result<PasswordCheck, HashingError> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || match stored {
            Some(stored) => inner.verify(&password, &stored),
            None => {
                let dummy = inner.dummy_hash()?;
                inner.verify(&password, dummy)?;
                Ok(PasswordCheck::Invalid)
            }
        })
        .await
        .map_err(|join| HashingError(join.to_string()))?
    }
}

impl Inner {
    fn hash(&self, password: &Password) -> Result<String, HashingError> {
        self.argon2
            .hash_password(password.bytes())
            .map(|hash| hash.to_string())
            .map_err(|error| HashingError(error.to_string()))
    }

    fn verify(&self, password: &Password, stored: &str) -> Result<PasswordCheck, HashingError> {
        let parsed =
            PasswordHash::new(stored).map_err(|error| HashingError(format!("stored hash unreadable: {error}")))?;
        if self.argon2.verify_password(password.bytes(), &parsed).is_err() {
            return Ok(PasswordCheck::Invalid);
        }
        Ok(PasswordCheck::Valid { needs_rehash: !self.is_current(&parsed) })
    }

    fn is_current(&self, hash: &PasswordHash) -> bool {
        let Ok(params) = Params::try_from(hash) else { return false };
        hash.algorithm == argon2::ARGON2ID_IDENT
            && hash.version == Some(Version::V0x13.into())
            && params.m_cost() == self.params.memory_kib
            && params.t_cost() == self.params.iterations
            && params.p_cost() == self.params.parallelism
    }

    fn dummy_hash(&self) -> Result<&str, HashingError> {
        if let Some(hash) = self.dummy_hash.get() {
            return Ok(hash);
        }
        let random = uuid::Uuid::new_v4().to_string();
        let hash = self.hash(&Password(SecretString::from(random)))?;
        Ok(self.dummy_hash.get_or_init(|| hash))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> PasswordParams {
        PasswordParams { memory_kib: 256, iterations: 1, parallelism: 1 }
    }

    fn presented(raw: &str) -> Password {
        Password::parse_presented(raw.to_owned()).unwrap()
    }

    #[tokio::test]
    async fn a_hash_verifies_only_its_own_password() {
        let hasher = PasswordHasher::new(cheap()).unwrap();
        let hash = hasher.hash(presented("correct horse")).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=256,t=1,p=1$"), "{hash}");
        assert_eq!(
            hasher.verify(presented("correct horse"), Some(hash.clone())).await.unwrap(),
            PasswordCheck::Valid { needs_rehash: false }
        );
        assert_eq!(hasher.verify(presented("wrong horse"), Some(hash)).await.unwrap(), PasswordCheck::Invalid);
    }

    #[tokio::test]
    async fn unknown_account_is_always_invalid() {
        let hasher = PasswordHasher::new(cheap()).unwrap();
        assert_eq!(hasher.verify(presented("anything at all"), None).await.unwrap(), PasswordCheck::Invalid);
    }

    #[tokio::test]
    async fn a_hash_with_older_parameters_asks_for_a_rehash() {
        let old = PasswordHasher::new(cheap()).unwrap();
        let hash = old.hash(presented("correct horse")).await.unwrap();
        let current = PasswordHasher::new(PasswordParams { memory_kib: 512, ..cheap() }).unwrap();
        assert_eq!(
            current.verify(presented("correct horse"), Some(hash)).await.unwrap(),
            PasswordCheck::Valid { needs_rehash: true }
        );
    }

    #[test]
    fn policy_bounds_new_passwords() {
        assert!(Password::parse_new("short".into()).is_err());
        assert!(Password::parse_new("long enough".into()).is_ok());
        assert!(Password::parse_new("x".repeat(MAX_PASSWORD_BYTES + 1)).is_err());
        assert!(Password::parse_presented("short".into()).is_ok());
        assert!(Password::parse_presented("x".repeat(MAX_PASSWORD_BYTES + 1)).is_err());
    }

    #[test]
    fn debug_output_hides_the_password() {
        assert_eq!(format!("{:?}", presented("hunter22")), "Password([redacted])");
    }
}
