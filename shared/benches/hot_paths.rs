//! Benchmarks of the hot paths: `cargo bench -p shared --bench hot_paths`.
//!
//! Divan reports fastest / slowest / median / mean per iteration; the median is the p50 the
//! targets in `docs/performance.md` are stated in. The allocation counter shows how many heap
//! allocations one iteration makes. No tracing subscriber is installed, so the `tracing` events
//! on these paths cost a disabled-callsite check only (as with `RUST_LOG=warn` in Lambda).
//!
//! Groups:
//! - `authorizer`: raw API Gateway event JSON → decision → response JSON (EdDSA and HS256;
//!   valid on first use and on repeat use, bad signature, expired, garbage tokens).
//! - `tokens`: issuing an access + refresh pair; verifying an access token (first and repeat
//!   use) and a refresh token.
//! - `reference`: the signature check and the pair issuing through jsonwebtoken's per-call key
//!   parsing, as they were before keys were prepared at init.
//! - `login`: the login use case on the embedded store, with the cheapest Argon2 (8 KiB, t=1)
//!   beside Argon2 alone at the same cost, and both again with OWASP's parameters; the bare
//!   Argon2id computation in reused memory and in memory allocated per hash.
//! - `refresh`: the refresh use case on the embedded store, each iteration spending the token
//!   the previous one issued (a rotation chain).

use std::hint::black_box;
use std::sync::Arc;

use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use divan::{AllocProfiler, Bencher};
use futures::FutureExt as _;
use secrecy::SecretString;
use shared::authorizer::Authorizer;
use shared::domain::{
    Email, Entitlements, LoginThrottle, Password, PasswordHasher, PasswordParams, Role, SessionPolicy, User,
};
use shared::service::{self, Accounts, ClientInfo, Recovery};
use shared::store::{AccountStore, MemoryStore};
use shared::time::UnixTime;
use shared::tokens::{
    Rebinding, SigningKey, TokenIssuer, TokenSettings, TokenVerifier, VerifyingKeys, ephemeral_ed25519,
};

#[global_allocator]
static ALLOC: AllocProfiler = AllocProfiler::system();

fn main() {
    divan::main();
}

const NOW: UnixTime = UnixTime::from_secs(1_800_000_000);
const EVENT: &str = include_str!("../../samples/authorizer.json");
const EMAIL: &str = "alice@example.com";
const PASSWORD: &str = "correct horse battery staple";

fn settings() -> TokenSettings {
    TokenSettings::with_defaults("https://auth.example.com", "https://api.example.com")
}

#[derive(Clone, Copy, Debug)]
enum Alg {
    EdDSA,
    HS256,
}

impl std::fmt::Display for Alg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Alg::EdDSA => "EdDSA",
            Alg::HS256 => "HS256",
        })
    }
}

const ALGS: [Alg; 2] = [Alg::EdDSA, Alg::HS256];

const HS256_SECRET: &str = "0123456789abcdef0123456789abcdef";

/// Keys parsed once, as each function does at init.
fn pair(alg: Alg) -> (TokenIssuer, TokenVerifier) {
    let (signing, verifying) = match alg {
        Alg::EdDSA => ephemeral_ed25519("bench").unwrap(),
        Alg::HS256 => {
            let secret = SecretString::from(HS256_SECRET);
            (SigningKey::hs256(&secret).unwrap(), VerifyingKeys::hs256(&secret).unwrap())
        }
    };
    wire(signing, verifying)
}

fn wire(signing: SigningKey, verifying: VerifyingKeys) -> (TokenIssuer, TokenVerifier) {
    (TokenIssuer::new(settings(), signing), TokenVerifier::new(settings(), verifying))
}

fn user() -> User {
    let user = User::new(Email::parse(EMAIL).unwrap(), String::new(), Role::User, UnixTime::from_secs(0));
    User { id: "0190a5b2-0000-7000-8000-000000000001".into(), ..user }
}

fn access_token(issuer: &TokenIssuer, at: UnixTime) -> String {
    let grant = issuer.next_refresh("session".into(), at);
    issuer.issue(&user(), &Entitlements::default(), &grant, at).unwrap().access_token
}

