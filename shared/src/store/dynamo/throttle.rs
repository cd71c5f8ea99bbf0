//! The login throttle's counters (`throttle#<bucket>` in the revocations table). A draw is a
//! conditional write that only succeeds within the budget, so concurrent draws cannot all pass;
//! the common case (no failure on record) is one request.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::DynamoStore;
use super::errors::{classify, unless_refused};
use super::items::{self, ThrottleItem, n, s, throttle_key};
use crate::domain::Bucket;
use crate::store::{
    Decision, Draw, DrawOutcome, HOLD_MS, StoreError, ThrottleRecord, ThrottleStore, judge_draw, window_end,
};
use crate::time::UnixTime;

#[async_trait]
impl ThrottleStore for DynamoStore {
    async fn draw_attempt(&self, bucket: &Bucket, now: UnixTime) -> Result<DrawOutcome, StoreError> {
        // Each pass tries the writes in the order of likelihood; a pass that loses a race to a
        // concurrent draw sees the new state in the next.
        for _ in 0..4 {
            if self.start_window(bucket, now).await? {
                return Ok(DrawOutcome::Granted(Draw { attempts: 1, hold_until_ms: None }));
            }
            if let Some(attempts) = self.count(bucket, now, None).await? {
                return Ok(DrawOutcome::Granted(Draw { attempts, hold_until_ms: None }));
            }
            let stored = self.get(&self.tables.revocations, throttle_key(&bucket.key), true).await?;
            let record = stored.map(items::read::<ThrottleItem, ThrottleRecord>).transpose()?;
            match judge_draw(record.as_ref(), &bucket.budget, now) {
                Decision::Refused { retry_after_ms } => return Ok(DrawOutcome::Refused { retry_after_ms }),
                Decision::PastBudget => {
                    let hold = now.millis() + HOLD_MS;
                    if let Some(attempts) = self.count(bucket, now, Some(hold)).await? {
                        return Ok(DrawOutcome::Granted(Draw { attempts, hold_until_ms: Some(hold) }));
                    }
                }
                Decision::NewWindow | Decision::Free => {}
            }
        }
        Ok(DrawOutcome::Refused { retry_after_ms: 1000 })
    }

    async fn attempt_failed(
        &self,
        bucket: &Bucket,
        draw: &Draw,
        lock_until: Option<UnixTime>,
        _now: UnixTime,
    ) -> Result<(), StoreError> {
        let request = self
            .client
            .update_item()
            .table_name(&self.tables.revocations)
            .key("pk", s(throttle_key(&bucket.key)))
            .expression_attribute_values(":hold", n(draw.hold_until_ms.unwrap_or(0)));
        let request = match lock_until {
            // Raise the lock, or replace this attempt's own hold; a longer lock another attempt
            // set stands (the refusal is no error).
            Some(until) => request
                .condition_expression(
                    "attribute_exists(pk) AND (attribute_not_exists(locked_until_ms) OR locked_until_ms < :until OR locked_until_ms = :hold)",
                )
                .update_expression("SET locked_until_ms = :until, expires_at = :expires_at")
                .expression_attribute_values(":until", n(until.millis()))
                .expression_attribute_values(":expires_at", n(until.secs() + 1 + bucket.budget.window_secs)),
            None if draw.hold_until_ms.is_some() => {
                request.condition_expression("locked_until_ms = :hold").update_expression("REMOVE locked_until_ms")
            }
            None => return Ok(()),
        };
        unless_refused(request.send().await)?;
        Ok(())
    }

    async fn attempt_returned(&self, bucket: &Bucket, draw: &Draw, forget: bool) -> Result<(), StoreError> {
        let key = s(throttle_key(&bucket.key));
        if forget {
            let request = self.client.delete_item().table_name(&self.tables.revocations).key("pk", key);
            request.send().await.map_err(classify)?;
            return Ok(());
        }
        // The only attempt on record, and no lock: the bucket goes, so that the next login's draw
        // is one write again. Anyone else's attempt (or a lock) keeps it, with this one given back.
        if draw.hold_until_ms.is_none() {
            let alone = self
                .client
                .delete_item()
                .table_name(&self.tables.revocations)
                .key("pk", key.clone())
                .condition_expression("attempts = :one AND attribute_not_exists(locked_until_ms)")
                .expression_attribute_values(":one", n(1))
                .send()
                .await;
            if unless_refused(alone)?.is_some() {
                return Ok(());
            }
        }
        let request = self
            .client
            .update_item()
            .table_name(&self.tables.revocations)
            .key("pk", key)
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":minus_one", AttributeValue::N("-1".into()));
        let request = match draw.hold_until_ms {
            Some(hold) => request
                .condition_expression("attempts > :zero AND locked_until_ms = :hold")
                .update_expression("ADD attempts :minus_one REMOVE locked_until_ms")
                .expression_attribute_values(":hold", n(hold)),
            None => request.condition_expression("attempts > :zero").update_expression("ADD attempts :minus_one"),
        };
        unless_refused(request.send().await)?;
        Ok(())
    }
}

impl DynamoStore {
    /// The first attempt of a window: no record, or one whose window has passed.
    async fn start_window(&self, bucket: &Bucket, now: UnixTime) -> Result<bool, StoreError> {
        let started = self
            .client
            .put_item()
            .table_name(&self.tables.revocations)
            .set_item(Some(items::first_attempt(&bucket.key, window_end(bucket, now))?))
            .condition_expression("attribute_not_exists(pk) OR expires_at <= :now")
            .expression_attribute_values(":now", n(now.secs()))
            .send()
            .await;
        Ok(unless_refused(started)?.is_some())
    }

    /// One more attempt in a live window: within the free budget and unlocked (`hold` None), or
    /// past it once the lock has lapsed, holding the lock until the outcome (`hold`).
    async fn count(&self, bucket: &Bucket, now: UnixTime, hold: Option<u64>) -> Result<Option<u32>, StoreError> {
        let unlocked = "(attribute_not_exists(locked_until_ms) OR locked_until_ms <= :now_ms)";
        let mut request = self
            .client
            .update_item()
            .table_name(&self.tables.revocations)
            .key("pk", s(throttle_key(&bucket.key)))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(now.secs()))
            .expression_attribute_values(":now_ms", n(now.millis()))
            .expression_attribute_values(":free", n(u64::from(bucket.budget.free)))
            .return_values(ReturnValue::UpdatedNew);
        request = match hold {
            None => request
                .condition_expression(format!("expires_at > :now AND attempts < :free AND {unlocked}"))
                .update_expression("ADD attempts :one SET expires_at = :window_end")
                .expression_attribute_values(":window_end", n(window_end(bucket, now))),
            Some(hold) => request
                .condition_expression(format!(
                    "expires_at > :now AND attempts >= :free AND attribute_exists(locked_until_ms) AND {unlocked}"
                ))
                .update_expression("ADD attempts :one SET locked_until_ms = :hold, expires_at = :window_end")
                .expression_attribute_values(":hold", n(hold))
                .expression_attribute_values(":window_end", n(window_end(bucket, now).max(hold / 1000 + 1))),
        };
        let Some(output) = unless_refused(request.send().await)? else { return Ok(None) };
        let attempts =
            output.attributes.as_ref().and_then(|item| item.get("attempts")).and_then(|value| value.as_n().ok());
        let attempts = attempts.and_then(|value| value.parse().ok());
        attempts.map(Some).ok_or_else(|| StoreError::Internal("a counted attempt came back without its count".into()))
    }
}
