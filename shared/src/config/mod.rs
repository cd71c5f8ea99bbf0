//! Configuration from the environment, read once at init into typed values. A missing or bad
//! value fails init with an error naming the variable; no secret value is ever echoed.

use std::collections::HashMap;
use std::time::Duration;

mod events;
mod keys;
mod legacy;
mod mail;
mod mfa;
mod passkeys;
mod password_policy;
mod standards;

pub use keys::SIGNING_KEY_SECRET;
pub use mfa::{MFA_KEY, MFA_KEY_SECRET, issuer_name as mfa_issuer_name};
pub use passkeys::{ORIGINS as WEBAUTHN_ORIGINS, RP_ID as WEBAUTHN_RP_ID};
pub use standards::{INTROSPECTION_CLIENTS, INTROSPECTION_CLIENTS_SECRET};

use secrecy::SecretString;

use crate::domain::{Budget, LoginThrottle, PasswordHasher, PasswordParams, SessionPolicy};
use crate::email::Mail;
use crate::events::Events;
use crate::service::{Accounts, DEFAULT_ROLE_CACHE_SECS, Recovery, RoleCache};
use crate::store::{DynamoStore, TableNames};
use crate::tokens::{TokenIssuer, TokenSettings, TokenVerifier, VerifyingKeys};
use crate::transport::{AllowedOrigins, TokenTransport};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{0} is required")]
    Missing(&'static str),
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// Where variables come from: the process environment, or a map in tests.
pub struct Env {
    vars: HashMap<String, String>,
}

impl Env {
    pub fn from_process() -> Self {
        Self { vars: std::env::vars().collect() }
    }

    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self { vars: pairs.into_iter().map(|(name, value)| (name.to_owned(), value.to_owned())).collect() }
    }

    /// Uses `value` for `name` unless the environment sets it (for the local API's defaults).
    pub fn set_default(&mut self, name: &str, value: &str) {
        if self.get(name).is_none() {
            self.vars.insert(name.to_owned(), value.to_owned());
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str).filter(|value| !value.trim().is_empty())
    }

    pub fn required(&self, name: &'static str) -> Result<&str, ConfigError> {
        self.get(name).ok_or(ConfigError::Missing(name))
    }

    pub(crate) fn secret(&self, name: &'static str) -> Option<SecretString> {
        self.get(name).map(|value| SecretString::from(value.to_owned()))
    }

    pub fn number<T: std::str::FromStr + PartialOrd + std::fmt::Display>(
        &self,
        name: &'static str,
        default: T,
        range: std::ops::RangeInclusive<T>,
    ) -> Result<T, ConfigError> {
        let value = match self.get(name) {
            None => default,
            Some(raw) => raw
                .trim()
                .parse()
                .map_err(|_| ConfigError::Invalid { name, reason: format!("{raw:?} is not a whole number") })?,
        };
        if !range.contains(&value) {
            return Err(ConfigError::Invalid {
                name,
                reason: format!("must be between {} and {}", range.start(), range.end()),
            });
        }
        Ok(value)
    }
}

const DAY: u64 = 86_400;

impl TokenTransport {
    /// `TOKEN_TRANSPORT`: `body` (default), `cookie` or `both`.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let Some(raw) = env.get("TOKEN_TRANSPORT") else { return Ok(Self::default()) };
        Self::parse(raw).ok_or_else(|| ConfigError::Invalid {
            name: "TOKEN_TRANSPORT",
            reason: "must be body, cookie or both".into(),
        })
    }
}

impl AllowedOrigins {
    /// `CORS_ALLOWED_ORIGINS`: comma-separated origins; unset means no cross-origin access.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Self::parse(env.get("CORS_ALLOWED_ORIGINS").unwrap_or_default())
            .map_err(|bad| ConfigError::Invalid { name: "CORS_ALLOWED_ORIGINS", reason: bad.to_string() })
    }
}

/// `AUTHORIZER_REVOCATION_CHECK`: whether the authorizer also consults DynamoDB.
pub fn strict_revocation(env: &Env) -> Result<bool, ConfigError> {
    match env.get("AUTHORIZER_REVOCATION_CHECK").map(str::to_ascii_lowercase).as_deref() {
        None | Some("false" | "0" | "no") => Ok(false),
        Some("true" | "1" | "yes") => Ok(true),
        Some(_) => {
            Err(ConfigError::Invalid { name: "AUTHORIZER_REVOCATION_CHECK", reason: "must be true or false".into() })
        }
    }
}

