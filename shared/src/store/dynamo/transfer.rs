//! Import as transactions of up to 100 items (a user item and its guards each, all conditioned
//! on absence); when some accounts are there, the cancellation reasons say which, and the rest
//! are written again without them. Export is a scan of the users table's `user` items.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{ReturnConsumedCapacity, TransactWriteItem};

use super::DynamoStore;
use super::errors::{CONDITION_FAILED, TRANSACTION_CONFLICT, cancellation_reasons, classify};
use super::items::{self, Entity, UserItem, s};
use super::transactions::put;
use crate::domain::User;
use crate::store::StoreError;
use crate::store::transfer::{ExportPage, Imported, TransferStore};

/// DynamoDB's bound on one transaction.
const MAX_TRANSACTION_ITEMS: usize = 100;
const EXPORT_PAGE: i32 = 500;

/// Which of an account's items a write is: the order of precedence when several conditions fail.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Part {
    EmailGuard,
    UserItem,
    IdentityGuard,
}

#[async_trait]
impl TransferStore for DynamoStore {
    async fn import_users(&self, users: &[User]) -> Result<(Vec<Imported>, Option<f64>), StoreError> {
        let mut outcomes: Vec<Option<Imported>> = vec![None; users.len()];
        let mut units = 0.0;
        let mut start = 0;
        while start < users.len() {
            // As many whole accounts as fit in one transaction.
            let mut end = start;
            let mut items = 0;
            while end < users.len() && items + 2 + users[end].identities.len() <= MAX_TRANSACTION_ITEMS {
                items += 2 + users[end].identities.len();
                end += 1;
            }
            if end == start {
                return Err(StoreError::Internal("an account with too many identities for one transaction".into()));
            }
            units += self.import_batch(&users[start..end], &mut outcomes[start..end]).await?;
            start = end;
        }
        Ok((outcomes.into_iter().map(|outcome| outcome.unwrap_or(Imported::Created)).collect(), Some(units)))
    }

    async fn export_users(&self, from: Option<String>) -> Result<ExportPage, StoreError> {
        let start = from.map(|pk| [("pk".to_owned(), s(pk))].into_iter().collect());
        let output = self
            .client
            .scan()
            .table_name(&self.tables.users)
            .filter_expression("entity = :user")
            .expression_attribute_values(":user", s(Entity::User.as_str()))
            .limit(EXPORT_PAGE)
            .set_exclusive_start_key(start)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(classify)?;
        let users =
            output.items.unwrap_or_default().into_iter().map(items::read::<UserItem, _>).collect::<Result<_, _>>()?;
        let next = output.last_evaluated_key.and_then(|key| key.get("pk").and_then(|pk| pk.as_s().ok()).cloned());
        let read_units = output.consumed_capacity.and_then(|consumed| consumed.capacity_units);
        Ok(ExportPage { users, next, read_units })
    }
}

impl DynamoStore {
    /// Writes `users` (fitting one transaction), leaving out those whose conditions fail until
    /// the rest commits. Fills `outcomes` for those left out; the write units consumed.
    async fn import_batch(&self, users: &[User], outcomes: &mut [Option<Imported>]) -> Result<f64, StoreError> {
        const CONFLICT_RETRIES: u32 = 5;
        let mut conflicts = 0;
        loop {
            let mut writes: Vec<TransactWriteItem> = Vec::new();
            let mut owners: Vec<(usize, Part)> = Vec::new();
            for (index, user) in users.iter().enumerate().filter(|(index, _)| outcomes[*index].is_none()) {
                writes.push(put(&self.tables.users, items::user(user)?)?);
                owners.push((index, Part::UserItem));
                writes.push(put(&self.tables.users, items::email_guard(&user.email, &user.id)?)?);
                owners.push((index, Part::EmailGuard));
                for identity in &user.identities {
                    let guard = items::identity_guard(&identity.provider, &identity.subject, &user.id)?;
                    writes.push(put(&self.tables.users, guard)?);
                    owners.push((index, Part::IdentityGuard));
                }
            }
            if writes.is_empty() {
                return Ok(0.0);
            }
            let sent = self
                .client
                .transact_write_items()
                .set_transact_items(Some(writes))
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await;
            let error = match sent {
                Ok(output) => {
                    let consumed = output.consumed_capacity.unwrap_or_default();
                    return Ok(consumed.iter().filter_map(|table| table.capacity_units).sum::<f64>());
                }
                Err(error) => error,
            };
            let reasons = error.as_service_error().map(cancellation_reasons).unwrap_or_default();
            let mut failed: Vec<(usize, Part)> = reasons
                .iter()
                .zip(&owners)
                .filter(|(reason, _)| reason.code() == Some(CONDITION_FAILED))
                .map(|(_, owner)| *owner)
                .collect();
            if failed.is_empty() {
                let conflicted = reasons.iter().any(|reason| reason.code() == Some(TRANSACTION_CONFLICT));
                if conflicted && conflicts < CONFLICT_RETRIES {
                    conflicts += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(50 * u64::from(conflicts))).await;
                    continue;
                }
                return Err(classify(error));
            }
            // A cancelled transaction still costs its writes' units; they are not reported.
            failed.sort();
            for (index, part) in failed {
                outcomes[index].get_or_insert(match part {
                    Part::EmailGuard => Imported::AlreadyPresent,
                    Part::UserItem => Imported::IdTaken,
                    Part::IdentityGuard => Imported::IdentityTaken,
                });
            }
        }
    }
}
