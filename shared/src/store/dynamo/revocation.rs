//! The authorizer's strict revocation check: the account, the session and the token's own
//! revocation entry in one batch read.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::KeysAndAttributes;

use super::DynamoStore;
use super::errors::classify;
use super::items::{self, AccessTokenItem, SessionItem, UserItem, access_token_key, s, session_key, user_key};
use crate::domain::{Session, User};
use crate::store::{AccessTokenRef, RevocationCheck, StoreError, judge_access};
use crate::time::UnixTime;

#[async_trait]
impl RevocationCheck for DynamoStore {
    async fn is_access_revoked(&self, token: &AccessTokenRef, now: UnixTime) -> Result<bool, StoreError> {
        let keys = |pks: Vec<String>| {
            KeysAndAttributes::builder()
                .set_keys(Some(pks.into_iter().map(|pk| HashMap::from([("pk".to_owned(), s(pk))])).collect()))
                // A logout or disable must stop its tokens at once, not when a replica catches up.
                .consistent_read(true)
                .build()
                .map_err(|error| StoreError::Internal(error.to_string()))
        };
        let jti_key = access_token_key(&token.jti);
        let output = self
            .client
            .batch_get_item()
            .request_items(&self.tables.users, keys(vec![user_key(&token.user_id)])?)
            .request_items(&self.tables.revocations, keys(vec![jti_key.clone(), session_key(&token.session_id)])?)
            .send()
            .await
            .map_err(classify)?;
        if output.unprocessed_keys.as_ref().is_some_and(|unprocessed| !unprocessed.is_empty()) {
            // Throttled part-way: no verdict rather than a wrong one.
            return Err(StoreError::Unavailable("batch read left keys unprocessed".into()));
        }
        let mut responses = output.responses.unwrap_or_default();
        let mut items = |table: &str| responses.remove(table).unwrap_or_default();
        let user: Option<User> =
            items(&self.tables.users).into_iter().next().map(items::read::<UserItem, _>).transpose()?;
        let mut session: Option<(Session, bool)> = None;
        let mut revoked_jti_until = None;
        for item in items(&self.tables.revocations) {
            if items::pk(&item) == Some(jti_key.as_str()) {
                revoked_jti_until = Some(items::read::<AccessTokenItem, AccessTokenItem>(item)?.expires_at);
            } else {
                session = Some(items::read::<SessionItem, _>(item)?);
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