impl TokenSettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let defaults = Self::with_defaults(env.required("JWT_ISSUER")?, env.required("JWT_AUDIENCE")?);
        Ok(Self {
            access_ttl_secs: env.number("ACCESS_TOKEN_TTL_SECONDS", defaults.access_ttl_secs, 1..=DAY)?,
            refresh_ttl_secs: env.number("REFRESH_TOKEN_TTL_SECONDS", defaults.refresh_ttl_secs, 60..=365 * DAY)?,
            leeway_secs: env.number("JWT_LEEWAY_SECONDS", defaults.leeway_secs, 0..=60)?,
            session_max_age_secs: env.number(
                "SESSION_MAX_AGE_SECONDS",
                defaults.session_max_age_secs,
                60..=365 * DAY,
            )?,
            ..defaults
        })
    }
}

impl TokenVerifier {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self::new(TokenSettings::from_env(env)?, VerifyingKeys::from_env(env)?))
    }
}

impl PasswordHasher {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let defaults = PasswordParams::default();
        let params = PasswordParams {
            memory_kib: env.number("ARGON2_MEMORY_KIB", defaults.memory_kib, 8..=1_048_576)?,
            iterations: env.number("ARGON2_ITERATIONS", defaults.iterations, 1..=64)?,
            parallelism: env.number("ARGON2_PARALLELISM", defaults.parallelism, 1..=16)?,
        };
        Self::new(params).map_err(|reason| ConfigError::Invalid { name: "ARGON2_MEMORY_KIB", reason })
    }
}

impl LoginThrottle {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let per_client = Budget {
            free: env.number("LOGIN_THROTTLE_FREE_ATTEMPTS", defaults.per_client.free, 1..=100)?,
            base_lock_secs: env.number("LOGIN_THROTTLE_BASE_SECONDS", defaults.per_client.base_lock_secs, 1..=3600)?,
            max_lock_secs: env.number("LOGIN_THROTTLE_MAX_SECONDS", defaults.per_client.max_lock_secs, 1..=DAY)?,
            window_secs: env.number("LOGIN_THROTTLE_WINDOW_SECONDS", defaults.per_client.window_secs, 60..=DAY)?,
        };
        let ip_free = env.number("LOGIN_THROTTLE_IP_FREE_ATTEMPTS", defaults.per_ip.free, 1..=100_000)?;
        let account_free =
            env.number("LOGIN_THROTTLE_ACCOUNT_FREE_ATTEMPTS", defaults.per_account.free, 1..=100_000)?;
        let free = |name, budget: Budget| -> Result<Budget, ConfigError> {
            Ok(Budget { free: env.number(name, budget.free, 1..=100_000)?, ..budget })
        };
        Ok(Self {
            per_client,
            per_ip: Budget { free: ip_free, ..per_client },
            per_account: Budget { free: account_free, ..per_client },
            registrations_per_ip: free("REGISTRATIONS_PER_IP_PER_HOUR", defaults.registrations_per_ip)?,
            email_changes_per_account: free("EMAIL_CHANGES_PER_ACCOUNT_PER_HOUR", defaults.email_changes_per_account)?,
            unknown_mfa_tokens_per_ip: free("MFA_UNKNOWN_TOKENS_PER_IP", defaults.unknown_mfa_tokens_per_ip)?,
        })
    }
}

impl SessionPolicy {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let default = Self::DEFAULT_REUSE_GRACE_SECS;
        Ok(Self { reuse_grace_secs: env.number("REFRESH_REUSE_GRACE_SECONDS", default, 0..=300)? })
    }
}

impl Accounts {
    /// The bundle of the functions that sign tokens, on DynamoDB.
    pub async fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let issuer = TokenIssuer::from_env(env).await?;
        let roles = RoleCache::from_env(env)?;
        Ok(Self { recovery: Recovery::from_env(env).await?, sessions: SessionPolicy::from_env(env)?, issuer, roles })
    }
}

