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
/// The same provider configured a second time, under another id.
pub const SECOND_PROVIDER: &str = "op2";

/// The provider's issuer; it runs until the test process ends (it exits when its stdin closes).
pub fn issuer() -> &'static str {
    static ISSUER: OnceLock<String> = OnceLock::new();
    ISSUER.get_or_init(|| {
        // Registered for two provider ids of the service: an account may link both.
        let redirect = format!(
            "{PUBLIC_BASE_URL}/auth/oauth/{PROVIDER}/callback,{PUBLIC_BASE_URL}/auth/oauth/{SECOND_PROVIDER}/callback"
        );
        let vars = [("CLIENT_ID", CLIENT_ID), ("CLIENT_SECRET", CLIENT_SECRET), ("REDIRECT_URIS", redirect.as_str())];
        start_node("provider.mjs", &vars)["issuer"].as_str().expect("an issuer").to_owned()
    })
}

/// The GitHub and Apple stand-ins (`tests/upstream/standins.mjs`): their base URL and the Apple
/// team key (PKCS#8 PEM) the service signs its client secret with.
pub fn standins() -> &'static Value {
    static STARTED: OnceLock<Value> = OnceLock::new();
    STARTED.get_or_init(|| start_node("standins.mjs", &[("CLIENT_ID", CLIENT_ID), ("CLIENT_SECRET", STANDIN_SECRET)]))
}

pub const STANDIN_SECRET: &str = "standin-client-secret";

/// Federation with GitHub's and Apple's stand-ins as providers `github` and `apple`.
pub async fn standin_federation() -> Federation {
    let started = standins();
    let base = started["base"].as_str().unwrap();
    let providers = serde_json::json!([
        {
            "id": "github", "kind": "github", "client_id": CLIENT_ID, "client_secret": STANDIN_SECRET,
            "authorize_url": format!("{base}/github/login/oauth/authorize"),
            "token_url": format!("{base}/github/login/oauth/access_token"),
            "api_url": format!("{base}/github/api"),
        },
        {
            "id": "apple", "kind": "apple", "issuer": format!("{base}/apple"), "client_id": CLIENT_ID,
            "team_id": started["apple_team_id"], "key_id": started["apple_key_id"],
            "private_key": started["apple_private_key"],
        },
    ])
    .to_string();
    let env = shared::config::Env::from_pairs([
        ("OAUTH_PROVIDERS", providers.as_str()),
        ("OAUTH_REDIRECT_URIS", APP_REDIRECT),
        ("PUBLIC_BASE_URL", PUBLIC_BASE_URL),
    ]);
    Federation::from_env(&env).await.expect("federation configures")
}

/// A provider of its own (oidc-provider), for a test that stops it: its issuer and its process.
pub fn own_provider() -> (String, std::process::Child) {
    let redirect = format!("{PUBLIC_BASE_URL}/auth/oauth/{PROVIDER}/callback");
    let vars = [("CLIENT_ID", CLIENT_ID), ("CLIENT_SECRET", CLIENT_SECRET), ("REDIRECT_URIS", redirect.as_str())];
    let (started, child) = spawn_node("provider.mjs", &vars);
    (started["issuer"].as_str().expect("an issuer").to_owned(), child)
}

/// Starts `tests/upstream/<script>` and reads the JSON line it prints once it listens; it runs
/// until this process ends (it exits when its stdin closes).
fn start_node(script: &str, vars: &[(&str, &str)]) -> Value {
    let (started, child) = spawn_node(script, vars);
    std::mem::forget(child);
    started
}

fn spawn_node(script: &str, vars: &[(&str, &str)]) -> (Value, std::process::Child) {
    let path = format!("{}/upstream/{script}", env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new("node")
        .arg(&path)
        .env("PORT", "0")
        .envs(vars.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|error| panic!("node {path}: {error} (npm ci in tests/upstream)"));
    let stdout = child.stdout.take().expect("piped");
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    reader.read_line(&mut line).expect("it prints one line");
    std::mem::forget(reader);
    (serde_json::from_str(&line).unwrap_or_else(|_| panic!("{script} said {line:?}")), child)
}

pub fn providers_json(issuer: &str) -> String {
    let provider = |id: &str| {
        serde_json::json!({
            "id": id, "name": "Test OP", "kind": "oidc", "issuer": issuer,
            "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        })
    };
    serde_json::json!([provider(PROVIDER), provider(SECOND_PROVIDER)]).to_string()
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
        self.authorize_path_of(PROVIDER)
    }

    pub fn authorize_path_of(&self, provider: &str) -> String {
        format!(
            "/auth/oauth/{provider}/authorize?redirect_uri={}&code_challenge={}&code_challenge_method=S256",
            urlencode(APP_REDIRECT),
            pkce_challenge(&self.verifier)
        )
    }

    /// `GET …/authorize` (with `login_hint`): the redirect to the provider; keeps the cookie.
    pub async fn authorize(&mut self, app: &TestApp, login: &str) -> TestResponse {
        self.authorize_with(app, PROVIDER, login).await
    }

    pub async fn authorize_with(&mut self, app: &TestApp, provider: &str, login: &str) -> TestResponse {
        let path = format!("{}&login_hint={}", self.authorize_path_of(provider), urlencode(login));
        let response = app.send(request(Method::GET, &path, None, None)).await;
        if let Some(cookie) = response.cookie(UPSTREAM_LOGIN_COOKIE) {
            self.cookie = Some(cookie);
        }
        response
    }

    /// The provider's part, as a browser would go through it: the URL it sends the browser back to.
    pub async fn at_provider(location: &str) -> String {
        let answer = Self::provider_answer(location).await;
        answer["callback"].as_str().unwrap_or_else(|| panic!("no callback: {answer}")).to_owned()
    }

    /// What the provider (or a stand-in) answers its `/_test/complete` with.
    pub async fn provider_answer(location: &str) -> Value {
        let client = HttpClient::new().unwrap();
        let url = format!("{}/_test/complete?url={}", issuer_of(location), urlencode(location));
        client.get_json(&url, Credentials::None).await.expect("the provider answers")
    }

    /// A `form_post` answer (Apple's): the form POSTed to the service's callback, with the cookie.
    pub async fn form_post(&self, app: &TestApp, url: &str, fields: &Value) -> TestResponse {
        let path = url.strip_prefix(PUBLIC_BASE_URL).expect("the service's callback");
        let fields: Vec<(String, String)> = fields
            .as_object()
            .unwrap()
            .iter()
            .map(|(name, value)| (name.clone(), value.as_str().unwrap().to_owned()))
            .collect();
        let mut post = request(Method::POST, path, None, None);
        post.body = serde_urlencoded::to_string(&fields).unwrap().into();
        post.headers.insert("content-type", "application/x-www-form-urlencoded".parse().unwrap());
        if let Some(cookie) = &self.cookie {
            post.headers.insert("cookie", format!("{UPSTREAM_LOGIN_COOKIE}={cookie}").parse().unwrap());
        }
        app.send(post).await
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
