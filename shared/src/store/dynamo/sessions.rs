//! A user's session list: a keys-only query on `sessions_by_user` (partition `live_user_id`,
//! sort `created_ms`, newest first, starting after the account's cutoff), then one strongly
//! consistent batch read of those sessions, which drops any revoked or expired since the
//! eventually consistent index saw them.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::KeysAndAttributes;

use super::DynamoStore;
use super::errors::classify;
use super::items::{self, Item, SessionItem, n, s, session_key};
use crate::domain::Session;
use crate::store::{SessionCursor, SessionListing, SessionPage, StoreError, is_live, schema};

/// A page that the index answered with only dead sessions is followed a few times, so that a
/// user with many just-ended sessions still gets a full page; past that, the cursor continues.
const MAX_QUERIES_PER_PAGE: usize = 4;
/// BatchGetItem may hand back keys it did not process (throttling): retried this often.
const MAX_BATCH_ROUNDS: usize = 4;

impl DynamoStore {
    pub(super) async fn query_sessions(&self, listing: &SessionListing) -> Result<SessionPage, StoreError> {
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
