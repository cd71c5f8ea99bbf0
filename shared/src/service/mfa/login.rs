//! The second step of a login: the challenge a correct password earns an account with MFA,
//! and the code (or recovery code) that turns it into a session.

use aws_lc_rs::constant_time::verify_slices_are_equal;

use super::super::recovery::send_notice;
use super::super::{Accounts, ClientInfo, SignedIn, internal, new_session_id, session_for, signed_in, throttle};
use super::{MfaConfig, check_factor};
use crate::domain::mfa::{CHALLENGE_TTL_SECS, MfaChallenge, SecondFactor, SpentFactor};
use crate::domain::{
    AuthMethod, AuthMethods, Client, OneTimeSecret, PasskeyId, StoredPasskey, User, presented_digest, sha256_hex,
};
use crate::email::templates::Notice;
use crate::error::{ApiError, MfaTicket};
use crate::events::{EventDetail, EventKind};
use crate::passkeys::RelyingParty;
use crate::store::{ChallengeDraw, LoginProof, MfaStore};
use crate::time::UnixTime;
use crate::tokens::CsrfBinding;
use webauthn_rs::prelude::PublicKeyCredential;

/// A login's first step (a password, or provider `idp`'s sign-in) was right and the account has
/// MFA: no session yet, but a challenge the client answers with a code, as the `mfa_token` of a
/// `401 mfa_required`.
pub(in crate::service) async fn challenge(
    store: &dyn MfaStore,
    passkeys: &RelyingParty,
    user: &User,
    client: &ClientInfo,
    device_id: Option<String>,
    idp: Option<&str>,
    now: UnixTime,
) -> Result<ApiError, ApiError> {
    let ticket = OneTimeSecret::generate().map_err(internal)?;
    // The account's passkeys may answer instead of a code: their challenge rides with this one.
    let passkey = match user.passkeys.is_empty() || !passkeys.is_on() {
        true => None,
        false => Some(passkeys.second_factor_options(&user.passkeys)?),
    };
    let challenge = MfaChallenge {
        digest: ticket.digest(),
        user_id: user.id.clone(),
        client_digest: client_digest(client),
        attempts: 0,
        expires_at: now.secs() + CHALLENGE_TTL_SECS,
        credential_epoch: user.credential_epoch,
        device_id,
        idp: idp.map(str::to_owned),
        passkey_state: passkey.as_ref().map(|start| start.state.clone()),
    };
    store.put_mfa_challenge(&challenge).await?;
    tracing::info!(user_id = %user.id, "first step accepted; second factor required");
    let mut methods = second_steps(user);
    if passkey.is_some() {
        methods.push("passkey");
    }
    let passkey = passkey.map(|start| start.options);
    Ok(ApiError::MfaRequired(MfaTicket { token: ticket.expose().to_owned(), methods, passkey }))
}

/// The second steps the account's factors allow, as `mfa_required` lists them: a TOTP code, and
/// a recovery code while any is unused.
fn second_steps(user: &User) -> Vec<&'static str> {
    let Some(factor) = &user.mfa else { return Vec::new() };
    let mut methods = vec!["totp"];
    if !factor.recovery_digests.is_empty() {
        methods.push("recovery_code");
    }
    methods
}

