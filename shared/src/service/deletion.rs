//! Deleting an account: by its owner (with the current password, or within five minutes of
//! signing in) or by an administrator (audited). One write makes the account and everything of
//! it unreachable (`AccountStore::delete_user`); its live sessions' items go right after; a
//! `user.deleted` event and a notice to the address follow.

use super::admin::{Actor, known_shape};
use super::recovery::send_notice;
use super::{Recovery, recently_proven_caller};
use crate::domain::{Password, Principal, User};
use crate::email::templates::Notice;
use crate::error::ApiError;
use crate::events::{EventDetail, EventKind};
use crate::store::{AccountDeletion, AccountStore, SessionStore};
use crate::time::UnixTime;

/// The caller deletes their own account.
pub async fn delete_account(
    flows: &Recovery,
    principal: &Principal,
    current: Option<Password>,
    now: UnixTime,
) -> Result<(), ApiError> {
    let (user, session) = recently_proven_caller(flows, principal, current, "account deletion", now).await?;
    erase_account(flows.store.as_ref(), user.clone()).await?;
    tracing::info!(target: "audit", user_id = %user.id, action = "delete_account", outcome = "ok");
    let detail = EventDetail::ok(&user.id).session(&session.id);
    flows.events.emit(EventKind::UserDeleted, detail, now).await;
    send_notice(flows, &user.email, Notice::AccountDeleted { by_admin: false }).await;
    Ok(())
}

/// An administrator deletes an account (never their own: `409 conflict`).
pub async fn delete_user(flows: &Recovery, actor: Actor<'_>, user_id: &str, now: UnixTime) -> Result<(), ApiError> {
    let store = flows.store.as_ref();
    actor.check(store, "delete_user").await?;
    known_shape(user_id)?;
    let audit = |outcome: &str| {
        tracing::info!(target: "audit", actor = %actor.id(), action = "delete_user", target_user = %user_id, outcome);
    };
    if actor.is(user_id) {
        audit("conflict_self");
        return Err(ApiError::Conflict);
    }
    let Some(user) = store.user_by_id(user_id).await? else {
        audit("not_found");
        return Err(ApiError::NotFound);
    };
    erase_account(store, user.clone()).await?;
    audit("ok");
    let detail = EventDetail { actor: Some(actor.id().to_owned()), ..EventDetail::ok(&user.id).method("admin") };
    flows.events.emit(EventKind::UserDeleted, detail, now).await;
    send_notice(flows, &user.email, Notice::AccountDeleted { by_admin: true }).await;
    Ok(())
}

/// Deletes `user` as read, reading it again when a credential event or a role change came
/// between; then its live sessions' items (best-effort: the rest expires under its TTL).
pub async fn erase_account(
    store: &(impl AccountStore + SessionStore + ?Sized),
    mut user: User,
) -> Result<(), ApiError> {
    for _ in 0..3 {
        if store.delete_user(&AccountDeletion::of(&user)).await? {
            match store.forget_sessions(&user.id).await {
                Ok(count) => tracing::info!(user_id = %user.id, sessions = count, "account deleted"),
                Err(error) => {
                    tracing::warn!(user_id = %user.id, %error, "account deleted; its sessions expire instead")
                }
            }
            return Ok(());
        }
        match store.user_by_id(&user.id).await? {
            Some(fresh) => user = fresh,
            // Deleted meanwhile (the same request twice): done.
            None => return Ok(()),
        }
    }
    Err(ApiError::Unavailable)
}
