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
        let (status, body) = self.send(Method::GET, url, credentials, None, &[], TIMEOUT).await?;
        json_of(status, &body, url)
    }

    /// A GET with `headers`, answered within `timeout`: the status and the body, whatever the
    /// status (the password policy's breach range, `password_policy::breach`).
    pub async fn get_text(
        &self,
        url: &str,
        headers: &[(&'static str, &str)],
        timeout: Duration,
    ) -> Result<(StatusCode, Bytes), UpstreamError> {
        self.send(Method::GET, url, Credentials::None, None, headers, timeout).await
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
        let (status, body) = self.send(Method::POST, url, credentials, Some(body), &[], TIMEOUT).await?;
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
        headers: &[(&'static str, &str)],
        timeout: Duration,
    ) -> Result<(StatusCode, Bytes), UpstreamError> {
        check_url(url)?;
        let mut request = Request::builder()
            .method(method)
            .uri(url)
            .header(ACCEPT, "application/json")
            // GitHub's API refuses requests without one.
            .header(USER_AGENT, "jwt-auth-service");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
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
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| UpstreamError::Unavailable(format!("{url}: no answer within {} ms", timeout.as_millis())))?
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

    /// A real HTTP/1.1 server on loopback answering each connection with the next canned
    /// response; it hands back the requests it read.
    async fn server(responses: Vec<(u16, Vec<u8>)>) -> (String, tokio::task::JoinHandle<Vec<String>>) {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let served = tokio::spawn(async move {
            let mut requests = Vec::new();
            for (status, body) in responses {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                loop {
                    let read = socket.read(&mut buffer).await.unwrap();
                    request.extend_from_slice(&buffer[..read]);
                    let text = String::from_utf8_lossy(&request).to_string();
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        let length = head
                            .lines()
                            .find_map(|line| {
                                line.to_ascii_lowercase().strip_prefix("content-length: ").map(str::to_owned)
                            })
                            .and_then(|length| length.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if body.len() >= length {
                            break;
                        }
                    }
                    if read == 0 {
                        break;
                    }
                }
                requests.push(String::from_utf8_lossy(&request).to_string());
                let head = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                socket.write_all(head.as_bytes()).await.unwrap();
                socket.write_all(&body).await.unwrap();
            }
            requests
        });
        (url, served)
    }

    #[tokio::test]
    async fn json_gets_are_bounded_and_their_failures_classified() {
        let big = format!("{{\"pad\":\"{}\"}}", "p".repeat(512 * 1024)).into_bytes();
        let too_big = format!("{{\"pad\":\"{}\"}}", "p".repeat(1 << 20)).into_bytes();
        let (url, served) = server(vec![
            (200, br#"{"ok":true}"#.to_vec()),
            (200, big),
            (200, too_big),
            (500, b"{}".to_vec()),
            (429, b"{}".to_vec()),
            (404, b"{}".to_vec()),
            (200, b"not json".to_vec()),
        ])
        .await;
        let client = HttpClient::new().unwrap();
        let token = SecretString::from("t0ken".to_owned());
        let ok: serde_json::Value = client.get_json(&url, Credentials::Bearer(&token)).await.unwrap();
        assert_eq!(ok, serde_json::json!({"ok": true}));
        let half_a_mib: Result<serde_json::Value, _> = client.get_json(&url, Credentials::None).await;
        assert!(half_a_mib.is_ok(), "a 512 KiB document is read");
        let outcomes = [
            client.get_json::<serde_json::Value>(&url, Credentials::None).await,
            client.get_json::<serde_json::Value>(&url, Credentials::None).await,
            client.get_json::<serde_json::Value>(&url, Credentials::None).await,
            client.get_json::<serde_json::Value>(&url, Credentials::None).await,
            client.get_json::<serde_json::Value>(&url, Credentials::None).await,
        ];
        assert!(matches!(outcomes[0], Err(UpstreamError::Unavailable(_))), "over 1 MiB: {:?}", outcomes[0]);
        assert!(matches!(outcomes[1], Err(UpstreamError::Unavailable(_))), "500: {:?}", outcomes[1]);
        assert!(matches!(outcomes[2], Err(UpstreamError::Unavailable(_))), "429: {:?}", outcomes[2]);
        assert!(matches!(outcomes[3], Err(UpstreamError::Refused(_))), "404: {:?}", outcomes[3]);
        assert!(matches!(outcomes[4], Err(UpstreamError::Invalid(_))), "not JSON: {:?}", outcomes[4]);
        let requests = served.await.unwrap();
        let first = requests[0].to_ascii_lowercase();
        assert!(first.starts_with("get / http/1.1"), "{first}");
        assert!(first.contains("authorization: bearer t0ken") && first.contains("accept: application/json"), "{first}");
        assert!(first.contains("user-agent: jwt-auth-service"), "{first}");
    }

    #[tokio::test]
    async fn a_form_post_sends_basic_credentials_and_answers_any_json_status() {
        let (url, served) = server(vec![
            (400, br#"{"error":"invalid_grant"}"#.to_vec()),
            (503, b"{}".to_vec()),
            (200, b"<html>".to_vec()),
        ])
        .await;
        let client = HttpClient::new().unwrap();
        let secret = SecretString::from("s3:cr+t".to_owned());
        let credentials = || Credentials::Basic { client_id: "my client", secret: &secret };
        let form = [("grant_type", "authorization_code"), ("code", "a b&c")];
        let (status, body) = client.post_form(&url, credentials(), &form).await.unwrap();
        assert_eq!((status.as_u16(), body["error"].as_str()), (400, Some("invalid_grant")));
        let unavailable = client.post_form(&url, credentials(), &form).await;
        assert!(matches!(unavailable, Err(UpstreamError::Unavailable(_))), "{unavailable:?}");
        let html = client.post_form(&url, credentials(), &form).await;
        assert!(matches!(html, Err(UpstreamError::Invalid(_))), "{html:?}");
        let request = served.await.unwrap().remove(0);
        let basic = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "my+client:s3%3Acr%2Bt");
        assert!(request.contains(&format!("authorization: Basic {basic}")), "{request}");
        assert!(request.to_ascii_lowercase().contains("content-type: application/x-www-form-urlencoded"));
        assert!(request.ends_with("grant_type=authorization_code&code=a+b%26c"), "{request}");
    }
}
