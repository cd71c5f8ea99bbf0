//! DynamoDB implementation of [`Store`].
//!
//! Users table (`pk`):
//! - `user#<id>`: the account (`entity = "user"`, so the `users_by_created` index lists users).
//! - `email#<normalised email>`: the guard that makes an email unique, holding `user_id`.
//!
//! Revocations table (`pk`, TTL on `expires_at`):
//! - `session#<sid>`: a refresh-token family; `current_jti` is the one unspent token.
//! - `jti#<jti>`: an access token revoked before its expiry.
//! - `login#<normalised email>`: failed-login count and lockout of an address.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, Put, ReturnValue, TransactWriteItem, Update};

use super::{
    AccessTokenRef, LoginAttempts, Rotation, RotationOutcome, SessionRenewal, Store, StoreError, UserChanges, UserPage,
    UserSummary, judge_access, judge_rotation, schema,
};
use crate::domain::{Email, Role, Session, User};
use crate::time::UnixTime;

type Item = HashMap<String, AttributeValue>;

#[derive(Clone, Debug)]
pub struct TableNames {
    pub users: String,
    pub revocations: String,
}

pub struct DynamoStore {
    client: Client,
    tables: TableNames,
}

impl DynamoStore {
    pub fn new(client: Client, tables: TableNames) -> Self {
        Self { client, tables }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn tables(&self) -> &TableNames {
        &self.tables
    }

    async fn get(&self, table: &str, pk: String, consistent: bool) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(table)
            .key("pk", s(pk))
            .consistent_read(consistent)
            .send()
            .await
            .map_err(classify)?;
        Ok(output.item)
    }

    async fn try_create_user(&self, user: &User, first_session: Option<&Session>) -> Result<(), CreateUserFailure> {
        let email_guard = HashMap::from([
            ("pk".to_owned(), s(email_key(&user.email))),
            ("entity".to_owned(), s("email")),
            ("user_id".to_owned(), s(&user.id)),
        ]);
        let mut items = vec![put(&self.tables.users, user_item(user))?, put(&self.tables.users, email_guard)?];
        if let Some(session) = first_session {
            items.push(put(&self.tables.revocations, session_item(session))?);
        }
        let error = match self.client.transact_write_items().set_transact_items(Some(items)).send().await {
            Ok(_) => return Ok(()),
            Err(error) => error,
        };
        if let SdkError::ServiceError(service) = &error
            && let TransactWriteItemsError::TransactionCanceledException(cancelled) = service.err()
        {
            let reasons = cancelled.cancellation_reasons();
            // Reasons come in the order of the items: 0 user, 1 email guard, 2 session.
            if reasons.get(1).and_then(|reason| reason.code()) == Some("ConditionalCheckFailed") {
                return Err(CreateUserFailure::Store(StoreError::EmailTaken));
            }
            if reasons.iter().any(|reason| reason.code() == Some("TransactionConflict")) {
                return Err(CreateUserFailure::Conflict);
            }
        }
        Err(CreateUserFailure::Store(classify(error)))
    }

