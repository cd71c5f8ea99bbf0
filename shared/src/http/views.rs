//! The HTTP shapes of the use cases' results.

use serde::Serialize;

use crate::domain::{Role, User};
use crate::service::SignedIn;
use crate::store::UserSummary;

#[derive(Debug, Serialize)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub role: Role,
    pub email_verified: bool,
}

impl From<&User> for UserView {
    fn from(user: &User) -> Self {
        Self {
            id: user.id.clone(),
            email: user.email.as_str().to_owned(),
            role: user.role,
            email_verified: user.email_verified,
        }
    }
}

/// A registration that waits for the address's proof (`EMAIL_VERIFICATION=required`).
#[derive(Debug, Serialize)]
pub struct AccountView {
    pub user: UserView,
}

impl From<User> for AccountView {
    fn from(user: User) -> Self {
        Self { user: UserView::from(&user) }
    }
}

impl From<User> for UserView {
    fn from(user: User) -> Self {
        Self::from(&user)
    }
}

#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub token_type: &'static str,
    pub access_token: String,
    pub expires_in: u64,
    pub refresh_token: String,
    pub refresh_expires_in: u64,
    pub user: UserView,
}

impl From<SignedIn> for TokenResponse {
    fn from(signed_in: SignedIn) -> Self {
        Self {
            token_type: "Bearer",
            access_token: signed_in.access_token,
            expires_in: signed_in.access_expires_in,
            refresh_token: signed_in.refresh_token,
            refresh_expires_in: signed_in.refresh_expires_in,
            user: UserView::from(&signed_in.user),
        }
    }
}

/// A token response without the tokens, for `TOKEN_TRANSPORT=cookie`: they are in cookies only.
#[derive(Serialize)]
pub(super) struct CookieSessionView<'a> {
    token_type: &'static str,
    expires_in: u64,
    refresh_expires_in: u64,
    user: &'a UserView,
}

impl<'a> From<&'a TokenResponse> for CookieSessionView<'a> {
    fn from(tokens: &'a TokenResponse) -> Self {
        Self {
            token_type: tokens.token_type,
            expires_in: tokens.expires_in,
            refresh_expires_in: tokens.refresh_expires_in,
            user: &tokens.user,
        }
    }
}

/// An account as administrators see it.
#[derive(Debug, Serialize)]
pub struct AdminUserView {
    pub id: String,
    pub email: String,
    pub role: Role,
    pub disabled: bool,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub email_verified: bool,
}

impl From<UserSummary> for AdminUserView {
    fn from(user: UserSummary) -> Self {
        let created = std::time::UNIX_EPOCH + std::time::Duration::from_secs(user.created_at);
        Self {
            id: user.id,
            email: user.email,
            role: user.role,
            disabled: user.disabled,
            created_at: humantime::format_rfc3339_seconds(created).to_string(),
            email_verified: user.email_verified,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct UserListView {
    pub users: Vec<AdminUserView>,
    pub next_cursor: Option<String>,
}
