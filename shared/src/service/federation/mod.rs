//! Signing in with another provider's account, and linking one to an account: the redirect to
//! the provider, its callback (`callback.rs`), the app's trade of the login code for a session
//! (`exchange.rs`), and the owner's list and unlink.

mod callback;
mod exchange;

pub use callback::{CallbackParams, callback};
pub use exchange::exchange_login_code;

use super::recovery::send_notice;
use super::{Recovery, internal, live_session, recently_proven_caller};
use crate::domain::federation::{FlowMode, UPSTREAM_LOGIN_TTL_SECS, UpstreamLogin, is_s256_challenge, pkce_challenge};
use crate::domain::{LinkedIdentity, OneTimeSecret, Password, Principal, sha256_hex};
use crate::email::templates::Notice;
use crate::error::ApiError;
use crate::events::{EventDetail, EventKind};
use crate::federation::{AuthorizeRequest, Federation, Provider, UpstreamError};
use crate::store::{FederationStore, IdentityLink};
use crate::time::UnixTime;

/// Where to send the browser, and the value of the `__Host-` cookie that binds the login to it.
#[derive(Debug)]
pub struct UpstreamRedirect {
    pub location: String,
    pub browser_binding: String,
}

/// What the app asks for at `GET /auth/oauth/{provider}/authorize`.
pub struct SignInRequest<'a> {
    pub provider: &'a str,
    pub redirect_uri: Option<&'a str>,
    pub code_challenge: Option<&'a str>,
    pub code_challenge_method: Option<&'a str>,
    pub login_hint: Option<&'a str>,
}

/// Starts a sign-in: an upstream login's state stored, the browser sent to the provider.
pub async fn begin_sign_in(
    federation: &Federation,
    store: &dyn FederationStore,
    request: &SignInRequest<'_>,
    now: UnixTime,
) -> Result<UpstreamRedirect, ApiError> {
    let provider = federation.provider(request.provider).ok_or(ApiError::NotFound)?;
    let redirect_uri = allowed_redirect(federation, request.redirect_uri)?;
    let challenge = match (request.code_challenge, request.code_challenge_method.unwrap_or("S256")) {
        (Some(challenge), "S256") if is_s256_challenge(challenge) => challenge,
        (_, "S256") => {
            return Err(ApiError::validation("code_challenge", "must be an S256 challenge (43 base64url characters)"));
        }
        _ => return Err(ApiError::validation("code_challenge_method", "must be S256")),
    };
    let hint = request.login_hint.filter(|hint| hint.len() <= 254);
    redirect(federation, store, provider, redirect_uri, Some(challenge.to_owned()), FlowMode::SignIn, hint, now).await
}

/// `POST /auth/identities/{provider}`: the same flow in link mode, for a caller who signed in
/// moments ago or shows the current password (a stolen access token must not add a way in).
pub async fn begin_link(
    federation: &Federation,
    flows: &Recovery,
    principal: &Principal,
    provider: &str,
    redirect_uri: Option<&str>,
    current: Option<Password>,
    now: UnixTime,
) -> Result<UpstreamRedirect, ApiError> {
    let provider = federation.provider(provider).ok_or(ApiError::NotFound)?;
    let redirect_uri = allowed_redirect(federation, redirect_uri)?;
    let (user, _) = recently_proven_caller(flows, principal, current, "identity link", now).await?;
    let mode = FlowMode::Link { user_id: user.id.clone(), credential_epoch: user.credential_epoch };
    redirect(federation, flows.store.as_ref(), provider, redirect_uri, None, mode, None, now).await
}

fn allowed_redirect<'a>(federation: &Federation, redirect_uri: Option<&'a str>) -> Result<&'a str, ApiError> {
    redirect_uri.filter(|uri| federation.redirect_uris.allows(uri)).ok_or(ApiError::InvalidRedirectUri)
}

