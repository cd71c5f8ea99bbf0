//! GitHub: OAuth 2 (no ID token) and its REST API for who signed in — the numeric user id as the
//! subject, the primary address and whether GitHub verified it. Followed: GitHub's "Authorizing
//! OAuth apps" (web application flow, PKCE) and the REST API's "Users" and "Emails" pages.

use secrecy::SecretString;
use serde::Deserialize;

use super::http::{Credentials, HttpClient};
use super::oidc::Exchange;
use super::{Provider, UpstreamError};

pub const AUTHORIZE_URL: &str = "https://github.com/login/oauth/authorize";
pub const TOKEN_URL: &str = "https://github.com/login/oauth/access_token";
pub const API_URL: &str = "https://api.github.com";

#[derive(Deserialize)]
struct GithubUser {
    id: u64,
}

#[derive(Deserialize)]
struct GithubEmail {
    email: String,
    #[serde(default)]
    primary: bool,
    #[serde(default)]
    verified: bool,
}

pub(super) async fn identity(
    http: &HttpClient,
    provider: &Provider,
    token_url: &str,
    api_url: &str,
    exchange: &Exchange<'_>,
) -> Result<(String, Option<String>, bool), UpstreamError> {
    let secret =
        provider.client_secret.as_ref().ok_or_else(|| UpstreamError::Invalid("GitHub needs a client secret".into()))?;
    let form = [("code", exchange.code), ("redirect_uri", exchange.redirect_uri), ("code_verifier", exchange.verifier)];
    let credentials = Credentials::Basic { client_id: &provider.client_id, secret };
    let (status, body) = http.post_form(token_url, credentials, &form).await?;
    // GitHub answers a refused code with 200 and an `error` member.
    if let Some(error) = body["error"].as_str() {
        return Err(UpstreamError::Refused(format!("token endpoint: {error}")));
    }
    let access_token = match (status.is_success(), body["access_token"].as_str()) {
        (true, Some(token)) => SecretString::from(token.to_owned()),
        _ => return Err(UpstreamError::Refused(format!("token endpoint answered {status}"))),
    };
    let api = api_url.trim_end_matches('/');
    let user: GithubUser = http.get_json(&format!("{api}/user"), Credentials::Bearer(&access_token)).await?;
    let emails: Vec<GithubEmail> =
        http.get_json(&format!("{api}/user/emails"), Credentials::Bearer(&access_token)).await?;
    let primary = emails.into_iter().find(|email| email.primary);
    Ok((
        user.id.to_string(),
        primary.as_ref().map(|email| email.email.clone()),
        primary.is_some_and(|email| email.verified),
    ))
}
