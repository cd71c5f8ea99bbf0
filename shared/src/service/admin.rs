//! Administration: list, read, change and disable accounts. Every action writes an audit line.

use crate::domain::{Principal, Role};
use crate::error::ApiError;
use crate::events::{EventDetail, EventKind, Events};
use crate::store::{AccessTokenRef, AccountStore, RevocationCheck, UserChanges, UserPage, UserSummary};
use crate::time::UnixTime;

/// The authorizer already refused other roles by the token's claim; the actor is read again
/// here, so an admin demoted or disabled since the token was issued has no admin power left,
/// and a mistake in the route table or the template cannot open an admin route. The token
/// itself must still stand in the store, as for the caller's own routes: a logged-out session
/// or a revoked `jti` keeps no admin power for the rest of the token's life.
pub(super) async fn require_admin(
    store: &(impl AccountStore + RevocationCheck + ?Sized),
    principal: &Principal,
    action: &'static str,
) -> Result<(), ApiError> {
    if principal.role.satisfies(Role::Admin) {
        let token = AccessTokenRef {
            jti: principal.token_id.clone(),
            session_id: principal.session_id.clone(),
            user_id: principal.user_id.clone(),
        };
        let (actor, revoked) =
            tokio::join!(store.user_by_id(&principal.user_id), store.is_access_revoked(&token, UnixTime::now()));
        if actor?.is_some_and(|actor| !actor.disabled && actor.role.satisfies(Role::Admin)) {
            if revoked? {
                tracing::warn!(target: "audit", actor = %principal.user_id, action, outcome = "token_revoked", "admin action refused");
                return Err(ApiError::TokenRevoked);
            }
            return Ok(());
        }
    }
    tracing::warn!(target: "audit", actor = %principal.user_id, action, outcome = "forbidden", "admin action refused");
    Err(ApiError::Forbidden)
}

/// Account and session ids are UUIDs: anything else names nothing, and never reaches the store (where
/// an over-long key is a request error, not an absence).
pub(super) fn known_shape(id: &str) -> Result<(), ApiError> {
    uuid::Uuid::try_parse(id).map(drop).map_err(|_| ApiError::NotFound)
}

pub async fn list_users(
    store: &(impl AccountStore + RevocationCheck + ?Sized),
    principal: &Principal,
    limit: u32,
    after: Option<String>,
) -> Result<UserPage, ApiError> {
    require_admin(store, principal, "list_users").await?;
    let page = store.list_users(limit, after.as_deref()).await?;
    tracing::info!(target: "audit", actor = %principal.user_id, action = "list_users", count = page.users.len(), outcome = "ok");
    Ok(page)
}

pub async fn get_user(
    store: &(impl AccountStore + RevocationCheck + ?Sized),
    principal: &Principal,
    user_id: &str,
) -> Result<UserSummary, ApiError> {
    require_admin(store, principal, "get_user").await?;
    known_shape(user_id)?;
    let user = store.user_by_id(user_id).await?;
    let outcome = if user.is_some() { "ok" } else { "not_found" };
    tracing::info!(target: "audit", actor = %principal.user_id, action = "get_user", target_user = %user_id, outcome);
    user.map(|user| UserSummary::from(&user)).ok_or(ApiError::NotFound)
}

pub async fn update_user(
    store: &(impl AccountStore + RevocationCheck + ?Sized),
    events: &Events,
    principal: &Principal,
    user_id: &str,
    changes: UserChanges,
    now: UnixTime,
) -> Result<UserSummary, ApiError> {
    require_admin(store, principal, "update_user").await?;
    known_shape(user_id)?;
    let audit = |outcome: &str| {
        tracing::info!(
            target: "audit",
            actor = %principal.user_id,
            action = "update_user",
            target_user = %user_id,
            role = ?changes.role.map(Role::as_str),
            disabled = ?changes.disabled,
            claims = ?changes.claims.as_ref().map(|claims| claims.as_map().keys().cloned().collect::<Vec<_>>()),
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
            let changed = [
                ("role", changes.role.is_some()),
                ("disabled", changes.disabled.is_some()),
                ("claims", changes.claims.is_some()),
            ];
            let changed = changed.into_iter().filter_map(|(name, given)| given.then_some(name)).collect();
            let detail = EventDetail {
                actor: Some(principal.user_id.clone()),
                changed,
                ..EventDetail::ok(&user.id).method("admin")
            };
            events.emit(EventKind::UserUpdated, detail, now).await;
            Ok(UserSummary::from(&user))
        }
        None => {
            audit("not_found");
            Err(ApiError::NotFound)
        }
    }
}
