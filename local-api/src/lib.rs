//! The local API's HTTP layer: every contract route through `shared::gateway` (API Gateway's
//! semantics), the small web page under `web/`, and CORS for the configured origins, answered
//! the way the template has API Gateway answer it. Only for the host names it listens as
//! ([`AllowedHosts`]): a page elsewhere cannot reach it through DNS rebinding.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, HOST, HeaderName, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use shared::config::{ConfigError, Env, MFA_KEY, MFA_KEY_SECRET, SIGNING_KEY_SECRET, strict_revocation};
use shared::domain::{Email, IntrospectionClients, LoginThrottle, Password, PasswordHasher, Role, SessionPolicy, User};
use shared::email::{LogSender, Mail, Outbox};
use shared::error::ApiError;
use shared::events::{Events, MemoryEvents};
use shared::federation::Federation;
use shared::gateway::Gateway;
use shared::http::discovery::Discovery;
use shared::http::{ApiRequest, MAX_BODY_BYTES, json_response, problem};
use shared::passkeys::RelyingParty;
use shared::service::{Accounts, MfaConfig, Recovery, RoleCache};
use shared::store::{DynamoStore, MemoryStore, Store, UserChanges};
use shared::time::UnixTime;
use shared::tokens::{TokenIssuer, TokenSettings, TokenVerifier, ephemeral_ed25519};
use shared::transport::{AllowedOrigins, CSRF_HEADER, TokenTransport};
use tower_http::cors::{AllowOrigin, CorsLayer};

const INDEX_HTML: &str = include_str!("../../web/index.html");
const APP_JS: &str = include_str!("../../web/app.js");
const APP_CSS: &str = include_str!("../../web/app.css");
const COMMON_JS: &str = include_str!("../../web/common.js");
/// The client library (clients/typescript) as the pages load it, built by its `npm run bundle`.
const CLIENT_JS: &str = include_str!("../../web/client.js");
const FEDERATION_JS: &str = include_str!("../../web/federation.js");
const PASSKEYS_JS: &str = include_str!("../../web/passkeys.js");
const MFA_JS: &str = include_str!("../../web/mfa.js");
const ADMIN_HTML: &str = include_str!("../../web/admin.html");
const ADMIN_JS: &str = include_str!("../../web/admin.js");
/// The page loads only its own script and talks only to its own origin; no framing.
/// Images may also be `data:` URLs: the MFA enrolment shows its QR code (an SVG) as one.
const PAGE_CSP: &str =
    "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The same preflight answer as the template's `CorsConfiguration`: the listed origins only,
/// with credentials, for the headers the API reads.
pub fn cors_layer(origins: &AllowedOrigins) -> CorsLayer {
    let origins: Vec<HeaderValue> =
        origins.as_slice().iter().filter_map(|origin| HeaderValue::from_str(origin).ok()).collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
        .allow_headers([
            axum::http::header::AUTHORIZATION,
            axum::http::header::CONTENT_TYPE,
            HeaderName::from_static(CSRF_HEADER),
        ])
        .max_age(std::time::Duration::from_secs(600))
}

/// What the local API shows of itself, and no function serves: the mail the `log` sender kept
/// (`GET /_dev/outbox`) and the lifecycle events when no bus is configured (`GET /_dev/events`).
#[derive(Default)]
pub struct DevViews {
    pub outbox: Option<Outbox>,
    pub events: Option<MemoryEvents>,
}

/// How many requests each method and path got since the start (`GET /_dev/requests`): how a
/// client's tests count the refreshes its tabs made, at the server.
#[derive(Clone, Default)]
struct RequestCounts(Arc<Mutex<BTreeMap<String, u64>>>);

async fn count_requests(State(counts): State<RequestCounts>, request: Request, next: Next) -> Response {
    let key = format!("{} {}", request.method(), request.uri().path());
    if !key.contains(" /_dev/") {
        *counts.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).entry(key).or_default() += 1;
    }
    next.run(request).await
}

