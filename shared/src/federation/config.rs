//! `OAUTH_PROVIDERS`, `OAUTH_REDIRECT_URIS` and `OAUTH_AUTO_LINK`, read once at init; deployed,
//! the providers (with their secrets) come from Secrets Manager (`OAUTH_PROVIDERS_SECRET_ARN`).

use secrecy::SecretString;
use serde::Deserialize;

use super::{Federation, Provider, ProviderKind, github};
use crate::config::{ConfigError, Env, aws_sdk_config};
use crate::domain::ProviderId;
use crate::domain::federation::{AutoLink, RedirectAllowlist};
use crate::tokens::SigningKey;

pub const OAUTH_PROVIDERS: &str = "OAUTH_PROVIDERS";
pub const OAUTH_PROVIDERS_SECRET: &str = "OAUTH_PROVIDERS_SECRET_ARN";
const APPLE_ISSUER: &str = "https://appleid.apple.com";

/// One provider as configured. No `Debug`: it holds secrets.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderConfig {
    id: String,
    kind: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    issuer: Option<String>,
    client_id: String,
    #[serde(default)]
    client_secret: Option<SecretString>,
    #[serde(default)]
    team_id: Option<String>,
    #[serde(default)]
    key_id: Option<String>,
    #[serde(default)]
    private_key: Option<SecretString>,
    #[serde(default)]
    scopes: Option<Vec<String>>,
    /// GitHub Enterprise (or a stand-in): its web and API base URLs.
    #[serde(default)]
    authorize_url: Option<String>,
    #[serde(default)]
    token_url: Option<String>,
    #[serde(default)]
    api_url: Option<String>,
}

fn invalid(name: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { name, reason: reason.into() }
}

fn provider(config: ProviderConfig) -> Result<Provider, ConfigError> {
    let name_of = |what: &str| format!("provider {:?}: {what}", config.id);
    let id = ProviderId::parse(&config.id).map_err(|reason| invalid(OAUTH_PROVIDERS, name_of(reason)))?;
    let issuer = |default: Option<&str>| {
        let issuer = config.issuer.clone().or(default.map(str::to_owned));
        let issuer = issuer.ok_or_else(|| invalid(OAUTH_PROVIDERS, name_of("needs an issuer")))?;
        super::http::check_url(&issuer).map_err(|error| invalid(OAUTH_PROVIDERS, name_of(&error.to_string())))?;
        Ok::<_, ConfigError>(issuer.trim_end_matches('/').to_owned())
    };
    let (kind, default_scopes): (ProviderKind, &[&str]) = match config.kind.as_str() {
        "oidc" => (ProviderKind::Oidc { issuer: issuer(None)? }, &["openid", "email"]),
        "github" => (
            ProviderKind::Github {
                authorize_url: config.authorize_url.clone().unwrap_or_else(|| github::AUTHORIZE_URL.to_owned()),
                token_url: config.token_url.clone().unwrap_or_else(|| github::TOKEN_URL.to_owned()),
                api_url: config.api_url.clone().unwrap_or_else(|| github::API_URL.to_owned()),
            },
            &["read:user", "user:email"],
        ),
        "apple" => {
            let (Some(team_id), Some(key_id), Some(pem)) = (&config.team_id, &config.key_id, &config.private_key)
            else {
                return Err(invalid(OAUTH_PROVIDERS, name_of("Apple needs team_id, key_id and private_key")));
            };
            let key = SigningKey::from_pkcs8_pem(pem, key_id.clone())
                .map_err(|error| invalid(OAUTH_PROVIDERS, name_of(&format!("private_key: {error}"))))?;
            let kind = ProviderKind::Apple { issuer: issuer(Some(APPLE_ISSUER))?, team_id: team_id.clone(), key };
            (kind, &["openid", "email"])
        }
        other => {
            return Err(invalid(OAUTH_PROVIDERS, name_of(&format!("unknown kind {other:?} (oidc, github, apple)"))));
        }
    };
    if config.kind == "github" && config.client_secret.is_none() {
        return Err(invalid(OAUTH_PROVIDERS, name_of("GitHub needs a client_secret")));
    }
    Ok(Provider {
        name: config.name.clone().unwrap_or_else(|| id.as_str().to_owned()),
        id,
        kind,
        client_id: config.client_id,
        client_secret: config.client_secret,
        scopes: config.scopes.unwrap_or_else(|| default_scopes.iter().map(|scope| (*scope).to_owned()).collect()),
    })
}