#[allow(clippy::too_many_arguments)]
async fn redirect(
    federation: &Federation,
    store: &dyn FederationStore,
    provider: &Provider,
    redirect_uri: &str,
    code_challenge: Option<String>,
    mode: FlowMode,
    login_hint: Option<&str>,
    now: UnixTime,
) -> Result<UpstreamRedirect, ApiError> {
    let secret = || OneTimeSecret::generate().map_err(internal);
    let (state, nonce, verifier, browser) = (secret()?, secret()?, secret()?, secret()?);
    let callback = federation.callback_url(provider);
    let authorize = AuthorizeRequest {
        state: state.expose(),
        nonce: nonce.expose(),
        code_challenge: &pkce_challenge(verifier.expose()),
        redirect_uri: &callback,
        login_hint,
    };
    // The provider's metadata first: when it is down, nothing is stored.
    let location = federation.authorize_url(provider, &authorize).await.map_err(upstream_failure)?;
    let login = UpstreamLogin {
        state_digest: state.digest(),
        provider: provider.id.as_str().to_owned(),
        browser_digest: browser.digest(),
        nonce: nonce.expose().to_owned(),
        upstream_verifier: verifier.expose().to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        code_challenge,
        mode,
        expires_at: now.secs() + UPSTREAM_LOGIN_TTL_SECS,
    };
    store.put_upstream_login(&login).await?;
    Ok(UpstreamRedirect { location, browser_binding: browser.expose().to_owned() })
}

fn upstream_failure(error: UpstreamError) -> ApiError {
    tracing::warn!(%error, "identity provider failed");
    match error {
        UpstreamError::Unavailable(_) => ApiError::ProviderUnavailable,
        UpstreamError::Refused(_) | UpstreamError::Invalid(_) => ApiError::InvalidToken,
    }
}

/// The caller's linked identities.
pub async fn list_identities(
    flows: &Recovery,
    principal: &Principal,
    now: UnixTime,
) -> Result<Vec<LinkedIdentity>, ApiError> {
    let (user, _) = live_session(flows.store.as_ref(), principal, now).await?;
    Ok(user.identities)
}

/// Unlinks the caller's identity of `provider`, unless it is the last way to sign in (no
/// password, no other identity, no passkey): `409`. A credential event.
pub async fn unlink_identity(
    flows: &Recovery,
    principal: &Principal,
    provider: &str,
    now: UnixTime,
) -> Result<(), ApiError> {
    let store = flows.store.as_ref();
    for _ in 0..3 {
        let (user, session) = live_session(store, principal, now).await?;
        let identity =
            user.identities.iter().find(|identity| identity.provider == provider).ok_or(ApiError::NotFound)?;
        if user.ways_to_sign_in() <= 1 {
            return Err(ApiError::Conflict);
        }
        let link = IdentityLink {
            user_id: user.id.clone(),
            credential_epoch: user.credential_epoch,
            identity: identity.clone(),
            existing: user.identities.clone(),
        };
        // Refused: the account changed since it was read (a password set, another link): again.
        if store.unlink_identity(&link).await? {
            tracing::info!(target: "audit", user_id = %user.id, action = "identity_unlinked", provider, outcome = "ok");
            let detail = EventDetail::ok(&user.id).session(&session.id).method("fed");
            flows.events.emit(EventKind::UserIdentityUnlinked, detail, now).await;
            send_notice(flows, &user.email, Notice::IdentityUnlinked { provider: provider.to_owned() }).await;
            return Ok(());
        }
    }
    Err(ApiError::Conflict)
}

/// What the upstream login's `browser_binding` cookie must hash to.
fn binds_browser(login: &UpstreamLogin, cookie: Option<&str>) -> bool {
    let presented = sha256_hex(cookie.unwrap_or_default());
    aws_lc_rs::constant_time::verify_slices_are_equal(presented.as_bytes(), login.browser_digest.as_bytes()).is_ok()
        && cookie.is_some()
}