/// The signing functions' bundle on an embedded store holding `account`.
fn accounts_on_memory(
    rt: &tokio::runtime::Runtime,
    account: &User,
    hasher: PasswordHasher,
    (issuer, verifier): (TokenIssuer, TokenVerifier),
) -> Accounts {
    let store = MemoryStore::new();
    rt.block_on(store.create_user(account, None)).unwrap();
    let throttle = LoginThrottle::default();
    let mail = shared::email::Mail::to_outbox("https://app.bench", shared::email::Outbox::default());
    let events = shared::events::Events::disabled();
    let passkeys = Arc::new(shared::passkeys::RelyingParty::off());
    let recovery = Recovery {
        store: Arc::new(store),
        hasher,
        throttle,
        verifier,
        mail,
        events,
        passkeys,
        legacy: shared::legacy::Legacy::default(),
        password_policy: shared::password_policy::PasswordPolicy::lengths_only(),
    };
    Accounts { recovery, sessions: SessionPolicy::default(), issuer, roles: shared::service::RoleCache::default() }
}

fn runtime() -> tokio::runtime::Runtime {
    // What `#[tokio::main]` builds in each function (on 2 cores: 2 workers).
    tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap()
}

mod authorizer {
    use super::*;

    /// One invocation as the authorizer function handles it (`shared::lambda::run_authorizer`):
    /// event bytes → the raw JSON text (what lambda_runtime hands over) → `Authorizer::handle`
    /// → response bytes.
    fn decide(verifier: &TokenVerifier, event_json: &str) -> String {
        let event: Box<serde_json::value::RawValue> = serde_json::from_str(event_json).unwrap();
        // Stateless mode never awaits anything: the future is ready at its first poll.
        let response = Authorizer::new(verifier, None).handle(event.get(), NOW).now_or_never().unwrap().unwrap();
        serde_json::to_string(&response).unwrap()
    }

    /// The same decision with the event parsed straight into its type (no `Value` detour).
    fn decide_typed(verifier: &TokenVerifier, event_json: &str) -> String {
        let event: ApiGatewayV2CustomAuthorizerV2Request = serde_json::from_str(event_json).unwrap();
        let response = Authorizer::new(verifier, None).http_api(&event, NOW).now_or_never().unwrap();
        serde_json::to_string(&response).unwrap()
    }

