//! The role catalog: one item (`role_catalog`) holding every defined role by id, with its holder
//! count and the catalog's revision. Roles are few and read together, at most once a cache period.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{Entity, Item, write};
use crate::domain::{Permission, RoleCatalog, RoleDefinition, RoleName};
use crate::store::StoreError;

pub(crate) const ROLE_CATALOG_KEY: &str = "role_catalog";

#[derive(Serialize, Deserialize)]
pub(crate) struct RoleItem {
    name: String,
    #[serde(default)]
    description: String,
    /// A list (L): a role may grant nothing yet, and a string set cannot be empty.
    #[serde(default)]
    permissions: Vec<String>,
    #[serde(default)]
    assigned: u64,
    #[serde(default)]
    updated_ms: u64,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct RoleCatalogItem {
    revision: u64,
    #[serde(default)]
    roles: HashMap<String, RoleItem>,
}

impl From<&RoleDefinition> for RoleItem {
    fn from(role: &RoleDefinition) -> Self {
        Self {
            name: role.name.as_str().to_owned(),
            description: role.description.clone(),
            permissions: role.permissions.iter().map(|permission| permission.as_str().to_owned()).collect(),
            assigned: role.assigned,
            updated_ms: role.updated_ms,
        }
    }
}

impl From<RoleCatalogItem> for RoleCatalog {
    fn from(item: RoleCatalogItem) -> Self {
        let mut roles: Vec<RoleDefinition> = item
            .roles
            .into_iter()
            .map(|(id, role)| RoleDefinition {
                id,
                name: RoleName::from_stored(role.name),
                description: role.description,
                // Written only after parsing; one that no longer parses grants nothing.
                permissions: role.permissions.iter().filter_map(|name| Permission::parse(name).ok()).collect(),
                assigned: role.assigned,
                updated_ms: role.updated_ms,
            })
            .collect();
        roles.sort_by(|a, b| a.name.cmp(&b.name));
        Self { revision: item.revision, roles }
    }
}

/// The first catalog, holding its first role.
pub(crate) fn role_catalog(role: &RoleDefinition) -> Result<Item, StoreError> {
    let roles = HashMap::from([(role.id.clone(), RoleItem::from(role))]);
    write(ROLE_CATALOG_KEY.to_owned(), Entity::RoleCatalog, RoleCatalogItem { revision: 1, roles })
}

/// One role as the catalog's map holds it.
pub(crate) fn role_entry(role: &RoleDefinition) -> Result<aws_sdk_dynamodb::types::AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(RoleItem::from(role))
        .map_err(|error| StoreError::Internal(format!("role not writable: {error}")))
}
