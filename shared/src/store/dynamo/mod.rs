//! DynamoDB implementation of [`Store`].
//!
//! Users table (`pk`):
//! - `user#<id>`: the account (`entity = "user"`, so the `users_by_created` index lists users).
//! - `email#<normalised email>`: the guard that makes an email unique, holding `user_id`.
//!
//! Revocations table (`pk`, TTL on `expires_at`):
//! - `session#<sid>`: a refresh-token family; `current_jti` is the one unspent token. While
//!   live it carries `live_user_id`, which puts it in the `sessions_by_user` index.
//! - `jti#<jti>`: an access token revoked before its expiry.
//! - `throttle#<bucket>`: a login-throttle bucket's attempts in its window, and its lock.
//! - `otk#<sha256 hex>`: a one-time token of the email flows (purpose, user, address, issue time).
//! - `mfa_enrolment#<user id>`, `mfa_challenge#<sha256 hex>`: MFA's waiting records (`mfa.rs`).

mod credentials;
mod errors;
mod items;
mod mfa;
mod one_time;
mod revocation;
mod rotation;
mod sessions;
#[cfg(test)]
mod tests;
mod throttle;
mod transactions;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::{
    ChallengeDraw, Draw, DrawOutcome, KeptSession, MfaActivation, MfaCompletion, MfaRemoval, OwnedSession,
    PasswordChange, Redeemed, Redemption, Rotation, RotationOutcome, SessionEnd, SessionListing, SessionPage, Store,
    StoreError, UserChanges, UserPage, UserSummary, schema,
};
use crate::domain::mfa::{MfaChallenge, PendingEnrolment};
use crate::domain::{Bucket, Email, OneTimeToken, Session, User};
use crate::time::UnixTime;
use errors::{classify, unless_refused};
use items::{EmailGuardItem, Item, SessionItem, UserItem, UserSummaryItem, email_key, n, s, session_key, user_key};

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

    /// A credential event on the user item `request` names (conditioned on its existence),
    /// with `assignments`, revoking every session created up to `cutoff`. The cutoff only ever
    /// rises: when a later one stands, which revokes these sessions too, the rest is applied
    /// alone. The account as it is now, or `None` when there is no such user.
    async fn update_user_revoking(
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
        self.transact_change_password(change).await
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
        if let Some(claims) = &changes.claims {
            assignments.push("claims = :claims");
            request = request.expression_attribute_values(":claims", s(claims.to_json()));
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

    async fn draw_attempt(&self, bucket: &Bucket, now: UnixTime) -> Result<DrawOutcome, StoreError> {
        self.draw(bucket, now).await
    }

    async fn attempt_failed(
        &self,
        bucket: &Bucket,
        draw: &Draw,
        lock_until: Option<UnixTime>,
        _now: UnixTime,
    ) -> Result<(), StoreError> {
        self.lock_after(bucket, draw, lock_until).await
    }

    async fn attempt_returned(&self, bucket: &Bucket, draw: &Draw, forget: bool) -> Result<(), StoreError> {
        self.give_back(bucket, draw, forget).await
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
        let request = self
            .client
            .update_item()
            .table_name(&self.tables.users)
            .key("pk", s(user_key(user_id)))
            .condition_expression("attribute_exists(pk)");
        self.update_user_revoking(request, Vec::new(), cutoff).await?;
        Ok(())
    }

    async fn create_session(&self, session: &Session, verified_hash: &str) -> Result<bool, StoreError> {
        self.transact_create_session(session, verified_hash).await
    }

    async fn list_sessions(&self, listing: &SessionListing) -> Result<SessionPage, StoreError> {
        self.query_sessions(listing).await
    }

    async fn revoke_owned_session(&self, owned: &OwnedSession) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.revocations)
            .key("pk", s(session_key(&owned.session_id)))
            .update_expression("SET revoked = :true REMOVE live_user_id")
            // As the list shows it: the caller's, live, not cut off. Anything else is absent.
            .condition_expression(
                "user_id = :user_id AND revoked = :false AND expires_at > :now AND created_ms > :cutoff",
            )
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .expression_attribute_values(":user_id", s(&owned.user_id))
            .expression_attribute_values(":now", n(owned.now.secs()))
            .expression_attribute_values(":cutoff", n(owned.sessions_valid_after_ms))
            .send()
            .await;
        Ok(unless_refused(result)?.is_some())
    }

    async fn end_other_sessions(&self, kept: &KeptSession) -> Result<bool, StoreError> {
        self.transact_end_other_sessions(kept).await
    }

    async fn session(&self, session_id: &str) -> Result<Option<(Session, bool)>, StoreError> {
        let item = self.get(&self.tables.revocations, session_key(session_id), true).await?;
        item.map(items::read::<SessionItem, _>).transpose()
    }

    async fn rotate_session(&self, rotation: &Rotation) -> Result<RotationOutcome, StoreError> {
        self.rotate(rotation).await
    }

    async fn end_session(&self, session_id: &str, jti: &str) -> Result<SessionEnd, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.revocations)
            .key("pk", s(session_key(session_id)))
            .update_expression("SET revoked = :true REMOVE live_user_id")
            .condition_expression("current_jti = :jti")
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":jti", s(jti))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        if let Some(output) = unless_refused(result)? {
            let (session, was_revoked) = output
                .attributes
                .map(items::read::<SessionItem, _>)
                .transpose()?
                .ok_or_else(|| StoreError::Internal("an ended session came back without its attributes".into()))?;
            return Ok(if was_revoked {
                SessionEnd::AlreadyEnded
            } else {
                SessionEnd::Ended { created_ms: session.created_ms }
            });
        }
        // Refused: no such session, or the token is not its current one (a replay).
        if self.session(session_id).await?.is_none() {
            return Ok(SessionEnd::Unknown);
        }
        self.revoke_session(session_id).await?;
        Ok(SessionEnd::Spent)
    }

    async fn revoke_session(&self, session_id: &str) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.revocations)
            .key("pk", s(session_key(session_id)))
            .update_expression("SET revoked = :true REMOVE live_user_id")
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

    async fn issue_one_time_token(&self, token: &OneTimeToken) -> Result<bool, StoreError> {
        self.put_one_time_token(token).await
    }

    async fn one_time_token(&self, digest: &str) -> Result<Option<OneTimeToken>, StoreError> {
        self.read_one_time_token(digest).await
    }

    async fn redeem(&self, redemption: &Redemption) -> Result<Redeemed, StoreError> {
        self.transact_redeem(redemption).await
    }

    async fn put_mfa_enrolment(&self, enrolment: &PendingEnrolment) -> Result<(), StoreError> {
        self.put_enrolment(enrolment).await
    }

    async fn mfa_enrolment(&self, user_id: &str) -> Result<Option<PendingEnrolment>, StoreError> {
        self.read_enrolment(user_id).await
    }

    async fn enable_mfa(&self, activation: &MfaActivation) -> Result<bool, StoreError> {
        self.transact_enable_mfa(activation).await
    }

    async fn put_mfa_challenge(&self, challenge: &MfaChallenge) -> Result<(), StoreError> {
        self.put_challenge(challenge).await
    }

    async fn draw_mfa_challenge(&self, digest: &str, now: UnixTime) -> Result<ChallengeDraw, StoreError> {
        self.draw_challenge(digest, now.secs()).await
    }

    async fn complete_mfa(&self, completion: &MfaCompletion) -> Result<bool, StoreError> {
        self.transact_complete_mfa(completion).await
    }

    async fn remove_mfa(&self, removal: &MfaRemoval) -> Result<Option<User>, StoreError> {
        self.update_remove_mfa(removal).await
    }
}