    async fn claim_grace(&self, rotation: &Rotation, current_jti: &str) -> Result<bool, StoreError> {
        let claimed = self
            .client
            .update_item()
            .table_name(&self.tables.revocations)
            .key("pk", s(session_key(&rotation.session_id)))
            .update_expression("SET grace_used = :true")
            .condition_expression(
                "current_jti = :current AND previous_jti = :presented AND grace_used = :false AND revoked = :false",
            )
            .expression_attribute_values(":current", s(current_jti))
            .expression_attribute_values(":presented", s(&rotation.presented_jti))
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .send()
            .await;
        match claimed {
            Ok(_) => Ok(true),
            Err(error) if is_conditional_check_failure(&error) => Ok(false),
            Err(error) => Err(classify(error)),
        }
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

fn user_key(user_id: &str) -> String {
    format!("user#{user_id}")
}

fn email_key(email: &Email) -> String {
    format!("email#{}", email.as_str())
}

fn session_key(session_id: &str) -> String {
    format!("session#{session_id}")
}

fn access_token_key(jti: &str) -> String {
    format!("jti#{jti}")
}

fn login_key(email: &Email) -> String {
    format!("login#{}", email.as_str())
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn user_item(user: &User) -> Item {
    HashMap::from([
        ("pk".to_owned(), s(user_key(&user.id))),
        ("entity".to_owned(), s("user")),
        ("id".to_owned(), s(&user.id)),
        ("email".to_owned(), s(user.email.as_str())),
        ("password_hash".to_owned(), s(&user.password_hash)),
        ("role".to_owned(), s(user.role.as_str())),
        ("disabled".to_owned(), AttributeValue::Bool(user.disabled)),
        ("created_at".to_owned(), n(user.created_at)),
        ("sessions_valid_after_ms".to_owned(), n(user.sessions_valid_after_ms)),
    ])
}

fn session_item(session: &Session) -> Item {
    HashMap::from([
        ("pk".to_owned(), s(session_key(&session.id))),
        ("entity".to_owned(), s("session")),
        ("session_id".to_owned(), s(&session.id)),
        ("user_id".to_owned(), s(&session.user_id)),
        ("current_jti".to_owned(), s(&session.current_jti)),
        ("created_ms".to_owned(), n(session.created_ms)),
        ("expires_at".to_owned(), n(session.expires_at)),
        ("auth_time".to_owned(), n(session.auth_time)),
        ("revoked".to_owned(), AttributeValue::Bool(false)),
    ])
}

fn get_s<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    item.get(name)
        .and_then(|value| value.as_s().ok())
        .map(String::as_str)
        .ok_or_else(|| StoreError::Internal(format!("stored item lacks string attribute {name}")))
}

fn get_n(item: &Item, name: &str) -> Result<u64, StoreError> {
    item.get(name)
        .and_then(|value| value.as_n().ok())
        .and_then(|number| number.parse().ok())
        .ok_or_else(|| StoreError::Internal(format!("stored item lacks numeric attribute {name}")))
}

fn get_bool(item: &Item, name: &str) -> bool {
    item.get(name).and_then(|value| value.as_bool().ok()).copied().unwrap_or(false)
}

fn user_from_item(item: &Item) -> Result<User, StoreError> {
    let role = get_s(item, "role")?;
    Ok(User {
        id: get_s(item, "id")?.to_owned(),
        email: Email::from_stored(get_s(item, "email")?.to_owned()),
        password_hash: get_s(item, "password_hash")?.to_owned(),
        role: Role::parse(role).ok_or_else(|| StoreError::Internal(format!("unknown stored role {role:?}")))?,
        disabled: get_bool(item, "disabled"),
        created_at: get_n(item, "created_at")?,
        sessions_valid_after_ms: get_n(item, "sessions_valid_after_ms").unwrap_or(0),
    })
}

fn summary_from_item(item: &Item) -> Result<UserSummary, StoreError> {
    let role = get_s(item, "role")?;
    Ok(UserSummary {
        id: get_s(item, "id")?.to_owned(),
        email: get_s(item, "email")?.to_owned(),
        role: Role::parse(role).ok_or_else(|| StoreError::Internal(format!("unknown stored role {role:?}")))?,
        disabled: get_bool(item, "disabled"),
        created_at: get_n(item, "created_at")?,
    })
}

fn session_from_item(item: &Item) -> Result<(Session, bool), StoreError> {
    let session = Session {
        id: get_s(item, "session_id")?.to_owned(),
        user_id: get_s(item, "user_id")?.to_owned(),
        current_jti: get_s(item, "current_jti")?.to_owned(),
        created_ms: get_n(item, "created_ms")?,
        expires_at: get_n(item, "expires_at")?,
        auth_time: get_n(item, "auth_time")?,
        previous_jti: get_s(item, "previous_jti").ok().map(str::to_owned),
        rotated_ms: get_n(item, "rotated_ms").unwrap_or(0),
        grace_used: get_bool(item, "grace_used"),
    };
    Ok((session, get_bool(item, "revoked")))
}

/// Errors a retry later may cure (throttling, timeouts, an unreachable endpoint) become
/// `Unavailable`; the rest are this code's fault and become `Internal`.
fn classify<E, R>(error: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    const TRANSIENT: &[&str] = &[
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionConflictException",
    ];
    match &error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            // DisplayErrorContext, not Debug: a ResponseError's Debug output holds the raw body,
            // which may carry stored attributes (hashes, emails) into a log line.
            StoreError::Unavailable(DisplayErrorContext(&error).to_string())
        }
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("unknown");
            if TRANSIENT.contains(&code) {
                StoreError::Unavailable(code.to_owned())
            } else {
                StoreError::Internal(format!("{code}: {}", service.err().message().unwrap_or_default()))
            }
        }
        _ => StoreError::Internal(DisplayErrorContext(&error).to_string()),
    }
}

