//! Lifecycle events: each flow emits its event with the right detail and nothing
//! secret (both stores, the in-memory sink); EventBridge for real (moto's, with a rule that
//! forwards to an SQS queue the test reads); an unreachable bus changes no answer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use e2e::{PASSWORD, TestApp, TestResponse, request, unique_email};
use http::Method;
use serde_json::{Value, json};
use shared::domain::{Budget, LoginThrottle};
use shared::events::{Event, EventBridgeSink, Events};
use shared::service::Accounts;

fn of_kind(app: &TestApp, name: &str) -> Vec<Value> {
    app.events
        .events()
        .into_iter()
        .filter(|event| event.kind.name() == name)
        .map(|event| serde_json::to_value(event.detail).unwrap())
        .collect()
}

fn last(app: &TestApp, name: &str) -> Value {
    of_kind(app, name).pop().unwrap_or_else(|| panic!("no {name} event in {:?}", kinds(app)))
}

fn kinds(app: &TestApp) -> Vec<&'static str> {
    app.events.events().iter().map(|event: &Event| event.kind.name()).collect()
}

fn user_id(response: &TestResponse) -> String {
    response.body["user"]["id"].as_str().unwrap().to_owned()
}

async fn each_flow_emits_its_event_and_nothing_secret(app: TestApp) {
    let app = app.with_throttle(LoginThrottle {
        per_client: Budget { free: 2, base_lock_secs: 60, max_lock_secs: 60, window_secs: 900 },
        ..e2e::test_throttle()
    });
    let email = unique_email();
    let registered = app.register(&email, PASSWORD).await;
    let id = user_id(&registered);
    let event = last(&app, "user.registered");
    assert_eq!(
        (event["user_id"].as_str(), event["ip"].as_str(), event["outcome"].as_str()),
        (Some(id.as_str()), Some("192.0.2.1"), Some("ok"))
    );
    assert!(event["session_id"].is_string());

    let logged_in = app.login(&email, PASSWORD).await;
    let event = last(&app, "user.logged_in");
    assert_eq!((event["user_id"].as_str(), event["method"].as_str()), (Some(id.as_str()), Some("pwd")));
    assert_eq!(app.login(&email, "not the password").await.status, 401);
    let failed = last(&app, "user.login_failed");
    assert_eq!(
        (failed["user_id"].as_str(), failed["outcome"].as_str()),
        (Some(id.as_str()), Some("invalid_credentials"))
    );
    assert_eq!(app.login(&unique_email(), PASSWORD).await.status, 401);
    assert_eq!(last(&app, "user.login_failed")["user_id"], Value::Null, "an unknown address names no account");
    // The per-client budget (2) is spent: the next attempt is refused before any password work.
    assert_eq!(app.login(&email, "still wrong").await.status, 401);
    assert_eq!(app.login(&email, PASSWORD).await.status, 429);
    let locked = last(&app, "user.locked_out");
    assert_eq!(
        (locked["user_id"].as_str(), locked["outcome"].as_str()),
        (Some(id.as_str()), Some("too_many_attempts"))
    );

    // Reuse of a refresh token.
    let rotated = app.refresh(&logged_in.text("refresh_token")).await;
    assert_eq!(rotated.status, 200);
    tokio::time::sleep(Duration::from_millis(10)).await;
    let mut spent = app.refresh(&rotated.text("refresh_token")).await;
    assert_eq!(spent.status, 200);
    spent = app.refresh(&logged_in.text("refresh_token")).await;
    assert_eq!(spent.code(), "token_reused");
    assert_eq!(last(&app, "session.reuse_detected")["user_id"].as_str(), Some(id.as_str()));

    // Password change, reset, email verification and change.
    let access = registered.text("access_token");
    let change = json!({ "current_password": PASSWORD, "new_password": "a second long password" });
    assert_eq!(app.send(request(Method::POST, "/auth/password", Some(change), Some(&access))).await.status, 200);
    assert_eq!(last(&app, "user.password_changed")["user_id"].as_str(), Some(id.as_str()));
    assert_eq!(app.post("/auth/password/forgot", json!({ "email": email })).await.status, 202);
    let reset_token = app.mailed_token(&email, "/reset-password");
    let reset = json!({ "token": reset_token, "new_password": "a third long password" });
    assert_eq!(app.post("/auth/password/reset", reset).await.status, 204);
    assert_eq!(last(&app, "user.password_reset")["user_id"].as_str(), Some(id.as_str()));
    let other = unique_email();
    let second = app.register(&other, PASSWORD).await;
    let verify_token = app.mailed_token(&other, "/verify-email");
    assert_eq!(app.post("/auth/email/verify", json!({ "token": verify_token })).await.status, 200);
    assert_eq!(last(&app, "user.email_verified")["user_id"], second.body["user"]["id"]);
    let moved = unique_email();
    let ask = json!({ "new_email": moved, "current_password": PASSWORD });
    assert_eq!(
        app.send(request(Method::POST, "/auth/email", Some(ask), Some(&second.text("access_token")))).await.status,
        202
    );
    let change_token = app.mailed_token(&moved, "/verify-email");
    assert_eq!(app.post("/auth/email/verify", json!({ "token": change_token })).await.status, 200);
    assert_eq!(last(&app, "user.email_changed")["user_id"], second.body["user"]["id"]);

    // An administrator's change names who and what.
    let admin = app.sign_in_admin().await;
    let patch = json!({ "role": "admin", "claims": { "tenant_id": "t-1" } });
    let path = format!("/admin/users/{}", second.body["user"]["id"].as_str().unwrap());
    assert_eq!(
        app.send(request(Method::PATCH, &path, Some(patch), Some(&admin.text("access_token")))).await.status,
        200
    );
    let updated = last(&app, "user.updated");
    assert_eq!(updated["changed"], json!(["role", "claims"]));
    assert_eq!(updated["actor"], admin.body["user"]["id"]);

    // Nothing secret in any event: no password, token, one-time token or key.
    let all = serde_json::to_string(&app.events.events()).unwrap();
    let secrets = [
        PASSWORD.to_owned(),
        "a second long password".into(),
        "a third long password".into(),
        registered.text("refresh_token"),
        access,
        reset_token,
        verify_token,
        change_token,
        rotated.text("refresh_token"),
    ];
    for secret in &secrets {
        assert!(!all.contains(secret.as_str()), "a secret in an event: {}", &secret[..secret.len().min(12)]);
    }
    assert!(!all.contains("tenant_id"), "claims' values stay out of events");
}

