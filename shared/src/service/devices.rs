//! The session list: where an account is signed in, for its owner and for administrators, and
//! ending sessions from it.

use super::admin::{known_shape, require_admin};
use super::live_session;
use crate::domain::Principal;
use crate::error::ApiError;
use crate::store::{
    AccountStore, OwnedSession, RevocationCheck, SessionCursor, SessionListing, SessionPage, SessionStore,
};
use crate::time::UnixTime;

/// A page of sessions, and which of them (if any) the caller is using.
#[derive(Debug)]
pub struct SessionList {
    pub page: SessionPage,
    pub current_session_id: String,
}

/// The caller's own live sessions, newest first.
pub async fn list_sessions(
    store: &(impl AccountStore + SessionStore + ?Sized),
    principal: &Principal,
    limit: u32,
    after: Option<SessionCursor>,
    now: UnixTime,
) -> Result<SessionList, ApiError> {
    let (user, _) = live_session(store, principal, now).await?;
    let listing =
        SessionListing { user_id: user.id, sessions_valid_after_ms: user.sessions_valid_after_ms, now, limit, after };
    let page = store.list_sessions(&listing).await?;
    Ok(SessionList { page, current_session_id: principal.session_id.clone() })
}

/// Ends one of the caller's listed sessions: its refresh token stops at once, and so do its
/// access tokens where the authorizer checks revocation. Another user's session is as unknown.
pub async fn end_session(
    store: &(impl AccountStore + SessionStore + ?Sized),
    principal: &Principal,
    session_id: &str,
    now: UnixTime,
) -> Result<(), ApiError> {
    let (user, _) = live_session(store, principal, now).await?;
    known_shape(session_id)?;
    let owned = OwnedSession {
        user_id: user.id,
        session_id: session_id.to_owned(),
        sessions_valid_after_ms: user.sessions_valid_after_ms,
        now,
    };
    if !store.revoke_owned_session(&owned).await? {
        return Err(ApiError::NotFound);
    }
    tracing::info!(user_id = %owned.user_id, session_id, "session ended from the session list");
    Ok(())
}

/// An account's live sessions, as its owner would see them (audited).
pub async fn list_user_sessions(
    store: &(impl AccountStore + SessionStore + RevocationCheck + ?Sized),
    principal: &Principal,
    user_id: &str,
    limit: u32,
    after: Option<SessionCursor>,
    now: UnixTime,
) -> Result<SessionList, ApiError> {
    require_admin(store, principal, "list_user_sessions").await?;
    known_shape(user_id)?;
    let audit = |outcome: &str, count: usize| {
        tracing::info!(target: "audit", actor = %principal.user_id, action = "list_user_sessions", target_user = %user_id, count, outcome);
    };
    let Some(user) = store.user_by_id(user_id).await? else {
        audit("not_found", 0);
        return Err(ApiError::NotFound);
    };
    let listing =
        SessionListing { user_id: user.id, sessions_valid_after_ms: user.sessions_valid_after_ms, now, limit, after };
    let page = store.list_sessions(&listing).await?;
    audit("ok", page.sessions.len());
    Ok(SessionList { page, current_session_id: principal.session_id.clone() })
}

/// Ends every session of an account (audited): refresh tokens stop at once, access tokens
/// where the authorizer checks revocation.
pub async fn end_user_sessions(
    store: &(impl AccountStore + SessionStore + RevocationCheck + ?Sized),
    principal: &Principal,
    user_id: &str,
    now: UnixTime,
) -> Result<(), ApiError> {
    require_admin(store, principal, "end_user_sessions").await?;
    known_shape(user_id)?;
    let audit = |outcome: &str| {
        tracing::info!(target: "audit", actor = %principal.user_id, action = "end_user_sessions", target_user = %user_id, outcome);
    };
    if store.user_by_id(user_id).await?.is_none() {
        audit("not_found");
        return Err(ApiError::NotFound);
    }
    store.revoke_user_sessions(user_id, now).await?;
    audit("ok");
    Ok(())
}
