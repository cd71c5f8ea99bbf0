//! Mail through Amazon SES v2's API, served by moto (its SES v2 records what it was asked to
//! send, at `/moto-api/data.json`): the `ses` sender as `Mail::from_env` builds it, the reset
//! flow reading its link from what SES received, and a refused send that loses nothing.

use e2e::proxy::{FaultProxy, Link};
use e2e::{PASSWORD, TestApp, on_both_stores, request, unique_email};
use http::Method;
use serde_json::{Value, json};
use shared::config::Env;
use shared::email::{EmailSender, Mail, SesSender, Verification};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The SES endpoint `scripts/test.sh` exports (moto), the SDK's own override variable.
fn ses_endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL_SESV2")
        .expect("SES tests need moto: run scripts/test.sh (it starts moto and sets AWS_ENDPOINT_URL_SESV2)")
}

/// A verified sending identity (moto verifies at once, as SES does after the DNS records).
async fn verified_domain() -> String {
    let domain = format!("{}.example.com", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
    let client = aws_sdk_sesv2::Client::new(&config);
    client.create_email_identity().email_identity(&domain).send().await.expect("CreateEmailIdentity on moto");
    domain
}

/// What moto's SES recorded as sent to `to`: (subject, body, source), oldest first. moto keeps
/// the HTML body when a message has both.
async fn sent_to(to: &str) -> Vec<(String, String, String)> {
    let address = ses_endpoint().trim_start_matches("http://").trim_end_matches('/').to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    // HTTP/1.0: the answer is the body up to the end of the stream, never chunked.
    stream.write_all(b"GET /moto-api/data.json HTTP/1.0\r\nHost: moto\r\n\r\n").await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let (_, body) = raw.split_once("\r\n\r\n").expect("an HTTP answer");
    let data: Value = serde_json::from_str(body).unwrap();
    data["ses"]["Message"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|message| {
            message["destinations"]["ToAddresses"].as_array().is_some_and(|to_list| to_list.contains(&json!(to)))
        })
        .map(|message| {
            let field = |name: &str| message[name].as_str().unwrap_or_default().to_owned();
            (field("subject"), field("body"), field("source"))
        })
        .collect()
}

fn token_in(body: &str, path: &str) -> String {
    let marker = format!("{path}#token=");
    let start = body.find(&marker).unwrap_or_else(|| panic!("no {path} link in {body}")) + marker.len();
    body[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}

async fn with_ses(app: TestApp, from: String) -> TestApp {
    let sender = Mail::from_env(&Env::from_pairs([
        ("EMAIL_SENDER", "ses"),
        ("EMAIL_FROM", from.as_str()),
        ("APP_URL", e2e::APP_URL),
    ]))
    .await
    .expect("an ses sender from the environment")
    .sender;
    app.with_mail(|mail| Mail { sender, ..mail })
}

async fn a_reset_link_goes_out_through_ses_and_works(app: TestApp) {
    let from = format!("no-reply@{}", verified_domain().await);
    let app = with_ses(app, from.clone()).await;
    let email = unique_email();
    assert_eq!(app.register(&email, PASSWORD).await.status, 201);
    assert_eq!(app.post("/auth/password/forgot", json!({ "email": email })).await.status, 202);
    let sent = sent_to(&email).await;
    let subjects: Vec<&str> = sent.iter().map(|(subject, _, _)| subject.as_str()).collect();
    assert_eq!(subjects, ["Confirm your email address", "Reset your password"], "{sent:?}");
    assert!(sent.iter().all(|(_, _, source)| *source == from));
    let token = token_in(&sent[1].1, "/reset-password");
    let body = json!({ "token": token, "new_password": "reset through ses" });
    assert_eq!(app.post("/auth/password/reset", body).await.status, 204);
    assert_eq!(app.login(&email, "reset through ses").await.status, 200);
    let notices = sent_to(&email).await;
    assert_eq!(notices.last().map(|(subject, _, _)| subject.as_str()), Some("Your password was reset"));
}

/// SES refuses a sender outside any verified identity (as in its sandbox): the account still
/// stands, `forgot` answers as always, and asking again later works once the sender is fixed.
async fn a_refused_send_loses_nothing_and_reveals_nothing(app: TestApp) {
    let app = with_ses(app, "no-reply@unverified.example.org".into()).await;
    let email = unique_email();
    let registered = app.register(&email, PASSWORD).await;
    assert_eq!(registered.status, 201, "{:?}", registered.body);
    let forgot = app.post("/auth/password/forgot", json!({ "email": email })).await;
    assert_eq!((forgot.status, &forgot.body), (202, &Value::Null));
    assert!(sent_to(&email).await.is_empty());
    assert_eq!(app.login(&email, PASSWORD).await.status, 200);
}

/// With SES answering only after 2 s (a delaying proxy in front of moto),
/// `forgot` still answers known and unknown addresses alike, at its floor: the send is bounded
/// by the answer's own deadline.
async fn forgot_keeps_its_timing_when_ses_is_slow(app: TestApp) {
    const TRIES: usize = 5;
    let from = format!("no-reply@{}", verified_domain().await);
    let moto: std::net::SocketAddr =
        ses_endpoint().trim_start_matches("http://").trim_end_matches('/').parse().unwrap();
    let proxy = FaultProxy::start(moto).await;
    proxy.set(Link::Delayed(2_000));
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
    let client = aws_sdk_sesv2::Client::from_conf(
        aws_sdk_sesv2::config::Builder::from(&config).endpoint_url(proxy.endpoint()).build(),
    );
    let sender: std::sync::Arc<dyn EmailSender> = std::sync::Arc::new(SesSender::new(client, from));
    let floor = std::time::Duration::from_millis(Mail::DEFAULT_RESPONSE_FLOOR_MS);
    // No verification mail at registration: only the measured requests go through the proxy.
    let app = app.with_mail(|mail| Mail { sender, response_floor: floor, verification: Verification::Off, ..mail });
    let (mut known_ms, mut unknown_ms) = (Vec::new(), Vec::new());
    for index in 0..TRIES {
        let known = unique_email();
        assert_eq!(app.register(&known, PASSWORD).await.status, 201);
        for (address, times, host) in [(known, &mut known_ms, 1), (unique_email(), &mut unknown_ms, 2)] {
            let mut forgot = request(Method::POST, "/auth/password/forgot", Some(json!({ "email": address })), None);
            forgot.source_ip = Some(format!("198.51.{index}.{host}").parse().unwrap());
            let started = std::time::Instant::now();
            let answer = app.send(forgot).await;
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(answer.status, 202, "{:?}", answer.body);
        }
    }
    let mean = |times: &[f64]| times.iter().sum::<f64>() / times.len() as f64;
    let (known_mean, unknown_mean) = (mean(&known_ms), mean(&unknown_ms));
    println!(
        "forgot with SES answering after 2 s: known {known_mean:.1} ms, unknown {unknown_mean:.1} ms (floor {floor:?})"
    );
    assert!(
        (0.9..=1.1).contains(&(known_mean / unknown_mean)),
        "known {known_mean:.1} ms vs unknown {unknown_mean:.1} ms"
    );
    assert!(known_mean < 1_000.0, "the send was not bounded: {known_mean:.1} ms");
}

on_both_stores!(
    a_reset_link_goes_out_through_ses_and_works,
    a_refused_send_loses_nothing_and_reveals_nothing,
    forgot_keeps_its_timing_when_ses_is_slow,
);

#[tokio::test]
async fn the_ses_sender_sends_both_bodies_from_the_configured_address() {
    let from = format!("team@{}", verified_domain().await);
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
    let sender = SesSender::new(aws_sdk_sesv2::Client::new(&config), from.clone());
    let to = unique_email();
    let message = shared::email::templates::verify_email(
        &shared::domain::Email::parse(&to).unwrap(),
        "https://app.test",
        "tok_123456789012345678901",
        3600,
    );
    sender.send(&message).await.expect("moto accepts it");
    let sent = sent_to(&to).await;
    assert_eq!(sent.len(), 1);
    let (subject, body, source) = &sent[0];
    assert_eq!((subject.as_str(), source.as_str()), ("Confirm your email address", from.as_str()));
    assert!(body.contains("https://app.test/verify-email#token=tok_123456789012345678901"), "{body}");
}