/// The API, the page (also at the paths the mailed links open), and the [`DevViews`], for
/// requests to one of `hosts` only.
pub fn router(gateway: Arc<Gateway>, origins: &AllowedOrigins, dev: DevViews, hosts: AllowedHosts) -> Router {
    let index = || async { page("text/html; charset=utf-8", INDEX_HTML) };
    let counts = RequestCounts::default();
    let counted = counts.clone();
    let mut router =
        Router::new()
            .route(
                "/_dev/requests",
                get(move || {
                    let requests = counted.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
                    async move {
                        json_response(StatusCode::OK, &serde_json::json!({ "requests": requests })).map(Body::from)
                    }
                }),
            )
            .route("/", get(index))
            .route("/verify-email", get(index))
            .route("/reset-password", get(index))
            .route("/app.js", get(|| async { page("text/javascript; charset=utf-8", APP_JS) }))
            .route("/app.css", get(|| async { page("text/css; charset=utf-8", APP_CSS) }))
            .route("/common.js", get(|| async { page("text/javascript; charset=utf-8", COMMON_JS) }))
            .route("/client.js", get(|| async { page("text/javascript; charset=utf-8", CLIENT_JS) }))
            .route("/federation.js", get(|| async { page("text/javascript; charset=utf-8", FEDERATION_JS) }))
            .route("/passkeys.js", get(|| async { page("text/javascript; charset=utf-8", PASSKEYS_JS) }))
            .route("/mfa.js", get(|| async { page("text/javascript; charset=utf-8", MFA_JS) }))
            // The administration page: the API behind it checks every call (admins only).
            .route("/admin", get(|| async { page("text/html; charset=utf-8", ADMIN_HTML) }))
            .route("/admin.js", get(|| async { page("text/javascript; charset=utf-8", ADMIN_JS) }));
    if let Some(events) = dev.events {
        router = router.route(
            "/_dev/events",
            get(move || {
                let events = events.events();
                async move { json_response(StatusCode::OK, &serde_json::json!({ "events": events })).map(Body::from) }
            }),
        );
    }
    if let Some(outbox) = dev.outbox {
        router =
            router.route(
                "/_dev/outbox",
                get(move || {
                    let messages = outbox.messages();
                    async move {
                        json_response(StatusCode::OK, &serde_json::json!({ "messages": messages })).map(Body::from)
                    }
                }),
            );
    }
    let router = router.fallback(serve).with_state(gateway);
    let router = router.layer(middleware::from_fn_with_state(counts, count_requests));
    let router = if origins.is_empty() { router } else { router.layer(cors_layer(origins)) };
    // Outermost: a request for another host gets no page, no preflight and no dev view.
    router.layer(middleware::from_fn_with_state(hosts, only_allowed_hosts))
}

/// The host names the local API answers for: `localhost`, `127.0.0.1`, `[::1]`, the host of
/// `--addr` and any `--allowed-host`, each with or without a port (the port is not compared: a
/// forwarded port is still this server). A browser sends the name it resolved, so a page whose
/// own name was rebound to this address (DNS rebinding) names its own host and is refused: it
/// cannot read `/_dev/outbox` (the mailed links) or use a cookie session.
#[derive(Clone, Debug)]
pub struct AllowedHosts(Arc<Vec<String>>);

impl AllowedHosts {
    pub fn new(addr: SocketAddr, extra: &[String]) -> Self {
        let listening = match addr.ip() {
            IpAddr::V4(ip) => ip.to_string(),
            IpAddr::V6(ip) => format!("[{ip}]"),
        };
        let mut names: Vec<String> = ["localhost", "127.0.0.1", "[::1]"].map(str::to_owned).into();
        for name in std::iter::once(listening).chain(extra.iter().map(|name| name.to_ascii_lowercase())) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        Self(Arc::new(names))
    }

    /// Whether `authority` (a `Host` header: `name` or `name:port`) names this server.
    pub fn admits(&self, authority: &str) -> bool {
        let authority = authority.to_ascii_lowercase();
        host_name(&authority).is_some_and(|name| self.0.iter().any(|allowed| allowed == name))
    }

    /// Every authority the request names (its `Host`, and its target's when absolute) is ours;
    /// a request that names none is refused too.
    fn admit_request(&self, request: &Request) -> bool {
        let host = request.headers().get(HOST).map(|value| value.to_str().ok());
        let target = request.uri().authority().map(|authority| Some(authority.as_str()));
        let named: Vec<Option<&str>> = host.into_iter().chain(target).collect();
        !named.is_empty() && named.iter().all(|authority| authority.is_some_and(|authority| self.admits(authority)))
    }
}

