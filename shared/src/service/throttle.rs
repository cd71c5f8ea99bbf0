//! The login throttle around a credential check: draw from every bucket before the password
//! work, then report the outcome to each.

use futures_util::future::join_all;

use crate::domain::Bucket;
use crate::error::ApiError;
use crate::store::{Draw, DrawOutcome, ThrottleStore, lock_after_failure};
use crate::time::UnixTime;

/// The attempts one credential check holds.
pub(super) struct Drawn {
    draws: Vec<(Bucket, Draw)>,
}

/// Draws one attempt from each bucket at once. If any refuses, the others get theirs back and
/// the answer is `429` with the longest wait: a refused attempt costs nobody a guess.
pub(super) async fn draw_all(
    store: &dyn ThrottleStore,
    buckets: Vec<Bucket>,
    now: UnixTime,
) -> Result<Drawn, ApiError> {
    let outcomes = join_all(buckets.iter().map(|bucket| store.draw_attempt(bucket, now))).await;
    let mut draws = Vec::with_capacity(buckets.len());
    let mut retry_after_ms = None::<u64>;
    let mut failure = None;
    for (bucket, outcome) in buckets.into_iter().zip(outcomes) {
        match outcome {
            Ok(DrawOutcome::Granted(draw)) => draws.push((bucket, draw)),
            Ok(DrawOutcome::Refused { retry_after_ms: wait }) => {
                retry_after_ms = Some(retry_after_ms.unwrap_or(0).max(wait));
            }
            Err(error) => failure = Some(error),
        }
    }
    let drawn = Drawn { draws };
    if let Some(error) = failure {
        drawn.give_back(store, false).await;
        return Err(error.into());
    }
    if let Some(wait) = retry_after_ms {
        drawn.give_back(store, false).await;
        tracing::info!("refused: too many attempts for this account, client or address");
        return Err(ApiError::TooManyAttempts { retry_after_secs: wait.div_ceil(1000).max(1) });
    }
    Ok(drawn)
}

impl Drawn {
    /// A wrong password: each bucket past its budget is locked for its backoff.
    pub(super) async fn failed(self, store: &dyn ThrottleStore, now: UnixTime) -> Result<(), ApiError> {
        let writes = self
            .draws
            .iter()
            .map(|(bucket, draw)| store.attempt_failed(bucket, draw, lock_after_failure(bucket, draw, now), now));
        for (result, (bucket, draw)) in join_all(writes).await.into_iter().zip(&self.draws) {
            result?;
            if let Some(until) = lock_after_failure(bucket, draw, now) {
                let lock_secs = until.secs().saturating_sub(now.secs());
                tracing::warn!(attempts = draw.attempts, lock_secs, "throttle bucket locked after repeated failures");
            }
        }
        Ok(())
    }

    /// A right password: the buckets that reset on success forget their failures; the others
    /// only get this attempt back.
    pub(super) async fn succeeded(self, store: &dyn ThrottleStore) -> Result<(), ApiError> {
        let writes =
            self.draws.iter().map(|(bucket, draw)| store.attempt_returned(bucket, draw, bucket.reset_on_success));
        join_all(writes).await.into_iter().collect::<Result<Vec<_>, _>>()?;
        Ok(())
    }

    /// Best effort: a draw that is not given back only costs one attempt of the budget.
    async fn give_back(self, store: &dyn ThrottleStore, forget: bool) {
        let writes = self.draws.iter().map(|(bucket, draw)| store.attempt_returned(bucket, draw, forget));
        for result in join_all(writes).await {
            if let Err(error) = result {
                tracing::warn!(%error, "a throttle attempt could not be given back");
            }
        }
    }
}
