//! The MFA functions' data key, from exactly one source: Secrets Manager, read once at init
//! (deployed: nothing secret in the function's configuration), or `MFA_ENCRYPTION_KEY` in the
//! environment (the local API, tests, development).

use secrecy::ExposeSecret;

use super::{ConfigError, Env, aws_sdk_config};
use crate::domain::mfa::MfaSealingKey;
use crate::service::MfaConfig;

/// The ARN (or name) of the secret whose `SecretString` is the base64 data key.
pub const MFA_KEY_SECRET: &str = "MFA_ENCRYPTION_KEY_SECRET_ARN";
pub const MFA_KEY: &str = "MFA_ENCRYPTION_KEY";

impl MfaConfig {
    pub async fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let sealing_key = match (env.get(MFA_KEY_SECRET), env.secret(MFA_KEY)) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::Invalid {
                    name: MFA_KEY_SECRET,
                    reason: format!("set either it or {MFA_KEY}"),
                });
            }
            (Some(secret_id), None) => from_secrets_manager(secret_id).await?,
            (None, Some(encoded)) => MfaSealingKey::from_base64(encoded.expose_secret())
                .map_err(|error| ConfigError::Invalid { name: MFA_KEY, reason: error.to_string() })?,
            (None, None) => return Err(ConfigError::Missing(MFA_KEY)),
        };
        Ok(Self { sealing_key, issuer_name: issuer_name(env)? })
    }
}

/// `MFA_ISSUER_NAME`, else the host of `JWT_ISSUER` (what an authenticator app lists the account
/// under).
pub fn issuer_name(env: &Env) -> Result<String, ConfigError> {
    if let Some(name) = env.get("MFA_ISSUER_NAME") {
        return Ok(name.trim().to_owned());
    }
    let issuer = env.required("JWT_ISSUER")?;
    let host = issuer.split_once("://").map_or(issuer, |(_, rest)| rest);
    let host = host.split(['/', '?', '#']).next().unwrap_or(host);
    Ok(if host.is_empty() { issuer.to_owned() } else { host.to_owned() })
}

async fn from_secrets_manager(secret_id: &str) -> Result<MfaSealingKey, ConfigError> {
    let client = aws_sdk_secretsmanager::Client::new(&aws_sdk_config().await);
    let output = client.get_secret_value().secret_id(secret_id).send().await.map_err(|error| {
        let reason = format!("GetSecretValue failed: {}", aws_sdk_secretsmanager::error::DisplayErrorContext(&error));
        ConfigError::Invalid { name: MFA_KEY_SECRET, reason }
    })?;
    let text = output.secret_string().ok_or_else(|| ConfigError::Invalid {
        name: MFA_KEY_SECRET,
        reason: "the secret has no SecretString".into(),
    })?;
    MfaSealingKey::from_base64(text)
        .map_err(|error| ConfigError::Invalid { name: MFA_KEY_SECRET, reason: error.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issuer_name_defaults_to_the_issuers_host() {
        let env = Env::from_pairs([("JWT_ISSUER", "https://auth.example.com/v1")]);
        assert_eq!(issuer_name(&env).unwrap(), "auth.example.com");
        let env = Env::from_pairs([("JWT_ISSUER", "jwt-auth")]);
        assert_eq!(issuer_name(&env).unwrap(), "jwt-auth");
        let env = Env::from_pairs([("JWT_ISSUER", "https://a.example"), ("MFA_ISSUER_NAME", "Example Co")]);
        assert_eq!(issuer_name(&env).unwrap(), "Example Co");
    }

    #[test]
    fn the_key_is_required_once_and_never_echoed() {
        let base = [("JWT_ISSUER", "iss")];
        let missing = futures::executor::block_on(MfaConfig::from_env(&Env::from_pairs(base))).err().unwrap();
        assert_eq!(missing, ConfigError::Missing(MFA_KEY));
        let env = Env::from_pairs(base.into_iter().chain([(MFA_KEY, "c2hvcnQta2V5")]));
        let short = futures::executor::block_on(MfaConfig::from_env(&env)).err().unwrap();
        assert!(matches!(short, ConfigError::Invalid { name: MFA_KEY, .. }) && !short.to_string().contains("c2hvcnQ"));
        let env = Env::from_pairs(base.into_iter().chain([(MFA_KEY, "x"), (MFA_KEY_SECRET, "arn")]));
        let both = futures::executor::block_on(MfaConfig::from_env(&env)).err().unwrap();
        assert!(matches!(both, ConfigError::Invalid { name: MFA_KEY_SECRET, .. }));
    }
}
