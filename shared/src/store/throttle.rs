//! The login throttle's counters: one per bucket ([`Bucket`]), drawn from atomically before any
//! password work, so N parallel guesses cost at most the budget. The rule deciding a draw is
//! here, shared by both stores; each applies it atomically (a lock, or conditional writes).

use async_trait::async_trait;

use super::StoreError;
use crate::domain::{Bucket, Budget};
use crate::time::UnixTime;

/// How long an attempt past the free budget holds the bucket locked while its outcome is not
/// known yet: longer than any request may run (the functions' timeout is 10 s), so parallel
/// attempts cannot slip in meanwhile; the outcome replaces it at once.
pub const HOLD_MS: u64 = 15_000;

/// An attempt drawn from a bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Draw {
    /// This attempt is the `attempts`-th in the bucket's window.
    pub attempts: u32,
    /// Set when the attempt was past the free budget: the lock it holds until its outcome.
    pub hold_until_ms: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DrawOutcome {
    Granted(Draw),
    /// The bucket is locked, or its budget is held by attempts still in flight.
    Refused {
        retry_after_ms: u64,
    },
}

/// A bucket's counter as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ThrottleRecord {
    pub attempts: u32,
    pub locked_until_ms: Option<u64>,
    /// Epoch seconds (the TTL attribute): the window ends here.
    pub expires_at: u64,
}

/// What a draw from `record` may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// No live window: this attempt starts a new one.
    NewWindow,
    /// Within the free budget and not locked.
    Free,
    /// Past the budget, but the last lock has lapsed: one attempt may go, holding the lock.
    PastBudget,
    Refused {
        retry_after_ms: u64,
    },
}

pub(crate) fn judge_draw(record: Option<&ThrottleRecord>, budget: &Budget, now: UnixTime) -> Decision {
    let Some(record) = record.filter(|record| record.expires_at > now.secs()) else {
        return Decision::NewWindow;
    };
    match record.locked_until_ms {
        Some(until) if until > now.millis() => Decision::Refused { retry_after_ms: until - now.millis() },
        _ if record.attempts < budget.free => Decision::Free,
        Some(_) => Decision::PastBudget,
        // Spent by attempts whose outcome is not known yet; the lock follows their failure.
        None => Decision::Refused { retry_after_ms: 1000 },
    }
}

/// The window's end after an attempt at `now` (each attempt extends it: a steady trickle of
/// guesses never sees its count reset).
pub(crate) fn window_end(bucket: &Bucket, now: UnixTime) -> u64 {
    now.secs() + bucket.budget.window_secs
}

/// When a failed attempt locks its bucket, if it does.
pub(crate) fn lock_after_failure(bucket: &Bucket, draw: &Draw, now: UnixTime) -> Option<UnixTime> {
    bucket.budget.lock_secs(draw.attempts).map(|secs| now.plus_secs(secs))
}

/// The throttle's counters, one per bucket.
#[async_trait]
pub trait ThrottleStore: Send + Sync {
    /// Draws one attempt from a throttle bucket, atomically: of any number of concurrent draws,
    /// at most the budget is granted.
    async fn draw_attempt(&self, bucket: &Bucket, now: UnixTime) -> Result<DrawOutcome, StoreError>;

    /// The drawn attempt failed: lock the bucket until `lock_until` when given. A lock is only
    /// ever raised (or the attempt's own hold replaced), never shortened by a later write.
    async fn attempt_failed(
        &self,
        bucket: &Bucket,
        draw: &Draw,
        lock_until: Option<UnixTime>,
        now: UnixTime,
    ) -> Result<(), StoreError>;

    /// The drawn attempt did not fail: forget the bucket (`forget`), or give back this attempt
    /// (and its hold) only.
    async fn attempt_returned(&self, bucket: &Bucket, draw: &Draw, forget: bool) -> Result<(), StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::LoginThrottle;

    const NOW: UnixTime = UnixTime::from_millis(1_800_000_000_000);

    fn record(attempts: u32, locked_until_ms: Option<u64>) -> ThrottleRecord {
        ThrottleRecord { attempts, locked_until_ms, expires_at: NOW.secs() + 100 }
    }

    #[test]
    fn draws_follow_the_budget_the_lock_and_the_window() {
        let budget = LoginThrottle::default().per_client;
        assert_eq!(judge_draw(None, &budget, NOW), Decision::NewWindow);
        let lapsed = ThrottleRecord { expires_at: NOW.secs(), ..record(9, Some(NOW.millis() + 5000)) };
        assert_eq!(judge_draw(Some(&lapsed), &budget, NOW), Decision::NewWindow);
        assert_eq!(judge_draw(Some(&record(4, None)), &budget, NOW), Decision::Free);
        // The free budget held by attempts in flight: nobody else gets through meanwhile.
        assert_eq!(judge_draw(Some(&record(5, None)), &budget, NOW), Decision::Refused { retry_after_ms: 1000 });
        let locked = record(3, Some(NOW.millis() + 2500));
        assert_eq!(judge_draw(Some(&locked), &budget, NOW), Decision::Refused { retry_after_ms: 2500 });
        assert_eq!(judge_draw(Some(&record(7, Some(NOW.millis()))), &budget, NOW), Decision::PastBudget);
    }

    #[test]
    fn a_window_runs_from_each_attempt_and_failures_past_the_budget_lock_for_the_backoff() {
        let bucket = Bucket { key: "k".into(), budget: LoginThrottle::default().per_client, reset_on_success: true };
        assert_eq!(window_end(&bucket, NOW), NOW.secs() + 900);
        let failed = |attempts| lock_after_failure(&bucket, &Draw { attempts, hold_until_ms: None }, NOW);
        assert_eq!(failed(4), None);
        assert_eq!(failed(5), Some(NOW.plus_secs(1)));
        assert_eq!(failed(7), Some(NOW.plus_secs(4)));
    }
}
