//! Passkeys in DynamoDB: a ceremony taken with one conditional delete; the account's passkeys
//! changed in one conditional update of the user item (a credential event); a rename in another.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;

use super::DynamoStore;
use super::credentials::{CREDENTIAL_EVENT, one, unchanged_since};
use super::errors::unless_refused;
use super::items::{self, s, user_key};
use crate::domain::PasskeyId;
use crate::domain::passkeys::Ceremony;
use crate::store::{PasskeyChange, PasskeyStore, StoreError};
use crate::time::UnixTime;

#[async_trait]
impl PasskeyStore for DynamoStore {
    async fn put_ceremony(&self, ceremony: &Ceremony) -> Result<(), StoreError> {
        self.put_unique(items::ceremony(ceremony)?).await
    }

    async fn take_ceremony(&self, challenge_digest: &str, now: UnixTime) -> Result<Option<Ceremony>, StoreError> {
        let taken = self.take(items::ceremony_key(challenge_digest), now).await?;
        taken.map(|item| items::read_ceremony(challenge_digest, item)).transpose()
    }

    async fn change_passkeys(&self, change: &PasskeyChange) -> Result<bool, StoreError> {
        let (unchanged, (epoch, epoch_value)) = unchanged_since(change.credential_epoch);
        let (one, one_value) = one();
        // The whole map: the epoch condition makes "as read" hold, as every change is a
        // credential event, and the map may not exist yet. An empty map is removed.
        let update = if change.passkeys.is_empty() {
            format!("REMOVE passkeys ADD {CREDENTIAL_EVENT}")
        } else {
            format!("SET passkeys = :passkeys ADD {CREDENTIAL_EVENT}")
        };
        let mut request = self
            .client
            .update_item()
            .table_name(&self.tables.users)
            .key("pk", s(user_key(&change.user_id)))
            .update_expression(update)
            .condition_expression(format!("attribute_exists(pk) AND {unchanged}"))
            .expression_attribute_values(epoch, epoch_value)
            .expression_attribute_values(one, one_value);
        if !change.passkeys.is_empty() {
            request = request.expression_attribute_values(":passkeys", items::passkeys_value(&change.passkeys)?);
        }
        Ok(unless_refused(request.send().await)?.is_some())
    }

    async fn rename_passkey(&self, user_id: &str, passkey: &PasskeyId, name: &str) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.users)
            .key("pk", s(user_key(user_id)))
            .update_expression("SET passkeys.#id.#name = :name")
            .condition_expression("attribute_exists(passkeys.#id)")
            .expression_attribute_names("#id", passkey.as_str())
            .expression_attribute_names("#name", "name")
            .expression_attribute_values(":name", AttributeValue::S(name.to_owned()))
            .send()
            .await;
        Ok(unless_refused(result)?.is_some())
    }
}
