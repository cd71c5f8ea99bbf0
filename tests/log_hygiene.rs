//! Log hygiene: a whole flow on the embedded store — register, failed and successful logins,
//! refresh, reuse of a spent token, logout, the authorizer, and malformed requests that carry
//! secrets in odd places — with every log event at TRACE level captured (as text and as the
//! JSON the functions emit), then checked for every password and token the flow used.
//!
//! The subscriber is this test binary's global default, so events from Tokio's blocking pool
//! (where passwords are hashed) are captured too; a canary logged from that pool proves it.

use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard};

use e2e::proxy::{FaultProxy, Link};
use e2e::{TestApp, dynamo_store, dynamo_store_via, dynamodb_endpoint, memory_store, request, spawn_app, unique_email};
use http::{HeaderValue, Method};
use serde_json::{Value, json};
use shared::domain::Role;
use shared::store::{Store, UserChanges};
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::layer::SubscriberExt as _;

/// Every byte any layer writes, from any thread.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn lock(&self) -> MutexGuard<'_, Vec<u8>> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.lock()).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.lock().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Plain text (fields in `Debug` form) and JSON (as `shared::telemetry` writes in Lambda), both
/// unfiltered: every level, every target, span fields and span open/close events.
fn capture_all_logs() -> Captured {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(captured.clone())
                .with_ansi(false)
                .with_span_events(FmtSpan::FULL)
                .with_filter(LevelFilter::TRACE),
        )
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_writer(captured.clone())
                .with_current_span(true)
                .with_span_list(true)
                .with_span_events(FmtSpan::FULL)
                .with_filter(LevelFilter::TRACE),
        );
    tracing::subscriber::set_global_default(subscriber).expect("no other subscriber in this test binary");
    captured
}

