//! Sessions in DynamoDB (`session#<sid>` in the revocations table): started by a login's
//! transaction, ended by logouts, cut off account-wide by the user's cutoff. The session list: a keys-only query on `sessions_by_user` (partition `live_user_id`,
//! sort `created_ms`, newest first, starting after the account's cutoff), then one strongly
//! consistent batch read of those sessions, which drops any revoked or expired since the
//! eventually consistent index saw them.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::builders::UpdateBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, KeysAndAttributes, ReturnValue, TransactWriteItem, Update};

use super::DynamoStore;
use super::credentials::{CREDENTIAL_EVENT, unchanged_since};
use super::errors::{classify, unless_refused};
use super::items::{self, Item, SessionItem, mfa_challenge_key, n, s, session_key, user_key};
use super::mfa::{FactorSpend, factor_spend, passkey_spend};
use super::transactions::{build_failed, put};
use crate::domain::Session;
use crate::domain::mfa::CHALLENGE_ATTEMPTS;
use crate::store::{
    KeptSession, LoginProof, OwnedSession, Rotation, RotationOutcome, SessionCursor, SessionEnd, SessionListing,
    SessionPage, SessionRenewal, SessionStore, StoreError, is_live, schema,
};
use crate::time::UnixTime;

/// A page that the index answered with only dead sessions is followed a few times, so that a
/// user with many just-ended sessions still gets a full page; past that, the cursor continues.
const MAX_QUERIES_PER_PAGE: usize = 4;
/// BatchGetItem may hand back keys it did not process (throttling): retried this often.
const MAX_BATCH_ROUNDS: usize = 4;

/// The account's update in a sign-in's transaction, spending the proof's factor besides.
fn spending(account: UpdateBuilder, spend: FactorSpend, as_seen: &str) -> UpdateBuilder {
    let mut account = account
        .update_expression(format!("{} ADD sessions_started :one", spend.update))
        .condition_expression(format!("{as_seen} AND {}", spend.condition));
    for (name, value) in spend.names {
        account = account.expression_attribute_names(name, value);
    }
    for (name, value) in spend.values {
        account = account.expression_attribute_values(name, value);
    }
    account
}

