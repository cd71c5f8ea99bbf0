//! The upstream identity providers, as data (`OAUTH_PROVIDERS`): OpenID Connect providers by
//! their issuer (Google, Microsoft Entra, Okta, Auth0, Keycloak, Cognito, …), GitHub's OAuth 2
//! and API, and Apple (OpenID Connect with a signed client secret and `form_post`). This is the
//! port the sign-in use cases call; its adapter is HTTP to the provider (`http.rs`), the same for
//! the Lambda functions, the local API and the tests (which run panva's oidc-provider).

mod apple;
mod config;
mod github;
pub mod http;
pub mod id_token;
mod oidc;

use std::collections::HashMap;

use secrecy::SecretString;

use crate::domain::federation::{AutoLink, RedirectAllowlist};
use crate::domain::{Email, ProviderId, UpstreamIdentity};
use crate::tokens::SigningKey;
pub use config::{OAUTH_PROVIDERS, OAUTH_PROVIDERS_SECRET};
use http::HttpClient;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    /// The provider did not answer, in time or at all, or failed: `503 provider_unavailable`.
    #[error("provider unavailable: {0}")]
    Unavailable(String),
    /// The provider refused the code (spent, expired, another client's) or the user's consent.
    #[error("provider refused: {0}")]
    Refused(String),
    /// The provider's answer does not hold up: a bad ID token, a malformed document.
    #[error("provider answer invalid: {0}")]
    Invalid(String),
}

/// What kind of provider, with what only that kind needs.
pub enum ProviderKind {
    Oidc {
        issuer: String,
    },
    /// The endpoints are GitHub's unless the configuration names others (GitHub Enterprise).
    Github {
        authorize_url: String,
        token_url: String,
        api_url: String,
    },
    /// Apple's client secret is a short-lived ES256 JWT signed with the team's key.
    Apple {
        issuer: String,
        team_id: String,
        key: SigningKey,
    },
}

pub struct Provider {
    pub id: ProviderId,
    /// What the sign-in button says.
    pub name: String,
    pub kind: ProviderKind,
    pub client_id: String,
    client_secret: Option<SecretString>,
    pub scopes: Vec<String>,
}

impl Provider {
    /// The issuer an OpenID provider names itself with (GitHub has none).
    pub fn issuer(&self) -> Option<&str> {
        match &self.kind {
            ProviderKind::Oidc { issuer } | ProviderKind::Apple { issuer, .. } => Some(issuer),
            ProviderKind::Github { .. } => None,
        }
    }
}

/// The parameters of the redirect to the provider.
pub struct AuthorizeRequest<'a> {
    pub state: &'a str,
    pub nonce: &'a str,
    pub code_challenge: &'a str,
    pub redirect_uri: &'a str,
    pub login_hint: Option<&'a str>,
}

/// Everything federation needs, built once at init.
pub struct Federation {
    providers: HashMap<String, Provider>,
    pub redirect_uris: RedirectAllowlist,
    pub auto_link: AutoLink,
    /// The API's public base URL: callbacks are `{base}/auth/oauth/{provider}/callback`.
    base_url: String,
    http: HttpClient,
    cache: oidc::MetadataCache,
}

impl Federation {
    pub fn new(
        providers: Vec<Provider>,
        redirect_uris: RedirectAllowlist,
        auto_link: AutoLink,
        base_url: &str,
    ) -> Result<Self, String> {
        let providers = providers.into_iter().map(|provider| (provider.id.as_str().to_owned(), provider)).collect();
        let base_url = base_url.trim_end_matches('/').to_owned();
        Ok(Self {
            providers,
            redirect_uris,
            auto_link,
            base_url,
            http: HttpClient::new()?,
            cache: oidc::MetadataCache::default(),
        })
    }

    pub fn provider(&self, id: &str) -> Option<&Provider> {
        self.providers.get(id)
    }

    /// The configured providers, for the sign-in page's buttons: (id, name), sorted by id.
    pub fn listed(&self) -> Vec<(&str, &str)> {
        let mut listed: Vec<(&str, &str)> =
            self.providers.values().map(|provider| (provider.id.as_str(), provider.name.as_str())).collect();
        listed.sort_unstable();
        listed
    }

    pub fn callback_url(&self, provider: &Provider) -> String {
        format!("{}/auth/oauth/{}/callback", self.base_url, provider.id)
    }

    /// Where to send the browser (the provider's authorization endpoint with our parameters).
    pub async fn authorize_url(
        &self,
        provider: &Provider,
        request: &AuthorizeRequest<'_>,
    ) -> Result<String, UpstreamError> {
        let endpoint = match &provider.kind {
            ProviderKind::Oidc { issuer } | ProviderKind::Apple { issuer, .. } => {
                self.cache.metadata(&self.http, provider.id.as_str(), issuer).await?.authorization_endpoint
            }
            ProviderKind::Github { authorize_url, .. } => authorize_url.clone(),
        };
        let scope = provider.scopes.join(" ");
        let mut query = vec![
            ("response_type", "code"),
            ("client_id", provider.client_id.as_str()),
            ("redirect_uri", request.redirect_uri),
            ("scope", scope.as_str()),
            ("state", request.state),
            ("code_challenge", request.code_challenge),
            ("code_challenge_method", "S256"),
        ];
        if !matches!(provider.kind, ProviderKind::Github { .. }) {
            query.push(("nonce", request.nonce));
        }
        if let ProviderKind::Apple { .. } = provider.kind {
            // Apple sends the name and email scopes' answer only by POST.
            query.push(("response_mode", "form_post"));
        }
        if let Some(hint) = request.login_hint {
            query.push(("login_hint", hint));
        }
        let query = serde_urlencoded::to_string(&query).map_err(|error| UpstreamError::Invalid(error.to_string()))?;
        let separator = if endpoint.contains('?') { '&' } else { '?' };
        Ok(format!("{endpoint}{separator}{query}"))
    }

    /// Trades the provider's code for who signed in, checking everything the provider says.
    pub async fn identity(
        &self,
        provider: &Provider,
        code: &str,
        verifier: &str,
        nonce: &str,
        now: u64,
    ) -> Result<UpstreamIdentity, UpstreamError> {
        let redirect_uri = self.callback_url(provider);
        let exchange = oidc::Exchange { code, verifier, redirect_uri: &redirect_uri };
        let (subject, email, email_verified) = match &provider.kind {
            ProviderKind::Github { token_url, api_url, .. } => {
                github::identity(&self.http, provider, token_url, api_url, &exchange).await?
            }
            ProviderKind::Oidc { issuer } => {
                let secret = provider.client_secret.clone();
                let claims =
                    oidc::identity(&self.http, &self.cache, provider, issuer, secret, &exchange, nonce, now).await?;
                (claims.subject, claims.email, claims.email_verified)
            }
            ProviderKind::Apple { issuer, team_id, key } => {
                let secret = apple::client_secret(key, team_id, &provider.client_id, issuer, now)?;
                let claims =
                    oidc::identity(&self.http, &self.cache, provider, issuer, Some(secret), &exchange, nonce, now)
                        .await?;
                (claims.subject, claims.email, claims.email_verified)
            }
        };
        // An address this service cannot take is as good as none.
        let email = email.and_then(|email| Email::parse(&email).ok());
        Ok(UpstreamIdentity {
            provider: provider.id.clone(),
            subject,
            email_verified: email_verified && email.is_some(),
            email,
        })
    }
}
