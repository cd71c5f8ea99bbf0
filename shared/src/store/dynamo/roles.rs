//! Roles in DynamoDB: the catalog item in the users table, and assignments written with their
//! holder counts in one transaction with the account's change.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};

use super::DynamoStore;
use super::accounts::AdminSets;
use super::credentials::{CREDENTIAL_EVENT, one};
use super::errors::{classify, unless_refused};
use super::items::{self, ROLE_CATALOG_KEY, RoleCatalogItem, n, s, user_key};
use super::transactions::build_failed;
use crate::domain::{RoleCatalog, RoleDefinition, User};
use crate::store::{AccountStore, RoleAssignment, RoleStore, StoreError, UserChanges};
use crate::time::UnixTime;

#[async_trait]
impl RoleStore for DynamoStore {
    async fn role_catalog(&self) -> Result<RoleCatalog, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.tables.users)
            .key("pk", s(ROLE_CATALOG_KEY))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        output.item.map(items::read::<RoleCatalogItem, _>).transpose().map(Option::unwrap_or_default)
    }

    async fn define_role(&self, revision: u64, role: &RoleDefinition) -> Result<bool, StoreError> {
        if revision == 0 {
            let first = self
                .client
                .put_item()
                .table_name(&self.tables.users)
                .set_item(Some(items::role_catalog(role)?))
                .condition_expression("attribute_not_exists(pk)")
                .send()
                .await;
            return Ok(unless_refused(first)?.is_some());
        }
        // The holder count as read: an assignment since then refuses this write (read again).
        let update = self
            .client
            .update_item()
            .table_name(&self.tables.users)
            .key("pk", s(ROLE_CATALOG_KEY))
            .update_expression("SET #roles.#id = :role, revision = :next")
            .condition_expression(
                "revision = :revision AND (attribute_not_exists(#roles.#id) OR #roles.#id.assigned = :assigned)",
            )
            .expression_attribute_names("#roles", "roles")
            .expression_attribute_names("#id", &role.id)
            .expression_attribute_values(":role", items::role_entry(role)?)
            .expression_attribute_values(":revision", n(revision))
            .expression_attribute_values(":next", n(revision + 1))
            .expression_attribute_values(":assigned", n(role.assigned))
            .send()
            .await;
        Ok(unless_refused(update)?.is_some())
    }

    async fn delete_role(&self, revision: u64, role_id: &str) -> Result<bool, StoreError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.tables.users)
            .key("pk", s(ROLE_CATALOG_KEY))
            .update_expression("REMOVE #roles.#id SET revision = :next")
            .condition_expression("revision = :revision AND #roles.#id.assigned = :zero")
            .expression_attribute_names("#roles", "roles")
            .expression_attribute_names("#id", role_id)
            .expression_attribute_values(":revision", n(revision))
            .expression_attribute_values(":next", n(revision + 1))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        Ok(unless_refused(update)?.is_some())
    }
}

impl DynamoStore {
    /// An administrator's change that replaces the account's roles: the account's item and the
    /// catalog's holder counts in one transaction, on the condition that the account holds the
    /// roles the caller read and that each role gained is still defined.
    pub(super) async fn update_user_with_roles(
        &self,
        user_id: &str,
        changes: &UserChanges,
        assignment: &RoleAssignment,
        revoke_sessions_at: Option<UnixTime>,
    ) -> Result<Option<User>, StoreError> {
        let mut raise_cutoff = revoke_sessions_at;
        loop {
            let mut writes =
                vec![self.account_write(user_id, changes, assignment, revoke_sessions_at, raise_cutoff)?];
            writes.extend(self.holder_counts(assignment)?);
            if self.all_or_nothing(writes).await? {
                return self.user_by_id(user_id).await;
            }
            // Refused: no such account, roles changed or a role deleted since the read, or a
            // cutoff already past this one (then the write goes again without raising it).
            let Some(user) = self.user_by_id(user_id).await? else { return Ok(None) };
            let cutoff_passed = raise_cutoff.is_some_and(|cutoff| user.sessions_valid_after_ms >= cutoff.millis());
            if !cutoff_passed {
                return Err(StoreError::Conflict);
            }
            raise_cutoff = None;
        }
    }

