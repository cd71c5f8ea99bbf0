//! The small HTTP client federation needs: JSON GETs and form POSTs to a provider, each bounded in
//! time and size, over https (plain http only to this machine, for local providers and tests).

use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue, USER_AGENT};
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use secrecy::{ExposeSecret as _, SecretString};
use serde::de::DeserializeOwned;

use super::UpstreamError;

/// A provider's answer may not take longer than this, connection included: the browser waits.
const TIMEOUT: Duration = Duration::from_secs(5);
/// Discovery documents, key sets and token responses are a few KiB.
const MAX_BODY_BYTES: usize = 1 << 20;

#[derive(Clone)]
pub struct HttpClient {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

/// How a request authenticates to the provider.
pub enum Credentials<'a> {
    None,
    /// RFC 6749 §2.3.1 `client_secret_basic`.
    Basic {
        client_id: &'a str,
        secret: &'a SecretString,
    },
    Bearer(&'a SecretString),
}

impl HttpClient {
    pub fn new() -> Result<Self, String> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|error| format!("no TLS roots: {error}"))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Self { client: Client::builder(TokioExecutor::new()).build(connector) })
    }

    pub async fn get_json<T: DeserializeOwned>(
        &self,
        url: &str,
        credentials: Credentials<'_>,
    ) -> Result<T, UpstreamError> {
        let (status, body) = self.send(Method::GET, url, credentials, None).await?;
        json_of(status, &body, url)
    }

    /// A form POST (a token request); the status and the JSON body, whatever the status (a token
    /// endpoint's error is JSON too).
    pub async fn post_form(
        &self,
        url: &str,
        credentials: Credentials<'_>,
        form: &[(&str, &str)],
    ) -> Result<(StatusCode, serde_json::Value), UpstreamError> {
        let body = serde_urlencoded::to_string(form).map_err(|error| UpstreamError::Invalid(error.to_string()))?;
        let (status, body) = self.send(Method::POST, url, credentials, Some(body)).await?;
        if status.is_server_error() {
            return Err(UpstreamError::Unavailable(format!("{url} answered {status}")));
        }
        let json = serde_json::from_slice(&body)
            .map_err(|_| UpstreamError::Invalid(format!("{url} answered no JSON ({status})")))?;
        Ok((status, json))
    }

    async fn send(
        &self,
        method: Method,
        url: &str,
        credentials: Credentials<'_>,
        form: Option<String>,
    ) -> Result<(StatusCode, Bytes), UpstreamError> {
        check_url(url)?;
        let mut request = Request::builder()
            .method(method)
            .uri(url)
            .header(ACCEPT, "application/json")
            // GitHub's API refuses requests without one.
            .header(USER_AGENT, "jwt-auth-service");
        match credentials {
            Credentials::None => {}
            Credentials::Basic { client_id, secret } => {
                // RFC 6749 §2.3.1: each part form-encoded before the base64.
                let user = form_encoded(client_id);
                let password = form_encoded(secret.expose_secret());
                let encoded =
                    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, format!("{user}:{password}"));
                request = request.header(AUTHORIZATION, sensitive(&format!("Basic {encoded}"))?);
            }
            Credentials::Bearer(token) => {
                request = request.header(AUTHORIZATION, sensitive(&format!("Bearer {}", token.expose_secret()))?);
            }
        }
        let body = match form {
            Some(form) => {
                request = request.header(CONTENT_TYPE, "application/x-www-form-urlencoded");
                Full::new(Bytes::from(form))
            }
            None => Full::new(Bytes::new()),
        };
        let request = request.body(body).map_err(|error| UpstreamError::Invalid(error.to_string()))?;
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|error| UpstreamError::Unavailable(format!("{url}: {error}")))?;
            let status = response.status();
            let body = Limited::new(response.into_body(), MAX_BODY_BYTES)
                .collect()
                .await
                .map_err(|error| UpstreamError::Unavailable(format!("{url}: {error}")))?
                .to_bytes();
            Ok::<_, UpstreamError>((status, body))
        };
        tokio::time::timeout(TIMEOUT, exchange)
            .await
            .map_err(|_| UpstreamError::Unavailable(format!("{url}: no answer within {} s", TIMEOUT.as_secs())))?
    }
}

fn json_of<T: DeserializeOwned>(status: StatusCode, body: &[u8], url: &str) -> Result<T, UpstreamError> {
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        return Err(UpstreamError::Unavailable(format!("{url} answered {status}")));
    }
    if !status.is_success() {
        return Err(UpstreamError::Refused(format!("{url} answered {status}")));
    }
    serde_json::from_slice(body).map_err(|error| UpstreamError::Invalid(format!("{url}: {error}")))
}

fn form_encoded(value: &str) -> String {
    serde_urlencoded::to_string([("", value)]).map(|pair| pair[1..].to_owned()).unwrap_or_default()
}

fn sensitive(value: &str) -> Result<HeaderValue, UpstreamError> {
    let mut header =
        HeaderValue::from_str(value).map_err(|_| UpstreamError::Invalid("credentials are not header-safe".into()))?;
    header.set_sensitive(true);
    Ok(header)
}

/// https, or http to this machine only (a provider run locally, the tests' provider).
pub fn check_url(url: &str) -> Result<(), UpstreamError> {
    if url.starts_with("https://") || is_loopback_http(url) {
        Ok(())
    } else {
        Err(UpstreamError::Invalid(format!("{url:?} is not an https URL")))
    }
}

pub fn is_loopback_http(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else { return false };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    matches!(host, "localhost" | "127.0.0.1" | "::1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_http_to_this_machine() {
        for url in
            ["https://accounts.google.com/x", "http://localhost:3000/x", "http://127.0.0.1/x", "http://[::1]:9/x"]
        {
            assert!(check_url(url).is_ok(), "{url}");
        }
        for url in [
            "http://accounts.google.com/x",
            "http://localhost.evil.example/x",
            "http://127.0.0.1.evil.example/",
            "ftp://x",
            "file:///etc/passwd",
        ] {
            assert!(check_url(url).is_err(), "{url}");
        }
        assert_eq!(form_encoded("a b:c&"), "a+b%3Ac%26");
    }
}
