//! The use cases, as plain async functions over a store, keys and the time. They know nothing
//! of HTTP or Lambda; `http` parses requests into their inputs and renders their results.

use serde::Serialize;

use crate::domain::{
    Email, LoginThrottle, Password, PasswordCheck, PasswordHasher, Role, Session, SessionPolicy, User,
};
use crate::error::ApiError;
use crate::store::{LoginAttempts, Rotation, RotationOutcome, SessionRenewal, Store, UserChanges, UserSummary};
use crate::time::UnixTime;
use crate::tokens::{IssuedTokens, RefreshGrant, TokenIssuer, TokenVerifier};

#[derive(Debug, Serialize)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub role: Role,
}

impl From<&User> for UserView {
    fn from(user: &User) -> Self {
        Self { id: user.id.clone(), email: user.email.as_str().to_owned(), role: user.role }
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

/// The identity the authorizer established for a request, as handed to handlers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub user_id: String,
    pub email: String,
    pub role: Role,
    pub token_id: String,
    pub session_id: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogoutScope {
    Local,
    Global,
}

pub async fn register(
    store: &dyn Store,
    hasher: &PasswordHasher,
    issuer: &TokenIssuer,
    email: Email,
    password: Password,
    now: UnixTime,
) -> Result<TokenResponse, ApiError> {
    let password_hash = hasher.hash(password).await.map_err(internal)?;
    let user = User {
        id: uuid::Uuid::now_v7().to_string(),
        email,
        password_hash,
        // Registration never makes an admin: admins are made by an operator (authctl).
        role: Role::User,
        disabled: false,
        created_at: now.secs(),
        sessions_valid_after_ms: 0,
    };
    let grant = issuer.next_refresh(new_session_id(), now);
    store.create_user(&user, Some(&session_for(&user, &grant, now))).await?;
    tracing::info!(user_id = %user.id, session_id = %grant.session_id, "registered");
    token_response(issuer, &user, &grant, now)
}

pub async fn login(
    store: &dyn Store,
    hasher: &PasswordHasher,
    throttle: &LoginThrottle,
    issuer: &TokenIssuer,
    email: Option<Email>,
    password: Password,
    now: UnixTime,
) -> Result<TokenResponse, ApiError> {
    // Checked before any hashing, for known and unknown addresses alike, so a lockout
    // reveals nothing about which addresses have accounts.
    let attempts = match &email {
        Some(email) => store.login_attempts(email, now).await?,
        None => Default::default(),
    };
    refuse_if_locked(attempts, now)?;
    let user = match &email {
        Some(email) => store.user_by_email(email).await?,
        None => None,
    };
    let stored_hash = user.as_ref().map(|user| user.password_hash.clone());
    let check = hasher.verify(password.duplicate(), stored_hash).await.map_err(internal)?;
    let (PasswordCheck::Valid { needs_rehash }, Some(user)) = (check, user) else {
        if let Some(email) = &email {
            count_failure(store, throttle, email, now).await?;
        }
        tracing::info!("login refused: invalid credentials");
        return Err(ApiError::InvalidCredentials);
    };
    if attempts.has_failures {
        store.clear_login_failures(&user.email).await?;
    }
    // Only after a correct password: a wrong one must not learn the account is disabled.
    if user.disabled {
        tracing::info!(user_id = %user.id, "login refused: account disabled");
        return Err(ApiError::AccountDisabled);
    }
    if needs_rehash {
        rehash(store, hasher, &user, password).await;
    }
    let grant = issuer.next_refresh(new_session_id(), now);
    store.create_session(&session_for(&user, &grant, now)).await?;
    tracing::info!(user_id = %user.id, session_id = %grant.session_id, "logged in");
    token_response(issuer, &user, &grant, now)
}

pub async fn refresh(
    store: &dyn Store,
    verifier: &TokenVerifier,
    issuer: &TokenIssuer,
    policy: &SessionPolicy,
    refresh_token: &str,
    now: UnixTime,
) -> Result<TokenResponse, ApiError> {
    let claims = verifier.verify_refresh(refresh_token, now)?;
    let Some(user) = store.user_by_id(&claims.sub).await? else {
        return Err(ApiError::TokenRevoked);
    };
    if user.disabled {
        return Err(ApiError::TokenRevoked);
    }
    let grant = issuer.continue_session(claims.sid.clone(), claims.auth_time, now);
    if grant.expires_at <= now.secs() {
        // The session reached its absolute lifetime: only a new login starts another.
        return Err(ApiError::TokenExpired);
    }
    let rotation = Rotation {
        session_id: claims.sid.clone(),
        user_id: user.id.clone(),
        presented_jti: claims.jti.clone(),
        next_jti: grant.jti.clone(),
        next_expires_at: grant.expires_at,
        sessions_valid_after_ms: user.sessions_valid_after_ms,
        grace_ms: policy.reuse_grace_secs.saturating_mul(1000),
        now,
    };
    match store.rotate_session(&rotation).await? {
        RotationOutcome::Rotated => token_response(issuer, &user, &grant, now),
        RotationOutcome::Grace { current_jti, expires_at } => {
            // A second presentation moments after a rotation (two tabs, a lost response): the
            // client gets the session's current refresh token, and nothing is revoked.
            tracing::info!(user_id = %user.id, session_id = %claims.sid, "refresh within the reuse grace period");
            let current = RefreshGrant {
                session_id: claims.sid.clone(),
                jti: current_jti,
                expires_at,
                auth_time: claims.auth_time,
            };
            token_response(issuer, &user, &current, now)
        }
        RotationOutcome::Revoked => Err(ApiError::TokenRevoked),
        RotationOutcome::Reused => {
            tracing::warn!(user_id = %user.id, session_id = %claims.sid, "refresh token reused: session revoked");
            store.revoke_session(&claims.sid).await?;
            Err(ApiError::TokenReused)
        }
    }
}

pub async fn logout(
    store: &dyn Store,
    verifier: &TokenVerifier,
    refresh_token: &str,
    access_token: Option<&str>,
    scope: LogoutScope,
    now: UnixTime,
) -> Result<(), ApiError> {
    // An expired or malformed token proves nothing about who is asking.
    let claims = verifier.verify_refresh(refresh_token, now).map_err(|_| ApiError::InvalidToken)?;
    match scope {
        LogoutScope::Local => store.revoke_session(&claims.sid).await?,
        LogoutScope::Global => store.revoke_user_sessions(&claims.sub, now).await?,
    }
    if let Some(access) = access_token.and_then(|token| verifier.verify_access(token, now).ok())
        && access.sub == claims.sub
    {
        store.revoke_access_token(&access.jti, access.exp).await?;
    }
    tracing::info!(user_id = %claims.sub, session_id = %claims.sid, ?scope, "logged out");
    Ok(())
}

/// Changes the caller's password: the current one must be right (and counts toward the login
/// throttle when wrong); every other session of the account is revoked; the caller's own session
/// gets a fresh token pair.
#[allow(clippy::too_many_arguments)]
pub async fn change_password(
    store: &dyn Store,
    hasher: &PasswordHasher,
    throttle: &LoginThrottle,
    issuer: &TokenIssuer,
    principal: &Principal,
    current: Password,
    new: Password,
    now: UnixTime,
) -> Result<TokenResponse, ApiError> {
    let Some(user) = store.user_by_id(&principal.user_id).await? else {
        return Err(ApiError::InvalidToken);
    };
    let attempts = store.login_attempts(&user.email, now).await?;
    refuse_if_locked(attempts, now)?;
    match hasher.verify(current, Some(user.password_hash.clone())).await.map_err(internal)? {
        PasswordCheck::Valid { .. } => {}
        PasswordCheck::Invalid => {
            count_failure(store, throttle, &user.email, now).await?;
            tracing::info!(user_id = %user.id, "password change refused: wrong current password");
            return Err(ApiError::InvalidCredentials);
        }
    }
    if user.disabled {
        return Err(ApiError::AccountDisabled);
    }
    let Some((session, false)) = store.session(&principal.session_id).await? else {
        return Err(ApiError::TokenRevoked);
    };
    let grant = issuer.continue_session(session.id, session.auth_time, now);
    let password_hash = hasher.hash(new).await.map_err(internal)?;
    let renewal = SessionRenewal {
        session_id: grant.session_id.clone(),
        next_jti: grant.jti.clone(),
        created_ms: now.millis() + 1,
        expires_at: grant.expires_at,
        now,
    };
    if !store.change_password(&user.id, &password_hash, now, &renewal).await? {
        return Err(ApiError::TokenRevoked);
    }
    if attempts.has_failures {
        store.clear_login_failures(&user.email).await?;
    }
    tracing::info!(user_id = %user.id, session_id = %grant.session_id, "password changed; other sessions revoked");
    token_response(issuer, &user, &grant, now)
}

pub async fn me(store: &dyn Store, principal: &Principal) -> Result<UserView, ApiError> {
    match store.user_by_id(&principal.user_id).await? {
        Some(user) if user.disabled => Err(ApiError::AccountDisabled),
        Some(user) => Ok(UserView::from(&user)),
        None => Err(ApiError::InvalidToken),
    }
}

fn refuse_if_locked(attempts: LoginAttempts, now: UnixTime) -> Result<(), ApiError> {
    match attempts.locked_until {
        Some(until) => {
            tracing::info!("refused: address locked after repeated password failures");
            let retry_after_secs = until.millis().saturating_sub(now.millis()).div_ceil(1000).max(1);
            Err(ApiError::TooManyAttempts { retry_after_secs })
        }
        None => Ok(()),
    }
}

/// Counts a wrong password against the address, locking it once the allowance is spent.
async fn count_failure(
    store: &dyn Store,
    throttle: &LoginThrottle,
    email: &Email,
    now: UnixTime,
) -> Result<(), ApiError> {
    let failures = store.record_login_failure(email, now, throttle.window_secs).await?;
    if let Some(lock_secs) = throttle.lock_secs(failures) {
        store.lock_login(email, now.plus_secs(lock_secs)).await?;
        tracing::warn!(failures, lock_secs, "address locked after repeated password failures");
    }
    Ok(())
}

fn new_session_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn session_for(user: &User, grant: &RefreshGrant, now: UnixTime) -> Session {
    let session = Session::new(
        grant.session_id.clone(),
        user.id.clone(),
        grant.jti.clone(),
        // Strictly after the last account-wide revocation, even within the same millisecond
        // (a login right after a global logout must not be born revoked).
        now.millis().max(user.sessions_valid_after_ms + 1),
        grant.expires_at,
    );
    Session { auth_time: grant.auth_time, ..session }
}

fn token_response(
    issuer: &TokenIssuer,
    user: &User,
    grant: &RefreshGrant,
    now: UnixTime,
) -> Result<TokenResponse, ApiError> {
    let IssuedTokens { access_token, access_claims, refresh_token, refresh_claims } =
        issuer.issue(user, grant, now).map_err(internal)?;
    Ok(TokenResponse {
        token_type: "Bearer",
        access_token,
        expires_in: access_claims.exp.saturating_sub(now.secs()),
        refresh_token,
        refresh_expires_in: refresh_claims.exp.saturating_sub(now.secs()),
        user: UserView::from(user),
    })
}

/// Upgrades a hash made with older parameters. A failure costs nothing but the upgrade: the
/// login itself already succeeded, and the next one retries.
async fn rehash(store: &dyn Store, hasher: &PasswordHasher, user: &User, password: Password) {
    let outcome = match hasher.hash(password).await {
        Ok(hash) => store.set_password_hash(&user.id, &hash).await.map_err(|error| error.to_string()),
        Err(error) => Err(error.to_string()),
    };
    match outcome {
        Ok(()) => tracing::info!(user_id = %user.id, "password rehashed with current parameters"),
        Err(reason) => tracing::warn!(user_id = %user.id, %reason, "password rehash failed"),
    }
}

fn internal(error: impl std::fmt::Display) -> ApiError {
    tracing::error!(reason = %error, "internal failure");
    ApiError::Internal
}

// ---- administration ----

/// An account as administrators see it.
#[derive(Debug, Serialize)]
pub struct AdminUserView {
    pub id: String,
    pub email: String,
    pub role: Role,
    pub disabled: bool,
    /// RFC 3339, UTC.
    pub created_at: String,
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
        }
    }
}

