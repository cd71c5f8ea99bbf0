//! Test support: stores (embedded, and DynamoDB on fresh tables), a fully wired gateway, and
//! request helpers. DynamoDB tests need `AWS_ENDPOINT_URL_DYNAMODB` pointing at a local
//! DynamoDB-compatible server: `scripts/test.sh` starts one.

pub mod authenticator;
pub mod proxy;
pub mod pwned;
pub mod upstream;

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method};
use serde_json::{Value, json};
use shared::domain::{Email, LoginThrottle, PasswordHasher, PasswordParams, Role, SessionPolicy, User};
use shared::domain::{IntrospectionClients, Principal};
use shared::email::{Mail, Outbox, OutboxMessage};
use shared::events::{Events, MemoryEvents};
use shared::federation::Federation;
use shared::gateway::Gateway;
use shared::http::ApiRequest;
use shared::http::discovery::Discovery;
use shared::service::{Accounts, MfaConfig, Recovery, RoleCache};
use shared::store::{DynamoStore, MemoryStore, Store, TableNames, schema};
use shared::time::UnixTime;
use shared::tokens::{TokenIssuer, TokenSettings, TokenVerifier, ephemeral_ed25519};
use shared::transport::TokenTransport;

pub const ISSUER: &str = "https://auth.test";
pub const AUDIENCE: &str = "https://api.test";
/// The password every test account has, unless a test says otherwise.
pub const PASSWORD: &str = "correct horse battery staple";

pub fn memory_store() -> Arc<dyn Store> {
    Arc::new(MemoryStore::new())
}

/// A DynamoDB store on two tables of its own, so tests never see each other's data.
pub async fn dynamo_store() -> Arc<DynamoStore> {
    dynamo_store_via(None).await
}

/// The local DynamoDB server's endpoint, as `scripts/test.sh` exports it.
pub fn dynamodb_endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL_DYNAMODB").expect(
        "DynamoDB tests need a local DynamoDB: run scripts/test.sh (it starts DynamoDB Local and sets AWS_ENDPOINT_URL_DYNAMODB)",
    )
}

/// Like [`dynamo_store`], but the store's client talks to `endpoint` (a fault proxy) while the
/// tables are created directly.
pub async fn dynamo_store_via(endpoint: Option<String>) -> Arc<DynamoStore> {
    dynamodb_endpoint();
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..12];
    let tables = TableNames { users: format!("users-{suffix}"), revocations: format!("revocations-{suffix}") };
    let client = shared::config::dynamodb_client().await;
    schema::create_tables(&client, &tables).await.expect("creating test tables");
    let client = match endpoint {
        Some(endpoint) => {
            aws_sdk_dynamodb::Client::from_conf(client.config().to_builder().endpoint_url(endpoint).build())
        }
        None => client,
    };
    Arc::new(DynamoStore::new(client, tables))
}

pub fn token_settings() -> TokenSettings {
    TokenSettings { refresh_ttl_secs: 3600, ..TokenSettings::with_defaults(ISSUER, AUDIENCE) }
}

/// Cheap Argon2id so suites stay fast; the production parameters are tested in the crate.
pub fn test_hasher() -> PasswordHasher {
    PasswordHasher::new(PasswordParams { memory_kib: 256, iterations: 1, parallelism: 1 }).unwrap()
}

pub struct Keys {
    pub issuer: TokenIssuer,
    pub verifier: TokenVerifier,
}

pub fn keys() -> Keys {
    keys_with(token_settings())
}

/// A fresh Ed25519 key pair wired into an issuer and a verifier with these settings.
pub fn keys_with(settings: TokenSettings) -> Keys {
    let (signing, verifying) = ephemeral_ed25519("test-key").unwrap();
    Keys { issuer: TokenIssuer::new(settings.clone(), signing), verifier: TokenVerifier::new(settings, verifying) }
}

/// Every function wired in one process, the way the local API runs them.
pub fn spawn_app(store: Arc<dyn Store>) -> TestApp {
    spawn_app_with(store, false)
}

/// [`spawn_app`] with the authorizer's strict revocation check on or off.
pub fn spawn_app_with(store: Arc<dyn Store>, strict_revocation: bool) -> TestApp {
    let outbox = Outbox::default();
    let events = MemoryEvents::default();
    let base = accounts(store);
    let recovery =
        Recovery { mail: test_mail(outbox.clone()), events: Events::to(Arc::new(events.clone())), ..base.recovery };
    let accounts = Accounts { recovery, ..base };
    let mfa = MfaConfig::with_generated_key("jwt-auth-test").unwrap();
    let discovery = Some(Discovery::new(ISSUER, PUBLIC_BASE_URL, accounts.verifier.keys()));
    let introspection_clients = IntrospectionClients::parse(&format!(
        "{INTROSPECTION_CLIENT}:{}",
        shared::domain::sha256_hex(INTROSPECTION_SECRET)
    ))
    .unwrap();
    let gateway = Gateway {
        accounts,
        mfa,
        discovery,
        introspection_clients,
        strict_revocation,
        transport: TokenTransport::default(),
        federation: Federation::new(Vec::new(), Default::default(), Default::default(), PUBLIC_BASE_URL)
            .expect("an HTTP client without providers"),
    };
    TestApp { gateway: Arc::new(gateway), outbox, events }
}