/// The second step of a login: the `mfa_token` and a code (or a recovery code) start the session.
/// Each token takes at most five codes; the account's own budget counts them across tokens.
pub async fn verify_login(
    accounts: &Accounts,
    mfa: &MfaConfig,
    mfa_token: &str,
    factor: &SecondFactor,
    client: &ClientInfo,
    csrf: Option<CsrfBinding>,
    now: UnixTime,
) -> Result<SignedIn, ApiError> {
    let store = accounts.store.as_ref();
    // A token that names nothing counts against the client's IP: guessing tokens is refused
    // early, while a client with a real token is never held back by its neighbours'.
    let guesses = throttle::draw_all(store, vec![accounts.throttle.unknown_mfa_token_bucket(client.ip)], now);
    let Some(digest) = presented_digest(mfa_token) else {
        guesses.await?.failed(store, now).await?;
        return Err(ApiError::InvalidToken);
    };
    let (guesses, drawn_challenge) = tokio::join!(guesses, store.draw_mfa_challenge(&digest, now));
    let challenge = match drawn_challenge? {
        ChallengeDraw::Drawn(challenge) => {
            if let Ok(guesses) = guesses {
                guesses.succeeded(store).await?;
            }
            challenge
        }
        ChallengeDraw::Exhausted => {
            if let Ok(guesses) = guesses {
                guesses.succeeded(store).await?;
            }
            tracing::info!("mfa_token refused: its attempts are used up");
            let detail = EventDetail { outcome: "too_many_attempts", ..EventDetail::default() }.from_ip(client.ip);
            accounts.events.emit(EventKind::UserLockedOut, detail.method("totp"), now).await;
            return Err(ApiError::TooManyAttempts { retry_after_secs: 1 });
        }
        ChallengeDraw::Unknown => {
            guesses?.failed(store, now).await?;
            return Err(ApiError::InvalidToken);
        }
    };
    // Bound to the client that logged in: a token lifted from elsewhere does not work.
    if verify_slices_are_equal(challenge.client_digest.as_bytes(), client_digest(client).as_bytes()).is_err() {
        tracing::info!(user_id = %challenge.user_id, "mfa_token refused: another client");
        return Err(ApiError::InvalidToken);
    }
    // The login's device, if it had a valid device cookie, keeps its own budget.
    let who = challenge.device_id.clone().map_or(Client::Untrusted(client.ip), Client::Device);
    let buckets = accounts.throttle.mfa_login_buckets(&challenge.user_id, &who);
    let (user, drawn) = tokio::join!(store.user_by_id(&challenge.user_id), throttle::draw_all(store, buckets, now));
    let user = user?;
    let drawn = match drawn {
        Ok(drawn) => drawn,
        Err(error) => {
            let detail = EventDetail { outcome: "too_many_attempts", ..EventDetail::ok(&challenge.user_id) };
            accounts.events.emit(EventKind::UserLockedOut, detail.from_ip(client.ip).method("totp"), now).await;
            return Err(error);
        }
    };
    // No credential event (a password change or reset, a disable, an MFA removal, a sign-out
    // everywhere, ...) may have come since the login proved the password.
    let Some(user) = user.filter(|user| user.mfa.is_some() && user.unchanged_since(challenge.credential_epoch)) else {
        drawn.succeeded(store).await?;
        return Err(ApiError::InvalidToken);
    };
    if user.disabled {
        drawn.succeeded(store).await?;
        return Err(ApiError::AccountDisabled);
    }
    let checked = match factor {
        SecondFactor::Passkey(assertion) => check_passkey(accounts, &challenge, &user, assertion, now),
        _ => check_factor(&mfa.sealing_key, &user, factor, now)?,
    };
    let Some(spent) = checked else {
        drawn.failed(store, now).await?;
        tracing::info!(user_id = %user.id, method = factor.method(), attempts = challenge.attempts, "mfa refused: wrong code");
        let detail = EventDetail { outcome: "invalid_code", ..EventDetail::ok(&user.id) }.from_ip(client.ip);
        accounts.events.emit(EventKind::UserLoginFailed, detail.method(factor.method()), now).await;
        return Err(ApiError::InvalidCode);
    };
    let entitlements = accounts.entitlements(&user).await?;
    let grant = accounts
        .issuer
        .next_refresh(new_session_id(), now)
        .bound_to(csrf)
        .with_methods(second_step(first_step(&challenge), &user, &spent))
        .with_idp(challenge.idp.clone());
    let proof = LoginProof::SecondFactor {
        challenge_digest: digest,
        sealed_key: user.mfa.as_ref().map(|factor| factor.sealed_key.clone()).unwrap_or_default(),
        spent: spent.clone(),
        credential_epoch: challenge.credential_epoch,
    };
    let session = session_for(&user, &grant, client, now);
    let (returned, completed) = tokio::join!(drawn.succeeded(store), store.start_session(&session, &proof));
    returned?;
    if !completed? {
        // The same code (or token) won a race a moment ago, or the account changed meanwhile.
        return Err(ApiError::InvalidCode);
    }
    tracing::info!(user_id = %user.id, session_id = %grant.session_id, method = factor.method(), "logged in with a second factor");
    let detail = EventDetail::ok(&user.id).session(&grant.session_id).from_ip(client.ip).method(factor.method());
    accounts.events.emit(EventKind::UserLoggedIn, detail, now).await;
    if let SpentFactor::RecoveryCode(_) = spent {
        let remaining = user.mfa.as_ref().map_or(0, |factor| factor.recovery_digests.len().saturating_sub(1));
        send_notice(accounts, &user.email, Notice::RecoveryCodeUsed { remaining }).await;
    }
    let device =
        client.device_token.as_deref().and_then(|token| accounts.verifier.device_id(token, &user.email, now).ok());
    let device_token = accounts.issuer.issue_device(&user.email, device.as_deref(), now).map_err(internal)?;
    let signed_in = signed_in(&accounts.issuer, user, &entitlements, &grant, now)?;
    Ok(SignedIn { device_token: Some(device_token), ..signed_in })
}

