//! Sessions: refresh-token rotation (with reuse detection and grace) and logout.

use super::recovery::send_notice;
use super::{Accounts, ClientInfo, SignedIn, signed_in};
use crate::email::templates::Notice;
use crate::error::ApiError;
use crate::events::{EventDetail, EventKind};
use crate::metrics::{self, Metric};
use crate::store::{AccountStore, KeptSession, Rotation, RotationOutcome, SessionEnd, SessionStore, is_live};
use crate::time::UnixTime;
use crate::tokens::{CsrfBinding, Rebinding, RefreshClaims, RefreshGrant, TokenVerifier};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogoutScope {
    /// This session.
    Local,
    /// Every session of the account.
    Global,
    /// Every session of the account but this one ("sign out everywhere else").
    Others,
}

/// Rotates the session's refresh token; `rebinding` says what the new tokens are bound to, and
/// refuses, before anything is read or written, a client that cannot prove the session's binding.
pub async fn refresh(
    accounts: &Accounts,
    refresh_token: &str,
    rebinding: Rebinding,
    client: &ClientInfo,
    now: UnixTime,
) -> Result<SignedIn, ApiError> {
    let (store, issuer) = (accounts.store.as_ref(), &accounts.issuer);
    let claims = accounts.verifier.verify_refresh(refresh_token, now)?;
    let csrf = rebinding.apply(claims.csrf.as_deref()).map_err(|_| ApiError::CsrfFailed)?;
    let Some(user) = store.user_by_id(&claims.sub).await? else {
        return Err(ApiError::TokenRevoked);
    };
    if user.disabled {
        return Err(ApiError::TokenRevoked);
    }
    // Before the rotation: a catalog that cannot be read must not cost the client its token.
    let entitlements = accounts.entitlements(&user).await?;
    let grant = issuer
        .continue_session(claims.sid.clone(), claims.auth_time, now)
        .bound_to(csrf.clone())
        .with_methods(claims.methods())
        .with_idp(claims.idp.clone());
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
        grace_ms: accounts.sessions.reuse_grace_secs.saturating_mul(1000),
        seen_from: client.seen_from(),
        now,
    };
    match store.rotate_session(&rotation).await? {
        RotationOutcome::Rotated => signed_in(issuer, user, &entitlements, &grant, now),
        RotationOutcome::Grace { current_jti, expires_at } => {
            // A second presentation moments after a rotation (two tabs, a lost response): the
            // client gets the session's current refresh token, and nothing is revoked.
            tracing::info!(user_id = %user.id, session_id = %claims.sid, "refresh within the reuse grace period");
            let current = RefreshGrant {
                session_id: claims.sid.clone(),
                jti: current_jti,
                expires_at,
                auth_time: claims.auth_time,
                csrf,
                methods: claims.methods(),
                idp: claims.idp.clone(),
            };
            signed_in(issuer, user, &entitlements, &current, now)
        }
        RotationOutcome::Revoked => Err(ApiError::TokenRevoked),
        RotationOutcome::Reused => {
            metrics::count(Metric::TokenReuseDetected);
            tracing::warn!(user_id = %user.id, session_id = %claims.sid, "refresh token reused: session revoked");
            store.revoke_session(&claims.sid).await?;
            let detail = EventDetail { outcome: "session_revoked", ..EventDetail::ok(&user.id) };
            let detail = detail.session(&claims.sid).from_ip(client.ip);
            accounts.events.emit(EventKind::SessionReuseDetected, detail, now).await;
            send_notice(accounts, &user.email, Notice::RefreshTokenReused).await;
            Err(ApiError::TokenReused)
        }
    }
}

pub async fn logout(
    store: &(impl AccountStore + SessionStore + ?Sized),
    verifier: &TokenVerifier,
    refresh_token: &str,
    access_token: Option<&str>,
    scope: LogoutScope,
    csrf_proof: Option<&CsrfBinding>,
    now: UnixTime,
) -> Result<(), ApiError> {
    // An expired or malformed token proves nothing about who is asking.
    let claims = verifier.verify_refresh(refresh_token, now).map_err(|_| ApiError::InvalidToken)?;
    // A cookie-presented token: the client must hold the session's own CSRF token.
    if csrf_proof.is_some_and(|proof| !proof.binds(claims.csrf.as_deref())) {
        return Err(ApiError::CsrfFailed);
    }
    if scope == LogoutScope::Others {
        return end_other_sessions(store, &claims, now).await;
    }
    // Only the session's current token may end it, and only a live session may end the others:
    // a spent one is a replay (that session is revoked for it, and nothing else).
    let ended = store.end_session(&claims.sid, &claims.jti).await?;
    if ended == SessionEnd::Spent {
        tracing::warn!(user_id = %claims.sub, session_id = %claims.sid, "spent refresh token at logout: session revoked");
        return Err(ApiError::TokenReused);
    }
    if scope == LogoutScope::Global
        && let SessionEnd::Ended { created_ms } = ended
        && store.user_by_id(&claims.sub).await?.is_some_and(|user| created_ms > user.sessions_valid_after_ms)
    {
        store.revoke_user_sessions(&claims.sub, now).await?;
    }
    if let Some(access) = access_token.and_then(|token| verifier.verify_access(token, now).ok())
        && access.sub == claims.sub
    {
        // Until the verifier stops accepting it (exp plus the leeway), not just until its exp.
        store.revoke_access_token(&access.jti, verifier.accepted_until(access.exp)).await?;
    }
    tracing::info!(user_id = %claims.sub, session_id = %claims.sid, ?scope, "logged out");
    Ok(())
}

/// Keeps the presenting session, with its tokens, and revokes every other one: one atomic write
/// over the session and the account as read. A spent token is a replay, as in any logout; a
/// session no longer live cannot speak for the account. A write refused because something changed
/// since the read (a login started a session, a rotation) reads again and retries.
async fn end_other_sessions(
    store: &(impl AccountStore + SessionStore + ?Sized),
    claims: &RefreshClaims,
    now: UnixTime,
) -> Result<(), ApiError> {
    for _ in 0..3 {
        let (Some(user), Some((session, revoked))) =
            (store.user_by_id(&claims.sub).await?, store.session(&claims.sid).await?)
        else {
            return Err(ApiError::TokenRevoked);
        };
        if session.user_id == claims.sub && session.current_jti != claims.jti {
            tracing::warn!(user_id = %claims.sub, session_id = %claims.sid, "spent refresh token at logout: session revoked");
            store.revoke_session(&claims.sid).await?;
            return Err(ApiError::TokenReused);
        }
        if user.disabled || !is_live(&session, revoked, &user.id, user.sessions_valid_after_ms, now) {
            return Err(ApiError::TokenRevoked);
        }
        // At or after the kept session's creation, so the cutoff only rises and covers every
        // session older than it (a clock a little behind another function's included).
        let commit = UnixTime::now().max(now);
        let cutoff = UnixTime::from_millis(commit.millis().max(session.created_ms));
        let kept = KeptSession {
            user_id: user.id.clone(),
            sessions_started: user.sessions_started,
            session_id: session.id.clone(),
            jti: claims.jti.clone(),
            session_created_ms: session.created_ms,
            cutoff,
        };
        if store.end_other_sessions(&kept).await? {
            tracing::info!(user_id = %user.id, session_id = %session.id, "logged out every other session");
            return Ok(());
        }
    }
    // Three writes in a row lost to concurrent changes: the client may try again.
    Err(ApiError::Unavailable)
}