    /// `valid_repeat` with the functions' log subscriber installed (JSON, `info`, as
    /// `shared::telemetry::init` sets it up) writing to a sink: what the "authorized" line costs.
    #[divan::bench(args = ALGS)]
    fn valid_repeat_logged(bencher: Bencher, alg: Alg) {
        let (issuer, verifier) = pair(alg);
        let event_json = EVENT.replace("REPLACE_WITH_ACCESS_TOKEN", &access_token(&issuer, NOW));
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
            .with_current_span(false)
            .with_target(false)
            .with_writer(std::io::sink)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            bencher.bench_local(|| decide(black_box(&verifier), black_box(&event_json)));
        });
    }

    /// `valid_repeat` without the `Value` detour: what parsing the event into its type saves.
    #[divan::bench(args = ALGS)]
    fn valid_repeat_typed_event(bencher: Bencher, alg: Alg) {
        let (issuer, verifier) = pair(alg);
        let event_json = EVENT.replace("REPLACE_WITH_ACCESS_TOKEN", &access_token(&issuer, NOW));
        assert!(decide_typed(&verifier, &event_json).contains("\"isAuthorized\":true"));
        bencher.bench_local(|| decide_typed(black_box(&verifier), black_box(&event_json)));
    }

    fn run(bencher: Bencher, alg: Alg, token: impl FnOnce(&TokenIssuer) -> String, authorized: bool) {
        let (issuer, verifier) = pair(alg);
        let event_json = EVENT.replace("REPLACE_WITH_ACCESS_TOKEN", &token(&issuer));
        let first = decide(&verifier, &event_json);
        assert_eq!(first.contains("\"isAuthorized\":true"), authorized, "{first}");
        bencher.bench_local(|| decide(black_box(&verifier), black_box(&event_json)));
    }

    /// A token seen for the first time: the full check, signature included. Each iteration gets
    /// a token of its own (signed outside the timed part).
    #[divan::bench(args = ALGS)]
    fn valid_first_use(bencher: Bencher, alg: Alg) {
        let (issuer, verifier) = pair(alg);
        bencher
            .with_inputs(|| EVENT.replace("REPLACE_WITH_ACCESS_TOKEN", &access_token(&issuer, NOW)))
            .bench_local_refs(|event_json| {
                let response = decide(black_box(&verifier), event_json);
                debug_assert!(response.contains("\"isAuthorized\":true"));
                response
            });
    }

    /// The same token again (the common case: one token serves every call for 15 minutes): its
    /// signature and claims were checked once, its times are checked every time.
    #[divan::bench(args = ALGS)]
    fn valid_repeat(bencher: Bencher, alg: Alg) {
        run(bencher, alg, |issuer| access_token(issuer, NOW), true);
    }

    /// The last signature character changed: the full signature check runs and fails.
    #[divan::bench(args = ALGS)]
    fn bad_signature(bencher: Bencher, alg: Alg) {
        let tamper = |issuer: &TokenIssuer| {
            let mut token = access_token(issuer, NOW);
            let last = token.pop().unwrap();
            token.push(if last == 'A' { 'Q' } else { 'A' });
            token
        };
        run(bencher, alg, tamper, false);
    }

    /// A correctly signed token that expired an hour ago.
    #[divan::bench(args = ALGS)]
    fn expired(bencher: Bencher, alg: Alg) {
        run(bencher, alg, |issuer| access_token(issuer, UnixTime::from_secs(NOW.secs() - 3600)), false);
    }

    /// Not a JWT at all: refused before any cryptography.
    #[divan::bench(args = ALGS)]
    fn garbage(bencher: Bencher, alg: Alg) {
        run(bencher, alg, |_| "not-a-jwt".to_owned(), false);
    }

    /// A deployer's table of 200 routes (`ROUTE_PERMISSIONS`), as JSON.
    fn route_table_200() -> String {
        let routes: serde_json::Map<String, serde_json::Value> = (0..200)
            .map(|n| {
                let (method, path) = match n % 4 {
                    0 => ("GET", format!("/resource{}", n / 4)),
                    1 => ("POST", format!("/resource{}", n / 4)),
                    2 => ("GET", format!("/resource{}/{{id}}", n / 4)),
                    _ => ("DELETE", format!("/resource{}/{{id}}/items/{{proxy+}}", n / 4)),
                };
                (format!("{method} {path}"), format!("resource{}:{}", n / 4, method.to_lowercase()).into())
            })
            .collect();
        serde_json::Value::Object(routes).to_string()
    }

    /// What a 200-route table adds to the authorizer's init: parsing and checking it.
    #[divan::bench]
    fn route_table_200_parse(bencher: Bencher) {
        let table = route_table_200();
        bencher.bench_local(|| {
            let env = shared::config::Env::from_pairs([("ROUTE_PERMISSIONS", table.as_str())]);
            shared::authorizer::ApiRoutes::from_env(black_box(&env)).unwrap()
        });
    }

    /// A decision on the deployer's route behind a catch-all (`$default`), matched by path in
    /// the 200-route table (its last resource), with the permission held: EdDSA, token repeated.
    #[divan::bench]
    fn route_table_200_decision(bencher: Bencher) {
        let (issuer, verifier) = pair(Alg::EdDSA);
        let env = shared::config::Env::from_pairs([("ROUTE_PERMISSIONS", route_table_200().as_str())]);
        let routes = shared::authorizer::ApiRoutes::from_env(&env).unwrap();
        let entitlements = shared::domain::Entitlements {
            roles: vec!["reader".into()],
            permissions: vec![shared::domain::Permission::parse("resource49:*").unwrap()],
        };
        let grant = issuer.next_refresh("bench-session".into(), NOW);
        let token = issuer.issue(&user(), &entitlements, &grant, NOW).unwrap().access_token;
        let event_json = EVENT
            .replace("REPLACE_WITH_ACCESS_TOKEN", &token)
            .replace("\"GET /auth/me\"", "\"$default\"")
            .replace("\"/auth/me\"", "\"/resource49/7\"");
        let authorizer = Authorizer::new(&verifier, None).guarding(&routes);
        let answer = |event_json: &str| {
            let event: Box<serde_json::value::RawValue> = serde_json::from_str(event_json).unwrap();
            serde_json::to_string(&authorizer.handle(event.get(), NOW).now_or_never().unwrap().unwrap()).unwrap()
        };
        assert!(answer(&event_json).contains("\"isAuthorized\":true"), "{}", answer(&event_json));
        bencher.bench_local(|| answer(black_box(&event_json)));
    }
}

