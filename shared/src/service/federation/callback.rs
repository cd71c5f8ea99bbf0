//! The provider's redirect back: the upstream login's state taken (once, from the browser that
//! started it), the code traded for who signed in, the account resolved by the contract's rules,
//! and the browser sent on to the app with a one-time login code, or with an error.

use super::{binds_browser, upstream_failure};
use crate::domain::federation::{
    FederationRefusal, FlowMode, LOGIN_CODE_TTL_SECS, LoginCode, Resolution, UpstreamLogin, resolve,
};
use crate::domain::{OneTimeSecret, Purpose, Role, UpstreamIdentity, User, presented_digest};
use crate::email::Verification;
use crate::email::templates::Notice;
use crate::error::ApiError;
use crate::events::{EventDetail, EventKind};
use crate::federation::Federation;
use crate::service::recovery::{mail_token, send_notice};
use crate::service::{Recovery, internal};
use crate::store::{AccountStore, FederationStore, IdentityLink, Linked, StoreError};
use crate::time::UnixTime;

/// What the provider sent back, and the browser's binding cookie.
pub struct CallbackParams<'a> {
    pub provider: &'a str,
    pub state: Option<&'a str>,
    pub code: Option<&'a str>,
    /// The provider's own error (the user declined, …).
    pub error: Option<&'a str>,
    /// RFC 9207's `iss`, from providers that send it: it must be the provider's own (a mix-up
    /// attack answers one provider's request with another's code).
    pub issuer: Option<&'a str>,
    pub browser_binding: Option<&'a str>,
}

/// The app's URI to send the browser to: `#code=…` on a sign-in, `#linked=…` on a link, or
/// `#error=…`. A state that is unknown, spent, expired or another browser's is `invalid_token`
/// with no redirect at all: there is no app to send anyone to.
pub async fn callback(
    federation: &Federation,
    flows: &Recovery,
    params: &CallbackParams<'_>,
    now: UnixTime,
) -> Result<String, ApiError> {
    let store = flows.store.as_ref();
    let digest = params.state.and_then(presented_digest).ok_or(ApiError::InvalidState)?;
    let login = store.take_upstream_login(&digest, now).await?.ok_or(ApiError::InvalidState)?;
    if login.provider != params.provider || !binds_browser(&login, params.browser_binding) {
        tracing::info!(provider = params.provider, "federation callback refused: another provider or browser");
        return Err(ApiError::InvalidState);
    }
    let back = |fragment: String| format!("{}#{fragment}", login.redirect_uri);
    let provider = federation.provider(&login.provider).ok_or(ApiError::NotFound)?;
    if params.issuer.is_some_and(|issuer| Some(issuer.trim_end_matches('/')) != provider.issuer()) {
        tracing::info!(provider = %provider.id, "federation callback refused: another issuer (RFC 9207)");
        return Ok(back("error=invalid_token".into()));
    }
    let code = match (params.error, params.code) {
        (None, Some(code)) if !code.is_empty() && code.len() <= 2048 => code,
        _ => return Ok(back("error=access_denied".into())),
    };
    let asked = std::time::Instant::now();
    let answered = federation.identity(provider, code, &login.upstream_verifier, &login.nonce, now.secs()).await;
    // How long the provider took (its token endpoint, and its keys when not cached): what a
    // slow provider adds to every sign-in, apart from this service's own work.
    let upstream_ms = asked.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(provider = %provider.id, upstream_ms, ok = answered.is_ok(), "provider answered");
    let identity = match answered {
        Ok(identity) => identity,
        Err(error) => {
            let code = match upstream_failure(error) {
                ApiError::ProviderUnavailable => "provider_unavailable",
                _ => "invalid_token",
            };
            return Ok(back(format!("error={code}")));
        }
    };
    let fragment = match &login.mode {
        FlowMode::SignIn => sign_in(federation, flows, &login, &identity, now).await?,
        FlowMode::Link { user_id, credential_epoch } => {
            link_signed_in(flows, user_id, *credential_epoch, &identity, now).await?
        }
    };
    Ok(back(fragment))
}

/// Resolves the account and mints the login code (`code=…`), or says why not (`error=…`).
async fn sign_in(
    federation: &Federation,
    flows: &Recovery,
    login: &UpstreamLogin,
    identity: &UpstreamIdentity,
    now: UnixTime,
) -> Result<String, ApiError> {
    let store = flows.store.as_ref();
    // Twice at most: a first sign-in that raced another (two tabs) finds the account the other made.
    for _ in 0..2 {
        let linked = store.user_by_identity(identity.provider.as_str(), &identity.subject).await?;
        let by_email = match (&linked, &identity.email) {
            (None, Some(email)) => store.user_by_email(email).await?,
            _ => None,
        };
        let user = match resolve(identity, linked, by_email, federation.auto_link) {
            Resolution::SignIn(user) => *user,
            Resolution::Refused(refusal) => {
                tracing::info!(provider = %identity.provider, refusal = refusal.code(), "federated sign-in refused");
                return Ok(format!("error={}", refusal.code()));
            }
            Resolution::Create => match create_account(flows, identity, now).await {
                Ok(user) => user,
                Err(StoreError::Conflict | StoreError::EmailTaken) => continue,
                Err(error) => return Err(error.into()),
            },
            Resolution::Link(user) => match link(flows, &user, identity, now).await? {
                Some(user) => user,
                None => continue,
            },
        };
        return login_code(store, &user, login, now).await;
    }
    Ok(format!("error={}", FederationRefusal::AccountExists.code()))
}

