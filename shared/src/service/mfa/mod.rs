//! Multi-factor authentication: TOTP enrolment and its confirmation, the second step of a login,
//! turning it off (the owner, with a code; an administrator, revoking every session).

mod login;

pub(super) use login::challenge;
pub use login::verify_login;

use aws_lc_rs::constant_time::verify_slices_are_equal;
use secrecy::ExposeSecret;

use super::admin::{known_shape, require_admin};
use super::recovery::send_notice;
use super::{
    Accounts, Recovery, SignedIn, internal, live_session, proven_caller, recently_proven_caller, renewed, signed_in,
    throttle,
};
use crate::domain::mfa::{
    ENROLMENT_TTL_SECS, MfaSealingKey, PendingEnrolment, RecoveryCodes, SecondFactor, SpentFactor, TotpKey,
    recovery_code_digest,
};
use crate::domain::{AuthMethod, MfaFactor, Password, Principal, Session, User};
use crate::email::Verification;
use crate::email::templates::Notice;
use crate::error::ApiError;
use crate::events::{EventDetail, EventKind};
use crate::store::{MfaActivation, MfaRemoval};
use crate::time::UnixTime;
use crate::tokens::CsrfBinding;

/// What the MFA functions hold besides the store: the data key that seals TOTP keys, and the
/// name authenticator apps show for the account.
pub struct MfaConfig {
    pub sealing_key: MfaSealingKey,
    /// The `issuer` of the `otpauth://` URI (`MFA_ISSUER_NAME`).
    pub issuer_name: String,
}

impl MfaConfig {
    /// A data key made now, for the local API without `MFA_ENCRYPTION_KEY` and for tests: TOTP
    /// keys sealed with it open only in this process.
    pub fn with_generated_key(issuer_name: impl Into<String>) -> Result<Self, crate::domain::mfa::MfaKeyError> {
        let (sealing_key, _) = MfaSealingKey::generate()?;
        Ok(Self { sealing_key, issuer_name: issuer_name.into() })
    }
}

/// A pending enrolment, as the owner sees it once: the key three ways.
pub struct Enrolment {
    /// Base32, to type into an app.
    pub secret: String,
    pub otpauth_uri: String,
    pub qr_svg: String,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Enrolment(..)")
    }
}

/// Makes a TOTP key for the caller and keeps it, sealed, until a code confirms it (or it expires).
/// A new enrolment replaces one still pending.
pub async fn start_enrolment(
    flows: &Recovery,
    mfa: &MfaConfig,
    principal: &Principal,
    now: UnixTime,
) -> Result<Enrolment, ApiError> {
    let store = flows.store.as_ref();
    let (user, _) = caller_without_mfa(flows, principal, now).await?;
    let key = TotpKey::generate().map_err(internal)?;
    let sealed_key = mfa.sealing_key.seal(&key, &user.id).map_err(internal)?;
    let account = user.email.as_str();
    let enrolment = Enrolment {
        secret: key.base32(),
        otpauth_uri: key.otpauth_uri(&mfa.issuer_name, account),
        qr_svg: key.qr_svg(&mfa.issuer_name, account).map_err(internal)?,
    };
    let pending = PendingEnrolment {
        user_id: user.id.clone(),
        sealed_key,
        expires_at: now.secs() + ENROLMENT_TTL_SECS,
        credential_epoch: user.credential_epoch,
    };
    store.put_mfa_enrolment(&pending).await?;
    tracing::info!(user_id = %user.id, "mfa enrolment started");
    Ok(enrolment)
}

/// What turning MFA on gives the caller: the recovery codes, the only time they are ever
/// shown, and the caller's session renewed with the second factor proved (every other ended).
pub struct MfaEnabled {
    pub recovery_codes: RecoveryCodes,
    pub signed_in: SignedIn,
}

impl std::fmt::Debug for MfaEnabled {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("MfaEnabled").field("signed_in", &self.signed_in).finish_non_exhaustive()
    }
}

