//! The role catalog in memory, and its holder counts.

use async_trait::async_trait;

use super::{MemoryStore, State};
use crate::domain::{RoleCatalog, RoleDefinition};
use crate::store::{RoleAssignment, RoleStore, StoreError};

impl State {
    /// Whether an assignment may be written: the account holds `previous`, `new` is defined.
    pub(super) fn assignable(&self, user_id: &str, assignment: &RoleAssignment) -> bool {
        let holds_previous = self.users.get(user_id).is_some_and(|user| same_roles(&user.roles, &assignment.previous));
        holds_previous && assignment.new.iter().all(|id| self.roles.roles.iter().any(|role| &role.id == id))
    }

    /// The holders counted for an assignment being written.
    pub(super) fn count_holders(&mut self, assignment: &RoleAssignment) {
        let (gained, lost) = assignment.delta();
        for role in &mut self.roles.roles {
            if gained.contains(&role.id.as_str()) {
                role.assigned += 1;
            }
            if lost.contains(&role.id.as_str()) {
                role.assigned = role.assigned.saturating_sub(1);
            }
        }
    }
}

/// The same roles, in any order (DynamoDB keeps them as a set).
pub(super) fn same_roles(held: &[String], expected: &[String]) -> bool {
    held.len() == expected.len() && held.iter().all(|id| expected.contains(id))
}

#[async_trait]
impl RoleStore for MemoryStore {
    async fn role_catalog(&self) -> Result<RoleCatalog, StoreError> {
        let mut catalog = self.lock()?.roles.clone();
        catalog.roles.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(catalog)
    }

    async fn define_role(&self, revision: u64, role: &RoleDefinition) -> Result<bool, StoreError> {
        let mut state = self.lock()?;
        if state.roles.revision != revision {
            return Ok(false);
        }
        let catalog = &mut state.roles;
        match catalog.roles.iter_mut().find(|stored| stored.id == role.id) {
            // The holder count as read: an assignment since then refuses this write, as in DynamoDB.
            Some(stored) if stored.assigned != role.assigned => return Ok(false),
            Some(stored) => *stored = role.clone(),
            None => catalog.roles.push(RoleDefinition { assigned: 0, ..role.clone() }),
        }
        catalog.revision += 1;
        Ok(true)
    }

    async fn delete_role(&self, revision: u64, role_id: &str) -> Result<bool, StoreError> {
        let mut state = self.lock()?;
        let catalog = &mut state.roles;
        let unheld = catalog.roles.iter().any(|role| role.id == role_id && role.assigned == 0);
        if catalog.revision != revision || !unheld {
            return Ok(false);
        }
        catalog.roles.retain(|role| role.id != role_id);
        catalog.revision += 1;
        Ok(true)
    }
}
