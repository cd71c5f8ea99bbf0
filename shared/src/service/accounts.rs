//! Accounts: registration, login, password change and the caller's own view.

use super::{Accounts, SignedIn, internal, new_session_id, session_for, signed_in};
use crate::domain::{Email, Password, PasswordCheck, Principal, Role, User};
use crate::error::ApiError;
use crate::store::{LoginAttempts, SessionRenewal, Store};
use crate::time::UnixTime;
use crate::tokens::CsrfBinding;

pub async fn register(
    accounts: &Accounts,
    email: Email,
    password: Password,
    csrf: Option<CsrfBinding>,
    now: UnixTime,
) -> Result<SignedIn, ApiError> {
    let password_hash = accounts.hasher.hash(password).await.map_err(internal)?;
    // Registration never makes an admin: admins are made by an operator (authctl).
    let user = User::new(email, password_hash, Role::User, now);
    let grant = accounts.issuer.next_refresh(new_session_id(), now).bound_to(csrf);
    accounts.store.create_user(&user, Some(&session_for(&user, &grant, now))).await?;
    tracing::info!(user_id = %user.id, session_id = %grant.session_id, "registered");
    signed_in(&accounts.issuer, user, &grant, now)
}

pub async fn login(
    accounts: &Accounts,
    email: Option<Email>,
    password: Password,
    csrf: Option<CsrfBinding>,
    now: UnixTime,
) -> Result<SignedIn, ApiError> {
    let store = accounts.store.as_ref();
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
    let check = accounts.hasher.verify(password.duplicate(), stored_hash).await.map_err(internal)?;
    let (PasswordCheck::Valid { needs_rehash }, Some(user)) = (check, user) else {
        if let Some(email) = &email {
            count_failure(accounts, email, now).await?;
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
        rehash(accounts, &user, password).await;
    }
    let grant = accounts.issuer.next_refresh(new_session_id(), now).bound_to(csrf);
    store.create_session(&session_for(&user, &grant, now)).await?;
    tracing::info!(user_id = %user.id, session_id = %grant.session_id, "logged in");
    signed_in(&accounts.issuer, user, &grant, now)
}

/// Changes the caller's password: the current one must be right (and counts toward the login
/// throttle when wrong); every other session of the account is revoked; the caller's own session
/// gets a fresh token pair.
pub async fn change_password(
    accounts: &Accounts,
    principal: &Principal,
    current: Password,
    new: Password,
    csrf: Option<CsrfBinding>,
    now: UnixTime,
) -> Result<SignedIn, ApiError> {
    let store = accounts.store.as_ref();
    let Some(user) = store.user_by_id(&principal.user_id).await? else {
        return Err(ApiError::InvalidToken);
    };
    let attempts = store.login_attempts(&user.email, now).await?;
    refuse_if_locked(attempts, now)?;
    match accounts.hasher.verify(current, Some(user.password_hash.clone())).await.map_err(internal)? {
        PasswordCheck::Valid { .. } => {}
        PasswordCheck::Invalid => {
            count_failure(accounts, &user.email, now).await?;
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
    let grant = accounts.issuer.continue_session(session.id, session.auth_time, now).bound_to(csrf);
    let password_hash = accounts.hasher.hash(new).await.map_err(internal)?;
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
    signed_in(&accounts.issuer, user, &grant, now)
}

pub async fn me(store: &dyn Store, principal: &Principal) -> Result<User, ApiError> {
    match store.user_by_id(&principal.user_id).await? {
        Some(user) if user.disabled => Err(ApiError::AccountDisabled),
        Some(user) => Ok(user),
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
async fn count_failure(accounts: &Accounts, email: &Email, now: UnixTime) -> Result<(), ApiError> {
    let (store, throttle) = (accounts.store.as_ref(), &accounts.throttle);
    let failures = store.record_login_failure(email, now, throttle.window_secs).await?;
    if let Some(lock_secs) = throttle.lock_secs(failures) {
        store.lock_login(email, now.plus_secs(lock_secs)).await?;
        tracing::warn!(failures, lock_secs, "address locked after repeated password failures");
    }
    Ok(())
}

/// Upgrades a hash made with older parameters. A failure costs nothing but the upgrade: the
/// login itself already succeeded, and the next one retries.
async fn rehash(accounts: &Accounts, user: &User, password: Password) {
    let outcome = match accounts.hasher.hash(password).await {
        Ok(hash) => accounts.store.set_password_hash(&user.id, &hash).await.map_err(|error| error.to_string()),
        Err(error) => Err(error.to_string()),
    };
    match outcome {
        Ok(()) => tracing::info!(user_id = %user.id, "password rehashed with current parameters"),
        Err(reason) => tracing::warn!(user_id = %user.id, %reason, "password rehash failed"),
    }
}