/// A passkey's assertion for the challenge the `mfa_required` answer carried, with the account's
/// passkey it names; the use to spend, or `None` (counted as a wrong code).
fn check_passkey(
    accounts: &Accounts,
    challenge: &MfaChallenge,
    user: &User,
    assertion: &PublicKeyCredential,
    now: UnixTime,
) -> Option<SpentFactor> {
    let state = challenge.passkey_state.as_deref()?;
    let passkey = user.passkey(&PasskeyId::of_credential(assertion.get_credential_id()))?;
    match accounts.passkeys.finish_second_factor(assertion, state, passkey, now.secs()) {
        Ok(used) => Some(SpentFactor::Passkey(used)),
        Err(refusal) => {
            tracing::info!(user_id = %user.id, reason = %refusal, "mfa refused: the passkey's assertion");
            None
        }
    }
}

/// What the whole login proved: its first step and the factor of the second.
fn second_step(first: AuthMethods, user: &User, spent: &SpentFactor) -> AuthMethods {
    match spent {
        SpentFactor::Passkey(used) => {
            let synced = user.passkey(&used.passkey_id).is_some_and(StoredPasskey::backup_eligible);
            first.with_passkey(synced)
        }
        SpentFactor::TotpStep(_) | SpentFactor::RecoveryCode(_) => first.with(AuthMethod::OneTimeCode),
    }
}

/// What the login's first step proved.
fn first_step(challenge: &MfaChallenge) -> AuthMethods {
    match challenge.idp {
        Some(_) => AuthMethods::federated(),
        None => AuthMethods::password(),
    }
}

/// What an `mfa_token` is bound to: the client's `User-Agent`, as a digest.
fn client_digest(client: &ClientInfo) -> String {
    sha256_hex(client.user_agent.as_deref().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Email, MfaFactor, Role};
    use crate::time::UnixTime;

    #[test]
    fn mfa_required_offers_the_second_steps_the_accounts_factors_allow() {
        let user = User::new(Email::parse("a@example.com").unwrap(), "hash".into(), Role::User, UnixTime::now());
        let factor =
            |codes: Vec<String>| MfaFactor { sealed_key: "v1.k".into(), last_used_step: None, recovery_digests: codes };
        assert!(second_steps(&user).is_empty());
        let with_codes = User { mfa: Some(factor(vec!["aa".into()])), ..user.clone() };
        assert_eq!(second_steps(&with_codes), ["totp", "recovery_code"]);
        let codes_spent = User { mfa: Some(factor(Vec::new())), ..user };
        assert_eq!(second_steps(&codes_spent), ["totp"]);
    }
}
