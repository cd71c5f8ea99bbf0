//! The throttle store's contract, the same on both stores.

use std::sync::Arc;

use e2e::unique_email;
use shared::domain::{Bucket, Budget};
use shared::store::{Draw, DrawOutcome, HOLD_MS, Store};

use super::NOW;

fn bucket(free: u32) -> Bucket {
    let budget = Budget { free, base_lock_secs: 1, max_lock_secs: 900, window_secs: 900 };
    Bucket { key: format!("{}#ip#192.0.2.1", unique_email()), budget, reset_on_success: true }
}

fn granted(outcome: DrawOutcome) -> Draw {
    match outcome {
        DrawOutcome::Granted(draw) => draw,
        refused => panic!("refused: {refused:?}"),
    }
}

async fn throttle_draws_count_lock_and_lapse(store: Arc<dyn Store>) {
    let bucket = bucket(3);
    let draws: Vec<Draw> = futures::future::join_all((0..3).map(|_| store.draw_attempt(&bucket, NOW)))
        .await
        .into_iter()
        .map(|outcome| granted(outcome.unwrap()))
        .collect();
    let mut counts: Vec<u32> = draws.iter().map(|draw| draw.attempts).collect();
    counts.sort_unstable();
    assert_eq!(counts, [1, 2, 3]);
    // The budget is held by attempts in flight: the next waits for their outcome.
    assert_eq!(store.draw_attempt(&bucket, NOW).await.unwrap(), DrawOutcome::Refused { retry_after_ms: 1000 });
    // The third failure locks for the backoff; the lock ends by itself.
    let last = draws.iter().find(|draw| draw.attempts == 3).unwrap();
    store.attempt_failed(&bucket, last, Some(NOW.plus_secs(30)), NOW).await.unwrap();
    assert_eq!(store.draw_attempt(&bucket, NOW).await.unwrap(), DrawOutcome::Refused { retry_after_ms: 30_000 });
    // A shorter lock written later never shortens it.
    store.attempt_failed(&bucket, &draws[0], Some(NOW.plus_secs(1)), NOW).await.unwrap();
    let later = NOW.plus_secs(29);
    assert_eq!(store.draw_attempt(&bucket, later).await.unwrap(), DrawOutcome::Refused { retry_after_ms: 1000 });
    // Past the budget, once the lock lapses, one attempt goes and holds the lock meanwhile.
    let after_lock = NOW.plus_secs(31);
    let past = granted(store.draw_attempt(&bucket, after_lock).await.unwrap());
    assert_eq!((past.attempts, past.hold_until_ms), (4, Some(after_lock.millis() + HOLD_MS)));
    assert!(matches!(store.draw_attempt(&bucket, after_lock).await.unwrap(), DrawOutcome::Refused { .. }));
    // Its failure replaces its own hold with the real (shorter) lock.
    store.attempt_failed(&bucket, &past, Some(after_lock.plus_secs(2)), after_lock).await.unwrap();
    let wait = store.draw_attempt(&bucket, after_lock).await.unwrap();
    assert_eq!(wait, DrawOutcome::Refused { retry_after_ms: 2000 });
    // A success forgets the bucket.
    store.attempt_returned(&bucket, &past, true).await.unwrap();
    assert_eq!(granted(store.draw_attempt(&bucket, after_lock).await.unwrap()).attempts, 1);
    // Past the window the record counts as absent and a new one starts at 1.
    let lapsed = NOW.plus_secs(31 + 901);
    assert_eq!(granted(store.draw_attempt(&bucket, lapsed).await.unwrap()).attempts, 1);
}

async fn a_returned_attempt_is_given_back_and_nothing_more(store: Arc<dyn Store>) {
    let bucket = bucket(2);
    let first = granted(store.draw_attempt(&bucket, NOW).await.unwrap());
    granted(store.draw_attempt(&bucket, NOW).await.unwrap());
    store.attempt_returned(&bucket, &first, false).await.unwrap();
    // One attempt back: one more goes, then the budget is spent again.
    assert_eq!(granted(store.draw_attempt(&bucket, NOW).await.unwrap()).attempts, 2);
    assert!(matches!(store.draw_attempt(&bucket, NOW).await.unwrap(), DrawOutcome::Refused { .. }));
}

/// Of many draws at once, exactly the budget is granted: parallel guesses cannot all pass.
async fn concurrent_draws_grant_exactly_the_budget(store: Arc<dyn Store>) {
    let bucket = bucket(5);
    let outcomes = futures::future::join_all((0..40).map(|_| store.draw_attempt(&bucket, NOW))).await;
    let granted = outcomes.iter().filter(|outcome| matches!(outcome, Ok(DrawOutcome::Granted(_)))).count();
    let refused = outcomes.iter().filter(|outcome| matches!(outcome, Ok(DrawOutcome::Refused { .. }))).count();
    assert_eq!((granted, refused), (5, 35), "{outcomes:?}");
}

e2e::on_both_store_adapters!(
    throttle_draws_count_lock_and_lapse,
    a_returned_attempt_is_given_back_and_nothing_more,
    concurrent_draws_grant_exactly_the_budget,
);
