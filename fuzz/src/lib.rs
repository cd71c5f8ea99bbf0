//! Fixtures shared by the fuzz targets: fixed keys (so crashes reproduce across runs), a
//! verifier, an issuer, and a fully wired gateway on the embedded store.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method};
use shared::domain::{PasswordHasher, PasswordParams};
use shared::gateway::Gateway;
use shared::http::ApiRequest;
use shared::store::MemoryStore;
use shared::tokens::{TokenIssuer, TokenSettings, TokenVerifier, VerifyingKeys, ephemeral_ed25519};

pub const ISSUER: &str = "https://auth.fuzz";
pub const AUDIENCE: &str = "https://api.fuzz";
/// The HS256 secret of [`hs256_verifier`]: public on purpose, so the claims target can sign.
pub const HS256_SECRET: &str = "fuzzing-secret-fuzzing-secret-fuzzing-secret";

/// Public keys from RFC 8037 §A.2 (Ed25519) and RFC 7515 §A.3 (P-256), with kids, so that
/// `kid`/`alg` selection and both signature algorithms are reachable.
pub const PUBLIC_JWKS: &str = r#"{"keys":[
  {"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"ed","alg":"EdDSA","use":"sig"},
  {"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRjmX0Oo4-XuOlxLjLr-PgafWZfl-V_1bIoThsg","kid":"es","alg":"ES256","use":"sig"}
]}"#;

pub fn settings() -> TokenSettings {
    TokenSettings { refresh_ttl_secs: 3600, ..TokenSettings::with_defaults(ISSUER, AUDIENCE) }
}

pub fn asymmetric_verifier() -> &'static TokenVerifier {
    static VERIFIER: OnceLock<TokenVerifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        TokenVerifier::new(settings(), VerifyingKeys::from_public_jwks(PUBLIC_JWKS).expect("fixture JWKS loads"))
    })
}

pub fn hs256_verifier() -> &'static TokenVerifier {
    static VERIFIER: OnceLock<TokenVerifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        let secret = secrecy::SecretString::from(HS256_SECRET);
        TokenVerifier::new(settings(), VerifyingKeys::hs256(&secret).expect("fixture secret loads"))
    })
}

/// `header.payload.signature` over the given JSON texts, HS256-signed with [`HS256_SECRET`] by
/// jsonwebtoken: an implementation independent of the verifier under test.
pub fn sign_hs256(header_json: &[u8], payload_json: &[u8]) -> String {
    let key = jsonwebtoken::EncodingKey::from_secret(HS256_SECRET.as_bytes());
    let signing_input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header_json), URL_SAFE_NO_PAD.encode(payload_json));
    let signature = jsonwebtoken::crypto::sign(signing_input.as_bytes(), &key, jsonwebtoken::Algorithm::HS256)
        .expect("HMAC signing cannot fail");
    format!("{signing_input}.{signature}")
}

/// One current-thread runtime per fuzzing process (the hasher uses its blocking pool).
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime starts")
    })
}

/// Every function wired in one process, as `local-api` and the end-to-end tests run them, with
/// Argon2id cheap enough for thousands of executions a second.
pub fn gateway() -> &'static Gateway {
    static GATEWAY: OnceLock<Gateway> = OnceLock::new();
    GATEWAY.get_or_init(|| {
        let (signing, verifying) = ephemeral_ed25519("fuzz").expect("key generation works");
        let issuer = TokenIssuer::new(settings(), signing);
        let verifier = TokenVerifier::new(settings(), verifying);
        let hasher = PasswordHasher::new(PasswordParams { memory_kib: 8, iterations: 1, parallelism: 1 })
            .expect("cheap Argon2 parameters are valid");
        let recovery = shared::service::Recovery {
            store: Arc::new(MemoryStore::new()),
            hasher,
            throttle: shared::domain::LoginThrottle::default(),
            verifier,
            // No floor: the mail routes answer at once, so the fuzzer keeps its pace.
            mail: shared::email::Mail {
                response_floor: std::time::Duration::ZERO,
                ..shared::email::Mail::to_outbox("https://app.fuzz", shared::email::Outbox::default())
            },
            events: shared::events::Events::disabled(),
            passkeys: std::sync::Arc::new(shared::passkeys::RelyingParty::off()),
            legacy: shared::legacy::Legacy::default(),
            password_policy: shared::password_policy::PasswordPolicy::lengths_only(),
        };
        let accounts = shared::service::Accounts {
            recovery,
            sessions: Default::default(),
            issuer,
            roles: shared::service::RoleCache::default(),
        };
        Gateway {
            accounts,
            mfa: shared::service::MfaConfig::with_generated_key("fuzz").expect("key generation works"),
            discovery: None,
            introspection_clients: Default::default(),
            strict_revocation: false,
            transport: shared::transport::TokenTransport::Both,
            federation: shared::federation::Federation::new(
                Vec::new(),
                Default::default(),
                Default::default(),
                "https://fuzz.test",
            )
            .expect("an HTTP client without providers"),
        }
    })
}

pub const ACCOUNT_PASSWORD: &str = "fuzzing password";

pub fn request(method: Method, path: &str, headers: HeaderMap, body: Vec<u8>) -> ApiRequest {
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    ApiRequest {
        method,
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
        body: Bytes::from(body),
        principal: None,
        source_ip: None,
    }
}

pub fn json_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers
}

/// The address the fixture logs in from. Fuzzed requests come from none (`source_ip: None`), and
/// their wrong guesses drain that client's login budget (100 failures per address): sharing it,
/// the fixture's own logins were refused with 429 after a few thousand runs.
const FIXTURE_IP: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));

/// A fresh (access, refresh) pair for a real account. The fuzzer may lock the account out
/// (wrong passwords) or disable nothing else, so on a failed login the next account is used.
pub fn fresh_tokens() -> (String, String) {
    static ACCOUNT: AtomicU32 = AtomicU32::new(0);
    let gateway = gateway();
    let fixture_request = |path: &str, body: Vec<u8>| ApiRequest {
        source_ip: Some(FIXTURE_IP),
        ..request(Method::POST, path, json_headers(), body)
    };
    runtime().block_on(async {
        for _ in 0..10 {
            let email = format!("fuzz-{}@example.com", ACCOUNT.load(Ordering::Relaxed));
            let body = serde_json::json!({ "email": email, "password": ACCOUNT_PASSWORD }).to_string().into_bytes();
            let mut response = gateway.handle(fixture_request("/auth/login", body.clone())).await;
            if response.status() == 401 {
                response = gateway.handle(fixture_request("/auth/register", body)).await;
            }
            if !response.status().is_success() {
                ACCOUNT.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let tokens: serde_json::Value = serde_json::from_str(response.body()).expect("token response is JSON");
            return (
                tokens["access_token"].as_str().expect("access_token").to_owned(),
                tokens["refresh_token"].as_str().expect("refresh_token").to_owned(),
            );
        }
        panic!("no fixture account could log in");
    })
}
