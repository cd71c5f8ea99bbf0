//! The use cases, as plain async functions over the ports, keys and the time. They know nothing
//! of HTTP or Lambda: `http` parses requests into their inputs and renders their results.

mod accounts;
mod admin;
mod deletion;
mod devices;
pub mod federation;
mod legacy;
mod mfa;
pub mod passkeys;
mod recovery;
mod roles;
mod sessions;
mod standards;
mod throttle;

use std::net::IpAddr;
use std::sync::Arc;

pub use accounts::Registration;
pub use accounts::{change_password, login, me, register};
pub use admin::{Actor, AdminChange, ManagedUser, find_user, get_user, list_users, update_user};
pub use deletion::{delete_account, delete_user, erase_account};
pub use devices::{SessionList, end_session, end_user_sessions, list_sessions, list_user_sessions};
pub use mfa::{Enrolment, MfaEnabled};
pub use mfa::{MfaConfig, confirm_enrolment, disable as disable_mfa, remove_user_mfa, start_enrolment, verify_login};
pub use recovery::{forgot_password, request_email_change, resend_verification, reset_password, verify_email};
pub use roles::{DEFAULT_ROLE_CACHE_SECS, RoleCache, RoleView, define_role, delete_role, get_role, list_roles};
pub use sessions::{LogoutScope, logout, refresh};
pub use standards::{ActiveToken, INTROSPECTION_PER_CLIENT, TokenHint, introspect, revoke};

use crate::domain::{
    AuthMethods, Client, Email, Entitlements, LoginThrottle, Password, PasswordCheck, PasswordHasher, Principal,
    SeenFrom, Session, SessionPolicy, User,
};
use crate::email::Mail;
use crate::error::ApiError;
use crate::events::Events;
use crate::passkeys::RelyingParty;
use crate::store::{AccountStore, SessionRenewal, SessionStore, Store, is_live};
use crate::time::UnixTime;
use crate::tokens::{CsrfBinding, IssuedTokens, RefreshGrant, TokenIssuer, TokenVerifier};

/// What the functions that mail links or check credentials but sign nothing work with, built
/// once at init: no signing key.
pub struct Recovery {
    pub store: Arc<dyn Store>,
    pub hasher: PasswordHasher,
    pub throttle: LoginThrottle,
    /// Public keys only: it tells a device cookie's device.
    pub verifier: TokenVerifier,
    pub mail: Mail,
    pub events: Events,
    /// The WebAuthn relying party (no secret: its state lives with each ceremony).
    pub passkeys: Arc<RelyingParty>,
    /// The directory users migrate from at their first login or reset, if any.
    pub legacy: crate::legacy::Legacy,
    /// What a new password must be beyond its length (breaches, strength).
    pub password_policy: crate::password_policy::PasswordPolicy,
}

/// What the functions that sign tokens (register, login, refresh, password change, MFA) work
/// with, built once at init: the [`Recovery`] bundle and the signing key. The others hold only
/// the parts they need, so a function that signs nothing never holds the private key.
pub struct Accounts {
    pub recovery: Recovery,
    pub sessions: SessionPolicy,
    pub issuer: TokenIssuer,
    /// The role catalog as last read, for the tokens' `roles` and `permissions`.
    pub roles: RoleCache,
}

impl Accounts {
    /// What `user`'s tokens carry from its roles: no read for an account without any.
    async fn entitlements(&self, user: &User) -> Result<Entitlements, ApiError> {
        self.roles.entitlements(self.store.as_ref(), user).await
    }
}

/// Accounts can do everything the recovery bundle can: a use case that takes `&Recovery` takes
/// `&Accounts` too.
impl std::ops::Deref for Accounts {
    type Target = Recovery;

    fn deref(&self) -> &Recovery {
        &self.recovery
    }
}

/// What the edge knows of the client making a request.
#[derive(Clone, Debug, Default)]
pub struct ClientInfo {
    /// The source address API Gateway saw (the local API: the peer's).
    pub ip: Option<IpAddr>,
    /// The device token the client presented (its device cookie), unverified.
    pub device_token: Option<String>,
    /// The `User-Agent` header, as the session list shows it.
    pub user_agent: Option<String>,
}

impl ClientInfo {
    fn seen_from(&self) -> SeenFrom {
        SeenFrom::new(self.user_agent.as_deref(), self.ip)
    }

    /// Who the throttle sees for a request about `email`: the device a valid device cookie for
    /// that address names (a client that signed in to it before), else the IP.
    fn throttled_as(&self, verifier: &TokenVerifier, email: &Email, now: UnixTime) -> Client {
        let device = self.device_token.as_deref().and_then(|token| verifier.device_id(token, email, now).ok());
        device.map_or(Client::Untrusted(self.ip), Client::Device)
    }
}

/// A session's fresh token pair and the account it belongs to.
#[derive(Debug)]
pub struct SignedIn {
    pub user: User,
    pub access_token: String,
    /// Seconds from now.
    pub access_expires_in: u64,
    pub refresh_token: String,
    /// Seconds from now.
    pub refresh_expires_in: u64,
    /// A new device token for the client (a login's, for its device cookie).
    pub device_token: Option<String>,
    /// What both tokens are bound to: the edge hands out the CSRF token it stands for.
    pub csrf: Option<CsrfBinding>,
    /// The password just given is in a known breach (`PASSWORD_BREACH_CHECK=warn`, and any
    /// mode at login): the app should ask for another.
    pub password_breached: bool,
}

