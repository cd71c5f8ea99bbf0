//! The discovery document's base URL and the introspection clients, from the environment.

use super::{ConfigError, Env, aws_sdk_config};
use crate::domain::IntrospectionClients;
use crate::http::discovery::Discovery;
use crate::tokens::VerifyingKeys;

pub const INTROSPECTION_CLIENTS: &str = "INTROSPECTION_CLIENTS";
pub const INTROSPECTION_CLIENTS_SECRET: &str = "INTROSPECTION_CLIENTS_SECRET_ARN";

impl Discovery {
    /// Under `PUBLIC_BASE_URL` (the API's public origin and base path), else under `JWT_ISSUER`
    /// itself, where OpenID clients and API Gateway's JWT authorizer look for it
    /// (`{issuer}/.well-known/openid-configuration`). `None` when neither gives an absolute http(s) URL (the route then answers
    /// 404, and the function still serves the key set).
    pub fn from_env(env: &Env, keys: &VerifyingKeys) -> Result<Option<Self>, ConfigError> {
        let Some(issuer) = env.get("JWT_ISSUER") else { return Ok(None) };
        let base = match env.get("PUBLIC_BASE_URL") {
            Some(base) => Some(http_origin_and_path(base.trim()).ok_or_else(|| ConfigError::Invalid {
                name: "PUBLIC_BASE_URL",
                reason: "must be an http(s) URL".into(),
            })?),
            None => http_origin_and_path(issuer),
        };
        Ok(base.map(|base| Discovery::new(issuer, &base, keys)))
    }
}

/// `url` without a trailing slash, if it is an absolute http(s) URL with a host.
fn http_origin_and_path(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let valid = matches!(scheme, "http" | "https") && !host.is_empty() && !url.contains(['?', '#', ' ']);
    valid.then(|| url.trim_end_matches('/').to_owned())
}

impl IntrospectionClients {
    /// `INTROSPECTION_CLIENTS` (`id:sha256-hex,…`), or the JSON object of the Secrets Manager
    /// secret `INTROSPECTION_CLIENTS_SECRET_ARN` names, read once at init; neither: no client.
    pub async fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let invalid = |name, reason| ConfigError::Invalid { name, reason };
        match (env.get(INTROSPECTION_CLIENTS), env.get(INTROSPECTION_CLIENTS_SECRET)) {
            (Some(_), Some(_)) => {
                Err(invalid(INTROSPECTION_CLIENTS, format!("set either it or {INTROSPECTION_CLIENTS_SECRET}")))
            }
            (Some(list), None) => Self::parse(list).map_err(|reason| invalid(INTROSPECTION_CLIENTS, reason)),
            (None, Some(secret_id)) => {
                let client = aws_sdk_secretsmanager::Client::new(&aws_sdk_config().await);
                let output = client.get_secret_value().secret_id(secret_id).send().await.map_err(|error| {
                    let reason = format!(
                        "GetSecretValue failed: {}",
                        aws_sdk_secretsmanager::error::DisplayErrorContext(&error)
                    );
                    invalid(INTROSPECTION_CLIENTS_SECRET, reason)
                })?;
                let text = output
                    .secret_string()
                    .ok_or_else(|| invalid(INTROSPECTION_CLIENTS_SECRET, "the secret has no SecretString".into()))?;
                Self::from_json(text).map_err(|reason| invalid(INTROSPECTION_CLIENTS_SECRET, reason))
            }
            (None, None) => {
                tracing::warn!("no INTROSPECTION_CLIENTS: every introspection request is refused");
                Ok(Self::default())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> VerifyingKeys {
        crate::tokens::ephemeral_ed25519("k").unwrap().1
    }

    #[test]
    fn the_document_lives_under_the_public_base_url_or_the_issuer() {
        let env = Env::from_pairs([("JWT_ISSUER", "https://auth.example.com/tenant")]);
        let document = Discovery::from_env(&env, &keys()).unwrap().unwrap();
        assert_eq!(document.document()["jwks_uri"], "https://auth.example.com/tenant/.well-known/jwks.json");
        assert_eq!(document.document()["issuer"], "https://auth.example.com/tenant");
        assert_eq!(document.document()["id_token_signing_alg_values_supported"], serde_json::json!(["EdDSA"]));
        let env = Env::from_pairs([("JWT_ISSUER", "jwt-auth"), ("PUBLIC_BASE_URL", "https://api.example.com/prod/")]);
        let document = Discovery::from_env(&env, &keys()).unwrap().unwrap();
        assert_eq!(document.document()["introspection_endpoint"], "https://api.example.com/prod/auth/introspect");
        assert!(Discovery::from_env(&Env::from_pairs([("JWT_ISSUER", "jwt-auth")]), &keys()).unwrap().is_none());
        let bad = Env::from_pairs([("JWT_ISSUER", "jwt-auth"), ("PUBLIC_BASE_URL", "ftp://x")]);
        assert!(matches!(
            Discovery::from_env(&bad, &keys()),
            Err(ConfigError::Invalid { name: "PUBLIC_BASE_URL", .. })
        ));
    }
}