/// Where the test apps' routes are served, as the discovery document says.
pub const PUBLIC_BASE_URL: &str = "https://api.test";
/// The one resource server the test apps let introspect.
pub const INTROSPECTION_CLIENT: &str = "orders-service";
pub const INTROSPECTION_SECRET: &str = "a random secret of at least thirty-two bytes";

/// Where the test apps' links point.
pub const APP_URL: &str = "https://app.test";

/// Mail into `outbox`, answering mail requests after a short floor so suites stay fast.
pub fn test_mail(outbox: Outbox) -> Mail {
    Mail { response_floor: std::time::Duration::from_millis(100), ..Mail::to_outbox(APP_URL, outbox) }
}

/// The production throttle, except that every test registers its accounts from one address:
/// the registrations-per-IP budget is its own test's (`abuse.rs`).
pub fn test_throttle() -> LoginThrottle {
    let defaults = LoginThrottle::default();
    LoginThrottle {
        registrations_per_ip: shared::domain::Budget { free: 100_000, ..defaults.registrations_per_ip },
        ..defaults
    }
}

/// Where the tests' passkeys live: the app's origin, and the RP ID its host is.
pub const RP_ID: &str = "app.test";

pub fn test_relying_party() -> shared::passkeys::RelyingParty {
    let origin = shared::passkeys::Url::parse(APP_URL).expect("the app's URL parses");
    shared::passkeys::RelyingParty::new(RP_ID, "jwt-auth tests", &[origin]).expect("the app's origin can use its host")
}

/// The signing functions' bundle on `store`, with a fresh key pair and cheap Argon2id.
pub fn accounts(store: Arc<dyn Store>) -> Accounts {
    let Keys { issuer, verifier } = keys();
    let recovery = Recovery {
        store,
        hasher: test_hasher(),
        throttle: test_throttle(),
        verifier,
        mail: test_mail(Outbox::default()),
        events: Events::disabled(),
        passkeys: Arc::new(test_relying_party()),
        legacy: shared::legacy::Legacy::default(),
        password_policy: shared::password_policy::PasswordPolicy::lengths_only(),
    };
    Accounts { recovery, sessions: SessionPolicy::default(), issuer, roles: RoleCache::default() }
}

#[derive(Clone)]
pub struct TestApp {
    pub gateway: Arc<Gateway>,
    /// What the app mailed, oldest first.
    pub outbox: Outbox,
    /// The lifecycle events it emitted, oldest first.
    pub events: MemoryEvents,
}

impl TestApp {
    /// The same app with another session policy (the refresh grace period).
    pub fn with_sessions(self, sessions: SessionPolicy) -> TestApp {
        let gateway = Arc::into_inner(self.gateway).expect("a fresh app, not yet shared");
        let accounts = Accounts { sessions, ..gateway.accounts };
        TestApp { gateway: Arc::new(Gateway { accounts, ..gateway }), outbox: self.outbox, events: self.events }
    }

    /// The same app keeping the role catalog it read for `secs` (`ROLE_CACHE_SECS`).
    pub fn with_role_cache(self, secs: u64) -> TestApp {
        let gateway = Arc::into_inner(self.gateway).expect("a fresh app, not yet shared");
        let accounts = Accounts { roles: RoleCache::new(secs), ..gateway.accounts };
        TestApp { gateway: Arc::new(Gateway { accounts, ..gateway }), outbox: self.outbox, events: self.events }
    }

    /// The same app with another login throttle.
    pub fn with_throttle(self, throttle: LoginThrottle) -> TestApp {
        let gateway = Arc::into_inner(self.gateway).expect("a fresh app, not yet shared");
        let recovery = Recovery { throttle, ..gateway.accounts.recovery };
        let accounts = Accounts { recovery, ..gateway.accounts };
        TestApp { gateway: Arc::new(Gateway { accounts, ..gateway }), outbox: self.outbox, events: self.events }
    }

    /// The same app with another password hasher (its cost).
    pub fn with_hasher(self, hasher: PasswordHasher) -> TestApp {
        let gateway = Arc::into_inner(self.gateway).expect("a fresh app, not yet shared");
        let recovery = Recovery { hasher, ..gateway.accounts.recovery };
        let accounts = Accounts { recovery, ..gateway.accounts };
        TestApp { gateway: Arc::new(Gateway { accounts, ..gateway }), outbox: self.outbox, events: self.events }
    }