fn new_session_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn session_for(user: &User, grant: &RefreshGrant, client: &ClientInfo, now: UnixTime) -> Session {
    let session = Session::new(
        grant.session_id.clone(),
        user.id.clone(),
        grant.jti.clone(),
        // Strictly after the last account-wide revocation, even within the same millisecond
        // (a login right after a global logout must not be born revoked).
        now.millis().max(user.sessions_valid_after_ms + 1),
        grant.expires_at,
    );
    Session {
        auth_time: grant.auth_time,
        seen_from: client.seen_from(),
        methods: grant.methods,
        idp: grant.idp.clone(),
        ..session
    }
}

fn signed_in(
    issuer: &TokenIssuer,
    user: User,
    entitlements: &Entitlements,
    grant: &RefreshGrant,
    now: UnixTime,
) -> Result<SignedIn, ApiError> {
    let IssuedTokens { access_token, access_claims, refresh_token, refresh_claims } =
        issuer.issue(&user, entitlements, grant, now).map_err(internal)?;
    Ok(SignedIn {
        user,
        access_token,
        access_expires_in: access_claims.exp.saturating_sub(now.secs()),
        refresh_token,
        refresh_expires_in: refresh_claims.exp.saturating_sub(now.secs()),
        device_token: None,
        csrf: grant.csrf.clone(),
        password_breached: false,
    })
}

/// The caller's session carried over a credential event that ends every other one: a new
/// refresh token (its sign-in's methods `methods` from now on, its CSRF binding `csrf`), and the
/// renewal the store writes with the cutoff at `commit`, the instant just before the write.
fn renewed(
    issuer: &TokenIssuer,
    session: &Session,
    csrf: Option<CsrfBinding>,
    methods: AuthMethods,
    commit: UnixTime,
) -> (RefreshGrant, SessionRenewal) {
    let grant = issuer
        .continue_session(session.id.clone(), session.auth_time, commit)
        .bound_to(csrf)
        .with_methods(methods)
        .with_idp(session.idp.clone());
    let renewal = SessionRenewal {
        session_id: session.id.clone(),
        session_created_ms: session.created_ms,
        cutoff: commit,
        next_jti: grant.jti.clone(),
        expires_at: grant.expires_at,
        methods,
    };
    (grant, renewal)
}

/// The caller's account and session, if the session is live: not revoked, expired or cut off
/// account-wide since the access token was issued.
async fn live_session(
    store: &(impl AccountStore + SessionStore + ?Sized),
    principal: &Principal,
    now: UnixTime,
) -> Result<(User, Session), ApiError> {
    let Some(user) = store.user_by_id(&principal.user_id).await? else {
        return Err(ApiError::InvalidToken);
    };
    match store.session(&principal.session_id).await? {
        Some((session, revoked)) if is_live(&session, revoked, &user.id, user.sessions_valid_after_ms, now) => {
            Ok((user, session))
        }
        _ => Err(ApiError::TokenRevoked),
    }
}

/// The caller's live account and session, once the caller has shown the account's current
/// password. Failures count against that session's own budget, never against logins; a
/// disabled account is refused only after a correct password.
async fn proven_caller(
    flows: &Recovery,
    principal: &Principal,
    current: Password,
    action: &'static str,
    now: UnixTime,
) -> Result<(User, Session), ApiError> {
    let store = flows.store.as_ref();
    let (user, session) = live_session(store, principal, now).await?;
    let bucket = flows.throttle.password_change_bucket(&user.email, &session.id);
    let drawn = throttle::draw_all(store, vec![bucket], now).await?;
    match flows.hasher.verify(current, user.password_hash.clone()).await.map_err(internal)? {
        PasswordCheck::Valid { .. } => drawn.succeeded(store).await?,
        PasswordCheck::Invalid => {
            drawn.failed(store, now).await?;
            tracing::info!(user_id = %user.id, action, "refused: wrong current password");
            return Err(ApiError::InvalidCredentials);
        }
    }
    if user.disabled {
        return Err(ApiError::AccountDisabled);
    }
    Ok((user, session))
}

/// A sign-in this recent stands in for the current password.
pub const RECENT_SIGN_IN_SECS: u64 = 300;

/// The caller's live account and session for a change a stolen access token must not make: the
/// current password shown (as [`proven_caller`]), or a sign-in within [`RECENT_SIGN_IN_SECS`].
async fn recently_proven_caller(
    flows: &Recovery,
    principal: &Principal,
    current: Option<Password>,
    action: &'static str,
    now: UnixTime,
) -> Result<(User, Session), ApiError> {
    if let Some(current) = current {
        return proven_caller(flows, principal, current, action, now).await;
    }
    let (user, session) = live_session(flows.store.as_ref(), principal, now).await?;
    if now.secs().saturating_sub(session.auth_time) > RECENT_SIGN_IN_SECS {
        return Err(ApiError::ReauthenticationRequired);
    }
    if user.disabled {
        return Err(ApiError::AccountDisabled);
    }
    Ok((user, session))
}

fn internal(error: impl std::fmt::Display) -> ApiError {
    tracing::error!(reason = %error, "internal failure");
    ApiError::Internal
}