    fn account_write(
        &self,
        user_id: &str,
        changes: &UserChanges,
        assignment: &RoleAssignment,
        revoke_sessions_at: Option<UnixTime>,
        raise_cutoff: Option<UnixTime>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut update = Update::builder().table_name(&self.tables.users).key("pk", s(user_key(user_id)));
        let sets = AdminSets::of(changes);
        let (mut set, mut remove, mut conditions) = (sets.actions, Vec::new(), vec!["attribute_exists(pk)"]);
        for (name, attribute) in sets.names {
            update = update.expression_attribute_names(name, attribute);
        }
        for (name, value) in sets.values {
            update = update.expression_attribute_values(name, value);
        }
        match assignment.new.is_empty() {
            true => remove.push("#held"),
            false => {
                set.push("#held = :held");
                update = update.expression_attribute_values(":held", AttributeValue::Ss(assignment.new.clone()));
            }
        }
        match assignment.previous.is_empty() {
            true => conditions.push("attribute_not_exists(#held)"),
            false => {
                conditions.push("#held = :previous");
                update =
                    update.expression_attribute_values(":previous", AttributeValue::Ss(assignment.previous.clone()));
            }
        }
        update = update.expression_attribute_names("#held", "roles");
        if let Some(cutoff) = raise_cutoff {
            set.push("sessions_valid_after_ms = :cutoff");
            conditions.push("(attribute_not_exists(sessions_valid_after_ms) OR sessions_valid_after_ms < :cutoff)");
            update = update.expression_attribute_values(":cutoff", n(cutoff.millis()));
        }
        let mut expression = String::new();
        if !set.is_empty() {
            expression.push_str(&format!("SET {} ", set.join(", ")));
        }
        if !remove.is_empty() {
            expression.push_str(&format!("REMOVE {} ", remove.join(", ")));
        }
        if revoke_sessions_at.is_some() {
            let (name, value) = one();
            expression.push_str(&format!("ADD {CREDENTIAL_EVENT}"));
            update = update.expression_attribute_values(name, value);
        }
        let update = update
            .update_expression(expression.trim_end())
            .condition_expression(conditions.join(" AND "))
            .build()
            .map_err(build_failed)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// The catalog's holder counts for an assignment: one more for each role gained (which must
    /// still be defined), one fewer for each role lost.
    pub(super) fn holder_counts(&self, assignment: &RoleAssignment) -> Result<Option<TransactWriteItem>, StoreError> {
        let (gained, lost) = assignment.delta();
        if gained.is_empty() && lost.is_empty() {
            return Ok(None);
        }
        let mut update = Update::builder()
            .table_name(&self.tables.users)
            .key("pk", s(ROLE_CATALOG_KEY))
            .expression_attribute_names("#roles", "roles")
            .expression_attribute_values(":one", n(1));
        let (mut set, mut conditions) = (Vec::new(), vec!["attribute_exists(pk)".to_owned()]);
        for (index, id) in gained.iter().enumerate() {
            let name = format!("#g{index}");
            set.push(format!("#roles.{name}.assigned = #roles.{name}.assigned + :one"));
            conditions.push(format!("attribute_exists(#roles.{name})"));
            update = update.expression_attribute_names(name, *id);
        }
        for (index, id) in lost.iter().enumerate() {
            let name = format!("#l{index}");
            // A role lost is still defined: a role is deleted only while nobody holds it.
            set.push(format!("#roles.{name}.assigned = #roles.{name}.assigned - :one"));
            conditions.push(format!("attribute_exists(#roles.{name})"));
            update = update.expression_attribute_names(name, *id);
        }
        let update = update
            .update_expression(format!("SET {}", set.join(", ")))
            .condition_expression(conditions.join(" AND "))
            .build()
            .map_err(build_failed)?;
        Ok(Some(TransactWriteItem::builder().update(update).build()))
    }
}