/// A new account without a password, with the identity linked, in one write.
async fn create_account(flows: &Recovery, identity: &UpstreamIdentity, now: UnixTime) -> Result<User, StoreError> {
    let email = identity.email.clone().ok_or_else(|| StoreError::Internal("resolved without an address".into()))?;
    let user = User {
        email_verified: identity.email_verified,
        identities: vec![identity.linked(now.secs())],
        ..User::without_password(email, Role::User, now)
    };
    flows.store.create_user(&user, None).await?;
    tracing::info!(user_id = %user.id, provider = %identity.provider, "registered through a provider");
    flows.events.emit(EventKind::UserRegistered, EventDetail::ok(&user.id).method("fed"), now).await;
    if !user.email_verified && flows.mail.verification != Verification::Off {
        let to = user.email.clone();
        if let Err(error) = mail_token(flows, &user, Purpose::VerifyEmail, &to, now).await {
            tracing::warn!(user_id = %user.id, ?error, "verification email not sent");
        }
    }
    Ok(user)
}

/// Links the identity to `user` as read; the account as it is after, or `None` when something
/// changed meanwhile (the caller resolves again).
async fn link(
    flows: &Recovery,
    user: &User,
    identity: &UpstreamIdentity,
    now: UnixTime,
) -> Result<Option<User>, ApiError> {
    let link = IdentityLink {
        user_id: user.id.clone(),
        credential_epoch: user.credential_epoch,
        identity: identity.linked(now.secs()),
        existing: user.identities.clone(),
    };
    match flows.store.link_identity(&link).await? {
        Linked::Done => {
            linked(flows, user, identity, now).await;
            let mut user = user.clone();
            user.identities.push(link.identity);
            user.credentials_changed();
            Ok(Some(user))
        }
        Linked::IdentityTaken | Linked::Stale => Ok(None),
    }
}

async fn linked(flows: &Recovery, user: &User, identity: &UpstreamIdentity, now: UnixTime) {
    let provider = identity.provider.as_str().to_owned();
    tracing::info!(target: "audit", user_id = %user.id, action = "identity_linked", provider = %provider, outcome = "ok");
    flows.events.emit(EventKind::UserIdentityLinked, EventDetail::ok(&user.id).method("fed"), now).await;
    send_notice(flows, &user.email, Notice::IdentityLinked { provider }).await;
}

/// Link mode: the identity joins the account that asked, if it is still as it was then.
async fn link_signed_in(
    flows: &Recovery,
    user_id: &str,
    credential_epoch: u64,
    identity: &UpstreamIdentity,
    now: UnixTime,
) -> Result<String, ApiError> {
    let store = flows.store.as_ref();
    let provider = identity.provider.as_str();
    if let Some(holder) = store.user_by_identity(provider, &identity.subject).await? {
        return Ok(match holder.id == user_id {
            true => format!("linked={provider}"),
            false => format!("error={}", FederationRefusal::AccountExists.code()),
        });
    }
    let user = store.user_by_id(user_id).await?;
    let Some(user) = user.filter(|user| user.unchanged_since(credential_epoch) && !user.disabled) else {
        return Ok("error=invalid_token".into());
    };
    if user.identities.iter().any(|linked| linked.provider == provider) {
        return Ok(format!("error={}", FederationRefusal::AccountExists.code()));
    }
    match link(flows, &user, identity, now).await? {
        Some(_) => Ok(format!("linked={provider}")),
        None => Ok(format!("error={}", FederationRefusal::AccountExists.code())),
    }
}

async fn login_code(
    store: &(impl FederationStore + AccountStore + ?Sized),
    user: &User,
    login: &UpstreamLogin,
    now: UnixTime,
) -> Result<String, ApiError> {
    let code = OneTimeSecret::generate().map_err(internal)?;
    let stored = LoginCode {
        digest: code.digest(),
        user_id: user.id.clone(),
        provider: login.provider.clone(),
        code_challenge: login.code_challenge.clone().ok_or(ApiError::InvalidToken)?,
        credential_epoch: user.credential_epoch,
        expires_at: now.secs() + LOGIN_CODE_TTL_SECS,
    };
    store.put_login_code(&stored).await?;
    tracing::info!(user_id = %user.id, provider = %login.provider, "federated sign-in: login code issued");
    Ok(format!("code={}", code.expose()))
}