    /// The same app migrating users from `legacy` at their first login or reset.
    pub fn with_legacy(self, legacy: shared::legacy::Legacy) -> TestApp {
        let gateway = Arc::into_inner(self.gateway).expect("a fresh app, not yet shared");
        let recovery = Recovery { legacy, ..gateway.accounts.recovery };
        let accounts = Accounts { recovery, ..gateway.accounts };
        TestApp { gateway: Arc::new(Gateway { accounts, ..gateway }), outbox: self.outbox, events: self.events }
    }

    /// The same app with another password policy (breach check, strength).
    pub fn with_password_policy(self, password_policy: shared::password_policy::PasswordPolicy) -> TestApp {
        let gateway = Arc::into_inner(self.gateway).expect("a fresh app, not yet shared");
        let recovery = Recovery { password_policy, ..gateway.accounts.recovery };
        let accounts = Accounts { recovery, ..gateway.accounts };
        TestApp { gateway: Arc::new(Gateway { accounts, ..gateway }), outbox: self.outbox, events: self.events }
    }

    /// The same app with upstream identity providers (`OAUTH_PROVIDERS` and the rest).
    pub fn with_federation(self, federation: Federation) -> TestApp {
        let gateway = Arc::into_inner(self.gateway).expect("a fresh app, not yet shared");
        TestApp { gateway: Arc::new(Gateway { federation, ..gateway }), outbox: self.outbox, events: self.events }
    }

    /// The same app delivering tokens in cookies, the body, or both (`TOKEN_TRANSPORT`).
    pub fn with_transport(self, transport: TokenTransport) -> TestApp {
        let gateway = Arc::into_inner(self.gateway).expect("a fresh app, not yet shared");
        TestApp { gateway: Arc::new(Gateway { transport, ..gateway }), outbox: self.outbox, events: self.events }
    }

    /// The same app with its mail settings changed (verification mode, token lifetimes).
    pub fn with_mail(self, change: impl FnOnce(Mail) -> Mail) -> TestApp {
        let gateway = Arc::into_inner(self.gateway).expect("a fresh app, not yet shared");
        let recovery = Recovery { mail: change(gateway.accounts.recovery.mail), ..gateway.accounts.recovery };
        let accounts = Accounts { recovery, ..gateway.accounts };
        TestApp { gateway: Arc::new(Gateway { accounts, ..gateway }), outbox: self.outbox, events: self.events }
    }

    /// The messages mailed to `to` so far, oldest first.
    pub fn mail_to(&self, to: &str) -> Vec<OutboxMessage> {
        self.outbox.messages().into_iter().filter(|message| message.to == to).collect()
    }

    /// The token of the newest link to `{APP_URL}{path}` mailed to `to`, read from the text body
    /// the way the contract's outside checks read it.
    pub fn mailed_token(&self, to: &str, path: &str) -> String {
        let prefix = format!("{APP_URL}{path}#token=");
        self.mail_to(to)
            .iter()
            .rev()
            .find_map(|message| {
                let start = message.text.find(&prefix)? + prefix.len();
                let token: String = message.text[start..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                    .collect();
                Some(token)
            })
            .unwrap_or_else(|| panic!("no {path} link mailed to {to}"))
    }
}

#[derive(Debug)]
pub struct TestResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl TestResponse {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or_default()
    }

    /// The value a `Set-Cookie` of this response gives cookie `name`.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers.get_all("set-cookie").iter().find_map(|header| {
            let (pair, _) = header.to_str().ok()?.split_once(';')?;
            let (found, value) = pair.split_once('=')?;
            (found == name).then(|| value.to_owned())
        })
    }

    pub fn text(&self, field: &str) -> String {
        self.body[field].as_str().unwrap_or_else(|| panic!("no {field} in {}", self.body)).to_owned()
    }
}

pub fn request(method: Method, path: &str, body: Option<Value>, bearer: Option<&str>) -> ApiRequest {
    let mut headers = HeaderMap::new();
    if body.is_some() {
        headers.insert("content-type", HeaderValue::from_static("application/json"));
    }
    if let Some(token) = bearer {
        headers.insert("authorization", HeaderValue::from_str(&format!("Bearer {token}")).unwrap());
    }
    ApiRequest {
        method,
        path: path.split('?').next().unwrap_or_default().into(),
        query: path.split_once('?').map(|(_, query)| query.to_owned()).unwrap_or_default(),
        headers,
        body: body.map(|body| Bytes::from(body.to_string())).unwrap_or_default(),
        principal: None,
        source_ip: Some(std::net::Ipv4Addr::new(192, 0, 2, 1).into()),
    }
}