/// The host part of `name[:port]` or `[v6][:port]`; `None` when the port is not a number.
fn host_name(authority: &str) -> Option<&str> {
    let port_ok = |port: &str| !port.is_empty() && port.len() <= 5 && port.bytes().all(|byte| byte.is_ascii_digit());
    let (name, port) = if authority.starts_with('[') {
        let end = authority.find(']')? + 1;
        let (name, rest) = authority.split_at(end);
        (name, if rest.is_empty() { None } else { Some(rest.strip_prefix(':')?) })
    } else {
        match authority.split_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (authority, None),
        }
    };
    (!name.is_empty() && port.is_none_or(port_ok)).then_some(name)
}

async fn only_allowed_hosts(State(hosts): State<AllowedHosts>, request: Request, next: Next) -> Response {
    if hosts.admit_request(&request) {
        return next.run(request).await;
    }
    tracing::warn!(
        host = ?request.headers().get(HOST),
        "refused a request for a host this server does not listen as (see --allowed-host)"
    );
    misdirected()
}

/// `421 Misdirected Request` (RFC 9110 §15.5.20) as a problem document, like every other error.
fn misdirected() -> Response {
    let body = serde_json::json!({
        "type": "urn:jwt-auth:problem:misdirected_request",
        "title": "Misdirected Request",
        "status": 421,
        "detail": "this server does not answer for that host",
        "code": "misdirected_request",
    });
    let headers = [
        (CONTENT_TYPE, HeaderValue::from_static("application/problem+json")),
        (CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ];
    (StatusCode::MISDIRECTED_REQUEST, headers, body.to_string()).into_response()
}

/// `TOKEN_TRANSPORT` when the environment has none: tokens in the body (curl, scripts) and in
/// cookies (the page at `/`, which never sees a token).
pub const DEFAULT_TRANSPORT: &str = "both";

/// Where users and sessions live: in this process, or in DynamoDB (standard AWS
/// configuration; `AWS_ENDPOINT_URL_DYNAMODB` for a local server).
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum StoreKind {
    Memory,
    Dynamodb,
}

/// The gateway listening at `addr` as `env` configures it (zero configuration works: ephemeral
/// keys, mail to the outbox `GET /_dev/outbox` shows, events kept for `GET /_dev/events`, and
/// tokens both in the body and in cookies, so curl and the page at `/` work alike).
pub async fn build_gateway(
    mut env: Env,
    addr: SocketAddr,
    store_kind: StoreKind,
) -> Result<(Gateway, DevViews), ConfigError> {
    let origin = format!("http://{addr}");
    env.set_default("JWT_ISSUER", &origin);
    env.set_default("JWT_AUDIENCE", &origin);
    env.set_default("APP_URL", &origin);
    env.set_default("PUBLIC_BASE_URL", &origin);
    // Passkeys on the page at `http://localhost:<port>/` (an IP address cannot be an RP ID).
    env.set_default("WEBAUTHN_RP_ID", "localhost");
    env.set_default("WEBAUTHN_ORIGINS", &format!("http://localhost:{}", addr.port()));
    // A provider's sign-in comes back to the page at `/`.
    env.set_default("OAUTH_REDIRECT_URIS", &format!("{origin}/"));
    env.set_default("EMAIL_SENDER", "log");
    env.set_default("USERS_TABLE", "users");
    env.set_default("REVOCATIONS_TABLE", "revocations");
    // Deployed functions default to `body`; the local API serves a page that signs in by cookie
    // beside clients reading the body (the README's curl session), so it gives both by default.
    env.set_default("TOKEN_TRANSPORT", DEFAULT_TRANSPORT);

    let keys_configured =
        ["JWT_HS256_SECRET", "JWT_PRIVATE_KEY", SIGNING_KEY_SECRET].iter().any(|name| env.get(name).is_some());
    let (issuer, verifier) = if keys_configured {
        (TokenIssuer::from_env(&env).await?, TokenVerifier::from_env(&env)?)
    } else {
        ephemeral_keys(TokenSettings::from_env(&env)?)
    };
    let store: Arc<dyn Store> = match store_kind {
        StoreKind::Memory => Arc::new(MemoryStore::new()),
        StoreKind::Dynamodb => Arc::new(DynamoStore::from_env(&env).await?),
    };
    let (mail, outbox) = match env.get("EMAIL_SENDER") {
        Some("log") => {
            let outbox = Outbox::default();
            let mail =
                Mail { sender: Arc::new(LogSender::with_outbox(outbox.clone())), ..Mail::settings_from_env(&env)? };
            (mail, Some(outbox))
        }
        _ => (Mail::from_env(&env).await?, None),
    };
    // Lifecycle events: to EventBridge with EVENT_BUS_NAME, else kept for `GET /_dev/events`.
    let (events, kept_events) = match env.get("EVENT_BUS_NAME") {
        Some(_) => (Events::from_env(&env).await?, None),
        None => {
            let kept = MemoryEvents::default();
            (Events::to(Arc::new(kept.clone())), Some(kept))
        }
    };
    let recovery = Recovery {
        mail,
        store,
        hasher: PasswordHasher::from_env(&env)?,
        throttle: LoginThrottle::from_env(&env)?,
        verifier,
        events,
        passkeys: Arc::new(RelyingParty::from_env(&env)?),
        legacy: shared::legacy::Legacy::from_env(&env).await?,
        password_policy: shared::password_policy::PasswordPolicy::from_env(&env)?,
    };
    let accounts =
        Accounts { recovery, sessions: SessionPolicy::from_env(&env)?, issuer, roles: RoleCache::from_env(&env)? };
    // With DynamoDB the data outlives the process: so must the key that seals its TOTP keys.
    let mfa = if [MFA_KEY, MFA_KEY_SECRET].iter().any(|name| env.get(name).is_some()) {
        MfaConfig::from_env(&env).await?
    } else if matches!(store_kind, StoreKind::Dynamodb) {
        return Err(ConfigError::Missing(MFA_KEY));
    } else {
        ephemeral_mfa_key(&env)?
    };
    let discovery = Discovery::from_env(&env, accounts.verifier.keys())?;
    let introspection_clients = IntrospectionClients::from_env(&env).await?;
    let gateway = Gateway {
        accounts,
        mfa,
        discovery,
        introspection_clients,
        strict_revocation: strict_revocation(&env)?,
        transport: TokenTransport::from_env(&env)?,
        federation: Federation::from_env(&env).await?,
    };
    Ok((gateway, DevViews { outbox, events: kept_events }))
}

/// A data key for TOTP keys that lives as long as the process (MFA enrolments die with it).
fn ephemeral_mfa_key(env: &Env) -> Result<MfaConfig, ConfigError> {
    let issuer_name = shared::config::mfa_issuer_name(env)?;
    let mfa = MfaConfig::with_generated_key(issuer_name)
        .map_err(|error| ConfigError::Invalid { name: MFA_KEY, reason: error.to_string() })?;
    tracing::warn!(
        "no MFA_ENCRYPTION_KEY: sealing TOTP keys with a key generated now; enrolments die with this process"
    );
    Ok(mfa)
}

/// A signing key that lives as long as the process, so the API runs with no setup at all.
fn ephemeral_keys(settings: TokenSettings) -> (TokenIssuer, TokenVerifier) {
    let (signing, keys) = ephemeral_ed25519("local-ephemeral").expect("the system RNG works");
    tracing::warn!(
        "no JWT_PRIVATE_KEY or JWT_HS256_SECRET: signing with a key generated now; tokens die with this process"
    );
    (TokenIssuer::new(settings.clone(), signing), TokenVerifier::new(settings, keys))
}

/// `--admin`: makes the account an administrator before the API listens, as `authctl
/// create-admin` does on DynamoDB: an existing account is promoted (its password and data kept,
/// its sessions revoked); otherwise one is created with `password`. For local development and
/// the conformance run, which need an administrator on the embedded store too.
pub async fn bootstrap_admin(accounts: &Accounts, email: &str, password: Option<String>) -> Result<String, String> {
    let email = Email::parse(email).map_err(|reason| format!("--admin {reason}"))?;
    let store = accounts.store.as_ref();
    let now = UnixTime::now();
    let describe = |error: shared::store::StoreError| error.to_string();
    if let Some(existing) = store.user_by_email(&email).await.map_err(describe)? {
        let promote = UserChanges { role: Some(Role::Admin), ..UserChanges::default() };
        store.update_user(&existing.id, &promote, Some(now)).await.map_err(describe)?;
        return Ok(format!("promoted {email} (id {}) to admin", existing.id));
    }
    let password = password.ok_or("--admin: no password (LOCAL_ADMIN_PASSWORD, or stdin) for the new account")?;
    let password = Password::parse_new(password).map_err(|reason| format!("the admin's password {reason}"))?;
    let password_hash = accounts.hasher.hash(password).await.map_err(|error| error.to_string())?;
    let user = User::new(email, password_hash, Role::Admin, now);
    store.create_user(&user, None).await.map_err(describe)?;
    Ok(format!("created admin {} (id {})", user.email, user.id))
}

fn page(content_type: &'static str, body: &'static str) -> Response {
    let headers = [
        (CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (HeaderName::from_static("content-security-policy"), HeaderValue::from_static(PAGE_CSP)),
        (HeaderName::from_static("x-content-type-options"), HeaderValue::from_static("nosniff")),
        (HeaderName::from_static("referrer-policy"), HeaderValue::from_static("no-referrer")),
    ];
    (StatusCode::OK, headers, body).into_response()
}

async fn serve(State(gateway): State<Arc<Gateway>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    // Read one byte past the limit so an oversized body is recognised, not truncated.
    let Ok(body) = to_bytes(body, MAX_BODY_BYTES + 1).await else {
        return problem(&ApiError::PayloadTooLarge).map(Body::from);
    };
    // The peer's address, as API Gateway's `sourceIp` would give it (the login throttle's key).
    let source_ip = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(peer)| peer.ip());
    let request = ApiRequest {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers: parts.headers,
        body,
        principal: None,
        source_ip,
    };
    gateway.handle(request).await.map(Body::from)
}

#[cfg(test)]
mod tests {
    use axum::http::Request;
    use serde_json::Value;
    use tower::ServiceExt as _;

    use super::*;

    const ALLOWED: &str = "https://app.example.com";

    async fn preflight(origin: &str) -> Response {
        let origins = AllowedOrigins::parse(ALLOWED).unwrap();
        let app = Router::new().fallback(|| async { "handler reached" }).layer(cors_layer(&origins));
        let request = Request::builder()
            .method(Method::OPTIONS)
            .uri("/auth/refresh")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type, x-csrf-token")
            .body(Body::empty())
            .unwrap();
        app.oneshot(request).await.unwrap()
    }

    fn header<'r>(response: &'r Response, name: &str) -> Option<&'r str> {
        response.headers().get(name).and_then(|value| value.to_str().ok())
    }

    #[tokio::test]
    async fn an_allowed_origin_gets_a_credentialed_preflight() {
        let response = preflight(ALLOWED).await;
        assert!(response.status().is_success());
        assert_eq!(header(&response, "access-control-allow-origin"), Some(ALLOWED));
        assert_eq!(header(&response, "access-control-allow-credentials"), Some("true"));
        let allowed_headers = header(&response, "access-control-allow-headers").unwrap_or_default();
        assert!(allowed_headers.contains("x-csrf-token"), "{allowed_headers}");
        let methods = header(&response, "access-control-allow-methods").unwrap_or_default();
        // DELETE ends a session (and turns MFA off) from the page.
        assert!(methods.contains("POST") && methods.contains("DELETE"), "{methods}");
    }

    #[tokio::test]
    async fn another_origin_gets_no_cors_grant_at_all() {
        for origin in ["https://evil.example.com", "https://app.example.com.evil.net", "null"] {
            let response = preflight(origin).await;
            assert_eq!(header(&response, "access-control-allow-origin"), None, "{origin} was allowed");
        }
    }

    fn hosts() -> AllowedHosts {
        AllowedHosts::new("127.0.0.1:3000".parse().unwrap(), &[])
    }

    #[test]
    fn only_the_names_it_listens_as_are_admitted_with_or_without_a_port() {
        for admitted in
            ["localhost", "localhost:3000", "LocalHost:8080", "127.0.0.1", "127.0.0.1:3000", "[::1]", "[::1]:3000"]
        {
            assert!(hosts().admits(admitted), "{admitted} was refused");
        }
        for refused in [
            "evil.example",
            "evil.example:3000",
            "localhost.evil.example:3000",
            "127.0.0.1.nip.io:3000",
            "attacker@localhost",
            "localhost:",
            "localhost:http",
            "localhost:3000:3000",
            "[::1]x",
            "[::1]:",
            "[::2]:3000",
            "0.0.0.0:3000",
            "",
        ] {
            assert!(!hosts().admits(refused), "{refused:?} was admitted");
        }
        // The --addr host, and any --allowed-host, join the three loopback names.
        let lan = AllowedHosts::new("0.0.0.0:3000".parse().unwrap(), &["Dev-Box.local".into()]);
        for admitted in ["0.0.0.0:3000", "dev-box.local:3000", "localhost"] {
            assert!(lan.admits(admitted), "{admitted} was refused");
        }
        let v6 = AllowedHosts::new("[fd00::7]:3000".parse().unwrap(), &[]);
        assert!(v6.admits("[fd00::7]:3000") && !v6.admits("fd00::7"));
    }

    /// The whole local API, as `main` builds it with no configuration (but cheap Argon2).
    async fn local_api() -> Router {
        let env = Env::from_pairs([
            ("ARGON2_MEMORY_KIB", "1024"),
            ("ARGON2_ITERATIONS", "1"),
            ("ARGON2_PARALLELISM", "1"),
            ("EMAIL_RESPONSE_FLOOR_MS", "0"),
        ]);
        let addr = "127.0.0.1:3000".parse().unwrap();
        let (gateway, dev) = build_gateway(env, addr, StoreKind::Memory).await.unwrap();
        router(Arc::new(gateway), &AllowedOrigins::parse("").unwrap(), dev, hosts())
    }

    async fn send(app: &Router, method: Method, path: &str, host: Option<&str>, body: &str) -> (Response, Value) {
        let mut request = Request::builder().method(method).uri(path).header("content-type", "application/json");
        if let Some(host) = host {
            request = request.header("host", host);
        }
        let response = app.clone().oneshot(request.body(Body::from(body.to_owned())).unwrap()).await.unwrap();
        let (parts, body) = response.into_parts();
        let bytes = to_bytes(body, usize::MAX).await.unwrap();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (Response::from_parts(parts, Body::empty()), json)
    }

    const REGISTRATION: &str = r#"{"email": "rebound@example.com", "password": "correct horse battery staple"}"#;

    #[tokio::test]
    async fn another_host_gets_421_and_nothing_is_done() {
        let app = local_api().await;
        let rebound = Some("attacker.example:3000");
        for (method, path, body) in [
            (Method::POST, "/auth/register", REGISTRATION),
            (Method::GET, "/_dev/outbox", ""),
            (Method::GET, "/_dev/events", ""),
            (Method::GET, "/", ""),
            (Method::OPTIONS, "/auth/login", ""),
        ] {
            let (response, body) = send(&app, method.clone(), path, rebound, body).await;
            assert_eq!(response.status(), StatusCode::MISDIRECTED_REQUEST, "{method} {path}");
            assert_eq!(header(&response, "content-type"), Some("application/problem+json"));
            assert_eq!(header(&response, "cache-control"), Some("no-store"));
            assert_eq!((body["code"].as_str(), body["status"].as_u64()), (Some("misdirected_request"), Some(421)));
        }
        // No Host at all is no better.
        let (response, _) = send(&app, Method::GET, "/_dev/outbox", None, "").await;
        assert_eq!(response.status(), StatusCode::MISDIRECTED_REQUEST);
        // The refused registration made no account, sent no mail and emitted no event.
        let (_, outbox) = send(&app, Method::GET, "/_dev/outbox", Some("localhost:3000"), "").await;
        assert_eq!(outbox["messages"], serde_json::json!([]));
        let (_, events) = send(&app, Method::GET, "/_dev/events", Some("127.0.0.1:3000"), "").await;
        assert_eq!(events["events"], serde_json::json!([]));
        let (response, _) = send(&app, Method::POST, "/auth/register", Some("[::1]:3000"), REGISTRATION).await;
        assert_eq!(response.status(), StatusCode::CREATED, "the address is still free");
    }

    #[tokio::test]
    async fn dev_events_read_as_type_detail_and_time() {
        let app = local_api().await;
        let (response, registered) =
            send(&app, Method::POST, "/auth/register", Some("localhost:3000"), REGISTRATION).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{registered}");
        let (response, body) = send(&app, Method::GET, "/_dev/events", Some("localhost"), "").await;
        assert_eq!(response.status(), StatusCode::OK);
        let events = body["events"].as_array().unwrap();
        assert_eq!(events.len(), 1, "{body}");
        let mut keys: Vec<&str> = events[0].as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["detail", "time", "type"], "{body}");
        assert_eq!(events[0]["type"], "user.registered");
        assert_eq!(events[0]["detail"]["user_id"], registered["user"]["id"]);
        let (_, outbox) = send(&app, Method::GET, "/_dev/outbox", Some("127.0.0.1:3000"), "").await;
        assert_eq!(outbox["messages"].as_array().map(Vec::len), Some(1), "the verification mail: {outbox}");
    }

    /// With no `TOKEN_TRANSPORT`, the README's two clients work: curl reads the tokens from the
    /// body, the page at `/` signs in by the cookies (it never sees a token).
    #[tokio::test]
    async fn by_default_tokens_come_in_the_body_and_in_cookies() {
        let app = local_api().await;
        let (response, body) = send(&app, Method::POST, "/auth/register", Some("localhost:3000"), REGISTRATION).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{body}");
        assert!(body["access_token"].as_str().is_some_and(|token| token.starts_with("eyJ")), "{body}");
        assert!(body["refresh_token"].as_str().is_some(), "{body}");
        let cookies: Vec<&str> = response
            .headers()
            .get_all(axum::http::header::SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .collect();
        for name in ["__Host-access_token=", "__Secure-refresh_token=", "__Host-csrf_token="] {
            assert!(cookies.iter().any(|cookie| cookie.starts_with(name)), "{name} missing: {cookies:?}");
        }
    }

    #[tokio::test]
    async fn an_admin_is_bootstrapped_or_promoted() {
        let env =
            Env::from_pairs([("ARGON2_MEMORY_KIB", "1024"), ("ARGON2_ITERATIONS", "1"), ("ARGON2_PARALLELISM", "1")]);
        let (gateway, _) = build_gateway(env, "127.0.0.1:3000".parse().unwrap(), StoreKind::Memory).await.unwrap();
        let accounts = &gateway.accounts;
        let none = bootstrap_admin(accounts, "root@example.com", None).await.unwrap_err();
        assert!(none.contains("no password"), "{none}");
        let short = bootstrap_admin(accounts, "root@example.com", Some("short".into())).await.unwrap_err();
        assert!(short.contains("at least 8"), "{short}");
        let created = bootstrap_admin(accounts, "root@example.com", Some("correct horse battery staple".into())).await;
        assert!(created.unwrap().starts_with("created admin"));
        let email = Email::parse("root@example.com").unwrap();
        let admin = accounts.store.user_by_email(&email).await.unwrap().unwrap();
        assert_eq!(admin.role, Role::Admin);
        // Again: the account is kept (and stays admin), whatever stdin says.
        let again = bootstrap_admin(accounts, "ROOT@example.com", None).await.unwrap();
        assert!(again.starts_with("promoted"), "{again}");
        let same = accounts.store.user_by_email(&email).await.unwrap().unwrap();
        assert_eq!((same.id, same.role, same.password_hash), (admin.id, Role::Admin, admin.password_hash));
    }

    #[test]
    fn the_page_is_served_with_a_strict_policy() {
        let response = page("text/html; charset=utf-8", INDEX_HTML);
        assert_eq!(header(&response, "content-security-policy"), Some(PAGE_CSP));
        assert!(!PAGE_CSP.contains("unsafe-inline"));
        assert!(!INDEX_HTML.contains("<script>"), "inline scripts would be blocked by the policy");
    }
}