/// Turns MFA on with a code of the pending key, after the caller proved the account's current
/// password (a stolen access token alone must not put an attacker's authenticator on it). A
/// credential event: every other session ends, the caller's is renewed.
pub async fn confirm_enrolment(
    accounts: &Accounts,
    mfa: &MfaConfig,
    principal: &Principal,
    code: &SecondFactor,
    current: Option<Password>,
    csrf: Option<CsrfBinding>,
    now: UnixTime,
) -> Result<MfaEnabled, ApiError> {
    let store = accounts.store.as_ref();
    let (mut user, session) = match current {
        Some(current) => proven_caller(accounts, principal, current, "mfa enrolment", now).await?,
        // Only an account without a password (a provider's) may stand on a recent sign-in.
        None => match live_session(store, principal, now).await?.0.password_hash {
            Some(_) => return Err(ApiError::ReauthenticationRequired),
            None => recently_proven_caller(accounts, principal, None, "mfa enrolment", now).await?,
        },
    };
    may_enrol(accounts, &user)?;
    let pending = store
        .mfa_enrolment(&user.id)
        .await?
        .filter(|pending| pending.expires_at > now.secs() && user.unchanged_since(pending.credential_epoch));
    let Some(pending) = pending else { return Err(ApiError::NotFound) };
    let drawn = throttle::draw_all(store, vec![accounts.throttle.mfa_enrolment_bucket(&user.id)], now).await?;
    let key = mfa.sealing_key.open(&pending.sealed_key, &user.id).map_err(internal)?;
    let step = match code {
        SecondFactor::Totp(code) => key.verify(code.expose_secret(), now.secs(), None),
        SecondFactor::RecoveryCode(_) | SecondFactor::Passkey(_) => None,
    };
    let Some(step) = step else {
        drawn.failed(store, now).await?;
        tracing::info!(user_id = %user.id, "mfa enrolment refused: wrong code");
        return Err(ApiError::InvalidCode);
    };
    drawn.succeeded(store).await?;
    let codes = RecoveryCodes::generate().map_err(internal)?;
    let entitlements = accounts.entitlements(&user).await?;
    // Conditional on the account as read (no session started since): a login that slipped a
    // session in makes it retry with a cutoff that covers it, as a password change does.
    for _ in 0..3 {
        let commit = UnixTime::now().max(now);
        let (grant, renewal) =
            renewed(&accounts.issuer, &session, csrf.clone(), session.methods.with(AuthMethod::OneTimeCode), commit);
        let activation = MfaActivation {
            user_id: user.id.clone(),
            sealed_key: pending.sealed_key.clone(),
            step,
            recovery_digests: codes.digests(),
            credential_epoch: pending.credential_epoch,
            sessions_started: user.sessions_started,
            renewal,
        };
        if store.enable_mfa(&activation).await? {
            tracing::info!(target: "audit", user_id = %user.id, action = "mfa_enabled", outcome = "ok");
            let detail = EventDetail::ok(&user.id).session(&principal.session_id);
            accounts.events.emit(EventKind::UserMfaEnabled, detail, commit).await;
            send_notice(accounts, &user.email, Notice::MfaEnabled).await;
            let mut user = user;
            user.credentials_changed();
            user.sessions_valid_after_ms = commit.millis();
            user.mfa = Some(MfaFactor {
                sealed_key: activation.sealed_key,
                last_used_step: Some(step),
                recovery_digests: activation.recovery_digests,
            });
            let signed_in = signed_in(&accounts.issuer, user, &entitlements, &grant, commit)?;
            return Ok(MfaEnabled { recovery_codes: codes, signed_in });
        }
        // Refused: another confirmation or a newer enrolment won, a credential event or the
        // session's end came between, or a login slipped a session in (only that is retried).
        let fresh = store.user_by_id(&user.id).await?.ok_or(ApiError::TokenRevoked)?;
        let live = store.session(&session.id).await?;
        let session_stands = live.is_some_and(|(live, revoked)| {
            !revoked && live.created_ms == session.created_ms && live.created_ms > fresh.sessions_valid_after_ms
        });
        if !session_stands || fresh.disabled {
            return Err(ApiError::TokenRevoked);
        }
        if fresh.mfa.is_some() || !fresh.unchanged_since(pending.credential_epoch) {
            return Err(ApiError::Conflict);
        }
        user = fresh;
    }
    Err(ApiError::Unavailable)
}

