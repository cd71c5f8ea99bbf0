//! The throttle's counters in the embedded store.

use async_trait::async_trait;

use super::MemoryStore;
use crate::domain::Bucket;
use crate::store::{
    Decision, Draw, DrawOutcome, HOLD_MS, StoreError, ThrottleRecord, ThrottleStore, judge_draw, window_end,
};
use crate::time::UnixTime;

#[async_trait]
impl ThrottleStore for MemoryStore {
    async fn draw_attempt(&self, bucket: &Bucket, now: UnixTime) -> Result<DrawOutcome, StoreError> {
        let mut state = self.lock()?;
        let expires_at = window_end(bucket, now);
        let record = state.throttle.get(&bucket.key).copied();
        let draw = match judge_draw(record.as_ref(), &bucket.budget, now) {
            Decision::Refused { retry_after_ms } => return Ok(DrawOutcome::Refused { retry_after_ms }),
            Decision::NewWindow => {
                state
                    .throttle
                    .insert(bucket.key.clone(), ThrottleRecord { attempts: 1, locked_until_ms: None, expires_at });
                Draw { attempts: 1, hold_until_ms: None }
            }
            decision @ (Decision::Free | Decision::PastBudget) => {
                let Some(record) = state.throttle.get_mut(&bucket.key) else {
                    return Err(StoreError::Internal("throttle record vanished under the lock".into()));
                };
                record.attempts += 1;
                record.expires_at = record.expires_at.max(expires_at);
                let hold = (decision == Decision::PastBudget).then(|| now.millis() + HOLD_MS);
                if let Some(hold) = hold {
                    record.locked_until_ms = Some(hold);
                    record.expires_at = record.expires_at.max(hold / 1000 + 1);
                }
                Draw { attempts: record.attempts, hold_until_ms: hold }
            }
        };
        Ok(DrawOutcome::Granted(draw))
    }

    async fn attempt_failed(
        &self,
        bucket: &Bucket,
        draw: &Draw,
        lock_until: Option<UnixTime>,
        _now: UnixTime,
    ) -> Result<(), StoreError> {
        let mut state = self.lock()?;
        let Some(record) = state.throttle.get_mut(&bucket.key) else { return Ok(()) };
        let own_hold = draw.hold_until_ms.is_some() && record.locked_until_ms == draw.hold_until_ms;
        match lock_until {
            Some(until) if own_hold || record.locked_until_ms.is_none_or(|locked| locked < until.millis()) => {
                record.locked_until_ms = Some(until.millis());
                record.expires_at = record.expires_at.max(until.secs() + 1);
            }
            None if own_hold => record.locked_until_ms = None,
            _ => {}
        }
        Ok(())
    }

    async fn attempt_returned(&self, bucket: &Bucket, draw: &Draw, forget: bool) -> Result<(), StoreError> {
        let mut state = self.lock()?;
        if forget {
            state.throttle.remove(&bucket.key);
        } else if let Some(record) = state.throttle.get_mut(&bucket.key) {
            record.attempts = record.attempts.saturating_sub(1);
            if draw.hold_until_ms.is_some() && record.locked_until_ms == draw.hold_until_ms {
                record.locked_until_ms = None;
            }
            // Nothing left on record: as if there had been no attempt (DynamoDB deletes it).
            if record.attempts == 0 && record.locked_until_ms.is_none() {
                state.throttle.remove(&bucket.key);
            }
        }
        Ok(())
    }
}
