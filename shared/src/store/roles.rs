//! Roles as data: the catalog of defined roles (one record, read whole and cached by the
//! functions that issue tokens), and who holds them. An account's roles change through
//! [`AccountStore::update_user`](super::AccountStore::update_user) with a [`RoleAssignment`],
//! which counts holders in the same write, so a role is deleted only while nobody holds it.

use async_trait::async_trait;

use super::StoreError;
use crate::domain::{RoleCatalog, RoleDefinition};

/// An account's roles replaced: written only while the account still holds `previous` (as the
/// caller read it) and every role of `new` is still defined; the holders counted in the same write.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoleAssignment {
    pub previous: Vec<String>,
    pub new: Vec<String>,
}

impl RoleAssignment {
    /// The roles gained and the roles lost.
    pub fn delta(&self) -> (Vec<&str>, Vec<&str>) {
        let gained = self.new.iter().filter(|id| !self.previous.contains(id)).map(String::as_str).collect();
        let lost = self.previous.iter().filter(|id| !self.new.contains(id)).map(String::as_str).collect();
        (gained, lost)
    }
}

#[async_trait]
pub trait RoleStore: Send + Sync {
    /// Every defined role, with its holder count (a strongly consistent read).
    async fn role_catalog(&self) -> Result<RoleCatalog, StoreError>;

    /// Defines a role (new, or its name, description and permissions changed; its holder count
    /// is kept as stored) if the catalog is still at `revision`, and raises the revision.
    /// `false`, writing nothing, when another definition or deletion came first.
    async fn define_role(&self, revision: u64, role: &RoleDefinition) -> Result<bool, StoreError>;

    /// Deletes a role if the catalog is still at `revision` and nobody holds it. `false`,
    /// writing nothing, otherwise: the caller reads again to learn which.
    async fn delete_role(&self, revision: u64, role_id: &str) -> Result<bool, StoreError>;
}
