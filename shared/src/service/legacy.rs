//! The lazy migration's two moments (see `crate::legacy`): a login, and a "forgot password",
//! for an address that has no account here yet.

use super::{Recovery, internal};
use crate::domain::{Email, Password, User};
use crate::error::ApiError;
use crate::events::{EventDetail, EventKind};
use crate::legacy::LegacyError;
use crate::store::StoreError;
use crate::time::UnixTime;

/// At a login for an address not here: the account the old directory proves `password` for,
/// made here with an Argon2id hash of it (or the one a concurrent first login just made).
pub(super) async fn adopt_at_login(
    recovery: &Recovery,
    email: &Email,
    password: &Password,
    now: UnixTime,
) -> Result<Option<User>, ApiError> {
    let Some(directory) = &recovery.legacy.0 else { return Ok(None) };
    let Some(account) = directory.sign_in(email, password).await.map_err(unavailable)? else { return Ok(None) };
    let password_hash = recovery.hasher.hash(password.duplicate()).await.map_err(internal)?;
    adopt(recovery, account.into_user(email.clone(), Some(password_hash), now), "login", now).await
}

/// At a "forgot password" for an address not here: its account in the old directory, made here
/// without a password, so that the reset mailed next sets one.
pub(super) async fn adopt_for_reset(
    recovery: &Recovery,
    email: &Email,
    now: UnixTime,
) -> Result<Option<User>, ApiError> {
    let Some(directory) = &recovery.legacy.0 else { return Ok(None) };
    let Some(account) = directory.find(email).await.map_err(unavailable)? else { return Ok(None) };
    adopt(recovery, account.into_user(email.clone(), None, now), "reset", now).await
}

async fn adopt(recovery: &Recovery, user: User, moment: &'static str, now: UnixTime) -> Result<Option<User>, ApiError> {
    // Migrated before, under the pool's sub, and its address changed here since: the pool's
    // old address is nobody's here now.
    if recovery.store.user_by_id(&user.id).await?.is_some() {
        return Ok(None);
    }
    match recovery.store.create_user(&user, None).await {
        Ok(()) => {
            tracing::info!(user_id = %user.id, moment, "migrated from the legacy directory");
            recovery.events.emit(EventKind::UserRegistered, EventDetail::ok(&user.id).method("legacy"), now).await;
            Ok(Some(user))
        }
        // Another first login (or reset) of the same address made it a moment ago.
        Err(StoreError::EmailTaken) => Ok(recovery.store.user_by_email(&user.email).await?),
        Err(other) => Err(other.into()),
    }
}

fn unavailable(error: LegacyError) -> ApiError {
    tracing::warn!(%error, "legacy directory unavailable");
    ApiError::Unavailable
}
