//! Key material from the configuration. The signers' private key comes from exactly one source:
//! AWS Secrets Manager, read once at init (deployed: nothing secret sits in the function's
//! configuration, which `lambda:GetFunctionConfiguration` would show), or a PEM / HS256 secret in
//! the environment (the local API, tests, development).

use secrecy::SecretString;
use serde::Deserialize;

use super::{ConfigError, Env, aws_sdk_config};
use crate::tokens::{SigningKey, TokenIssuer, TokenSettings, VerifyingKeys};

/// The ARN (or name) of the secret holding `{"kid": "...", "private_key": "<PKCS#8 PEM>"}`.
pub const SIGNING_KEY_SECRET: &str = "JWT_SIGNING_KEY_SECRET_ARN";
const PRIVATE_KEY: &str = "JWT_PRIVATE_KEY";
const HS256_SECRET: &str = "JWT_HS256_SECRET";

impl TokenIssuer {
    /// The signer of register, login, refresh and password change: the only place a private key
    /// is read.
    pub async fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let settings = TokenSettings::from_env(env)?;
        let sources: Vec<_> = [SIGNING_KEY_SECRET, PRIVATE_KEY, HS256_SECRET]
            .into_iter()
            .filter(|name| env.get(name).is_some())
            .collect();
        if let [first, second, ..] = sources[..] {
            return Err(ConfigError::Invalid { name: first, reason: format!("set either it or {second}, not both") });
        }
        let key = match sources.first().copied() {
            Some(SIGNING_KEY_SECRET) => from_secrets_manager(env.required(SIGNING_KEY_SECRET)?).await?,
            Some(PRIVATE_KEY) => {
                let kid = env.required("JWT_KEY_ID")?.to_owned();
                let pem = env.secret(PRIVATE_KEY).ok_or(ConfigError::Missing(PRIVATE_KEY))?;
                SigningKey::from_pkcs8_pem(&pem, kid).map_err(|error| invalid(PRIVATE_KEY, error))?
            }
            Some(_) => {
                let secret = env.secret(HS256_SECRET).ok_or(ConfigError::Missing(HS256_SECRET))?;
                SigningKey::hs256(&secret).map_err(|error| invalid(HS256_SECRET, error))?
            }
            None => return Err(ConfigError::Missing(PRIVATE_KEY)),
        };
        Ok(Self::new(settings, key))
    }
}

/// The secret's JSON. The kid travels with the key, so a rotation (a new secret version) can
/// never pair a new key with an old kid.
#[derive(Deserialize)]
struct StoredSigningKey {
    kid: String,
    private_key: String,
}

/// One `GetSecretValue` at init, with a client built for it and dropped after.
async fn from_secrets_manager(secret_id: &str) -> Result<SigningKey, ConfigError> {
    let client = aws_sdk_secretsmanager::Client::new(&aws_sdk_config().await);
    let started = std::time::Instant::now();
    let output = client.get_secret_value().secret_id(secret_id).send().await.map_err(|error| {
        let reason = format!("GetSecretValue failed: {}", aws_sdk_secretsmanager::error::DisplayErrorContext(&error));
        ConfigError::Invalid { name: SIGNING_KEY_SECRET, reason }
    })?;
    let text = output.secret_string().ok_or_else(|| invalid(SIGNING_KEY_SECRET, "the secret has no SecretString"))?;
    // serde's messages may quote the input: never let them near a log line.
    let stored: StoredSigningKey = serde_json::from_str(text).map_err(|_| {
        invalid(SIGNING_KEY_SECRET, "the secret must be JSON {\"kid\": \"...\", \"private_key\": \"<PKCS#8 PEM>\"}")
    })?;
    let pem = SecretString::from(stored.private_key);
    let key = SigningKey::from_pkcs8_pem(&pem, stored.kid).map_err(|error| invalid(SIGNING_KEY_SECRET, error))?;
    tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, "signing key read from Secrets Manager");
    Ok(key)
}

fn invalid(name: &'static str, reason: impl std::fmt::Display) -> ConfigError {
    ConfigError::Invalid { name, reason: reason.to_string() }
}

impl VerifyingKeys {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        if let Some(secret) = env.secret(HS256_SECRET) {
            return Self::hs256(&secret).map_err(|error| invalid(HS256_SECRET, error));
        }
        Self::from_public_jwks(env.required("JWT_PUBLIC_JWKS")?).map_err(|error| invalid("JWT_PUBLIC_JWKS", error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_hs256_secret_fails_without_echoing_it() {
        let env = Env::from_pairs([("JWT_ISSUER", "iss"), ("JWT_AUDIENCE", "aud"), ("JWT_HS256_SECRET", "tooshort")]);
        let error = futures::executor::block_on(TokenIssuer::from_env(&env)).err().unwrap();
        assert!(matches!(error, ConfigError::Invalid { name: "JWT_HS256_SECRET", .. }));
        assert!(!error.to_string().contains("tooshort"));
    }

    #[test]
    fn a_signer_needs_a_key() {
        let env = Env::from_pairs([("JWT_ISSUER", "iss"), ("JWT_AUDIENCE", "aud")]);
        assert_eq!(
            futures::executor::block_on(TokenIssuer::from_env(&env)).err().unwrap(),
            ConfigError::Missing("JWT_PRIVATE_KEY")
        );
        let env = Env::from_pairs([("JWT_ISSUER", "iss"), ("JWT_AUDIENCE", "aud"), ("JWT_PRIVATE_KEY", "garbage")]);
        assert_eq!(
            futures::executor::block_on(TokenIssuer::from_env(&env)).err().unwrap(),
            ConfigError::Missing("JWT_KEY_ID")
        );
    }

    #[test]
    fn one_key_source_only() {
        let base = [("JWT_ISSUER", "iss"), ("JWT_AUDIENCE", "aud")];
        let env = Env::from_pairs(base.into_iter().chain([(SIGNING_KEY_SECRET, "arn"), (PRIVATE_KEY, "pem")]));
        let error = futures::executor::block_on(TokenIssuer::from_env(&env)).err().unwrap();
        assert!(matches!(error, ConfigError::Invalid { name: SIGNING_KEY_SECRET, .. }), "{error}");
    }
}
