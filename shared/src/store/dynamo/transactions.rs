//! The two writes of several items, each one transaction: a registration (user, email guard,
//! first session) and a password change (user, caller's session).

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};

use super::DynamoStore;
use super::errors::{CONDITION_FAILED, TRANSACTION_CONFLICT, cancellation_reasons, classify, unless_refused};
use super::items::{self, Item, n, s, session_key, user_key};
use crate::domain::{Session, User};
use crate::store::{SessionRenewal, StoreError};
use crate::time::UnixTime;

impl DynamoStore {
    pub(super) async fn transact_create_user(
        &self,
        user: &User,
        first_session: Option<&Session>,
    ) -> Result<(), StoreError> {
        // A registration racing another for the same email may be cancelled with a
        // TransactionConflict instead of a failed condition; after a short pause the retry
        // meets the winner's guard and reports EmailTaken, or succeeds if the winner failed.
        const ATTEMPTS: u32 = 4;
        for attempt in 1..=ATTEMPTS {
            match self.try_create_user(user, first_session).await {
                Err(CreateUserFailure::Conflict) if attempt < ATTEMPTS => {
                    tokio::time::sleep(std::time::Duration::from_millis(20 * u64::from(attempt))).await;
                }
                Err(CreateUserFailure::Conflict) => {
                    return Err(StoreError::Unavailable("registration kept conflicting".into()));
                }
                Err(CreateUserFailure::Store(error)) => return Err(error),
                Ok(()) => return Ok(()),
            }
        }
        Err(StoreError::Unavailable("registration kept conflicting".into()))
    }

    async fn try_create_user(&self, user: &User, first_session: Option<&Session>) -> Result<(), CreateUserFailure> {
        let mut writes =
            vec![put(&self.tables.users, items::user(user)?)?, put(&self.tables.users, items::email_guard(user)?)?];
        if let Some(session) = first_session {
            writes.push(put(&self.tables.revocations, items::session(session)?)?);
        }
        let error = match self.client.transact_write_items().set_transact_items(Some(writes)).send().await {
            Ok(_) => return Ok(()),
            Err(error) => error,
        };
        let reasons = error.as_service_error().map(cancellation_reasons).unwrap_or_default();
        // Reasons come in the order of the items: 0 user, 1 email guard, 2 session. Only the
        // guard's condition means the email is taken; a user or session id collision is a fault.
        if reasons.get(1).and_then(|reason| reason.code()) == Some(CONDITION_FAILED) {
            return Err(CreateUserFailure::Store(StoreError::EmailTaken));
        }
        if reasons.iter().any(|reason| reason.code() == Some(TRANSACTION_CONFLICT)) {
            return Err(CreateUserFailure::Conflict);
        }
        Err(CreateUserFailure::Store(classify(error)))
    }

    pub(super) async fn transact_change_password(
        &self,
        user_id: &str,
        password_hash: &str,
        cutoff: UnixTime,
        renewal: &SessionRenewal,
    ) -> Result<bool, StoreError> {
        let build = |error: aws_sdk_dynamodb::error::BuildError| StoreError::Internal(error.to_string());
        let user = Update::builder()
            .table_name(&self.tables.users)
            .key("pk", s(user_key(user_id)))
            .update_expression("SET password_hash = :hash, sessions_valid_after_ms = :cutoff")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":hash", s(password_hash))
            .expression_attribute_values(":cutoff", n(cutoff.millis()))
            .build()
            .map_err(build)?;
        let session = Update::builder()
            .table_name(&self.tables.revocations)
            .key("pk", s(session_key(&renewal.session_id)))
            .update_expression("SET current_jti = :next, created_ms = :created, expires_at = :expires_at")
            .condition_expression(
                "attribute_exists(pk) AND user_id = :user_id AND revoked = :false AND expires_at > :now",
            )
            .expression_attribute_values(":next", s(&renewal.next_jti))
            .expression_attribute_values(":created", n(renewal.created_ms))
            .expression_attribute_values(":expires_at", n(renewal.expires_at))
            .expression_attribute_values(":user_id", s(user_id))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .expression_attribute_values(":now", n(renewal.now.secs()))
            .build()
            .map_err(build)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(user).build())
            .transact_items(TransactWriteItem::builder().update(session).build())
            .send()
            .await;
        Ok(unless_refused(result)?.is_some())
    }
}

enum CreateUserFailure {
    Conflict,
    Store(StoreError),
}

impl From<StoreError> for CreateUserFailure {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

fn put(table: &str, item: Item) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .map_err(|error| StoreError::Internal(error.to_string()))?;
    Ok(TransactWriteItem::builder().put(put).build())
}