fn is_conditional_check_failure<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> bool {
    matches!(error, SdkError::ServiceError(service) if service.err().code() == Some("ConditionalCheckFailedException"))
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

#[async_trait]
impl Store for DynamoStore {
    async fn create_user(&self, user: &User, first_session: Option<&Session>) -> Result<(), StoreError> {
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

    async fn user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        let Some(guard) = self.get(&self.tables.users, email_key(email), true).await? else {
            // A known address costs two reads; so does an unknown one, so that a login's
            // timing says nothing about which addresses have accounts.
            self.get(&self.tables.users, user_key("absent"), true).await?;
            return Ok(None);
        };
        let user_id = get_s(&guard, "user_id")?.to_owned();
        self.user_by_id(&user_id).await
    }

    async fn user_by_id(&self, user_id: &str) -> Result<Option<User>, StoreError> {
        let item = self.get(&self.tables.users, user_key(user_id), true).await?;
        item.map(|item| user_from_item(&item)).transpose()
    }

    async fn set_password_hash(&self, user_id: &str, password_hash: &str) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.users)
            .key("pk", s(user_key(user_id)))
            .update_expression("SET password_hash = :hash")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":hash", s(password_hash))
            .send()
            .await;
        match result {
            Err(error) if !is_conditional_check_failure(&error) => Err(classify(error)),
            _ => Ok(()),
        }
    }

    async fn change_password(
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
        match result {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(service))
                if matches!(
                    service.err(),
                    TransactWriteItemsError::TransactionCanceledException(cancelled)
                        if cancelled.cancellation_reasons().iter().any(|reason| reason.code() == Some("ConditionalCheckFailed"))
                ) =>
            {
                Ok(false)
            }
            Err(error) => Err(classify(error)),
        }
    }

    async fn update_user(
        &self,
        user_id: &str,
        changes: &UserChanges,
        revoke_sessions_at: Option<UnixTime>,
    ) -> Result<Option<User>, StoreError> {
        let mut assignments = Vec::new();
        let mut request = self
            .client
            .update_item()
            .table_name(&self.tables.users)
            .key("pk", s(user_key(user_id)))
            .condition_expression("attribute_exists(pk)")
            .return_values(ReturnValue::AllNew);
        if let Some(role) = changes.role {
            assignments.push("#role = :role");
            request = request
                .expression_attribute_names("#role", "role")
                .expression_attribute_values(":role", s(role.as_str()));
        }
        if let Some(disabled) = changes.disabled {
            assignments.push("disabled = :disabled");
            request = request.expression_attribute_values(":disabled", AttributeValue::Bool(disabled));
        }
        if let Some(cutoff) = revoke_sessions_at {
            assignments.push("sessions_valid_after_ms = :cutoff");
            request = request.expression_attribute_values(":cutoff", n(cutoff.millis()));
        }
        if assignments.is_empty() {
            return self.user_by_id(user_id).await;
        }
        match request.update_expression(format!("SET {}", assignments.join(", "))).send().await {
            Ok(output) => output.attributes.map(|item| user_from_item(&item)).transpose(),
            Err(error) if is_conditional_check_failure(&error) => Ok(None),
            Err(error) => Err(classify(error)),
        }
    }

    async fn login_attempts(&self, email: &Email, now: UnixTime) -> Result<LoginAttempts, StoreError> {
        let Some(item) = self.get(&self.tables.revocations, login_key(email), true).await? else {
            return Ok(LoginAttempts::default());
        };
        if get_n(&item, "expires_at")? <= now.secs() {
            return Ok(LoginAttempts::default());
        }
        let locked_until_ms = get_n(&item, "locked_until_ms").unwrap_or(0);
        let locked_until = (locked_until_ms > now.millis()).then(|| UnixTime::from_millis(locked_until_ms));
        Ok(LoginAttempts { locked_until, has_failures: get_n(&item, "failures").unwrap_or(0) > 0 })
    }

    async fn record_login_failure(&self, email: &Email, now: UnixTime, window_secs: u64) -> Result<u32, StoreError> {
        let expires_at = now.secs() + window_secs;
        let counted = self
            .client
            .update_item()
            .table_name(&self.tables.revocations)
            .key("pk", s(login_key(email)))
            .update_expression("ADD failures :one SET expires_at = :expires_at")
            .condition_expression("attribute_not_exists(pk) OR expires_at > :now")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":expires_at", n(expires_at))
            .expression_attribute_values(":now", n(now.secs()))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        match counted {
            Ok(output) => output
                .attributes
                .as_ref()
                .map(|item| get_n(item, "failures"))
                .transpose()
                .map(|count| u32::try_from(count.unwrap_or(1)).unwrap_or(u32::MAX)),
            Err(error) if is_conditional_check_failure(&error) => {
                // The window lapsed (the item awaits TTL deletion): start a new one.
                self.client
                    .put_item()
                    .table_name(&self.tables.revocations)
                    .item("pk", s(login_key(email)))
                    .item("entity", s("login_failures"))
                    .item("failures", n(1))
                    .item("expires_at", n(expires_at))
                    .send()
                    .await
                    .map_err(classify)?;
                Ok(1)
            }
            Err(error) => Err(classify(error)),
        }
    }

    async fn lock_login(&self, email: &Email, until: UnixTime) -> Result<(), StoreError> {
        let lock = |extend_expiry: bool| {
            let request = self
                .client
                .update_item()
                .table_name(&self.tables.revocations)
                .key("pk", s(login_key(email)))
                .expression_attribute_values(":until", n(until.millis()));
            if extend_expiry {
                // The item must outlive the lock it carries.
                request
                    .update_expression("SET locked_until_ms = :until, expires_at = :expires_at")
                    .condition_expression("attribute_exists(pk) AND expires_at <= :expires_at")
                    .expression_attribute_values(":expires_at", n(until.secs() + 1))
            } else {
                request.update_expression("SET locked_until_ms = :until").condition_expression("attribute_exists(pk)")
            }
        };
        match lock(true).send().await {
            Ok(_) => Ok(()),
            Err(error) if is_conditional_check_failure(&error) => match lock(false).send().await {
                Err(error) if !is_conditional_check_failure(&error) => Err(classify(error)),
                _ => Ok(()),
            },
            Err(error) => Err(classify(error)),
        }
    }

    async fn clear_login_failures(&self, email: &Email) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.tables.revocations)
            .key("pk", s(login_key(email)))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn list_users(&self, limit: u32, after: Option<&str>) -> Result<UserPage, StoreError> {
        let start = after.map(|id| {
            HashMap::from([
                ("pk".to_owned(), s(user_key(id))),
                ("entity".to_owned(), s("user")),
                ("id".to_owned(), s(id)),
            ])
        });
        let output = self
            .client
            .query()
            .table_name(&self.tables.users)
            .index_name(schema::USERS_BY_CREATED_INDEX)
            .key_condition_expression("entity = :user")
            .expression_attribute_values(":user", s("user"))
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(classify)?;
        let users = output.items().iter().map(summary_from_item).collect::<Result<Vec<_>, _>>()?;
        let next_after = output.last_evaluated_key().and(users.last()).map(|user| user.id.clone());
        Ok(UserPage { users, next_after })
    }

    async fn revoke_user_sessions(&self, user_id: &str, cutoff: UnixTime) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.users)
            .key("pk", s(user_key(user_id)))
            .update_expression("SET sessions_valid_after_ms = :cutoff")
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(sessions_valid_after_ms) OR sessions_valid_after_ms < :cutoff)",
            )
            .expression_attribute_values(":cutoff", n(cutoff.millis()))
            .send()
            .await;
        match result {
            Err(error) if !is_conditional_check_failure(&error) => Err(classify(error)),
            _ => Ok(()),
        }
    }

    async fn create_session(&self, session: &Session) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.tables.revocations)
            .set_item(Some(session_item(session)))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn session(&self, session_id: &str) -> Result<Option<(Session, bool)>, StoreError> {
        let item = self.get(&self.tables.revocations, session_key(session_id), true).await?;
        item.map(|item| session_from_item(&item)).transpose()
    }

    async fn rotate_session(&self, rotation: &Rotation) -> Result<RotationOutcome, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.revocations)
            .key("pk", s(session_key(&rotation.session_id)))
            .update_expression(
                "SET current_jti = :next, previous_jti = :presented, rotated_ms = :now_ms, grace_used = :false, \
                 expires_at = :next_expires_at",
            )
            .condition_expression(
                "attribute_exists(pk) AND user_id = :user_id AND current_jti = :presented AND revoked = :false \
                 AND expires_at > :now_s AND created_ms > :cutoff",
            )
            .expression_attribute_values(":next", s(&rotation.next_jti))
            .expression_attribute_values(":presented", s(&rotation.presented_jti))
            .expression_attribute_values(":now_ms", n(rotation.now.millis()))
            .expression_attribute_values(":now_s", n(rotation.now.secs()))
            .expression_attribute_values(":next_expires_at", n(rotation.next_expires_at))
            .expression_attribute_values(":user_id", s(&rotation.user_id))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .expression_attribute_values(":cutoff", n(rotation.sessions_valid_after_ms))
            .send()
            .await;
        match result {
            Ok(_) => Ok(RotationOutcome::Rotated),
            Err(error) if is_conditional_check_failure(&error) => {
                // Off the success path: read why the condition failed.
                let stored = self.session(&rotation.session_id).await?;
                match judge_rotation(stored.as_ref().map(|(session, revoked)| (session, *revoked)), rotation) {
                    RotationOutcome::Grace { current_jti, expires_at } => {
                        // The grace presentation is granted once: claim it atomically.
                        if self.claim_grace(rotation, &current_jti).await? {
                            Ok(RotationOutcome::Grace { current_jti, expires_at })
                        } else {
                            Ok(RotationOutcome::Reused)
                        }
                    }
                    // The condition failed, so the token was not current an instant ago: never
                    // report success from a read that raced with another rotation.
                    RotationOutcome::Rotated => Ok(RotationOutcome::Reused),
                    outcome => Ok(outcome),
                }
            }
            Err(error) => Err(classify(error)),
        }
    }

    async fn revoke_session(&self, session_id: &str) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.revocations)
            .key("pk", s(session_key(session_id)))
            .update_expression("SET revoked = :true")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .send()
            .await;
        match result {
            Err(error) if !is_conditional_check_failure(&error) => Err(classify(error)),
            _ => Ok(()),
        }
    }

    async fn revoke_access_token(&self, jti: &str, expires_at: u64) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.tables.revocations)
            .item("pk", s(access_token_key(jti)))
            .item("entity", s("access_token"))
            .item("expires_at", n(expires_at))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn is_access_revoked(&self, token: &AccessTokenRef, now: UnixTime) -> Result<bool, StoreError> {
        let keys = |pks: Vec<String>| {
            KeysAndAttributes::builder()
                .set_keys(Some(pks.into_iter().map(|pk| HashMap::from([("pk".to_owned(), s(pk))])).collect()))
                .build()
                .map_err(|error| StoreError::Internal(error.to_string()))
        };
        let output = self
            .client
            .batch_get_item()
            .request_items(&self.tables.users, keys(vec![user_key(&token.user_id)])?)
            .request_items(
                &self.tables.revocations,
                keys(vec![access_token_key(&token.jti), session_key(&token.session_id)])?,
            )
            .send()
            .await
            .map_err(classify)?;
        if output.unprocessed_keys().is_some_and(|unprocessed| !unprocessed.is_empty()) {
            // Throttled part-way: no verdict rather than a wrong one.
            return Err(StoreError::Unavailable("batch read left keys unprocessed".into()));
        }
        let responses = output.responses();
        let items =
            |table: &str| responses.and_then(|responses| responses.get(table)).map(Vec::as_slice).unwrap_or(&[]);
        let user = items(&self.tables.users).first().map(user_from_item).transpose()?;
        let mut session = None;
        let mut revoked_jti_until = None;
        for item in items(&self.tables.revocations) {
            if get_s(item, "pk")? == access_token_key(&token.jti) {
                revoked_jti_until = Some(get_n(item, "expires_at")?);
            } else {
                session = Some(session_from_item(item)?);
            }
        }
        Ok(judge_access(
            token,
            user.as_ref(),
            session.as_ref().map(|(session, revoked)| (session, *revoked)),
            revoked_jti_until,
            now,
        ))
    }
}
