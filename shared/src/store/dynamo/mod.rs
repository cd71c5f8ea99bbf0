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

mod errors;
mod items;
mod revocation;
mod rotation;
#[cfg(test)]
mod tests;
mod transactions;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::{
    LoginAttempts, Rotation, RotationOutcome, SessionRenewal, Store, StoreError, UserChanges, UserPage, UserSummary,
    schema,
};
use crate::domain::{Email, Session, User};
use crate::time::UnixTime;
use errors::{classify, unless_refused};
use items::{
    EmailGuardItem, Item, LoginFailuresItem, SessionItem, UserItem, UserSummaryItem, email_key, login_key, n, s,
    session_key, user_key,
};

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
}

#[async_trait]
impl Store for DynamoStore {
    async fn create_user(&self, user: &User, first_session: Option<&Session>) -> Result<(), StoreError> {
        self.transact_create_user(user, first_session).await
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
        // The condition keeps an unknown id from creating a stray item; its refusal is no error.
        unless_refused(result)?;
        Ok(())
    }

    async fn change_password(
        &self,
        user_id: &str,
        password_hash: &str,
        cutoff: UnixTime,
        renewal: &SessionRenewal,
    ) -> Result<bool, StoreError> {
        self.transact_change_password(user_id, password_hash, cutoff, renewal).await
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
        let updated =
            unless_refused(request.update_expression(format!("SET {}", assignments.join(", "))).send().await)?;
        updated.and_then(|output| output.attributes).map(items::read::<UserItem, _>).transpose()
    }

    async fn login_attempts(&self, email: &Email, now: UnixTime) -> Result<LoginAttempts, StoreError> {
        let Some(item) = self.get(&self.tables.revocations, login_key(email), true).await? else {
            return Ok(LoginAttempts::default());
        };
        let record = items::read::<LoginFailuresItem, LoginFailuresItem>(item)?;
        if record.expires_at <= now.secs() {
            return Ok(LoginAttempts::default());
        }
        let locked_until_ms = record.locked_until_ms.unwrap_or(0);
        let locked_until = (locked_until_ms > now.millis()).then(|| UnixTime::from_millis(locked_until_ms));
        Ok(LoginAttempts { locked_until, has_failures: record.failures > 0 })
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
        if let Some(output) = unless_refused(counted)? {
            let counted = output.attributes.map(items::read::<LoginFailuresItem, LoginFailuresItem>).transpose()?;
            return Ok(counted.map_or(1, |record| u32::try_from(record.failures).unwrap_or(u32::MAX)));
        }
        // The window lapsed (the item awaits TTL deletion): start a new one.
        self.client
            .put_item()
            .table_name(&self.tables.revocations)
            .set_item(Some(items::first_login_failure(email, expires_at)?))
            .send()
            .await
            .map_err(classify)?;
        Ok(1)
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
        // Refused twice: no failure is on record, so there is nothing to lock.
        if unless_refused(lock(true).send().await)?.is_none() {
            unless_refused(lock(false).send().await)?;
        }
        Ok(())
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
        // Refused when a later cutoff already stands, which revokes these sessions too.
        unless_refused(result)?;
        Ok(())
    }

    async fn create_session(&self, session: &Session) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.tables.revocations)
            .set_item(Some(items::session(session)?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn session(&self, session_id: &str) -> Result<Option<(Session, bool)>, StoreError> {
        let item = self.get(&self.tables.revocations, session_key(session_id), true).await?;
        item.map(items::read::<SessionItem, _>).transpose()
    }

    async fn rotate_session(&self, rotation: &Rotation) -> Result<RotationOutcome, StoreError> {
        self.rotate(rotation).await
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
        // The condition keeps an unknown id from creating a stray item; revoking one is no error.
        unless_refused(result)?;
        Ok(())
    }

    async fn revoke_access_token(&self, jti: &str, expires_at: u64) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.tables.revocations)
            .set_item(Some(items::revoked_access_token(jti, expires_at)?))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
}
