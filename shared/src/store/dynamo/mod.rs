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

mod accounts;
mod credentials;
mod deletion;
mod errors;
mod federation;
mod items;
mod mfa;
mod one_time;
mod passkeys;
mod revocation;
mod roles;
mod rotation;
mod sessions;
#[cfg(test)]
mod tests;
mod throttle;
mod transactions;
mod transfer;

use aws_sdk_dynamodb::Client;

use super::StoreError;
use errors::classify;
use items::{Item, s};

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
