//! The HTTP shapes of the use cases' results.

use serde::Serialize;

use super::paging;
use crate::domain::{Role, User};
use crate::service::{Enrolment, ManagedUser, SessionList, SignedIn};
use crate::store::UserSummary;
use crate::time::UnixTime;

#[derive(Debug, Serialize)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub role: Role,
    pub email_verified: bool,
    pub mfa_enabled: bool,
}

impl From<&User> for UserView {
    fn from(user: &User) -> Self {
        Self {
            id: user.id.clone(),
            email: user.email.as_str().to_owned(),
            role: user.role,
            email_verified: user.email_verified,
            mfa_enabled: user.mfa.is_some(),
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
    /// Only when true: the password just given is in a known breach.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub password_breached: bool,
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
            password_breached: signed_in.password_breached,
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
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    password_breached: bool,
}

impl<'a> From<&'a TokenResponse> for CookieSessionView<'a> {
    fn from(tokens: &'a TokenResponse) -> Self {
        Self {
            token_type: tokens.token_type,
            expires_in: tokens.expires_in,
            refresh_expires_in: tokens.refresh_expires_in,
            user: &tokens.user,
            password_breached: tokens.password_breached,
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
    /// Shown where the whole account was read (one user); the list's index does not hold it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mfa_enabled: Option<bool>,
    /// The same: the custom claims its access tokens carry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claims: Option<serde_json::Map<String, serde_json::Value>>,
    /// The same: the roles an administrator assigned, and the permissions they grant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
}

impl From<ManagedUser> for AdminUserView {
    fn from(user: ManagedUser) -> Self {
        let view = Self::from(user.summary);
        match user.entitlements {
            Some(entitlements) => Self {
                roles: Some(entitlements.roles),
                permissions: Some(entitlements.permissions.into_iter().map(String::from).collect()),
                ..view
            },
            None => view,
        }
    }
}

impl From<UserSummary> for AdminUserView {
    fn from(user: UserSummary) -> Self {
        Self {
            id: user.id,
            email: user.email,
            role: user.role,
            disabled: user.disabled,
            created_at: rfc3339(UnixTime::from_secs(user.created_at)),
            email_verified: user.email_verified,
            mfa_enabled: user.mfa_enabled,
            claims: user.claims.map(|claims| claims.as_map().clone()),
            roles: None,
            permissions: None,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct UserListView {
    pub users: Vec<AdminUserView>,
    pub next_cursor: Option<String>,
}

/// A session as the session list shows it.
#[derive(Debug, Serialize)]
pub struct SessionView {
    pub id: String,
    /// RFC 3339, UTC: the login that started it.
    pub created_at: String,
    /// RFC 3339, UTC: the login or the latest refresh.
    pub last_used_at: String,
    /// RFC 3339, UTC: when its refresh token expires unless refreshed.
    pub expires_at: String,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// Whether it is the session of the access token that asked.
    pub current: bool,
}

#[derive(Debug, Serialize)]
pub struct SessionListView {
    pub sessions: Vec<SessionView>,
    pub next_cursor: Option<String>,
}

impl From<SessionList> for SessionListView {
    fn from(list: SessionList) -> Self {
        let sessions = list
            .page
            .sessions
            .into_iter()
            .map(|session| SessionView {
                current: session.id == list.current_session_id,
                created_at: rfc3339(UnixTime::from_secs(session.auth_time)),
                last_used_at: rfc3339(UnixTime::from_millis(session.last_used_ms)),
                expires_at: rfc3339(UnixTime::from_secs(session.expires_at)),
                id: session.id,
                user_agent: session.seen_from.user_agent,
                ip: session.seen_from.ip,
            })
            .collect();
        Self { sessions, next_cursor: list.page.next_after.as_ref().map(paging::session_cursor) }
    }
}

/// A pending TOTP enrolment: the key as text, as a URI and as a QR code of that URI.
#[derive(Serialize)]
pub struct EnrolmentView {
    pub secret: String,
    pub otpauth_uri: String,
    pub qr_svg: String,
}

impl From<Enrolment> for EnrolmentView {
    fn from(enrolment: Enrolment) -> Self {
        Self { secret: enrolment.secret, otpauth_uri: enrolment.otpauth_uri, qr_svg: enrolment.qr_svg }
    }
}

/// The recovery codes of a confirmed enrolment, shown this once.
#[derive(Serialize)]
pub struct RecoveryCodesView {
    pub recovery_codes: Vec<String>,
}

pub(super) fn rfc3339(time: UnixTime) -> String {
    let instant = std::time::UNIX_EPOCH + std::time::Duration::from_secs(time.secs());
    humantime::format_rfc3339_seconds(instant).to_string()
}
