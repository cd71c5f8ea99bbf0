//! What the authctl tests share: the built binary run as a process, fresh tables on DynamoDB
//! Local, and the login use case on them. (Each test file uses part of it.)
#![allow(dead_code, unused_imports)]

pub use std::io::Write as _;
pub use std::process::{Command, Output, Stdio};
pub use std::sync::Arc;

pub use serde_json::Value;
pub use shared::config::{Env, SIGNING_KEY_SECRET};
pub use shared::domain::{
    Email, Entitlements, LoginThrottle, Password, PasswordHasher, PasswordParams, Role, SessionPolicy, User,
};
pub use shared::error::ApiError;
pub use shared::service::{self, Accounts, ClientInfo, Recovery, RoleCache};
pub use shared::store::{AccountStore, DynamoStore, TableNames};
pub use shared::time::UnixTime;
pub use shared::tokens::{Rebinding, SigningKey, TokenIssuer, TokenSettings, TokenVerifier, VerifyingKeys};

pub const ISSUER: &str = "https://auth.authctl.test";
pub const AUDIENCE: &str = "https://api.authctl.test";

/// Runs the built `authctl` with `args`, `stdin` piped in (or none: an empty, closed stdin),
/// the process's AWS configuration, and `env` on top.
pub fn authctl(args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_authctl"))
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting authctl");
    let mut pipe = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        pipe.write_all(text.as_bytes()).unwrap();
    }
    drop(pipe);
    child.wait_with_output().unwrap()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

pub fn succeeded(output: Output) -> String {
    assert!(output.status.success(), "authctl failed: {}{}", stdout(&output), stderr(&output));
    stdout(&output)
}

/// The value of a `NAME=value` line.
pub fn line<'a>(text: &'a str, name: &str) -> &'a str {
    let prefix = format!("{name}=");
    text.lines().find_map(|line| line.strip_prefix(&prefix)).unwrap_or_else(|| panic!("no {name}= line in {text}"))
}

/// The PEM block: from the line that begins it (the secret line holds one too, JSON-escaped).
pub fn pem(text: &str) -> String {
    let start = text.find("\n-----BEGIN").expect("a PEM block") + 1;
    text[start..].to_owned()
}

pub fn kids(jwks: &str) -> Vec<String> {
    let set: Value = serde_json::from_str(jwks).unwrap();
    set["keys"].as_array().unwrap().iter().map(|key| key["kid"].as_str().unwrap().to_owned()).collect()
}

pub fn settings() -> TokenSettings {
    TokenSettings {
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        access_ttl_secs: 900,
        refresh_ttl_secs: 3600,
        session_max_age_secs: 2_592_000,
        leeway_secs: 5,
    }
}

/// An access token for a made-up user, signed with `issuer`, and who it is for.
pub fn signed(issuer: &TokenIssuer) -> (String, String) {
    let now = UnixTime::now();
    let user = User::new(Email::parse("alice@example.com").unwrap(), String::new(), Role::User, now);
    let grant = issuer.next_refresh("session".into(), now);
    (issuer.issue(&user, &Entitlements::default(), &grant, now).unwrap().access_token, user.id)
}

pub fn dynamodb_endpoint() {
    std::env::var("AWS_ENDPOINT_URL_DYNAMODB").expect(
        "authctl tests need a local DynamoDB: run scripts/test.sh (it starts DynamoDB Local and sets AWS_ENDPOINT_URL_DYNAMODB)",
    );
}

/// Two fresh table names (created by the test, through authctl).
pub fn fresh_tables() -> TableNames {
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..12];
    TableNames { users: format!("authctl-users-{suffix}"), revocations: format!("authctl-revocations-{suffix}") }
}

/// Tables made by `authctl create-tables`, and the environment create-admin needs for them
/// (cheap Argon2id: the stored hash carries its parameters, so logins verify it all the same).
pub struct Deployment {
    pub tables: TableNames,
    pub store: Arc<DynamoStore>,
}

impl Deployment {
    pub async fn new() -> Self {
        dynamodb_endpoint();
        let tables = fresh_tables();
        succeeded(authctl(
            &["create-tables", "--users-table", &tables.users, "--revocations-table", &tables.revocations],
            None,
            &[],
        ));
        let store = Arc::new(DynamoStore::new(shared::config::dynamodb_client().await, tables.clone()));
        Self { tables, store }
    }

    pub fn create_admin(&self, email: &str, stdin: Option<&str>) -> Output {
        authctl(
            &["create-admin", "--email", email],
            stdin,
            &[
                ("USERS_TABLE", &self.tables.users),
                ("REVOCATIONS_TABLE", &self.tables.revocations),
                ("ARGON2_MEMORY_KIB", "256"),
                ("ARGON2_ITERATIONS", "1"),
            ],
        )
    }

    /// The login use case on these tables, as the login function runs it.
    pub fn accounts(&self) -> Accounts {
        let (signing, verifying) = shared::tokens::ephemeral_ed25519("authctl-test").unwrap();
        let recovery = Recovery {
            store: self.store.clone(),
            hasher: PasswordHasher::new(PasswordParams { memory_kib: 256, iterations: 1, parallelism: 1 }).unwrap(),
            throttle: LoginThrottle::default(),
            verifier: TokenVerifier::new(settings(), verifying),
            mail: shared::email::Mail::to_outbox("https://app.test", shared::email::Outbox::default()),
            events: shared::events::Events::disabled(),
            passkeys: std::sync::Arc::new(shared::passkeys::RelyingParty::off()),
            legacy: shared::legacy::Legacy::default(),
            password_policy: shared::password_policy::PasswordPolicy::lengths_only(),
        };
        Accounts {
            recovery,
            sessions: SessionPolicy::default(),
            issuer: TokenIssuer::new(settings(), signing),
            roles: RoleCache::default(),
        }
    }
}

pub async fn login(accounts: &Accounts, email: &str, password: &str) -> Result<service::SignedIn, ApiError> {
    let password = Password::parse_presented(password.into()).unwrap();
    let client = ClientInfo { ip: Some("192.0.2.7".parse().unwrap()), device_token: None, user_agent: None };
    service::login(accounts, Some(Email::parse(email).unwrap()), password, &client, None, UnixTime::now()).await
}

pub fn unique_email(name: &str) -> String {
    format!("{name}-{}@example.com", &uuid::Uuid::new_v4().simple().to_string()[..12])
}
