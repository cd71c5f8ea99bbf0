//! What DynamoDB's errors mean to the store: the one mapping to [`StoreError`], and the
//! refusals of conditional writes, which are answers rather than failures.

use std::any::Any;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::CancellationReason;

use crate::store::StoreError;

/// A transaction item's cancellation code when its own condition refused it.
pub(super) const CONDITION_FAILED: &str = "ConditionalCheckFailed";

/// A transaction item's cancellation code when another write held the item.
pub(super) const TRANSACTION_CONFLICT: &str = "TransactionConflict";

/// Error codes a retry later may cure.
const TRANSIENT: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionConflictException",
];

/// Cancellation codes a retry later may cure: a transaction that lost a race or was throttled.
const TRANSIENT_CANCELLATIONS: &[&str] = &[TRANSACTION_CONFLICT, "ThrottlingError", "ProvisionedThroughputExceeded"];

/// Why a transaction was cancelled, one reason per item in the request's order; empty for any
/// other error. Each operation has its own error type and only a transaction's has reasons,
/// hence the downcast: generic code (`classify`, `unless_refused`) reads them too.
pub(super) fn cancellation_reasons<E: Any>(error: &E) -> &[CancellationReason] {
    match (error as &dyn Any).downcast_ref::<TransactWriteItemsError>() {
        Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => cancelled.cancellation_reasons(),
        _ => &[],
    }
}

fn cancelled_for(error: &impl Any, codes: &[&str]) -> bool {
    cancellation_reasons(error).iter().any(|reason| reason.code().is_some_and(|code| codes.contains(&code)))
}

/// Errors a retry later may cure (throttling, timeouts, an unreachable endpoint, a transaction
/// that lost a race) become `Unavailable`; the rest are this code's fault and become `Internal`.
pub(super) fn classify<E, R>(error: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match &error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            // DisplayErrorContext, not Debug: a ResponseError's Debug output holds the raw body,
            // which may carry stored attributes (hashes, emails) into a log line.
            StoreError::Unavailable(DisplayErrorContext(&error).to_string())
        }
        SdkError::ServiceError(service) => classify_service_error(service.err()),
        _ => StoreError::Internal(DisplayErrorContext(&error).to_string()),
    }
}

fn classify_service_error<E: ProvideErrorMetadata + Any>(error: &E) -> StoreError {
    let code = error.code().unwrap_or("unknown");
    if TRANSIENT.contains(&code) || cancelled_for(error, TRANSIENT_CANCELLATIONS) {
        StoreError::Unavailable(code.to_owned())
    } else {
        StoreError::Internal(format!("{code}: {}", error.message().unwrap_or_default()))
    }
}

/// A conditional write's result: `Some(output)` when written, `None` when its condition (for a
/// transaction, any item's) refused it, which each caller turns into its domain answer.
pub(super) fn unless_refused<T, E, R>(result: Result<T, SdkError<E, R>>) -> Result<Option<T>, StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match result {
        Ok(output) => Ok(Some(output)),
        Err(SdkError::ServiceError(service)) if refused(service.err()) => Ok(None),
        Err(error) => Err(classify(error)),
    }
}

fn refused<E: ProvideErrorMetadata + Any>(error: &E) -> bool {
    error.code() == Some("ConditionalCheckFailedException") || cancelled_for(error, &[CONDITION_FAILED])
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
    use aws_sdk_dynamodb::types::error::{ConditionalCheckFailedException, TransactionCanceledException};

    use super::*;

    fn cancelled(codes: &[&str]) -> TransactWriteItemsError {
        let reasons = codes.iter().map(|code| CancellationReason::builder().code(*code).build()).collect();
        TransactWriteItemsError::TransactionCanceledException(
            TransactionCanceledException::builder().set_cancellation_reasons(Some(reasons)).build(),
        )
    }

    #[test]
    fn a_failed_condition_is_a_refusal_on_a_single_write_and_in_a_transaction() {
        let failed = ConditionalCheckFailedException::builder()
            .meta(aws_sdk_dynamodb::error::ErrorMetadata::builder().code("ConditionalCheckFailedException").build())
            .build();
        assert!(refused(&UpdateItemError::ConditionalCheckFailedException(failed)));
        assert!(refused(&cancelled(&["None", CONDITION_FAILED])));
        assert!(!refused(&cancelled(&["None", TRANSACTION_CONFLICT])));
    }

    #[test]
    fn a_transaction_that_lost_a_race_or_was_throttled_may_be_retried() {
        for code in TRANSIENT_CANCELLATIONS {
            let error = classify_service_error(&cancelled(&["None", code]));
            assert!(matches!(error, StoreError::Unavailable(_)), "{code}: {error:?}");
        }
        let invalid = classify_service_error(&cancelled(&["ValidationError", "None"]));
        assert!(matches!(invalid, StoreError::Internal(_)), "{invalid:?}");
    }
}
