//! What OAuth clients and resource servers outside our API Gateway speak: token revocation
//! (RFC 7009) and token introspection (RFC 7662).

use crate::domain::{Bucket, Budget, Role};
use crate::error::ApiError;
use crate::store::{AccessTokenRef, AccountStore, DrawOutcome, RevocationCheck, SessionStore, ThrottleStore, is_live};
use crate::time::UnixTime;
use crate::tokens::{CsrfBinding, TokenVerifier};

/// What RFC 7009's `token_type_hint` may say; it only decides which kind is tried first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenHint {
    AccessToken,
    RefreshToken,
}

impl TokenHint {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "access_token" => Some(Self::AccessToken),
            "refresh_token" => Some(Self::RefreshToken),
            _ => None,
        }
    }
}

/// Revokes what `token` stands for, if it is one of ours: a refresh token its whole session
/// (spent or current: whoever holds it could reuse it), an access token its `jti` until the
/// verifiers stop accepting it. Anything else is ignored: the answer is the same either way, so
/// it reveals nothing. `csrf_proof` is set when the refresh cookie presented the token.
pub async fn revoke(
    store: &dyn SessionStore,
    verifier: &TokenVerifier,
    token: &str,
    csrf_proof: Option<&CsrfBinding>,
    now: UnixTime,
) -> Result<(), ApiError> {
    if let Ok(claims) = verifier.verify_refresh(token, now) {
        if csrf_proof.is_some_and(|proof| !proof.binds(claims.csrf.as_deref())) {
            return Err(ApiError::CsrfFailed);
        }
        if store.session(&claims.sid).await?.is_some_and(|(session, _)| session.user_id == claims.sub) {
            store.revoke_session(&claims.sid).await?;
            tracing::info!(user_id = %claims.sub, session_id = %claims.sid, "refresh token revoked (RFC 7009)");
        }
    } else if let Ok(claims) = verifier.verify_access(token, now) {
        store.revoke_access_token(&claims.jti, verifier.accepted_until(claims.exp)).await?;
        tracing::info!(user_id = %claims.sub, session_id = %claims.sid, "access token revoked (RFC 7009)");
    }
    Ok(())
}

/// A token introspection found active: what RFC 7662 answers about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActiveToken {
    pub token_type: &'static str,
    pub sub: String,
    pub exp: u64,
    pub iat: u64,
    pub jti: String,
    pub sid: String,
    pub role: Role,
    pub client_id: String,
    pub iss: String,
    pub aud: String,
}

/// Requests of one introspection client: 1000 in each calendar minute, then one per hold (15 s)
/// until the minute ends. Resource servers are expected to cache answers for a short while.
pub const INTROSPECTION_PER_CLIENT: Budget =
    Budget { free: 1000, base_lock_secs: 1, max_lock_secs: 60, window_secs: 60 };

/// Whether `token` is good now: signature and claims, and in the store its session (live,
/// current for a refresh token), its own revocation, the account's cutoff and a disable.
/// `None` for anything not good, without saying why.
pub async fn introspect(
    store: &(impl AccountStore + SessionStore + ThrottleStore + RevocationCheck + ?Sized),
    verifier: &TokenVerifier,
    client_id: &str,
    token: &str,
    hint: Option<TokenHint>,
    now: UnixTime,
) -> Result<Option<ActiveToken>, ApiError> {
    // A fixed window (the bucket of this minute): the store's windows slide with each attempt,
    // which for a rate that never reports an outcome would never reopen.
    let minute = now.secs() / INTROSPECTION_PER_CLIENT.window_secs;
    let bucket = Bucket {
        key: format!("introspect#{client_id}#{minute}"),
        budget: INTROSPECTION_PER_CLIENT,
        reset_on_success: false,
    };
    // A rate, not a guess budget: the attempt is not given back.
    if let DrawOutcome::Refused { retry_after_ms } = store.draw_attempt(&bucket, now).await? {
        return Err(ApiError::TooManyAttempts { retry_after_secs: retry_after_ms.div_ceil(1000).max(1) });
    }
    let refresh_first = hint == Some(TokenHint::RefreshToken);
    let access = || verifier.verify_access(token, now).ok();
    let refresh = || verifier.verify_refresh(token, now).ok();
    if !refresh_first && let Some(claims) = access() {
        return active_access(store, claims, now).await;
    }
    if let Some(claims) = refresh() {
        let (user, session) = tokio::join!(store.user_by_id(&claims.sub), store.session(&claims.sid));
        let live = match (user?, session?) {
            (Some(user), Some((session, revoked))) => (!user.disabled
                && session.current_jti == claims.jti
                && is_live(&session, revoked, &user.id, user.sessions_valid_after_ms, now))
            .then_some(user),
            _ => None,
        };
        return Ok(live.map(|user| ActiveToken {
            token_type: "refresh_token",
            sub: claims.sub,
            exp: claims.exp,
            iat: claims.iat,
            jti: claims.jti,
            sid: claims.sid,
            role: user.role,
            client_id: verifier.settings().audience.clone(),
            iss: claims.iss,
            aud: claims.aud,
        }));
    }
    match access() {
        Some(claims) if refresh_first => active_access(store, claims, now).await,
        _ => Ok(None),
    }
}

async fn active_access(
    store: &(impl RevocationCheck + ?Sized),
    claims: crate::tokens::AccessClaims,
    now: UnixTime,
) -> Result<Option<ActiveToken>, ApiError> {
    let reference =
        AccessTokenRef { jti: claims.jti.clone(), session_id: claims.sid.clone(), user_id: claims.sub.clone() };
    if store.is_access_revoked(&reference, now).await? {
        return Ok(None);
    }
    Ok(Some(ActiveToken {
        token_type: "access_token",
        sub: claims.sub,
        exp: claims.exp,
        iat: claims.iat,
        jti: claims.jti,
        sid: claims.sid,
        role: claims.role,
        client_id: claims.client_id,
        iss: claims.iss,
        aud: claims.aud,
    }))
}
