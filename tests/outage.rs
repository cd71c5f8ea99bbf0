//! DynamoDB outages: while the database is unreachable every request that needs it gets a
//! prompt `503 unavailable` with `Retry-After` (never a hang, never a 500), nothing is
//! half-written, and once it is back every account and session works as before.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use e2e::proxy::{FaultProxy, Link};
use e2e::{TestApp, TestResponse, dynamo_store_via, dynamodb_endpoint, spawn_app, unique_email};
use shared::store::Store;

use e2e::PASSWORD;
/// The SDK's operation timeout is 4 s; an answer later than this would be a hang.
const PROMPT: Duration = Duration::from_secs(8);

async fn app_behind_proxy() -> (TestApp, FaultProxy) {
    let upstream: SocketAddr = dynamodb_endpoint().trim_start_matches("http://").parse().unwrap();
    let proxy = FaultProxy::start(upstream).await;
    let store: Arc<dyn Store> = dynamo_store_via(Some(proxy.endpoint())).await;
    (spawn_app(store), proxy)
}

async fn timed<F: std::future::Future<Output = TestResponse>>(request: F) -> TestResponse {
    let started = Instant::now();
    let response = request.await;
    assert!(started.elapsed() < PROMPT, "took {:?}", started.elapsed());
    response
}

fn assert_unavailable(response: &TestResponse) {
    assert_eq!((response.status, response.code()), (503, "unavailable"), "{:?}", response.body);
    assert!(response.headers.contains_key("retry-after"));
    assert_eq!(response.headers["content-type"], "application/problem+json");
}

async fn outage_then_recovery(link: Link) {
    let (app, proxy) = app_behind_proxy().await;
    let email = unique_email();
    let registered = app.register(&email, PASSWORD).await;
    assert_eq!(registered.status, 201);
    let session = app.login(&email, PASSWORD).await;
    let refresh_token = session.text("refresh_token");

    proxy.set(link);
    let newcomer = unique_email();
    assert_unavailable(&timed(app.register(&newcomer, PASSWORD)).await);
    assert_unavailable(&timed(app.login(&email, PASSWORD)).await);
    assert_unavailable(&timed(app.refresh(&refresh_token)).await);
    assert_unavailable(&timed(app.logout(&refresh_token, "local", None)).await);
    assert_unavailable(&timed(app.get("/auth/me", Some(&session.text("access_token")))).await);
    // What needs no database keeps working.
    assert_eq!(app.get("/.well-known/jwks.json", None).await.status, 200);

    proxy.set(Link::Up);
    // The refresh attempted during the outage neither rotated nor broke the session.
    let refreshed = app.refresh(&refresh_token).await;
    assert_eq!(refreshed.status, 200, "{:?}", refreshed.body);
    assert_eq!(app.refresh(&refreshed.text("refresh_token")).await.status, 200);
    // The registration attempted during the outage left nothing behind: it can be made now.
    assert_eq!(app.register(&newcomer, PASSWORD).await.status, 201);
    assert_eq!(app.login(&email, PASSWORD).await.status, 200);
}

#[tokio::test]
async fn a_refused_database_gives_503_and_loses_nothing() {
    outage_then_recovery(Link::Refused).await;
}

#[tokio::test]
async fn a_silent_database_times_out_into_503_and_loses_nothing() {
    outage_then_recovery(Link::BlackHole).await;
}