#[derive(Debug, Serialize)]
pub struct UserListView {
    pub users: Vec<AdminUserView>,
    pub next_cursor: Option<String>,
}

/// The authorizer already refused other roles; handlers check again so that a mistake in the
/// route table or the template cannot open an admin route.
fn require_admin(principal: &Principal, action: &'static str) -> Result<(), ApiError> {
    if principal.role.satisfies(Role::Admin) {
        return Ok(());
    }
    tracing::warn!(target: "audit", actor = %principal.user_id, action, outcome = "forbidden", "admin action refused");
    Err(ApiError::Forbidden)
}

pub async fn list_users(
    store: &dyn Store,
    principal: &Principal,
    limit: u32,
    after: Option<String>,
) -> Result<UserListView, ApiError> {
    require_admin(principal, "list_users")?;
    let page = store.list_users(limit, after.as_deref()).await?;
    tracing::info!(target: "audit", actor = %principal.user_id, action = "list_users", count = page.users.len(), outcome = "ok");
    Ok(UserListView {
        users: page.users.into_iter().map(AdminUserView::from).collect(),
        next_cursor: page.next_after.as_deref().map(crate::http::encode_cursor),
    })
}

pub async fn get_user(store: &dyn Store, principal: &Principal, user_id: &str) -> Result<AdminUserView, ApiError> {
    require_admin(principal, "get_user")?;
    let user = store.user_by_id(user_id).await?;
    let outcome = if user.is_some() { "ok" } else { "not_found" };
    tracing::info!(target: "audit", actor = %principal.user_id, action = "get_user", target_user = %user_id, outcome);
    user.map(|user| AdminUserView::from(UserSummary::from(&user))).ok_or(ApiError::NotFound)
}

pub async fn update_user(
    store: &dyn Store,
    principal: &Principal,
    user_id: &str,
    changes: UserChanges,
    now: UnixTime,
) -> Result<AdminUserView, ApiError> {
    require_admin(principal, "update_user")?;
    let audit = |outcome: &str| {
        tracing::info!(
            target: "audit",
            actor = %principal.user_id,
            action = "update_user",
            target_user = %user_id,
            role = ?changes.role.map(Role::as_str),
            disabled = ?changes.disabled,
            outcome,
        );
    };
    let demotes_or_disables = changes.role.is_some_and(|role| role != Role::Admin) || changes.disabled == Some(true);
    if user_id == principal.user_id && demotes_or_disables {
        audit("conflict_self");
        return Err(ApiError::Conflict);
    }
    // A role change or a disable ends every session: the next refresh fails, and the next
    // login carries the new role (or is refused).
    let revoke = (changes.role.is_some() || changes.disabled == Some(true)).then_some(now);
    match store.update_user(user_id, &changes, revoke).await? {
        Some(user) => {
            audit("ok");
            Ok(AdminUserView::from(UserSummary::from(&user)))
        }
        None => {
            audit("not_found");
            Err(ApiError::NotFound)
        }
    }
}
