//! OpenID Connect: the provider's discovery document and key set (fetched once, kept an hour, the
//! key set fetched again when a token names a key it lacks), the code exchange and the ID token.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;

use super::http::{Credentials, HttpClient, check_url};
use super::id_token::{self, Expected, IdTokenClaims, IdTokenError, Jwks};
use super::{Provider, UpstreamError};

const KEEP_FOR: Duration = Duration::from_secs(3600);
/// A key set is fetched again for an unknown key at most this often: a flood of tokens naming
/// made-up keys must not become a flood of requests to the provider.
const REFETCH_AFTER: Duration = Duration::from_secs(60);

#[derive(Clone, Debug, Deserialize)]
pub(super) struct Metadata {
    issuer: String,
    pub(super) authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    #[serde(default)]
    userinfo_endpoint: Option<String>,
    #[serde(default)]
    token_endpoint_auth_methods_supported: Vec<String>,
}

#[derive(Default)]
pub(super) struct MetadataCache {
    metadata: Mutex<HashMap<String, (Instant, Metadata)>>,
    keys: Mutex<HashMap<String, (Instant, Jwks)>>,
}

impl MetadataCache {
    pub(super) async fn metadata(
        &self,
        http: &HttpClient,
        provider: &str,
        issuer: &str,
    ) -> Result<Metadata, UpstreamError> {
        if let Some((at, metadata)) = self.metadata.lock().ok().and_then(|cache| cache.get(provider).cloned())
            && at.elapsed() < KEEP_FOR
        {
            return Ok(metadata);
        }
        let url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
        let metadata: Metadata = http.get_json(&url, Credentials::None).await?;
        // OpenID Connect Discovery §4.3: the document is the issuer's own (Microsoft's common
        // endpoints publish a `{tenantid}` template, which each token's `tid` fills).
        if metadata.issuer.trim_end_matches('/') != issuer.trim_end_matches('/')
            && !metadata.issuer.contains("{tenantid}")
        {
            return Err(UpstreamError::Invalid(format!("discovery at {url} names issuer {:?}", metadata.issuer)));
        }
        for endpoint in [&metadata.authorization_endpoint, &metadata.token_endpoint, &metadata.jwks_uri] {
            check_url(endpoint)?;
        }
        if let Some(userinfo) = &metadata.userinfo_endpoint {
            check_url(userinfo)?;
        }
        if let Ok(mut cache) = self.metadata.lock() {
            cache.insert(provider.to_owned(), (Instant::now(), metadata.clone()));
        }
        Ok(metadata)
    }

    async fn keys(
        &self,
        http: &HttpClient,
        provider: &str,
        jwks_uri: &str,
        refetch: bool,
    ) -> Result<Jwks, UpstreamError> {
        let cached = self.keys.lock().ok().and_then(|cache| cache.get(provider).cloned());
        if let Some((at, keys)) = &cached {
            let fresh = at.elapsed() < KEEP_FOR;
            if fresh && (!refetch || at.elapsed() < REFETCH_AFTER) {
                return Ok(keys.clone());
            }
        }
        let document: serde_json::Value = http.get_json(jwks_uri, Credentials::None).await?;
        let keys = Jwks::parse(&document);
        if let Ok(mut cache) = self.keys.lock() {
            cache.insert(provider.to_owned(), (Instant::now(), keys.clone()));
        }
        Ok(keys)
    }
}

pub(super) struct Exchange<'a> {
    pub(super) code: &'a str,
    pub(super) verifier: &'a str,
    pub(super) redirect_uri: &'a str,
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn identity(
    http: &HttpClient,
    cache: &MetadataCache,
    provider: &Provider,
    issuer: &str,
    secret: Option<SecretString>,
    exchange: &Exchange<'_>,
    nonce: &str,
    now: u64,
) -> Result<IdTokenClaims, UpstreamError> {
    let id = provider.id.as_str();
    let metadata = cache.metadata(http, id, issuer).await?;
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", exchange.code),
        ("redirect_uri", exchange.redirect_uri),
        ("code_verifier", exchange.verifier),
    ];
    // client_secret_basic unless the provider takes only client_secret_post (Apple); a public
    // client (no secret) names itself in the body.
    let post_only = !metadata.token_endpoint_auth_methods_supported.is_empty()
        && !metadata.token_endpoint_auth_methods_supported.iter().any(|method| method == "client_secret_basic");
    let credentials = match &secret {
        Some(secret) if !post_only => Credentials::Basic { client_id: &provider.client_id, secret },
        Some(secret) => {
            form.push(("client_id", &provider.client_id));
            form.push(("client_secret", secret.expose_secret()));
            Credentials::None
        }
        None => {
            form.push(("client_id", &provider.client_id));
            Credentials::None
        }
    };
    let (status, body) = http.post_form(&metadata.token_endpoint, credentials, &form).await?;
    if !status.is_success() {
        // RFC 6749 §5.2: `invalid_grant` and the like; the description is the provider's, not a secret.
        let error = body["error"].as_str().unwrap_or("unknown").to_owned();
        return Err(UpstreamError::Refused(format!("token endpoint: {error}")));
    }
    let token =
        body["id_token"].as_str().ok_or_else(|| UpstreamError::Invalid("no id_token in the token response".into()))?;
    let expected = Expected { issuer: &metadata.issuer, client_id: &provider.client_id, nonce, now };
    let keys = cache.keys(http, id, &metadata.jwks_uri, false).await?;
    let claims = match id_token::verify(token, &keys, &expected) {
        // The provider may have rotated its keys since they were fetched.
        Err(IdTokenError::UnknownKey(_)) => {
            let keys = cache.keys(http, id, &metadata.jwks_uri, true).await?;
            id_token::verify(token, &keys, &expected)
        }
        verified => verified,
    }
    .map_err(|error| UpstreamError::Invalid(format!("ID token: {error}")))?;
    if claims.email.is_some() {
        return Ok(claims);
    }
    // Some providers (oidc-provider, Okta) keep scope claims out of an ID token issued with an
    // access token: the UserInfo endpoint has them, for the same subject (Core §5.3.2).
    match (&metadata.userinfo_endpoint, body["access_token"].as_str()) {
        (Some(endpoint), Some(access_token)) => {
            let access_token = SecretString::from(access_token.to_owned());
            let info: serde_json::Value = http.get_json(endpoint, Credentials::Bearer(&access_token)).await?;
            if info["sub"].as_str() != Some(claims.subject.as_str()) {
                return Err(UpstreamError::Invalid("UserInfo is about another subject".into()));
            }
            let email_verified = match &info["email_verified"] {
                serde_json::Value::Bool(verified) => *verified,
                serde_json::Value::String(text) => text == "true",
                _ => false,
            };
            Ok(IdTokenClaims { email: info["email"].as_str().map(str::to_owned), email_verified, ..claims })
        }
        _ => Ok(claims),
    }
}
