//! Accounts: their creation, reads, password and the administrator's changes.

use async_trait::async_trait;

use super::{RoleAssignment, SessionRenewal, StoreError};
use crate::domain::{CustomClaims, Email, LinkedIdentity, Role, Session, User};
use crate::time::UnixTime;

/// A password change, as one atomic write: the account still in the credential epoch in which
/// the caller proved its password, no session started since it was read, the caller's session
/// still the live one read. A credential event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasswordChange {
    pub user_id: String,
    pub credential_epoch: u64,
    pub sessions_started: u64,
    pub new_hash: String,
    pub renewal: SessionRenewal,
}

/// An account's deletion, as one atomic write: the account as read (no credential event since,
/// the roles it held), its email guard, its identities' guards, its waiting MFA enrolment, and its
/// roles' holder counts.
/// Everything else of it is then unreachable: every session, token and second step names an
/// account that is gone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountDeletion {
    pub user_id: String,
    pub email: Email,
    pub credential_epoch: u64,
    pub roles: Vec<String>,
    /// As read: linking or unlinking one is a credential event, which the epoch check catches.
    pub identities: Vec<LinkedIdentity>,
}

impl AccountDeletion {
    pub fn of(user: &User) -> Self {
        Self {
            user_id: user.id.clone(),
            email: user.email.clone(),
            credential_epoch: user.credential_epoch,
            roles: user.roles.clone(),
            identities: user.identities.clone(),
        }
    }
}

/// What an administrator may change on an account.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserChanges {
    pub role: Option<Role>,
    pub disabled: Option<bool>,
    /// Replaces the custom claims (an empty set removes them).
    pub claims: Option<CustomClaims>,
    /// Replaces the roles an administrator defined (by id).
    pub roles: Option<RoleAssignment>,
}

/// An account as listed for administrators: no password hash (the index does not hold it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserSummary {
    pub id: String,
    pub email: String,
    pub role: Role,
    pub disabled: bool,
    /// Epoch seconds.
    pub created_at: u64,
    pub email_verified: bool,
    /// Known when the whole account was read; the list's index does not project it.
    pub mfa_enabled: Option<bool>,
    /// The same: the one-user views show them.
    pub claims: Option<CustomClaims>,
    /// The ids of the roles an administrator assigned; the same.
    pub roles: Option<Vec<String>>,
}

impl From<&User> for UserSummary {
    fn from(user: &User) -> Self {
        Self {
            id: user.id.clone(),
            email: user.email.as_str().to_owned(),
            role: user.role,
            disabled: user.disabled,
            created_at: user.created_at,
            email_verified: user.email_verified,
            mfa_enabled: Some(user.mfa.is_some()),
            claims: Some(user.claims.clone()),
            roles: Some(user.roles.clone()),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserPage {
    pub users: Vec<UserSummary>,
    /// The id of the last user of this page when another page may follow.
    pub next_after: Option<String>,
}

/// The accounts: one item each, with the guard that keeps an address unique.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Creates the account, its identities' guards and its first session when given, in one
    /// atomic write; `EmailTaken` if the email is in use, even when two registrations race;
    /// `Conflict` if another account has one of its identities.
    async fn create_user(&self, user: &User, first_session: Option<&Session>) -> Result<(), StoreError>;

    async fn user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError>;

    /// A strongly consistent read: a revocation just written is seen.
    async fn user_by_id(&self, user_id: &str) -> Result<Option<User>, StoreError>;

    /// Replaces the hash `current` (a rehash after login); `false`, writing nothing, when the
    /// account no longer has it (a password change won) or does not exist.
    async fn set_password_hash(&self, user_id: &str, current: &str, new: &str) -> Result<bool, StoreError>;

    /// A password change, atomically: the new hash, every session of the account revoked
    /// (cutoff, only ever raised), and the caller's own session renewed past the cutoff with a
    /// new refresh token and no grace for the old one. `false`, writing nothing, when the
    /// account or the session is not as [`PasswordChange`] says.
    async fn change_password(&self, change: &PasswordChange) -> Result<bool, StoreError>;

    /// Applies an administrator's change; `None` when there is no such user; `Conflict`,
    /// writing nothing, when a role assignment no longer holds (the account's roles changed, or
    /// a role was deleted, since they were read). With
    /// `revoke_sessions_at`, every session created up to that instant is revoked in the same
    /// write (the cutoff only ever rises), so a new role or a disable reaches every token from
    /// the next login on; and it is a credential event.
    async fn update_user(
        &self,
        user_id: &str,
        changes: &UserChanges,
        revoke_sessions_at: Option<UnixTime>,
    ) -> Result<Option<User>, StoreError>;

    /// Deletes the account as [`AccountDeletion`] says; `false`, writing nothing, when it is not
    /// as read (gone already, a credential event or a role change since).
    async fn delete_user(&self, deletion: &AccountDeletion) -> Result<bool, StoreError>;

    /// One page of users, newest first, starting after the user id `after`. Returns the page
    /// and, when more may follow, the id to continue after.
    async fn list_users(&self, limit: u32, after: Option<&str>) -> Result<UserPage, StoreError>;
}
