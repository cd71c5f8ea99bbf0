//! What every transaction shares: all or nothing, with a brief retry of one that only lost a race
//! for an item; a put that never overwrites.

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};

use super::DynamoStore;
use super::errors::{CONDITION_FAILED, TRANSACTION_CONFLICT, cancellation_reasons, unless_refused};
use super::items::Item;
use crate::store::StoreError;

impl DynamoStore {
    /// One transaction of conditional writes: `false` (nothing written) when a condition refused.
    /// A transaction cancelled only because another one held an item (two uses of one code at
    /// once) is tried again, briefly: its conditions then decide, and the loser is refused
    /// rather than told to come back later.
    pub(super) async fn all_or_nothing(&self, writes: Vec<TransactWriteItem>) -> Result<bool, StoreError> {
        const ATTEMPTS: u64 = 3;
        for attempt in 1..=ATTEMPTS {
            let result = self.client.transact_write_items().set_transact_items(Some(writes.clone())).send().await;
            let conflicted = result.as_ref().err().and_then(|error| error.as_service_error()).is_some_and(|error| {
                let reasons = cancellation_reasons(error);
                reasons.iter().any(|reason| reason.code() == Some(TRANSACTION_CONFLICT))
                    && !reasons.iter().any(|reason| reason.code() == Some(CONDITION_FAILED))
            });
            if conflicted && attempt < ATTEMPTS {
                tokio::time::sleep(std::time::Duration::from_millis(10 * attempt)).await;
                continue;
            }
            return Ok(unless_refused(result)?.is_some());
        }
        Err(StoreError::Unavailable("transaction kept conflicting".into()))
    }
}

pub(super) fn build_failed(error: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Internal(error.to_string())
}

pub(super) fn put(table: &str, item: Item) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .map_err(build_failed)?;
    Ok(TransactWriteItem::builder().put(put).build())
}
