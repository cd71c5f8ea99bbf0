//! Federation in DynamoDB: upstream logins and login codes taken with one conditional delete
//! each; identities linked and unlinked in one transaction with their guard.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Delete, Put, ReturnValue, TransactWriteItem, Update};

use super::DynamoStore;
use super::credentials::{CREDENTIAL_EVENT, one, unchanged_since};
use super::errors::{CONDITION_FAILED, cancellation_reasons, classify, unless_refused};
use super::items::{self, IdentityGuardItem, Item, n, s, user_key};
use super::transactions::build_failed;
use crate::domain::User;
use crate::domain::federation::{LoginCode, UpstreamLogin};
use crate::store::{AccountStore, FederationStore, IdentityLink, Linked, StoreError};
use crate::time::UnixTime;

impl DynamoStore {
    /// Deletes the item at `pk` and returns it, when it exists and its TTL has not passed.
    pub(super) async fn take(&self, pk: String, now: UnixTime) -> Result<Option<Item>, StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.tables.revocations)
            .key("pk", s(pk))
            .condition_expression("attribute_exists(pk) AND expires_at > :now")
            .expression_attribute_values(":now", n(now.secs()))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        Ok(unless_refused(result)?.and_then(|output| output.attributes))
    }

    pub(super) async fn put_unique(&self, item: Item) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.tables.revocations)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
}

#[async_trait]
impl FederationStore for DynamoStore {
    async fn put_upstream_login(&self, login: &UpstreamLogin) -> Result<(), StoreError> {
        self.put_unique(items::upstream_login(login)?).await
    }

    async fn take_upstream_login(
        &self,
        state_digest: &str,
        now: UnixTime,
    ) -> Result<Option<UpstreamLogin>, StoreError> {
        let taken = self.take(items::upstream_login_key(state_digest), now).await?;
        taken.map(|item| items::read_upstream_login(state_digest, item)).transpose()
    }

    async fn put_login_code(&self, code: &LoginCode) -> Result<(), StoreError> {
        self.put_unique(items::login_code(code)?).await
    }

    async fn take_login_code(&self, digest: &str, now: UnixTime) -> Result<Option<LoginCode>, StoreError> {
        let taken = self.take(items::login_code_key(digest), now).await?;
        taken.map(|item| items::read_login_code(digest, item)).transpose()
    }

    async fn user_by_identity(&self, provider: &str, subject: &str) -> Result<Option<User>, StoreError> {
        let Some(guard) = self.get(&self.tables.users, items::identity_key(provider, subject), true).await? else {
            return Ok(None);
        };
        let guard = items::read::<IdentityGuardItem, IdentityGuardItem>(guard)?;
        self.user_by_id(&guard.user_id).await
    }

    async fn link_identity(&self, link: &IdentityLink) -> Result<Linked, StoreError> {
        let identity = &link.identity;
        let guard = Put::builder()
            .table_name(&self.tables.users)
            .set_item(Some(items::identity_guard(&identity.provider, &identity.subject, &link.user_id)?))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(build_failed)?;
        let (unchanged, (epoch, epoch_value)) = unchanged_since(link.credential_epoch);
        let (one, one_value) = one();
        // The whole map as read plus the new identity: the epoch condition makes "as read" hold
        // (every link and unlink is a credential event), and the map may not exist yet.
        let mut identities = link.existing.clone();
        identities.push(identity.clone());
        let account = Update::builder()
            .table_name(&self.tables.users)
            .key("pk", s(user_key(&link.user_id)))
            .update_expression(format!("SET identities = :identities ADD {CREDENTIAL_EVENT}"))
            .condition_expression(format!(
                "attribute_exists(pk) AND {unchanged} AND attribute_not_exists(identities.#provider)"
            ))
            .expression_attribute_names("#provider", &identity.provider)
            .expression_attribute_values(":identities", items::identities_value(&identities)?)
            .expression_attribute_values(epoch, epoch_value)
            .expression_attribute_values(one, one_value)
            .build()
            .map_err(build_failed)?;
        let writes =
            vec![TransactWriteItem::builder().put(guard).build(), TransactWriteItem::builder().update(account).build()];
        let error = match self.client.transact_write_items().set_transact_items(Some(writes)).send().await {
            Ok(_) => return Ok(Linked::Done),
            Err(error) => error,
        };
        let reasons = error.as_service_error().map(cancellation_reasons).unwrap_or_default();
        let failed = |index: usize| reasons.get(index).and_then(|reason| reason.code()) == Some(CONDITION_FAILED);
        if failed(0) {
            return Ok(Linked::IdentityTaken);
        }
        if failed(1) {
            return Ok(Linked::Stale);
        }
        Err(classify(error))
    }

    async fn unlink_identity(&self, link: &IdentityLink) -> Result<bool, StoreError> {
        let identity = &link.identity;
        let guard = Delete::builder()
            .table_name(&self.tables.users)
            .key("pk", s(items::identity_key(&identity.provider, &identity.subject)))
            .condition_expression("user_id = :user_id")
            .expression_attribute_values(":user_id", s(&link.user_id))
            .build()
            .map_err(build_failed)?;
        let (unchanged, (epoch, epoch_value)) = unchanged_since(link.credential_epoch);
        let (one, one_value) = one();
        let account = Update::builder()
            .table_name(&self.tables.users)
            .key("pk", s(user_key(&link.user_id)))
            .update_expression(format!("REMOVE identities.#provider ADD {CREDENTIAL_EVENT}"))
            .condition_expression(format!(
                "attribute_exists(pk) AND {unchanged} AND identities.#provider.subject = :subject"
            ))
            .expression_attribute_names("#provider", &identity.provider)
            .expression_attribute_values(":subject", s(&identity.subject))
            .expression_attribute_values(epoch, epoch_value)
            .expression_attribute_values(one, one_value)
            .build()
            .map_err(build_failed)?;
        let writes = vec![
            TransactWriteItem::builder().delete(guard).build(),
            TransactWriteItem::builder().update(account).build(),
        ];
        self.all_or_nothing(writes).await
    }
}