/// Every password and token the flow handled.
#[derive(Default)]
struct Secrets(Vec<(String, &'static str)>);

impl Secrets {
    fn add(&mut self, secret: impl Into<String>, what: &'static str) {
        let secret = secret.into();
        assert!(secret.len() >= 6, "a secret this short could match by chance: {what}");
        self.0.push((secret, what));
    }

    /// Both tokens of a token response, and the signature part of each on its own.
    fn add_tokens(&mut self, response: &Value) {
        for field in ["access_token", "refresh_token"] {
            let token = response[field].as_str().unwrap_or_else(|| panic!("no {field} in {response}"));
            self.add(token, "token");
            let signature = token.rsplit('.').next().unwrap_or_default();
            self.add(signature, "token signature");
        }
    }

    fn extend(&mut self, other: Secrets) {
        self.0.extend(other.0);
    }

    /// The forms a secret takes in a log line: as is, escaped by `Debug` as a string (text
    /// layer) or as bytes (a logged request body), and escaped as a JSON string (JSON layer).
    /// One pass over the log for all of them (it holds the SDK's TRACE output: megabytes).
    fn leaks(&self, log: &str) -> Vec<String> {
        let mut forms = Vec::new();
        for (index, (secret, _)) in self.0.iter().enumerate() {
            let debug = format!("{secret:?}");
            let bytes_debug = format!("{:?}", bytes::Bytes::from(secret.clone()));
            let json = Value::String(secret.clone()).to_string();
            for form in [
                secret.clone(),
                debug[1..debug.len() - 1].to_owned(),
                bytes_debug[2..bytes_debug.len() - 1].to_owned(),
                json[1..json.len() - 1].to_owned(),
            ] {
                forms.push((index, form));
            }
        }
        let matcher = aho_corasick::AhoCorasick::new(forms.iter().map(|(_, form)| form)).expect("patterns build");
        let mut found: Vec<usize> =
            matcher.find_overlapping_iter(log).map(|hit| forms[hit.pattern().as_usize()].0).collect();
        found.sort_unstable();
        found.dedup();
        found.into_iter().map(|index| format!("{} {:?}", self.0[index].1, self.0[index].0)).collect()
    }
}

async fn send_raw(app: &TestApp, path: &str, content_type: Option<&str>, body: Vec<u8>) -> u16 {
    let mut request = request(Method::POST, path, None, None);
    if let Some(content_type) = content_type {
        request.headers.insert("content-type", HeaderValue::from_str(content_type).unwrap());
    }
    request.body = body.into();
    app.send(request).await.status
}

/// The flow; returns every secret it used.
async fn full_flow(app: &TestApp) -> Secrets {
    let mut secrets = Secrets::default();
    let email = unique_email();
    let password = "Tr0ub4dor&3 \"quoted\" \\ ünïcode secret";
    let wrong_password = "not-the-password-9f3b7c";
    let too_short = "shrt7Q!";
    secrets.add(password, "password");
    secrets.add(wrong_password, "wrong password");

    let registered = app.register(&email, password).await;
    assert_eq!(registered.status, 201, "{:?}", registered.body);
    secrets.add_tokens(&registered.body);

    // A second registration with another password: refused, and that password is a secret too.
    let second_password = "second-attempt-password-41d2";
    secrets.add(second_password, "password");
    assert_eq!(app.register(&email, second_password).await.status, 409);

    let wrong = app.login(&email, wrong_password).await;
    assert_eq!((wrong.status, wrong.code()), (401, "invalid_credentials"));
    let unknown = app.login(&unique_email(), wrong_password).await;
    assert_eq!(unknown.status, 401);

    let logged_in = app.login(&email, password).await;
    assert_eq!(logged_in.status, 200, "{:?}", logged_in.body);
    secrets.add_tokens(&logged_in.body);
    let access = logged_in.text("access_token");
    let refresh = logged_in.text("refresh_token");

    assert_eq!(app.get("/auth/me", Some(&access)).await.status, 200);
    // The refresh token where an access token belongs: refused by the authorizer.
    assert_eq!(app.get("/auth/me", Some(&refresh)).await.status, 403);

    let refreshed = app.refresh(&refresh).await;
    assert_eq!(refreshed.status, 200, "{:?}", refreshed.body);
    secrets.add_tokens(&refreshed.body);
    let refreshed = app.refresh(&refreshed.text("refresh_token")).await;
    assert_eq!(refreshed.status, 200, "{:?}", refreshed.body);
    secrets.add_tokens(&refreshed.body);
    // A token two rotations old: reuse, and the session is revoked.
    let reused = app.refresh(&refresh).await;
    assert_eq!((reused.status, reused.code()), (401, "token_reused"));
    let after_reuse = app.refresh(&refreshed.text("refresh_token")).await;
    assert_eq!((after_reuse.status, after_reuse.code()), (401, "token_revoked"));

    // Password change: a wrong current password, then a real change (new tokens, new secret).
    let new_password = "changed-Pa55word-after-login";
    secrets.add(new_password, "new password");
    let change = |current: &str, new: &str| {
        request(
            Method::POST,
            "/auth/password",
            Some(json!({ "current_password": current, "new_password": new })),
            Some(registered.body["access_token"].as_str().unwrap_or_default()),
        )
    };
    assert_eq!(app.send(change(wrong_password, new_password)).await.status, 401);
    let changed = app.send(change(password, new_password)).await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    secrets.add_tokens(&changed.body);
    let password = new_password;

    // Logout of the registration's session (renewed by the change), with its access token; then
    // a global logout.
    let out = app.logout(&changed.text("refresh_token"), "local", Some(&changed.text("access_token"))).await;
    assert_eq!(out.status, 204);
    let again = app.login(&email, password).await;
    assert_eq!(again.status, 200);
    secrets.add_tokens(&again.body);
    assert_eq!(app.logout(&again.text("refresh_token"), "global", Some(&again.text("access_token"))).await.status, 204);
    // Logout with a token that is not a refresh token, and with a tampered one.
    assert_eq!(app.logout(&access, "local", None).await.status, 401);
    let tampered = format!("{}x", again.text("refresh_token"));
    secrets.add(tampered.clone(), "tampered token");
    assert_eq!(app.refresh(&tampered).await.status, 401);
    assert_eq!(app.get("/auth/me", Some(&tampered)).await.status, 403);

    // Malformed requests that carry a secret: they must fail without logging it.
    assert_eq!(app.register(&unique_email(), too_short).await.status, 400);
    secrets.add(too_short, "rejected password");
    let long_password = format!("long-{}", "p".repeat(2000));
    secrets.add(long_password.clone(), "over-long password");
    assert_eq!(app.login(&email, &long_password).await.status, 400);
    let bad_json = format!("{{\"email\": \"{email}\", \"password\": \"{password}");
    assert_eq!(send_raw(app, "/auth/login", Some("application/json"), bad_json.clone().into_bytes()).await, 400);
    let as_text = json!({ "email": email, "password": password }).to_string();
    assert_eq!(send_raw(app, "/auth/login", Some("text/plain"), as_text.into_bytes()).await, 415);
    let wrong_shape = json!({ "email": email, "password": [password] }).to_string();
    assert_eq!(send_raw(app, "/auth/login", Some("application/json"), wrong_shape.into_bytes()).await, 400);
    let refresh_as_number = format!("{{\"refresh_token\": {}}}", "9".repeat(40));
    assert_eq!(send_raw(app, "/auth/refresh", Some("application/json"), refresh_as_number.into_bytes()).await, 400);
    let huge =
        format!("{{\"email\": \"{email}\", \"password\": \"{password}\", \"pad\": \"{}\"}}", "a".repeat(17 * 1024));
    assert_eq!(send_raw(app, "/auth/register", Some("application/json"), huge.into_bytes()).await, 413);
    let bad_scope = app.logout(&refreshed.text("refresh_token"), "everywhere", None).await;
    assert_eq!(bad_scope.status, 400);
    let mut misrouted = request(Method::PUT, "/auth/login", Some(json!({ "password": password })), Some(&access));
    misrouted.headers.insert("x-api-key", HeaderValue::from_str(&access).unwrap());
    assert_eq!(app.send(misrouted).await.status, 404);

    secrets
}

/// Admin actions: each writes an audit line, and none of them carries a secret.
async fn admin_flow(app: &TestApp) -> Secrets {
    let mut secrets = Secrets::default();
    let (email, password) = (unique_email(), "admin-Pa55phrase-for-audit");
    secrets.add(password, "admin password");
    let registered = app.register(&email, password).await;
    let admin_id = registered.body["user"]["id"].as_str().unwrap().to_owned();
    let promote = UserChanges { role: Some(Role::Admin), disabled: None, claims: None, roles: None };
    app.gateway.accounts.store.update_user(&admin_id, &promote, None).await.unwrap();
    let admin = app.login(&email, password).await;
    secrets.add_tokens(&admin.body);
    let token = admin.text("access_token");
    let target = app.register(&unique_email(), "target-Pa55phrase-xyz").await;
    secrets.add("target-Pa55phrase-xyz", "target password");
    secrets.add_tokens(&target.body);
    let target_id = target.body["user"]["id"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/admin/users", Some(&token)).await.status, 200);
    assert_eq!(app.get(&format!("/admin/users/{target_id}"), Some(&token)).await.status, 200);
    let disable =
        request(Method::PATCH, &format!("/admin/users/{target_id}"), Some(json!({"disabled": true})), Some(&token));
    assert_eq!(app.send(disable).await.status, 200);
    secrets
}

/// The email flows: every one-time token mailed (verification, reset, email change) and the
/// passwords set with them stay out of the logs; only the outbox holds the tokens.
async fn mail_flow(app: &TestApp) -> Secrets {
    let mut secrets = Secrets::default();
    let (email, new_email) = (unique_email(), unique_email());
    let password = "mail-flow-Pa55phrase-9e1";
    secrets.add(password, "password");
    let registered = app.register(&email, password).await;
    secrets.add_tokens(&registered.body);
    let verify_token = app.mailed_token(&email, "/verify-email");
    secrets.add(verify_token.clone(), "verification token");
    assert_eq!(app.post("/auth/email/verify", json!({ "token": verify_token })).await.status, 200);
    // A spent token presented again is refused, and not logged either.
    assert_eq!(app.post("/auth/email/verify", json!({ "token": verify_token })).await.status, 401);

    assert_eq!(app.post("/auth/password/forgot", json!({ "email": email })).await.status, 202);
    let reset_token = app.mailed_token(&email, "/reset-password");
    secrets.add(reset_token.clone(), "reset token");
    let new_password = "reset-Pa55phrase-never-logged";
    secrets.add(new_password, "reset password");
    let body = json!({ "token": reset_token, "new_password": new_password });
    assert_eq!(app.post("/auth/password/reset", body).await.status, 204);

    let logged_in = app.login(&email, new_password).await;
    secrets.add_tokens(&logged_in.body);
    let body = json!({ "new_email": new_email, "current_password": new_password });
    let change = request(Method::POST, "/auth/email", Some(body), Some(&logged_in.text("access_token")));
    assert_eq!(app.send(change).await.status, 202);
    let change_token = app.mailed_token(&new_email, "/verify-email");
    secrets.add(change_token.clone(), "email change token");
    assert_eq!(app.post("/auth/email/verify", json!({ "token": change_token })).await.status, 200);
    secrets
}

/// DynamoDB unreachable in the middle of a login: the 503's log lines carry no password.
async fn outage_flow() -> Secrets {
    let mut secrets = Secrets::default();
    let upstream = dynamodb_endpoint().trim_start_matches("http://").parse().unwrap();
    let proxy = FaultProxy::start(upstream).await;
    let app = spawn_app(dynamo_store_via(Some(proxy.endpoint())).await);
    let password = "outage-Pa55phrase-never-logged";
    secrets.add(password, "password during an outage");
    let email = unique_email();
    assert_eq!(app.register(&email, password).await.status, 201);
    proxy.set(Link::Refused);
    let login = app.login(&email, password).await;
    assert_eq!((login.status, login.code()), (503, "unavailable"));
    secrets
}

#[test]
fn no_password_or_token_reaches_the_logs() {
    let captured = capture_all_logs();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let secrets = runtime.block_on(async {
        let embedded = spawn_app(memory_store());
        let mut secrets = full_flow(&embedded).await;
        secrets.extend(mail_flow(&embedded).await);
        // The DynamoDB store too, and its error path: the SDK's failures are logged.
        let store: Arc<dyn Store> = dynamo_store().await;
        let app = spawn_app(Arc::clone(&store));
        secrets.extend(full_flow(&app).await);
        secrets.extend(admin_flow(&app).await);
        secrets.extend(mail_flow(&app).await);
        secrets.extend(outage_flow().await);
        // Canary: a secret logged at TRACE from the blocking pool, where passwords are hashed.
        // If the capture misses it, the check below proves nothing.
        tokio::task::spawn_blocking(|| tracing::trace!(canary = "canary-secret-7d1e", "canary")).await.unwrap();
        secrets
    });
    drop(runtime);

    let log = captured.text();
    assert!(log.contains("canary-secret-7d1e"), "the capture missed a TRACE event from the blocking pool");
    for expected in [
        "registered",
        "logged in",
        "refresh token reused",
        "denied",
        "authorized",
        "email (log sender)",
        "email changed",
    ] {
        assert!(log.contains(expected), "the flow's {expected:?} event was not captured; the log:\n{log}");
    }
    // Every admin action left an audit line, recognisable by its target.
    for action in ["list_users", "get_user", "update_user"] {
        let audited = log.lines().any(|line| line.contains("\"target\":\"audit\"") && line.contains(action));
        assert!(audited, "no audit line for {action}");
    }
    assert!(log.contains("unavailable") || log.contains("Unavailable"), "the outage was not logged");
    let leaks = secrets.leaks(&log);
    let leaking_lines: Vec<&str> = match leaks.is_empty() {
        true => Vec::new(),
        false => log.lines().filter(|line| !secrets.leaks(line).is_empty()).take(10).collect(),
    };
    assert!(
        leaks.is_empty(),
        "{} secret(s) appear in the logs: {leaks:#?}\n--- the first lines that leak ---\n{}",
        leaks.len(),
        leaking_lines.join("\n")
    );
}