/// Turns the caller's MFA off, with a code or a recovery code (spent in the same write).
pub async fn disable(
    flows: &Recovery,
    mfa: &MfaConfig,
    principal: &Principal,
    factor: &SecondFactor,
    now: UnixTime,
) -> Result<(), ApiError> {
    let store = flows.store.as_ref();
    let (user, _) = live_session(store, principal, now).await?;
    let Some(sealed_key) = user.mfa.as_ref().map(|factor| factor.sealed_key.clone()) else {
        return Err(ApiError::NotFound);
    };
    let drawn = throttle::draw_all(store, vec![flows.throttle.mfa_disable_bucket(&user.id)], now).await?;
    let Some(spent) = check_factor(&mfa.sealing_key, &user, factor, now)? else {
        drawn.failed(store, now).await?;
        tracing::info!(user_id = %user.id, method = factor.method(), "mfa disable refused: wrong code");
        return Err(ApiError::InvalidCode);
    };
    let removal = MfaRemoval { user_id: user.id.clone(), proof: Some((sealed_key, spent)), revoke_sessions_at: None };
    let (returned, removed) = tokio::join!(drawn.succeeded(store), store.remove_mfa(&removal));
    returned?;
    if removed?.is_none() {
        // The code was spent meanwhile (a replay racing this one), or the factor changed.
        return Err(ApiError::InvalidCode);
    }
    tracing::info!(target: "audit", user_id = %user.id, action = "mfa_disabled", method = factor.method(), outcome = "ok");
    let detail = EventDetail::ok(&user.id).session(&principal.session_id).method(factor.method());
    flows.events.emit(EventKind::UserMfaDisabled, detail, now).await;
    send_notice(flows, &user.email, Notice::MfaDisabled { by_admin: false }).await;
    Ok(())
}

/// An administrator takes a user's MFA away (a lost phone and no recovery code) and, in the same
/// write, revokes every session of theirs.
pub async fn remove_user_mfa(
    flows: &Recovery,
    principal: &Principal,
    user_id: &str,
    now: UnixTime,
) -> Result<(), ApiError> {
    let store = flows.store.as_ref();
    require_admin(store, principal, "remove_user_mfa").await?;
    let audit = |outcome: &str| {
        tracing::info!(target: "audit", actor = %principal.user_id, action = "remove_user_mfa", target_user = %user_id, outcome);
    };
    if known_shape(user_id).is_err() {
        audit("not_found");
        return Err(ApiError::NotFound);
    }
    let removal = MfaRemoval { user_id: user_id.to_owned(), proof: None, revoke_sessions_at: Some(now) };
    let Some(user) = store.remove_mfa(&removal).await? else {
        audit("not_found");
        return Err(ApiError::NotFound);
    };
    audit("ok");
    let detail = EventDetail { actor: Some(principal.user_id.clone()), ..EventDetail::ok(&user.id).method("admin") };
    flows.events.emit(EventKind::UserMfaDisabled, detail, now).await;
    send_notice(flows, &user.email, Notice::MfaDisabled { by_admin: true }).await;
    Ok(())
}

/// The caller's account and session, if its session is live and it [`may_enrol`].
async fn caller_without_mfa(
    flows: &Recovery,
    principal: &Principal,
    now: UnixTime,
) -> Result<(User, Session), ApiError> {
    let (user, session) = live_session(flows.store.as_ref(), principal, now).await?;
    may_enrol(flows, &user)?;
    Ok((user, session))
}

/// MFA is not on yet (else `409 conflict`) and, unless verification is off, the address is
/// proved: a factor must not be set up on an address nobody has shown to own.
fn may_enrol(flows: &Recovery, user: &User) -> Result<(), ApiError> {
    if user.mfa.is_some() {
        return Err(ApiError::Conflict);
    }
    if flows.mail.verification != Verification::Off && !user.email_verified {
        return Err(ApiError::EmailNotVerified);
    }
    Ok(())
}

/// What a presented factor spends on this account, if it is good: a TOTP code of a fresh step
/// (±1 step of skew), or an unused recovery code (its digest compared with every stored one, in
/// constant time).
pub(super) fn check_factor(
    sealing_key: &MfaSealingKey,
    user: &User,
    factor: &SecondFactor,
    now: UnixTime,
) -> Result<Option<SpentFactor>, ApiError> {
    let Some(stored) = &user.mfa else { return Ok(None) };
    match factor {
        SecondFactor::Totp(code) => match sealing_key.open(&stored.sealed_key, &user.id) {
            Ok(key) => {
                Ok(key.verify(code.expose_secret(), now.secs(), stored.last_used_step).map(SpentFactor::TotpStep))
            }
            // Sealed under another MFA key (an account imported from a deployment whose key did not
            // come along): no code can match; the owner's recovery codes still work.
            Err(error) => {
                tracing::error!(user_id = %user.id, %error, "the account's TOTP key does not open with this MFA key");
                Ok(None)
            }
        },
        SecondFactor::RecoveryCode(code) => {
            let Some(presented) = recovery_code_digest(code.expose_secret()) else { return Ok(None) };
            let mut found = false;
            for digest in &stored.recovery_digests {
                found |= verify_slices_are_equal(digest.as_bytes(), presented.as_bytes()).is_ok();
            }
            Ok(found.then_some(SpentFactor::RecoveryCode(presented)))
        }
        // A passkey answers a login's challenge (`login.rs`), never a change to the factor.
        SecondFactor::Passkey(_) => Ok(None),
    }
}
