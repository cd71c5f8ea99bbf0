use async_trait::async_trait;

use super::MemoryStore;
use crate::domain::User;
use crate::store::StoreError;
use crate::store::transfer::{ExportPage, Imported, TransferStore};

#[async_trait]
impl TransferStore for MemoryStore {
    async fn import_users(&self, users: &[User]) -> Result<(Vec<Imported>, Option<f64>), StoreError> {
        let mut state = self.lock()?;
        let mut outcomes = Vec::with_capacity(users.len());
        for user in users {
            let identities: Vec<(String, String)> =
                user.identities.iter().map(|identity| (identity.provider.clone(), identity.subject.clone())).collect();
            let outcome = if state.user_id_by_email.contains_key(user.email.as_str()) {
                Imported::AlreadyPresent
            } else if state.users.contains_key(&user.id) {
                Imported::IdTaken
            } else if identities.iter().any(|key| state.user_id_by_identity.contains_key(key)) {
                Imported::IdentityTaken
            } else {
                for key in identities {
                    state.user_id_by_identity.insert(key, user.id.clone());
                }
                state.user_id_by_email.insert(user.email.as_str().to_owned(), user.id.clone());
                state.users.insert(user.id.clone(), user.clone());
                Imported::Created
            };
            outcomes.push(outcome);
        }
        Ok((outcomes, None))
    }

    /// Every account in one page, by id.
    async fn export_users(&self, from: Option<String>) -> Result<ExportPage, StoreError> {
        if from.is_some() {
            return Ok(ExportPage::default());
        }
        let mut users: Vec<User> = self.lock()?.users.values().cloned().collect();
        users.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(ExportPage { users, next: None, read_units: None })
    }
}