async fn mfa_on_and_off_and_its_second_step_emit_events(app: TestApp) {
    let email = unique_email();
    let registered = app.register(&email, PASSWORD).await;
    let id = user_id(&registered);
    let verification = app.mailed_token(&email, "/verify-email");
    assert_eq!(app.post("/auth/email/verify", json!({ "token": verification })).await.status, 200);
    let access = registered.text("access_token");
    let started = app.send(request(Method::POST, "/auth/mfa/totp", None, Some(&access))).await;
    let key = shared::domain::mfa::TotpKey::from_base32(&started.text("secret")).unwrap();
    let now = shared::time::UnixTime::now().secs();
    let confirm = json!({ "code": key.code_at(now), "current_password": PASSWORD });
    let confirmed = app.send(request(Method::POST, "/auth/mfa/totp/confirm", Some(confirm), Some(&access))).await;
    assert_eq!(confirmed.status, 200, "{:?}", confirmed.body);
    let access = confirmed.text("access_token");
    assert_eq!(last(&app, "user.mfa_enabled")["user_id"].as_str(), Some(id.as_str()));
    let codes = confirmed.body["recovery_codes"].clone();
    let off = json!({ "recovery_code": codes[0] });
    assert_eq!(app.send(request(Method::DELETE, "/auth/mfa/totp", Some(off), Some(&access))).await.status, 204);
    let disabled = last(&app, "user.mfa_disabled");
    assert_eq!((disabled["user_id"].as_str(), disabled["method"].as_str()), (Some(id.as_str()), Some("recovery_code")));
    let all = serde_json::to_string(&app.events.events()).unwrap();
    assert!(!all.contains(&started.text("secret")) && !all.contains(codes[0].as_str().unwrap()));
    assert!(!all.contains(&key.code_at(now)), "no TOTP code in an event");
}