mod tokens {
    use super::*;

    /// An access + refresh pair, signed (what register, login and refresh each do once).
    #[divan::bench(args = ALGS)]
    fn issue_pair(bencher: Bencher, alg: Alg) {
        let (issuer, _) = pair(alg);
        let user = user();
        bencher.bench_local(|| {
            let grant = issuer.next_refresh("session".into(), NOW);
            issuer.issue(black_box(&user), &Entitlements::default(), &grant, NOW).unwrap()
        });
    }

    /// Verification alone, of a token not seen before: signature and claims.
    #[divan::bench(args = ALGS)]
    fn verify_access_first_use(bencher: Bencher, alg: Alg) {
        let (issuer, verifier) = pair(alg);
        bencher
            .with_inputs(|| access_token(&issuer, NOW))
            .bench_local_refs(|token| verifier.verify_access(black_box(token), NOW).unwrap());
    }

    /// Verification alone, of a token already verified once (times checked again).
    #[divan::bench(args = ALGS)]
    fn verify_access_repeat(bencher: Bencher, alg: Alg) {
        let (issuer, verifier) = pair(alg);
        let token = access_token(&issuer, NOW);
        bencher.bench_local(|| verifier.verify_access(black_box(&token), NOW).unwrap());
    }

    /// A refresh token (never remembered: each is spent once).
    #[divan::bench(args = ALGS)]
    fn verify_refresh(bencher: Bencher, alg: Alg) {
        let (issuer, verifier) = pair(alg);
        let grant = issuer.next_refresh("session".into(), NOW);
        let token = issuer.issue(&user(), &Entitlements::default(), &grant, NOW).unwrap().refresh_token;
        bencher.bench_local(|| verifier.verify_refresh(black_box(&token), NOW).unwrap());
    }
}

#[path = "hot_paths/reference.rs"]
mod reference;

/// The cheapest Argon2id the hasher accepts: login minus this is login minus Argon2.
const CHEAPEST: PasswordParams = PasswordParams { memory_kib: 8, iterations: 1, parallelism: 1 };

fn owasp() -> PasswordParams {
    PasswordParams::default()
}

/// The argon2 crate's Argon2id with the OWASP parameters, for the bare-computation benches.
fn raw_owasp_argon2() -> argon2::Argon2<'static> {
    let params = owasp();
    argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::new(params.memory_kib, params.iterations, params.parallelism, None).unwrap(),
    )
}

mod login {
    use super::*;

    fn presented() -> Password {
        Password::parse_presented(PASSWORD.to_owned()).unwrap()
    }

    /// The login use case, successful, EdDSA-signed, on the embedded store. Each login starts a
    /// session, so the store grows by one session per iteration (as it does in production).
    fn login(bencher: Bencher, params: PasswordParams) {
        let rt = runtime();
        let (issuer, verifier) = pair(Alg::EdDSA);
        let hasher = PasswordHasher::new(params).unwrap();
        let mut account = user();
        account.password_hash = Some(rt.block_on(hasher.hash(presented())).unwrap());
        let accounts = accounts_on_memory(&rt, &account, hasher, (issuer, verifier));
        bencher.bench_local(|| {
            rt.block_on(service::login(
                &accounts,
                Some(Email::parse(EMAIL).unwrap()),
                presented(),
                &ClientInfo::default(),
                None,
                NOW,
            ))
            .unwrap()
        });
    }

