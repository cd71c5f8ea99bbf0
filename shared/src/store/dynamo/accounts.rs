//! Accounts in DynamoDB: the user item (`user#<id>`) and the guard that keeps an address unique
//! (`email#<address>`), written together; the administrator's changes; the user list.

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, TransactWriteItem, Update};

use super::DynamoStore;
use super::credentials::{self, CREDENTIAL_EVENT, one};
use super::errors::{CONDITION_FAILED, TRANSACTION_CONFLICT, cancellation_reasons, classify, unless_refused};
use super::items::{self, EmailGuardItem, UserItem, UserSummaryItem, email_key, n, s, user_key};
use super::transactions::{build_failed, put};
use crate::domain::{Email, Session, User};
use crate::store::{
    AccountDeletion, AccountStore, PasswordChange, StoreError, UserChanges, UserPage, UserSummary, schema,
};
use crate::time::UnixTime;

#[async_trait]
impl AccountStore for DynamoStore {
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
        let guard = items::read::<EmailGuardItem, EmailGuardItem>(guard)?;
        self.user_by_id(&guard.user_id).await
    }

    async fn user_by_id(&self, user_id: &str) -> Result<Option<User>, StoreError> {
        let item = self.get(&self.tables.users, user_key(user_id), true).await?;
        item.map(items::read::<UserItem, _>).transpose()
    }

    async fn set_password_hash(&self, user_id: &str, current: &str, new: &str) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.users)
            .key("pk", s(user_key(user_id)))
            .update_expression("SET password_hash = :new")
            // Only over the hash the caller saw: never over one a concurrent change wrote (and
            // never creating a stray item for an unknown id).
            .condition_expression("password_hash = :current")
            .expression_attribute_values(":new", s(new))
            .expression_attribute_values(":current", s(current))
            .send()
            .await;
        Ok(unless_refused(result)?.is_some())
    }

    async fn change_password(&self, change: &PasswordChange) -> Result<bool, StoreError> {
        let renewal = &change.renewal;
        let (one, one_value) = one();
        let (unchanged, (epoch, epoch_value)) = credentials::unchanged_since(change.credential_epoch);
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
            .condition_expression(format!(
                "{unchanged} AND (attribute_not_exists(sessions_started) OR sessions_started = :started) \
                 AND (attribute_not_exists(sessions_valid_after_ms) OR sessions_valid_after_ms < :session_created)"
            ))
            .expression_attribute_values(":hash", s(&change.new_hash))
            .expression_attribute_values(":cutoff", n(renewal.cutoff.millis()))
            .expression_attribute_values(epoch, epoch_value)
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

    async fn update_user(
        &self,
        user_id: &str,
        changes: &UserChanges,
        revoke_sessions_at: Option<UnixTime>,
    ) -> Result<Option<User>, StoreError> {
        if let Some(assignment) = &changes.roles {
            return self.update_user_with_roles(user_id, changes, assignment, revoke_sessions_at).await;
        }
        let mut assignments = Vec::new();
        let mut request = self
            .client
            .update_item()
            .table_name(&self.tables.users)
            .key("pk", s(user_key(user_id)))
            .condition_expression("attribute_exists(pk)")
            .return_values(ReturnValue::AllNew);
        let sets = AdminSets::of(changes);
        assignments.extend(sets.actions);
        for (name, attribute) in sets.names {
            request = request.expression_attribute_names(name, attribute);
        }
        for (name, value) in sets.values {
            request = request.expression_attribute_values(name, value);
        }
        if let Some(cutoff) = revoke_sessions_at {
            return self.update_user_revoking(request, assignments, cutoff).await;
        }
        if assignments.is_empty() {
            return self.user_by_id(user_id).await;
        }
        let updated =
            unless_refused(request.update_expression(format!("SET {}", assignments.join(", "))).send().await)?;
        updated.and_then(|output| output.attributes).map(items::read::<UserItem, _>).transpose()
    }

    async fn delete_user(&self, deletion: &AccountDeletion) -> Result<bool, StoreError> {
        self.delete_account(deletion).await
    }

    async fn list_users(&self, limit: u32, after: Option<&str>) -> Result<UserPage, StoreError> {
        let start = after.map(items::user_index_key);
        let output = self
            .client
            .query()
            .table_name(&self.tables.users)
            .index_name(schema::USERS_BY_CREATED_INDEX)
            .key_condition_expression("entity = :user")
            .expression_attribute_values(":user", s(items::Entity::User.as_str()))
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(classify)?;
        let users: Vec<UserSummary> = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(items::read::<UserSummaryItem, _>)
            .collect::<Result<_, _>>()?;
        let next_after = output.last_evaluated_key.and(users.last()).map(|user| user.id.clone());
        Ok(UserPage { users, next_after })
    }
}