e2e::on_both_stores!(each_flow_emits_its_event_and_nothing_secret, mfa_on_and_off_and_its_second_step_emit_events);

/// moto's EventBridge, with a rule that forwards our source to an SQS queue, which the test reads.
#[tokio::test]
async fn events_reach_eventbridge() {
    std::env::var("AWS_ENDPOINT_URL_EVENTBRIDGE").expect("EventBridge tests need moto: run scripts/test.sh");
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
    let eventbridge = aws_sdk_eventbridge::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let bus = format!("auth-{}", &suffix[..12]);
    eventbridge.create_event_bus().name(&bus).send().await.unwrap();
    let queue = sqs.create_queue().queue_name(format!("events-{}", &suffix[..12])).send().await.unwrap();
    let queue_url = queue.queue_url().unwrap().to_owned();
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    let queue_arn = attributes.attributes().unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn].clone();
    eventbridge
        .put_rule()
        .name("all-auth-events")
        .event_bus_name(&bus)
        .event_pattern(json!({ "source": ["jwt-auth"] }).to_string())
        .send()
        .await
        .unwrap();
    let target = aws_sdk_eventbridge::types::Target::builder().id("queue").arn(queue_arn).build().unwrap();
    eventbridge.put_targets().rule("all-auth-events").event_bus_name(&bus).targets(target).send().await.unwrap();

    let sink = Events::to(Arc::new(EventBridgeSink::new(eventbridge.clone(), bus.clone())));
    let app = with_events(e2e::spawn_app(e2e::memory_store()), sink);
    let email = unique_email();
    let registered = app.register(&email, PASSWORD).await;
    assert_eq!(app.login(&email, PASSWORD).await.status, 200);
    assert_eq!(app.login(&email, "wrong password").await.status, 401);

    let mut received = Vec::new();
    for _ in 0..10 {
        let messages = sqs.receive_message().queue_url(&queue_url).max_number_of_messages(10).send().await.unwrap();
        received.extend(messages.messages().iter().filter_map(|message| message.body().map(str::to_owned)));
        if received.len() >= 3 {
            break;
        }
    }
    let events: Vec<Value> = received.iter().map(|body| serde_json::from_str(body).unwrap()).collect();
    let types: Vec<&str> = events.iter().filter_map(|event| event["detail-type"].as_str()).collect();
    assert_eq!(types, ["user.registered", "user.logged_in", "user.login_failed"], "{events:?}");
    for event in &events {
        assert_eq!(event["source"], "jwt-auth");
        assert_eq!(event["detail"]["user_id"], registered.body["user"]["id"]);
        assert!(!event.to_string().contains(PASSWORD) && !event.to_string().contains("wrong password"));
    }
}

/// A bus nobody answers for: every request answers as before, within the send bound.
#[tokio::test]
async fn an_unreachable_bus_changes_no_answer() {
    let config =
        aws_config::defaults(aws_config::BehaviorVersion::latest()).endpoint_url("http://127.0.0.1:9").load().await;
    let sink = EventBridgeSink::new(aws_sdk_eventbridge::Client::new(&config), "nowhere".into());
    let app = with_events(e2e::spawn_app(e2e::memory_store()), Events::to(Arc::new(sink)));
    let email = unique_email();
    let started = Instant::now();
    assert_eq!(app.register(&email, PASSWORD).await.status, 201);
    assert_eq!(app.login(&email, PASSWORD).await.status, 200);
    assert_eq!(app.login(&email, "wrong password").await.status, 401);
    let elapsed = started.elapsed();
    // Three requests, each waiting at most the bound (300 ms) for its event.
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
}

fn with_events(app: TestApp, events: Events) -> TestApp {
    let gateway = Arc::into_inner(app.gateway).expect("a fresh app");
    let recovery = shared::service::Recovery { events, ..gateway.accounts.recovery };
    let accounts = Accounts { recovery, ..gateway.accounts };
    TestApp {
        gateway: Arc::new(shared::gateway::Gateway { accounts, ..gateway }),
        outbox: app.outbox,
        events: app.events,
    }
}
