//! Concurrency against DynamoDB: one winner per refresh token (plus the one grace presentation
//! when a grace period is on), one account per email.

use std::sync::Arc;

use e2e::{TestApp, TestResponse, dynamo_store, spawn_app, unique_email};
use futures::future::join_all;
use shared::domain::SessionPolicy;
use shared::store::Store;

const RACERS: usize = 20;

/// [`RACERS`] refreshes of one token at once, on several threads.
async fn concurrent_refreshes(app: &TestApp, token: &str) -> Vec<TestResponse> {
    let attempts = (0..RACERS).map(|_| {
        let (app, token) = (app.clone(), token.to_owned());
        tokio::spawn(async move { app.refresh(&token).await })
    });
    join_all(attempts).await.into_iter().map(Result::unwrap).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_a_grace_period_of_twenty_concurrent_refreshes_exactly_one_wins() {
    let store: Arc<dyn Store> = dynamo_store().await;
    let app = spawn_app(store).with_sessions(SessionPolicy { reuse_grace_secs: 0 });
    let registered = app.register(&unique_email(), e2e::PASSWORD).await;
    let token = registered.text("refresh_token");

    let responses = concurrent_refreshes(&app, &token).await;
    let winners: Vec<_> = responses.iter().filter(|response| response.status == 200).collect();
    assert_eq!(winners.len(), 1, "{:?}", responses.iter().map(|r| (r.status, r.code().to_owned())).collect::<Vec<_>>());
    assert!(responses.iter().filter(|r| r.status != 200).all(|r| r.status == 401));

    let replay = app.refresh(&token).await;
    assert_eq!((replay.status, replay.code()), (401, "token_reused"));
    let winners_token = app.refresh(&winners[0].text("refresh_token")).await;
    assert_eq!(winners_token.status, 401, "the session survived reuse: {:?}", winners_token.body);
}

/// With the default grace period the one grace presentation succeeds too; the other eighteen are
/// reuse, so the session ends all the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_the_default_grace_period_of_twenty_concurrent_refreshes_two_win_and_the_session_ends() {
    let store: Arc<dyn Store> = dynamo_store().await;
    let app = spawn_app(store);
    // The documented default (README, docs/operations.md): 10 s.
    assert_eq!(app.gateway.accounts.sessions.reuse_grace_secs, 10);
    let registered = app.register(&unique_email(), e2e::PASSWORD).await;
    let token = registered.text("refresh_token");

    let responses = concurrent_refreshes(&app, &token).await;
    let outcomes: Vec<_> = responses.iter().map(|r| (r.status, r.code().to_owned())).collect();
    let winners: Vec<_> = responses.iter().filter(|response| response.status == 200).collect();
    assert_eq!(winners.len(), 2, "{outcomes:?}");
    assert!(responses.iter().filter(|r| r.status != 200).all(|r| r.code() == "token_reused"), "{outcomes:?}");
    for winner in winners {
        assert_eq!(app.refresh(&winner.text("refresh_token")).await.status, 401, "the session survived reuse");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_twenty_concurrent_registrations_of_one_email_exactly_one_succeeds() {
    let store: Arc<dyn Store> = dynamo_store().await;
    let app = spawn_app(store);
    let email = unique_email();
    let attempts = (0..RACERS).map(|i| {
        let app = app.clone();
        let email = if i % 2 == 0 { email.clone() } else { email.to_uppercase() };
        tokio::spawn(async move { app.register(&email, &format!("password number {i}")).await })
    });
    let responses: Vec<_> = join_all(attempts).await.into_iter().map(Result::unwrap).collect();
    let statuses: Vec<_> = responses.iter().map(|response| (response.status, response.code().to_owned())).collect();
    assert_eq!(responses.iter().filter(|response| response.status == 201).count(), 1, "{statuses:?}");
    assert!(
        responses.iter().filter(|r| r.status != 201).all(|r| r.status == 409 && r.code() == "email_taken"),
        "{statuses:?}"
    );
}
