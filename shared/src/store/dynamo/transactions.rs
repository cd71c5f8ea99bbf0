//! The writes of several items, each one transaction: a registration (user, email guard, first
//! session), a login's session (checked against the account) and a password change (user,
//! caller's session).

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};

use super::DynamoStore;
use super::credentials::{CREDENTIAL_EVENT, one};
use super::errors::{CONDITION_FAILED, TRANSACTION_CONFLICT, cancellation_reasons, classify, unless_refused};
use super::items::{self, Item, n, s, session_key, user_key};
use crate::domain::{Session, User};
use crate::store::{KeptSession, PasswordChange, SessionRenewal, StoreError};

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
        let mut writes = vec![
            put(&self.tables.users, items::user(user)?)?,
            put(&self.tables.users, items::email_guard(&user.email, &user.id)?)?,
        ];
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

    pub(super) async fn transact_change_password(&self, change: &PasswordChange) -> Result<bool, StoreError> {
        let renewal = &change.renewal;
        let (one, one_value) = one();
        let user = Update::builder()
            .table_name(&self.tables.users)
            .key("pk", s(user_key(&change.user_id)))
            // A reset link mailed before the change must not undo it.
            .update_expression(format!(
                "SET password_hash = :hash, sessions_valid_after_ms = :cutoff REMOVE latest_reset_ms \
                 ADD {CREDENTIAL_EVENT}"
            ))
            // As read: the proved hash, no session started since, the caller's session not cut
            // off meanwhile (which also means the cutoff only rises: it is after that session).
            .condition_expression(
                "password_hash = :verified AND (attribute_not_exists(sessions_started) OR sessions_started = :started) \
                 AND (attribute_not_exists(sessions_valid_after_ms) OR sessions_valid_after_ms < :session_created)",
            )
            .expression_attribute_values(":hash", s(&change.new_hash))
            .expression_attribute_values(":cutoff", n(renewal.cutoff.millis()))
            .expression_attribute_values(":verified", s(&change.verified_hash))
            .expression_attribute_values(":started", n(change.sessions_started))
            .expression_attribute_values(":session_created", n(renewal.session_created_ms))
            .expression_attribute_values(one, one_value)
            .build()
            .map_err(build_failed)?;
        self.all_or_nothing(vec![
            TransactWriteItem::builder().update(user).build(),
            self.renewed_session(&change.user_id, renewal)?,
        ])
        .await
    }

    /// The caller's session carried over a credential event: still as read, it gets the new
    /// refresh token and moves just after the cutoff, starting a new rotation chain (no token
    /// from before may claim the grace answer).
    pub(super) fn renewed_session(
        &self,
        user_id: &str,
        renewal: &SessionRenewal,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut update = Update::builder()
            .table_name(&self.tables.revocations)
            .key("pk", s(session_key(&renewal.session_id)))
            .condition_expression(
                "user_id = :user_id AND revoked = :false AND expires_at > :now AND created_ms = :session_created",
            )
            .expression_attribute_values(":next", s(&renewal.next_jti))
            .expression_attribute_values(":renewed", n(renewal.cutoff.millis() + 1))
            .expression_attribute_values(":expires_at", n(renewal.expires_at))
            .expression_attribute_values(":user_id", s(user_id))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .expression_attribute_values(":now", n(renewal.cutoff.secs()))
            .expression_attribute_values(":session_created", n(renewal.session_created_ms));
        const RENEW: &str = "SET current_jti = :next, created_ms = :renewed, expires_at = :expires_at";
        const NEW_CHAIN: &str = "REMOVE previous_jti, rotated_ms, grace_used";
        update = match renewal.mfa {
            true => update
                .update_expression(format!("{RENEW}, mfa = :true {NEW_CHAIN}"))
                .expression_attribute_values(":true", AttributeValue::Bool(true)),
            false => update.update_expression(format!("{RENEW} {NEW_CHAIN}, mfa")),
        };
        Ok(TransactWriteItem::builder().update(update.build().map_err(build_failed)?).build())
    }

    /// "Sign out everywhere else": the account's cutoff raised to `kept.cutoff` and the kept
    /// session moved just after it, both conditioned on the state the caller read.
    pub(super) async fn transact_end_other_sessions(&self, kept: &KeptSession) -> Result<bool, StoreError> {
        let user = Update::builder()
            .table_name(&self.tables.users)
            .key("pk", s(user_key(&kept.user_id)))
            .update_expression(format!("SET sessions_valid_after_ms = :cutoff ADD {CREDENTIAL_EVENT}"))
            // The kept session not cut off meanwhile (the cutoff is at or after its creation, so
            // it only rises), and no session started since the account was read.
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(sessions_valid_after_ms) \
                 OR sessions_valid_after_ms < :session_created) \
                 AND (attribute_not_exists(sessions_started) OR sessions_started = :started)",
            )
            .expression_attribute_values(":cutoff", n(kept.cutoff.millis()))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":started", n(kept.sessions_started))
            .expression_attribute_values(":session_created", n(kept.session_created_ms))
            .build()
            .map_err(build_failed)?;
        let session = Update::builder()
            .table_name(&self.tables.revocations)
            .key("pk", s(session_key(&kept.session_id)))
            .update_expression("SET created_ms = :renewed")
            .condition_expression(
                "user_id = :user_id AND revoked = :false AND current_jti = :jti AND expires_at > :now \
                 AND created_ms = :session_created",
            )
            .expression_attribute_values(":renewed", n(kept.cutoff.millis() + 1))
            .expression_attribute_values(":user_id", s(&kept.user_id))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .expression_attribute_values(":jti", s(&kept.jti))
            .expression_attribute_values(":now", n(kept.cutoff.secs()))
            .expression_attribute_values(":session_created", n(kept.session_created_ms))
            .build()
            .map_err(build_failed)?;
        self.all_or_nothing(vec![
            TransactWriteItem::builder().update(user).build(),
            TransactWriteItem::builder().update(session).build(),
        ])
        .await
    }

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

    /// A login's session, written only if the account still has the hash the login verified
    /// and is enabled, counting it in `sessions_started` in the same transaction.
    pub(super) async fn transact_create_session(
        &self,
        session: &Session,
        verified_hash: &str,
    ) -> Result<bool, StoreError> {
        let user = Update::builder()
            .table_name(&self.tables.users)
            .key("pk", s(user_key(&session.user_id)))
            .update_expression("ADD sessions_started :one")
            // And MFA still off: a login that read the account before MFA was turned on must not
            // start a session on the password alone.
            .condition_expression(
                "password_hash = :verified AND (attribute_not_exists(disabled) OR disabled = :false) \
                 AND attribute_not_exists(mfa_totp)",
            )
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":verified", s(verified_hash))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .build()
            .map_err(build_failed)?;
        let session = put(&self.tables.revocations, items::session(session)?)?;
        self.all_or_nothing(vec![TransactWriteItem::builder().update(user).build(), session]).await
    }
}

pub(super) fn build_failed(error: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Internal(error.to_string())
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

pub(super) fn put(table: &str, item: Item) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .map_err(build_failed)?;
    Ok(TransactWriteItem::builder().put(put).build())
}
