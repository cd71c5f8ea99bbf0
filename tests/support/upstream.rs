//! The upstream OpenID provider of the federation tests: panva's oidc-provider
//! (`tests/upstream/provider.mjs`), started once per test process on a free port, and the browser's
//! part of a sign-in (following the provider's redirects, signing in as a `login_hint` account).

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use http::Method;
use serde_json::Value;
use shared::domain::federation::pkce_challenge;
use shared::federation::Federation;
use shared::federation::http::{Credentials, HttpClient};
use shared::transport::UPSTREAM_LOGIN_COOKIE;

use crate::{PUBLIC_BASE_URL, TestApp, TestResponse, request};

/// The provider's id in the service's configuration.
pub const PROVIDER: &str = "op";
pub const CLIENT_ID: &str = "jwt-auth-service";
pub const CLIENT_SECRET: &str = "upstream-client-secret";
/// Where the app wants the browser back.
pub const APP_REDIRECT: &str = "https://app.test/signed-in";

/// The provider's issuer; it runs until the test process ends (it exits when its stdin closes).
pub fn issuer() -> &'static str {
    static ISSUER: OnceLock<String> = OnceLock::new();
    ISSUER.get_or_init(|| {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/upstream/provider.mjs");
        let mut child = Command::new("node")
            .arg(script)
            .env("PORT", "0")
            .env("CLIENT_ID", CLIENT_ID)
            .env("CLIENT_SECRET", CLIENT_SECRET)
            .env("REDIRECT_URIS", format!("{PUBLIC_BASE_URL}/auth/oauth/{PROVIDER}/callback"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node runs tests/upstream/provider.mjs (npm ci in tests/upstream)");
        let stdout = child.stdout.take().expect("piped");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("the provider prints its issuer");
        let started: Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("provider said {line:?}"));
        // Kept open (and the child alive) for the process's lifetime.
        std::mem::forget(child);
        started["issuer"].as_str().expect("an issuer").to_owned()
    })
}

pub fn providers_json(issuer: &str) -> String {
    serde_json::json!([{
        "id": PROVIDER, "name": "Test OP", "kind": "oidc", "issuer": issuer,
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
    }])
    .to_string()
}

/// Federation with the test provider, as `OAUTH_PROVIDERS` and friends configure it.
pub async fn federation(auto_link: &str) -> Federation {
    federation_at(issuer(), auto_link).await
}

pub async fn federation_at(issuer: &str, auto_link: &str) -> Federation {
    let providers = providers_json(issuer);
    let env = shared::config::Env::from_pairs([
        ("OAUTH_PROVIDERS", providers.as_str()),
        ("OAUTH_REDIRECT_URIS", APP_REDIRECT),
        ("OAUTH_AUTO_LINK", auto_link),
        ("PUBLIC_BASE_URL", PUBLIC_BASE_URL),
    ]);
    Federation::from_env(&env).await.expect("federation configures")
}

/// A sign-in in progress: the app's PKCE pair, and the browser's binding cookie.
pub struct Browser {
    pub verifier: String,
    pub cookie: Option<String>,
}

impl Default for Browser {
    fn default() -> Self {
        Self { verifier: uuid::Uuid::new_v4().simple().to_string().repeat(2), cookie: None }
    }
}

impl Browser {
    pub fn authorize_path(&self) -> String {
        format!(
            "/auth/oauth/{PROVIDER}/authorize?redirect_uri={}&code_challenge={}&code_challenge_method=S256",
            urlencode(APP_REDIRECT),
            pkce_challenge(&self.verifier)
        )
    }

    /// `GET …/authorize` (with `login_hint`): the redirect to the provider; keeps the cookie.
    pub async fn authorize(&mut self, app: &TestApp, login: &str) -> TestResponse {
        let path = format!("{}&login_hint={}", self.authorize_path(), urlencode(login));
        let response = app.send(request(Method::GET, &path, None, None)).await;
        if let Some(cookie) = response.cookie(UPSTREAM_LOGIN_COOKIE) {
            self.cookie = Some(cookie);
        }
        response
    }

    /// The provider's part, as a browser would go through it: the URL it sends the browser back to.
    pub async fn at_provider(location: &str) -> String {
        let client = HttpClient::new().unwrap();
        let url = format!("{}/_test/complete?url={}", issuer_of(location), urlencode(location));
        let answer: Value = client.get_json(&url, Credentials::None).await.expect("the provider answers");
        answer["callback"].as_str().unwrap_or_else(|| panic!("no callback: {answer}")).to_owned()
    }

    /// The provider's redirect back to the service, with this browser's cookie.
    pub async fn callback(&self, app: &TestApp, callback_url: &str) -> TestResponse {
        let path = callback_url.strip_prefix(PUBLIC_BASE_URL).expect("the service's callback");
        let mut callback = request(Method::GET, path, None, None);
        if let Some(cookie) = &self.cookie {
            let header = format!("{UPSTREAM_LOGIN_COOKIE}={cookie}");
            callback.headers.insert("cookie", header.parse().unwrap());
        }
        app.send(callback).await
    }

    /// The whole browser part: authorize, the provider, the callback; the app URI it ends at.
    pub async fn sign_in(&mut self, app: &TestApp, login: &str) -> String {
        let authorize = self.authorize(app, login).await;
        assert_eq!(authorize.status, 302, "{:?}", authorize.body);
        let callback = Self::at_provider(location(&authorize)).await;
        let back = self.callback(app, &callback).await;
        assert_eq!(back.status, 302, "{:?}", back.body);
        location(&back).to_owned()
    }

    /// `POST /auth/oauth/token` with the code of an app URI and this browser's verifier.
    pub async fn exchange(&self, app: &TestApp, code: &str) -> TestResponse {
        let body = serde_json::json!({ "code": code, "code_verifier": self.verifier });
        app.post("/auth/oauth/token", body).await
    }
}

/// A fragment parameter of the app URI the browser ended at.
pub fn fragment(uri: &str, name: &str) -> Option<String> {
    let (_, fragment) = uri.split_once('#')?;
    fragment.split('&').find_map(|pair| pair.strip_prefix(&format!("{name}=")).map(str::to_owned))
}

pub fn location(response: &TestResponse) -> &str {
    response.headers.get("location").and_then(|value| value.to_str().ok()).expect("a Location header")
}

fn issuer_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |at| at + 3);
    let end = url[after_scheme..].find('/').map_or(url.len(), |at| after_scheme + at);
    &url[..end]
}

pub fn urlencode(value: &str) -> String {
    serde_urlencoded::to_string([("", value)]).unwrap()[1..].to_owned()
}
