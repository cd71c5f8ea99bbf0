//! An account's deletion in DynamoDB: one transaction makes everything of it unreachable (the
//! user item, its email guard, its waiting MFA enrolment, its roles' holder counts); the live
//! sessions' items (a device's address and User-Agent) are deleted after it, and whatever is
//! left (ended sessions, unspent one-time tokens and second steps, which name a user that is
//! gone) expires under its TTL.

use aws_sdk_dynamodb::types::{Delete, DeleteRequest, TransactWriteItem, WriteRequest};

use super::DynamoStore;
use super::credentials::unchanged_since;
use super::errors::classify;
use super::items::{email_key, identity_key, mfa_enrolment_key, s, user_key};
use super::transactions::build_failed;
use crate::store::{AccountDeletion, RoleAssignment, StoreError, schema};

/// BatchWriteItem takes at most 25 requests.
const BATCH: usize = 25;

impl DynamoStore {
    pub(super) async fn delete_account(&self, deletion: &AccountDeletion) -> Result<bool, StoreError> {
        let (unchanged, (epoch, epoch_value)) = unchanged_since(deletion.credential_epoch);
        let mut user = Delete::builder()
            .table_name(&self.tables.users)
            .key("pk", s(user_key(&deletion.user_id)))
            .expression_attribute_values(epoch, epoch_value)
            .expression_attribute_names("#held", "roles");
        let held = match deletion.roles.is_empty() {
            true => "attribute_not_exists(#held)",
            false => {
                user = user.expression_attribute_values(
                    ":held",
                    aws_sdk_dynamodb::types::AttributeValue::Ss(deletion.roles.clone()),
                );
                "#held = :held"
            }
        };
        let user = user
            .condition_expression(format!("attribute_exists(pk) AND {unchanged} AND {held}"))
            .build()
            .map_err(build_failed)?;
        let guard = Delete::builder()
            .table_name(&self.tables.users)
            .key("pk", s(email_key(&deletion.email)))
            .condition_expression("user_id = :user_id")
            .expression_attribute_values(":user_id", s(&deletion.user_id))
            .build()
            .map_err(build_failed)?;
        let enrolment = Delete::builder()
            .table_name(&self.tables.revocations)
            .key("pk", s(mfa_enrolment_key(&deletion.user_id)))
            .build()
            .map_err(build_failed)?;
        let mut writes = vec![
            TransactWriteItem::builder().delete(user).build(),
            TransactWriteItem::builder().delete(guard).build(),
            TransactWriteItem::builder().delete(enrolment).build(),
        ];
        for identity in &deletion.identities {
            let guard = Delete::builder()
                .table_name(&self.tables.users)
                .key("pk", s(identity_key(&identity.provider, &identity.subject)))
                .condition_expression("user_id = :user_id")
                .expression_attribute_values(":user_id", s(&deletion.user_id))
                .build()
                .map_err(build_failed)?;
            writes.push(TransactWriteItem::builder().delete(guard).build());
        }
        let released = RoleAssignment { previous: deletion.roles.clone(), new: Vec::new() };
        writes.extend(self.holder_counts(&released)?);
        self.all_or_nothing(writes).await
    }

    /// Deletes the items of the account's live sessions (the ones `sessions_by_user` lists).
    pub(super) async fn delete_live_sessions(&self, user_id: &str) -> Result<usize, StoreError> {
        let mut deleted = 0;
        let mut start = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.tables.revocations)
                .index_name(schema::SESSIONS_BY_USER_INDEX)
                .key_condition_expression("live_user_id = :user_id")
                .expression_attribute_values(":user_id", s(user_id))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(classify)?;
            let keys: Vec<_> =
                output.items.unwrap_or_default().into_iter().filter_map(|item| item.get("pk").cloned()).collect();
            for chunk in keys.chunks(BATCH) {
                let mut requests: Vec<WriteRequest> = chunk
                    .iter()
                    .map(|pk| {
                        let delete = DeleteRequest::builder().key("pk", pk.clone()).build().map_err(build_failed)?;
                        Ok(WriteRequest::builder().delete_request(delete).build())
                    })
                    .collect::<Result<_, StoreError>>()?;
                // Unprocessed requests (throttling) go again, a few times.
                for _ in 0..4 {
                    if requests.is_empty() {
                        break;
                    }
                    let output = self
                        .client
                        .batch_write_item()
                        .request_items(&self.tables.revocations, requests)
                        .send()
                        .await
                        .map_err(classify)?;
                    requests = output
                        .unprocessed_items
                        .and_then(|mut items| items.remove(&self.tables.revocations))
                        .unwrap_or_default();
                }
                deleted += chunk.len();
            }
            match output.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return Ok(deleted),
            }
        }
    }
}