impl DynamoStore {
    async fn try_create_user(&self, user: &User, first_session: Option<&Session>) -> Result<(), CreateUserFailure> {
        let mut writes = vec![
            put(&self.tables.users, items::user(user)?)?,
            put(&self.tables.users, items::email_guard(&user.email, &user.id)?)?,
        ];
        if let Some(session) = first_session {
            writes.push(put(&self.tables.revocations, items::session(session)?)?);
        }
        let identities_from = writes.len();
        for identity in &user.identities {
            let guard = items::identity_guard(&identity.provider, &identity.subject, &user.id)?;
            writes.push(put(&self.tables.users, guard)?);
        }
        let error = match self.client.transact_write_items().set_transact_items(Some(writes)).send().await {
            Ok(_) => return Ok(()),
            Err(error) => error,
        };
        let reasons = error.as_service_error().map(cancellation_reasons).unwrap_or_default();
        // Reasons come in the order of the items: 0 user, 1 email guard, 2 session, then the
        // identities' guards. Only the email guard's condition means the email is taken; a user
        // or session id collision is a fault.
        if reasons.get(1).and_then(|reason| reason.code()) == Some(CONDITION_FAILED) {
            return Err(CreateUserFailure::Store(StoreError::EmailTaken));
        }
        // An identity's guard: another account has it (a sign-in that raced this one).
        let identity_taken = reasons.iter().skip(identities_from).any(|reason| reason.code() == Some(CONDITION_FAILED));
        if identity_taken {
            return Err(CreateUserFailure::Store(StoreError::Conflict));
        }
        if reasons.iter().any(|reason| reason.code() == Some(TRANSACTION_CONFLICT)) {
            return Err(CreateUserFailure::Conflict);
        }
        Err(CreateUserFailure::Store(classify(error)))
    }

    /// A credential event on the user item `request` names (conditioned on its existence),
    /// with `assignments`, revoking every session created up to `cutoff`. The cutoff only ever
    /// rises: when a later one stands, which revokes these sessions too, the rest is applied
    /// alone. The account as it is now, or `None` when there is no such user.
    pub(super) async fn update_user_revoking(
        &self,
        request: UpdateItemFluentBuilder,
        mut assignments: Vec<&str>,
        cutoff: UnixTime,
    ) -> Result<Option<User>, StoreError> {
        let (one, one_value) = credentials::one();
        let request = request.return_values(ReturnValue::AllNew).expression_attribute_values(one, one_value);
        let expression = |assignments: &[&str]| match assignments.is_empty() {
            true => format!("ADD {}", credentials::CREDENTIAL_EVENT),
            false => format!("SET {} ADD {}", assignments.join(", "), credentials::CREDENTIAL_EVENT),
        };
        let kept = request.clone();
        assignments.push("sessions_valid_after_ms = :cutoff");
        let raising = request
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(sessions_valid_after_ms) OR sessions_valid_after_ms < :cutoff)",
            )
            .expression_attribute_values(":cutoff", n(cutoff.millis()))
            .update_expression(expression(&assignments));
        let mut updated = unless_refused(raising.send().await)?;
        if updated.is_none() {
            assignments.pop();
            updated = unless_refused(kept.update_expression(expression(&assignments)).send().await)?;
        }
        updated.and_then(|output| output.attributes).map(items::read::<UserItem, _>).transpose()
    }
}

/// The `SET` actions of an administrator's change (role, disabled, claims), with the names and
/// values they use: the same in a single update and in a role assignment's transaction.
pub(super) struct AdminSets {
    pub(super) actions: Vec<&'static str>,
    pub(super) names: Vec<(&'static str, &'static str)>,
    pub(super) values: Vec<(&'static str, AttributeValue)>,
}

impl AdminSets {
    pub(super) fn of(changes: &UserChanges) -> Self {
        let mut sets = Self { actions: Vec::new(), names: Vec::new(), values: Vec::new() };
        if let Some(role) = changes.role {
            sets.actions.push("#role = :role");
            sets.names.push(("#role", "role"));
            sets.values.push((":role", s(role.as_str())));
        }
        if let Some(disabled) = changes.disabled {
            sets.actions.push("disabled = :disabled");
            sets.values.push((":disabled", AttributeValue::Bool(disabled)));
        }
        if let Some(claims) = &changes.claims {
            sets.actions.push("claims = :claims");
            sets.values.push((":claims", s(claims.to_json())));
        }
        sets
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
