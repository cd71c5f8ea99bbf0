//! Import and export (`authctl import`, `authctl export`): accounts created in batches, each
//! only if nothing of it is there yet, and every account read back in pages.

use async_trait::async_trait;

use super::StoreError;
use crate::domain::User;

/// What importing one account did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Imported {
    Created,
    /// An account has the address: it is left as it is (a rerun of an import skips it).
    AlreadyPresent,
    /// Another account (another address) has the id.
    IdTaken,
    /// Another account has one of its linked identities.
    IdentityTaken,
}

/// One page of every account, in no particular order.
#[derive(Debug, Default)]
pub struct ExportPage {
    pub users: Vec<User>,
    /// Where the next page starts; `None` after the last.
    pub next: Option<String>,
    /// Read units the page cost, as DynamoDB reports them (`None` when it does not).
    pub read_units: Option<f64>,
}

#[async_trait]
pub trait TransferStore: Send + Sync {
    /// Creates each account with its guards (address, identities) only if none of them is
    /// there yet, all of one account or nothing of it; in as few writes as the store allows.
    /// Returns what happened to each, in order, and the write units it cost when reported.
    async fn import_users(&self, users: &[User]) -> Result<(Vec<Imported>, Option<f64>), StoreError>;

    async fn export_users(&self, from: Option<String>) -> Result<ExportPage, StoreError>;
}
