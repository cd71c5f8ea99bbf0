//! Signing in with a passkey: options for any of the browser's passkeys for this site (no
//! address asked, so the answer tells nobody who has an account), then the assertion, checked
//! with the passkey its user handle and credential id name, and the session started in the same
//! write that moves the passkey's sign counter on. A passkey with user verification is two
//! factors: no second step follows.

use webauthn_rs::prelude::PublicKeyCredential;

use super::super::{Accounts, ClientInfo, SignedIn, new_session_id, session_for, signed_in};
use crate::domain::AuthMethods;
use crate::domain::passkeys::CeremonyPurpose;
use crate::email::Verification;
use crate::error::ApiError;
use crate::events::{EventDetail, EventKind};
use crate::passkeys::{Refusal, answered_challenge, user_handle};
use crate::store::LoginProof;
use crate::time::UnixTime;
use crate::tokens::CsrfBinding;

/// `POST /auth/passkeys/login/options`.
pub async fn sign_in_options(accounts: &Accounts, now: UnixTime) -> Result<serde_json::Value, ApiError> {
    let start = accounts.passkeys.sign_in_options()?;
    super::kept(accounts.store.as_ref(), start, CeremonyPurpose::SignIn, now).await
}

/// `POST /auth/passkeys/login`. Every refusal before the account is known is the same `401
/// invalid_credentials`.
pub async fn sign_in(
    accounts: &Accounts,
    credential: &PublicKeyCredential,
    client: &ClientInfo,
    csrf: Option<CsrfBinding>,
    now: UnixTime,
) -> Result<SignedIn, ApiError> {
    if !accounts.passkeys.is_on() {
        return Err(ApiError::NotFound);
    }
    let store = accounts.store.as_ref();
    let refused = |outcome: &'static str| {
        let detail = EventDetail { outcome, ..EventDetail::default() }.from_ip(client.ip).method("passkey");
        accounts.events.emit(EventKind::UserLoginFailed, detail, now)
    };
    let digest = answered_challenge(&credential.response.client_data_json).ok_or(ApiError::InvalidCredentials)?;
    // Taken before it is judged: a challenge is spent by its first answer, right or wrong.
    let ceremony = store.take_ceremony(&digest, now).await?;
    let Some(ceremony) = ceremony.filter(|ceremony| ceremony.purpose == CeremonyPurpose::SignIn) else {
        tracing::info!("passkey sign-in refused: the challenge is unknown, spent or expired");
        refused("invalid_credentials").await;
        return Err(ApiError::InvalidCredentials);
    };
    let user = match user_handle(credential) {
        Some(user_id) => store.user_by_id(&user_id).await?,
        None => None,
    };
    let passkey_id = crate::domain::PasskeyId::of_credential(credential.get_credential_id());
    let Some((user, passkey)) = user.and_then(|user| user.passkey(&passkey_id).cloned().map(|passkey| (user, passkey)))
    else {
        tracing::info!("passkey sign-in refused: no such passkey on the account the user handle names");
        refused("invalid_credentials").await;
        return Err(ApiError::InvalidCredentials);
    };
    let used = match accounts.passkeys.finish_sign_in(credential, &ceremony.state, &passkey, now.secs()) {
        Ok(used) => used,
        Err(Refusal::CounterWentBack) => {
            // Reported: the credential's key may exist twice (a cloned authenticator).
            tracing::warn!(target: "audit", user_id = %user.id, passkey_id = %passkey.id.as_str(), action = "passkey_sign_in", outcome = "counter_went_back");
            let detail = EventDetail { outcome: "passkey_counter_went_back", ..EventDetail::ok(&user.id) };
            accounts.events.emit(EventKind::UserLoginFailed, detail.from_ip(client.ip).method("passkey"), now).await;
            return Err(ApiError::InvalidCredentials);
        }
        Err(refusal) => {
            tracing::info!(user_id = %user.id, reason = %refusal, "passkey sign-in refused");
            refused("invalid_credentials").await;
            return Err(ApiError::InvalidCredentials);
        }
    };
    // Only after a valid assertion: a stranger must not learn the account is disabled.
    if user.disabled {
        tracing::info!(user_id = %user.id, "passkey sign-in refused: account disabled");
        return Err(ApiError::AccountDisabled);
    }
    if accounts.mail.verification == Verification::Required && !user.email_verified {
        return Err(ApiError::EmailNotVerified);
    }
    let entitlements = accounts.entitlements(&user).await?;
    let grant = accounts
        .issuer
        .next_refresh(new_session_id(), now)
        .bound_to(csrf)
        .with_methods(AuthMethods::passkey(passkey.backup_eligible()));
    let session = session_for(&user, &grant, client, now);
    let proof = LoginProof::Passkey { credential_epoch: user.credential_epoch, used };
    // Refused: another sign-in moved the counter on meanwhile, or a credential event came.
    if !store.start_session(&session, &proof).await? {
        tracing::info!(user_id = %user.id, "passkey sign-in refused: the passkey or the account changed meanwhile");
        return Err(ApiError::InvalidCredentials);
    }
    tracing::info!(user_id = %user.id, session_id = %grant.session_id, passkey_id = %passkey.id.as_str(), "logged in with a passkey");
    let detail = EventDetail::ok(&user.id).session(&grant.session_id).from_ip(client.ip).method("passkey");
    accounts.events.emit(EventKind::UserLoggedIn, detail, now).await;
    signed_in(&accounts.issuer, user, &entitlements, &grant, now)
}