impl RoleCache {
    /// `ROLE_CACHE_SECS`: how long a function keeps the role catalog it read (0 to 3600 s).
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self::new(env.number("ROLE_CACHE_SECS", DEFAULT_ROLE_CACHE_SECS, 0..=3600)?))
    }
}

impl Recovery {
    /// The bundle of the functions that mail links but sign nothing, on DynamoDB: no key.
    pub async fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            hasher: PasswordHasher::from_env(env)?,
            throttle: LoginThrottle::from_env(env)?,
            verifier: TokenVerifier::from_env(env)?,
            mail: Mail::from_env(env).await?,
            events: Events::from_env(env).await?,
            store: std::sync::Arc::new(DynamoStore::from_env(env).await?),
            passkeys: std::sync::Arc::new(crate::passkeys::RelyingParty::from_env(env)?),
            legacy: crate::legacy::Legacy::from_env(env).await?,
            password_policy: crate::password_policy::PasswordPolicy::from_env(env)?,
        })
    }
}

impl TableNames {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            users: env.required("USERS_TABLE")?.to_owned(),
            revocations: env.required("REVOCATIONS_TABLE")?.to_owned(),
        })
    }
}

impl DynamoStore {
    /// A store on the DynamoDB the standard AWS configuration points at (region, credentials,
    /// `AWS_ENDPOINT_URL_DYNAMODB`). Timeouts are set so a dead endpoint fails fast, well inside
    /// a Lambda timeout, instead of hanging.
    pub async fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let tables = TableNames::from_env(env)?;
        Ok(Self::new(dynamodb_client().await, tables))
    }
}

pub async fn dynamodb_client() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&aws_sdk_config().await)
}

/// The standard AWS configuration (region, credentials, `AWS_ENDPOINT_URL_*`) with timeouts set
/// so a dead endpoint fails fast, well inside a Lambda timeout, instead of hanging.
pub(crate) async fn aws_sdk_config() -> aws_config::SdkConfig {
    use aws_config::retry::RetryConfig;
    use aws_config::timeout::TimeoutConfig;
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_millis(500))
        .operation_attempt_timeout(Duration::from_millis(1500))
        .operation_timeout(Duration::from_secs(4))
        .build();
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(timeouts)
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .load()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_variable_is_named() {
        let env = Env::from_pairs([("JWT_ISSUER", "https://auth.example.com")]);
        assert_eq!(TokenSettings::from_env(&env).unwrap_err(), ConfigError::Missing("JWT_AUDIENCE"));
    }

    #[test]
    fn a_bad_number_is_named_and_defaults_apply() {
        let base = [("JWT_ISSUER", "iss"), ("JWT_AUDIENCE", "aud")];
        let settings = TokenSettings::from_env(&Env::from_pairs(base)).unwrap();
        assert_eq!((settings.access_ttl_secs, settings.refresh_ttl_secs, settings.leeway_secs), (900, 604_800, 5));
        let env = Env::from_pairs(base.into_iter().chain([("ACCESS_TOKEN_TTL_SECONDS", "soon")]));
        assert!(matches!(
            TokenSettings::from_env(&env),
            Err(ConfigError::Invalid { name: "ACCESS_TOKEN_TTL_SECONDS", .. })
        ));
        let env = Env::from_pairs(base.into_iter().chain([("JWT_LEEWAY_SECONDS", "3600")]));
        assert!(matches!(TokenSettings::from_env(&env), Err(ConfigError::Invalid { name: "JWT_LEEWAY_SECONDS", .. })));
    }

    #[test]
    fn a_public_key_set_refuses_private_and_symmetric_keys() {
        let symmetric =
            r#"{"keys":[{"kty":"oct","alg":"HS256","kid":"a","k":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"}]}"#;
        let env = Env::from_pairs([("JWT_PUBLIC_JWKS", symmetric)]);
        assert!(matches!(VerifyingKeys::from_env(&env), Err(ConfigError::Invalid { name: "JWT_PUBLIC_JWKS", .. })));
        let private = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","alg":"EdDSA","kid":"a","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}]}"#;
        let env = Env::from_pairs([("JWT_PUBLIC_JWKS", private)]);
        assert!(matches!(VerifyingKeys::from_env(&env), Err(ConfigError::Invalid { name: "JWT_PUBLIC_JWKS", .. })));
    }
}