    /// Argon2id verification alone, through the same hasher (blocking pool hop included).
    fn argon2(bencher: Bencher, params: PasswordParams) {
        let rt = runtime();
        let hasher = PasswordHasher::new(params).unwrap();
        let hash = rt.block_on(hasher.hash(presented())).unwrap();
        bencher.bench_local(|| rt.block_on(hasher.verify(presented(), Some(hash.clone()))).unwrap());
    }

    #[divan::bench]
    fn login_cheapest_argon2(bencher: Bencher) {
        login(bencher, CHEAPEST);
    }

    #[divan::bench]
    fn argon2_verify_cheapest(bencher: Bencher) {
        argon2(bencher, CHEAPEST);
    }

    #[divan::bench(sample_count = 20, sample_size = 1)]
    fn login_owasp_argon2(bencher: Bencher) {
        login(bencher, owasp());
    }

    #[divan::bench(sample_count = 20, sample_size = 1)]
    fn argon2_verify_owasp(bencher: Bencher) {
        argon2(bencher, owasp());
    }

    /// Argon2id verification with OWASP's equivalent alternative (12 MiB, 3 passes, 1 lane):
    /// the same cost to an attacker, 7 MiB less resident memory per hash.
    #[divan::bench(sample_count = 20, sample_size = 1)]
    fn argon2_verify_owasp_12mib_t3(bencher: Bencher) {
        argon2(bencher, PasswordParams { memory_kib: 12_288, iterations: 3, parallelism: 1 });
    }

    /// The bare Argon2id computation (OWASP parameters) into a memory buffer allocated once and
    /// reused, as `PasswordHasher` does (it keeps its working memory) ...
    #[divan::bench(sample_count = 20, sample_size = 1)]
    fn argon2_raw_owasp_reused_memory(bencher: Bencher) {
        let argon2 = raw_owasp_argon2();
        let mut memory = vec![argon2::Block::default(); owasp().memory_kib as usize];
        let mut out = [0u8; 32];
        bencher.bench_local(|| {
            argon2.hash_password_into_with_memory(PASSWORD.as_bytes(), b"sixteen byte salt", &mut out, &mut memory[..])
        });
    }

    /// ... and with the argon2 crate allocating, zeroing and freeing its 19 MiB per hash
    /// (`hash_password_into`), as `PasswordHasher` did before.
    #[divan::bench(sample_count = 20, sample_size = 1)]
    fn argon2_raw_owasp_fresh_memory(bencher: Bencher) {
        let argon2 = raw_owasp_argon2();
        let mut out = [0u8; 32];
        bencher.bench_local(|| argon2.hash_password_into(PASSWORD.as_bytes(), b"sixteen byte salt", &mut out));
    }
}

mod refresh {
    use super::*;

    /// The refresh use case on the embedded store: verify, read the user, rotate the session,
    /// sign a new pair. Each iteration spends the refresh token the previous one issued.
    #[divan::bench(args = ALGS)]
    fn rotation_chain(bencher: Bencher, alg: Alg) {
        let rt = runtime();
        let (issuer, verifier) = pair(alg);
        let hasher = PasswordHasher::new(CHEAPEST).unwrap();
        let password = || Password::parse_presented(PASSWORD.to_owned()).unwrap();
        let mut account = user();
        account.password_hash = Some(rt.block_on(hasher.hash(password())).unwrap());
        let accounts = accounts_on_memory(&rt, &account, hasher, (issuer, verifier));
        let first = rt
            .block_on(service::login(
                &accounts,
                Some(Email::parse(EMAIL).unwrap()),
                password(),
                &ClientInfo::default(),
                None,
                NOW,
            ))
            .unwrap();
        let mut token = first.refresh_token;
        bencher.bench_local(|| {
            let next = rt
                .block_on(service::refresh(&accounts, &token, Rebinding::UNCHANGED, &ClientInfo::default(), NOW))
                .unwrap();
            token = next.refresh_token;
        });
    }
}