impl TestApp {
    pub async fn send(&self, request: ApiRequest) -> TestResponse {
        let response = self.gateway.handle(request).await;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body =
            if response.body().is_empty() { Value::Null } else { serde_json::from_str(response.body()).unwrap() };
        TestResponse { status, headers, body }
    }

    pub async fn post(&self, path: &str, body: Value) -> TestResponse {
        self.send(request(Method::POST, path, Some(body), None)).await
    }

    pub async fn get(&self, path: &str, bearer: Option<&str>) -> TestResponse {
        self.send(request(Method::GET, path, None, bearer)).await
    }

    pub async fn register(&self, email: &str, password: &str) -> TestResponse {
        self.post("/auth/register", json!({ "email": email, "password": password })).await
    }

    pub async fn login(&self, email: &str, password: &str) -> TestResponse {
        self.post("/auth/login", json!({ "email": email, "password": password })).await
    }

    /// A login from client address `ip`, presenting the device cookie `device` if given.
    pub async fn login_from(&self, email: &str, password: &str, ip: &str, device: Option<&str>) -> TestResponse {
        let mut login =
            request(Method::POST, "/auth/login", Some(json!({ "email": email, "password": password })), None);
        login.source_ip = Some(ip.parse().expect("an IP address"));
        if let Some(device) = device {
            let cookie = format!("{}={device}", shared::transport::DEVICE_COOKIE);
            login.headers.insert("cookie", HeaderValue::from_str(&cookie).unwrap());
        }
        self.send(login).await
    }

    pub async fn refresh(&self, refresh_token: &str) -> TestResponse {
        self.post("/auth/refresh", json!({ "refresh_token": refresh_token })).await
    }

    /// Registers a user, makes them admin in the store (as `authctl create-admin` does), and
    /// logs in as them.
    pub async fn sign_in_admin(&self) -> TestResponse {
        let email = unique_email();
        let registered = self.register(&email, PASSWORD).await;
        let user_id = registered.body["user"]["id"].as_str().unwrap();
        let promote = shared::store::UserChanges { role: Some(Role::Admin), disabled: None, claims: None, roles: None };
        self.gateway.accounts.store.update_user(user_id, &promote, None).await.unwrap();
        let logged_in = self.login(&email, PASSWORD).await;
        assert_eq!(logged_in.body["user"]["role"], "admin");
        logged_in
    }

    pub async fn logout(&self, refresh_token: &str, scope: &str, access_token: Option<&str>) -> TestResponse {
        let body = json!({ "refresh_token": refresh_token, "scope": scope });
        self.send(request(Method::POST, "/auth/logout", Some(body), access_token)).await
    }
}

/// The account the `samples/` invocations and the authorizer tests name: a fixed id and address.
pub fn fixed_user(role: Role) -> User {
    let email = Email::parse("alice@example.com").unwrap();
    User {
        id: "0190a5b2-0000-7000-8000-000000000001".into(),
        created_at: 0,
        ..User::new(email, String::new(), role, UnixTime::now())
    }
}

pub fn unique_email() -> String {
    format!("user-{}@example.com", uuid::Uuid::new_v4().simple())
}

/// Runs each `async fn case(app: TestApp)` twice: on the embedded store and on DynamoDB.
#[macro_export]
macro_rules! on_both_stores {
    ($($case:ident),* $(,)?) => {
        mod embedded {
            $(#[tokio::test]
            async fn $case() {
                super::$case($crate::spawn_app($crate::memory_store())).await;
            })*
        }
        mod dynamodb {
            $(#[tokio::test]
            async fn $case() {
                let store: std::sync::Arc<dyn shared::store::Store> = $crate::dynamo_store().await;
                super::$case($crate::spawn_app(store)).await;
            })*
        }
    };
}

/// Runs each `async fn case(store: Arc<dyn Store>)` twice: on the embedded store and on DynamoDB,
/// the store contract both adapters keep.
#[macro_export]
macro_rules! on_both_store_adapters {
    ($($case:ident),* $(,)?) => {
        mod embedded {
            $(#[tokio::test]
            async fn $case() {
                super::$case($crate::memory_store()).await;
            })*
        }
        mod dynamodb {
            $(#[tokio::test]
            async fn $case() {
                super::$case($crate::dynamo_store().await).await;
            })*
        }
    };
}

/// The principal the authorizer would hand a handler for `access_token`.
pub fn principal_of(app: &TestApp, access_token: &str) -> Principal {
    let claims = app.gateway.accounts.verifier.verify_access(access_token, UnixTime::now()).unwrap();
    Principal {
        user_id: claims.sub,
        email: claims.email,
        role: claims.role,
        token_id: claims.jti,
        session_id: claims.sid,
        csrf: None,
        amr: claims.amr,
        roles: claims.roles,
        permissions: claims.permissions,
        claims: Default::default(),
    }
}
