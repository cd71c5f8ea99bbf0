//! `POST /auth/oauth/token`: the app trades the one-time login code, with its PKCE verifier, for
//! the session — or for the second step, when the account has MFA.

use crate::domain::federation::pkce_matches;
use crate::domain::{AuthMethods, presented_digest};
use crate::email::Verification;
use crate::error::ApiError;
use crate::events::{EventDetail, EventKind};
use crate::service::mfa::challenge;
use crate::service::{Accounts, ClientInfo, SignedIn, new_session_id, session_for, signed_in};
use crate::store::LoginProof;
use crate::time::UnixTime;
use crate::tokens::CsrfBinding;

pub async fn exchange_login_code(
    accounts: &Accounts,
    code: &str,
    code_verifier: &str,
    client: &ClientInfo,
    csrf: Option<CsrfBinding>,
    now: UnixTime,
) -> Result<SignedIn, ApiError> {
    let store = accounts.store.as_ref();
    let digest = presented_digest(code).ok_or(ApiError::InvalidToken)?;
    // Taken before it is judged: a code is spent by its first use, right or wrong.
    let code = store.take_login_code(&digest, now).await?.ok_or(ApiError::InvalidToken)?;
    if !pkce_matches(code_verifier, &code.code_challenge) {
        tracing::info!(user_id = %code.user_id, "login code refused: wrong code_verifier");
        return Err(ApiError::InvalidToken);
    }
    let user = store.user_by_id(&code.user_id).await?;
    // A credential event since the callback (an unlink, a password reset, ...) voids the code.
    let Some(user) = user.filter(|user| user.unchanged_since(code.credential_epoch)) else {
        return Err(ApiError::InvalidToken);
    };
    if user.disabled {
        return Err(ApiError::AccountDisabled);
    }
    if accounts.mail.verification == Verification::Required && !user.email_verified {
        return Err(ApiError::EmailNotVerified);
    }
    if user.mfa.is_some() {
        return Err(challenge(store, &accounts.passkeys, &user, client, None, Some(&code.provider), now).await?);
    }
    let entitlements = accounts.entitlements(&user).await?;
    let grant = accounts
        .issuer
        .next_refresh(new_session_id(), now)
        .bound_to(csrf)
        .with_methods(AuthMethods::federated())
        .with_idp(Some(code.provider.clone()));
    let session = session_for(&user, &grant, client, now);
    if !store.start_session(&session, &LoginProof::Federated { credential_epoch: code.credential_epoch }).await? {
        return Err(ApiError::InvalidToken);
    }
    tracing::info!(user_id = %user.id, session_id = %grant.session_id, provider = %code.provider, "logged in through a provider");
    let detail = EventDetail::ok(&user.id).session(&grant.session_id).from_ip(client.ip).method("fed");
    accounts.events.emit(EventKind::UserLoggedIn, detail, now).await;
    signed_in(&accounts.issuer, user, &entitlements, &grant, now)
}