#[async_trait]
impl SessionStore for DynamoStore {
    /// A sign-in's session, written in one transaction with its proof's conditions and spends
    /// on the account (counting it in `sessions_started`): the account enabled and in the
    /// credential epoch the proof saw — so a password change, a factor turned on, a disable or a
    /// sign-out everywhere since refuses it, without a condition of its own.
    async fn start_session(&self, session: &Session, proof: &LoginProof) -> Result<bool, StoreError> {
        let (unchanged, (epoch, epoch_value)) = unchanged_since(proof.credential_epoch());
        let as_seen = format!("(attribute_not_exists(disabled) OR disabled = :false) AND {unchanged}");
        let account = Update::builder()
            .table_name(&self.tables.users)
            .key("pk", s(user_key(&session.user_id)))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .expression_attribute_values(epoch, epoch_value);
        let mut writes = Vec::with_capacity(3);
        let account = match proof {
            LoginProof::Password { .. } | LoginProof::Federated { .. } => {
                account.update_expression("ADD sessions_started :one").condition_expression(as_seen)
            }
            LoginProof::SecondFactor { challenge_digest, sealed_key, spent, .. } => {
                let challenge = Delete::builder()
                    .table_name(&self.tables.revocations)
                    .key("pk", s(mfa_challenge_key(challenge_digest)))
                    .condition_expression("user_id = :user_id AND attempts <= :max")
                    .expression_attribute_values(":user_id", s(&session.user_id))
                    .expression_attribute_values(":max", n(u64::from(CHALLENGE_ATTEMPTS)))
                    .build()
                    .map_err(build_failed)?;
                writes.push(TransactWriteItem::builder().delete(challenge).build());
                spending(account, factor_spend(sealed_key, spent), &as_seen)
            }
            LoginProof::Passkey { used, .. } => spending(account, passkey_spend(used), &as_seen),
        };
        writes.push(TransactWriteItem::builder().update(account.build().map_err(build_failed)?).build());
        writes.push(put(&self.tables.revocations, items::session(session)?)?);
        self.all_or_nothing(writes).await
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

    /// "Sign out everywhere else": the account's cutoff raised to `kept.cutoff` and the kept
    /// session moved just after it, both conditioned on the state the caller read.
    async fn end_other_sessions(&self, kept: &KeptSession) -> Result<bool, StoreError> {
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

    async fn list_sessions(&self, listing: &SessionListing) -> Result<SessionPage, StoreError> {
        let limit = listing.limit as usize;
        let mut sessions = Vec::new();
        let mut after = listing.after.clone();
        for _ in 0..MAX_QUERIES_PER_PAGE {
            let wanted = limit - sessions.len();
            let (keys, next) = self.session_keys(listing, after.as_ref(), wanted).await?;
            let mut found = self.sessions_by_key(keys).await?;
            found.retain(|(session, revoked)| {
                is_live(session, *revoked, &listing.user_id, listing.sessions_valid_after_ms, listing.now)
            });
            found.sort_by_key(|(session, _)| std::cmp::Reverse((session.created_ms, session.id.clone())));
            sessions.extend(found.into_iter().map(|(session, _)| session));
            after = next;
            if after.is_none() || sessions.len() >= limit {
                break;
            }
        }
        Ok(SessionPage { sessions, next_after: after })
    }

    async fn forget_sessions(&self, user_id: &str) -> Result<usize, StoreError> {
        self.delete_live_sessions(user_id).await
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

impl DynamoStore {
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
        let amr = renewal.methods.amr().into_iter().map(AttributeValue::S).collect();
        update = update
            .update_expression(
                "SET current_jti = :next, created_ms = :renewed, expires_at = :expires_at, amr = :amr \
                 REMOVE previous_jti, rotated_ms, grace_used, mfa",
            )
            .expression_attribute_values(":amr", AttributeValue::L(amr));
        Ok(TransactWriteItem::builder().update(update.build().map_err(build_failed)?).build())
    }

    /// One page of the index: the sessions' table keys, and where the page ended if more follow.
    async fn session_keys(
        &self,
        listing: &SessionListing,
        after: Option<&SessionCursor>,
        limit: usize,
    ) -> Result<(Vec<Item>, Option<SessionCursor>), StoreError> {
        // A cursor at or below the cutoff (the cutoff rose since the page before, or the cursor
        // was made up) has nothing after it; DynamoDB would refuse it as a start key.
        if after.is_some_and(|cursor| cursor.created_ms <= listing.sessions_valid_after_ms) {
            return Ok((Vec::new(), None));
        }
        let start = after.map(|cursor| {
            HashMap::from([
                ("pk".to_owned(), s(session_key(&cursor.session_id))),
                ("live_user_id".to_owned(), s(&listing.user_id)),
                ("created_ms".to_owned(), n(cursor.created_ms)),
            ])
        });
        let output = self
            .client
            .query()
            .table_name(&self.tables.revocations)
            .index_name(schema::SESSIONS_BY_USER_INDEX)
            .key_condition_expression("live_user_id = :user_id AND created_ms > :cutoff")
            .expression_attribute_values(":user_id", s(&listing.user_id))
            .expression_attribute_values(":cutoff", n(listing.sessions_valid_after_ms))
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(classify)?;
        let next = output.last_evaluated_key.as_ref().map(cursor_of).transpose()?;
        let keys = output
            .items
            .unwrap_or_default()
            .into_iter()
            .filter_map(|item| item.get("pk").cloned().map(|pk| HashMap::from([("pk".to_owned(), pk)])))
            .collect();
        Ok((keys, next))
    }

    async fn sessions_by_key(&self, keys: Vec<Item>) -> Result<Vec<(Session, bool)>, StoreError> {
        let mut found = Vec::new();
        let mut pending = keys;
        for _ in 0..MAX_BATCH_ROUNDS {
            if pending.is_empty() {
                return Ok(found);
            }
            let request = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(true)
                .build()
                .map_err(|error| StoreError::Internal(error.to_string()))?;
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.tables.revocations, request)
                .send()
                .await
                .map_err(classify)?;
            let mut responses = output.responses.unwrap_or_default();
            for item in responses.remove(&self.tables.revocations).unwrap_or_default() {
                found.push(items::read::<SessionItem, _>(item)?);
            }
            pending = output
                .unprocessed_keys
                .and_then(|mut unprocessed| unprocessed.remove(&self.tables.revocations))
                .map(|left| left.keys)
                .unwrap_or_default();
        }
        if pending.is_empty() {
            Ok(found)
        } else {
            Err(StoreError::Unavailable("DynamoDB left session reads unprocessed".into()))
        }
    }
}

fn cursor_of(key: &Item) -> Result<SessionCursor, StoreError> {
    let unreadable = || StoreError::Internal("the session index returned an unreadable page key".into());
    let session_id = items::pk(key).and_then(|pk| pk.strip_prefix("session#")).ok_or_else(unreadable)?.to_owned();
    let created_ms = key
        .get("created_ms")
        .and_then(|value| value.as_n().ok())
        .and_then(|raw| raw.parse().ok())
        .ok_or_else(unreadable)?;
    Ok(SessionCursor { created_ms, session_id })
}