/// The providers from their JSON array.
pub fn parse_providers(json: &str, name: &'static str) -> Result<Vec<Provider>, ConfigError> {
    // The error names the variable and the place, never the text (it holds secrets).
    let configs: Vec<ProviderConfig> = serde_json::from_str(json).map_err(|error| {
        invalid(name, format!("not a JSON array of providers (line {}, column {})", error.line(), error.column()))
    })?;
    let providers = configs.into_iter().map(provider).collect::<Result<Vec<_>, _>>()?;
    let mut ids: Vec<&str> = providers.iter().map(|provider| provider.id.as_str()).collect();
    ids.sort_unstable();
    if ids.windows(2).any(|pair| pair[0] == pair[1]) {
        return Err(invalid(name, "two providers share an id"));
    }
    Ok(providers)
}

impl Federation {
    /// Federation as configured: no providers (every provider path answers 404) when neither
    /// `OAUTH_PROVIDERS` nor `OAUTH_PROVIDERS_SECRET_ARN` is set.
    pub async fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let providers = match (env.secret(OAUTH_PROVIDERS), env.get(OAUTH_PROVIDERS_SECRET)) {
            (Some(json), _) => parse_providers(secrecy::ExposeSecret::expose_secret(&json), OAUTH_PROVIDERS)?,
            (None, Some(arn)) => parse_providers(&read_secret(arn).await?, OAUTH_PROVIDERS_SECRET)?,
            (None, None) => Vec::new(),
        };
        let redirect_uris = RedirectAllowlist::parse(env.get("OAUTH_REDIRECT_URIS").unwrap_or_default())
            .map_err(|reason| invalid("OAUTH_REDIRECT_URIS", reason))?;
        let auto_link = match env.get("OAUTH_AUTO_LINK").unwrap_or("verified") {
            "verified" => AutoLink::Verified,
            "never" => AutoLink::Never,
            _ => return Err(invalid("OAUTH_AUTO_LINK", "must be verified or never")),
        };
        let base = env.get("PUBLIC_BASE_URL").or(env.get("JWT_ISSUER")).unwrap_or_default();
        let absolute = base.starts_with("https://") || base.starts_with("http://");
        if !providers.is_empty() && !absolute {
            return Err(invalid(
                "PUBLIC_BASE_URL",
                "federation needs the API's public http(s) URL (or an http(s) JWT_ISSUER)",
            ));
        }
        Federation::new(providers, redirect_uris, auto_link, base).map_err(|reason| invalid(OAUTH_PROVIDERS, reason))
    }
}

/// One `GetSecretValue` at init.
async fn read_secret(secret_id: &str) -> Result<String, ConfigError> {
    let client = aws_sdk_secretsmanager::Client::new(&aws_sdk_config().await);
    let output = client.get_secret_value().secret_id(secret_id).send().await.map_err(|error| {
        invalid(
            OAUTH_PROVIDERS_SECRET,
            format!("GetSecretValue failed: {}", aws_sdk_secretsmanager::error::DisplayErrorContext(&error)),
        )
    })?;
    output
        .secret_string()
        .map(str::to_owned)
        .ok_or_else(|| invalid(OAUTH_PROVIDERS_SECRET, "the secret has no SecretString"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_are_data_and_bad_ones_fail_init_without_echoing_secrets() {
        let json = r#"[
            {"id": "google", "kind": "oidc", "issuer": "https://accounts.google.com", "client_id": "c", "client_secret": "s3cr3t"},
            {"id": "github", "kind": "github", "client_id": "gh", "client_secret": "s3cr3t"}
        ]"#;
        let providers = parse_providers(json, OAUTH_PROVIDERS).unwrap();
        assert_eq!(providers[0].scopes, ["openid", "email"]);
        assert!(matches!(&providers[1].kind, ProviderKind::Github { token_url, .. } if token_url == github::TOKEN_URL));
        for bad in [
            r#"[{"id": "Google", "kind": "oidc", "issuer": "https://a.example", "client_id": "c"}]"#,
            r#"[{"id": "g", "kind": "oidc", "issuer": "http://a.example", "client_id": "c"}]"#,
            r#"[{"id": "g", "kind": "saml", "client_id": "c"}]"#,
            r#"[{"id": "g", "kind": "apple", "client_id": "c", "team_id": "t"}]"#,
            r#"[{"id": "g", "kind": "github", "client_id": "c"}]"#,
            r#"[{"id": "g", "kind": "oidc", "issuer": "https://a.example", "client_id": "c", "client_secret": "s3cr3t", "typo": 1}]"#,
            r#"[{"id": "g", "kind": "oidc", "issuer": "https://a.example", "client_id": "c"}, {"id": "g", "kind": "oidc", "issuer": "https://b.example", "client_id": "c"}]"#,
            r#"{"client_secret": "s3cr3t""#,
        ] {
            let error = parse_providers(bad, OAUTH_PROVIDERS).err().expect(bad).to_string();
            assert!(!error.contains("s3cr3t"), "{error}");
        }
    }
}
