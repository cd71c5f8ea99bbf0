//! Passkeys: adding one to an account (options, then the browser's answer), the owner's list,
//! rename and removal, an administrator's list and removal, and signing in with one
//! (`sign_in.rs`). Adding and removing are credential events, each mailed to the owner.

mod sign_in;

pub use sign_in::{sign_in, sign_in_options};

use webauthn_rs::prelude::RegisterPublicKeyCredential;

use super::recovery::send_notice;
use super::{Actor, Recovery, internal, live_session, recently_proven_caller};
use crate::domain::passkeys::{CEREMONY_TTL_SECS, Ceremony, CeremonyPurpose, MAX_PASSKEYS};
use crate::domain::{PasskeyId, PasskeyName, Password, Principal, StoredPasskey, User};
use crate::email::templates::Notice;
use crate::error::ApiError;
use crate::events::{EventDetail, EventKind};
use crate::passkeys::{CeremonyStart, answered_challenge};
use crate::store::{PasskeyChange, PasskeyStore};
use crate::time::UnixTime;

/// `POST /auth/passkeys/register/options`: for a caller who signed in moments ago or shows the
/// current password — a stolen access token must not plant a passkey.
pub async fn registration_options(
    flows: &Recovery,
    principal: &Principal,
    current: Option<Password>,
    now: UnixTime,
) -> Result<serde_json::Value, ApiError> {
    let (user, _) = recently_proven_caller(flows, principal, current, "passkey registration", now).await?;
    if user.passkeys.len() >= MAX_PASSKEYS {
        return Err(ApiError::validation("passkeys", "an account holds at most 10 passkeys: remove one first"));
    }
    let start = flows.passkeys.registration_options(&user)?;
    let purpose = CeremonyPurpose::Registration { user_id: user.id.clone(), credential_epoch: user.credential_epoch };
    kept(flows.store.as_ref(), start, purpose, now).await
}

/// Keeps a ceremony's state until its answer (five minutes at most): the options to send.
async fn kept(
    store: &dyn PasskeyStore,
    start: CeremonyStart,
    purpose: CeremonyPurpose,
    now: UnixTime,
) -> Result<serde_json::Value, ApiError> {
    let ceremony = Ceremony {
        challenge_digest: start.challenge_digest,
        purpose,
        state: start.state,
        expires_at: now.secs() + CEREMONY_TTL_SECS,
    };
    store.put_ceremony(&ceremony).await?;
    Ok(start.options)
}

/// `POST /auth/passkeys/register`: the browser's answer to this account's own challenge, taken
/// once, in the credential epoch it was issued in.
pub async fn register(
    flows: &Recovery,
    principal: &Principal,
    credential: &RegisterPublicKeyCredential,
    name: PasskeyName,
    now: UnixTime,
) -> Result<StoredPasskey, ApiError> {
    let store = flows.store.as_ref();
    let (user, session) = live_session(store, principal, now).await?;
    let digest = answered_challenge(&credential.response.client_data_json)
        .ok_or_else(|| ApiError::validation("credential", "clientDataJSON carries no challenge"))?;
    let ceremony = store.take_ceremony(&digest, now).await?.ok_or(ApiError::InvalidToken)?;
    let registration_for_caller = matches!(
        &ceremony.purpose,
        CeremonyPurpose::Registration { user_id, credential_epoch }
            if *user_id == user.id && user.unchanged_since(*credential_epoch)
    );
    if !registration_for_caller {
        tracing::info!(user_id = %user.id, "passkey registration refused: another ceremony's challenge, or stale");
        return Err(ApiError::InvalidToken);
    }
    let key = flows.passkeys.finish_registration(credential, &ceremony.state).map_err(|refusal| {
        tracing::info!(user_id = %user.id, reason = %refusal, "passkey registration refused");
        ApiError::validation("credential", "the authenticator's answer does not check out")
    })?;
    let passkey = StoredPasskey::new(key, name, now.secs()).map_err(internal)?;
    if user.passkey(&passkey.id).is_some() {
        return Err(ApiError::validation("credential", "this passkey is already registered"));
    }
    if user.passkeys.len() >= MAX_PASSKEYS {
        return Err(ApiError::validation("passkeys", "an account holds at most 10 passkeys: remove one first"));
    }
    let mut passkeys = user.passkeys.clone();
    passkeys.push(passkey.clone());
    let change = PasskeyChange { user_id: user.id.clone(), credential_epoch: user.credential_epoch, passkeys };
    // Refused: a credential event came between reading the account and now; the challenge is
    // spent, so the owner starts again.
    if !store.change_passkeys(&change).await? {
        return Err(ApiError::InvalidToken);
    }
    tracing::info!(target: "audit", user_id = %user.id, action = "passkey_added", passkey_id = %passkey.id.as_str(), outcome = "ok");
    let detail = EventDetail::ok(&user.id).session(&session.id).method("passkey");
    flows.events.emit(EventKind::UserPasskeyAdded, detail, now).await;
    send_notice(flows, &user.email, Notice::PasskeyAdded { name: passkey.name.clone() }).await;
    Ok(passkey)
}

/// The caller's passkeys, oldest first.
pub async fn list(flows: &Recovery, principal: &Principal, now: UnixTime) -> Result<Vec<StoredPasskey>, ApiError> {
    Ok(live_session(flows.store.as_ref(), principal, now).await?.0.passkeys)
}

pub async fn rename(
    flows: &Recovery,
    principal: &Principal,
    id: &str,
    name: PasskeyName,
    now: UnixTime,
) -> Result<StoredPasskey, ApiError> {
    let store = flows.store.as_ref();
    let (user, _) = live_session(store, principal, now).await?;
    let id = PasskeyId::parse(id).ok_or(ApiError::NotFound)?;
    let mut passkey = user.passkey(&id).cloned().ok_or(ApiError::NotFound)?;
    if !store.rename_passkey(&user.id, &id, name.as_str()).await? {
        return Err(ApiError::NotFound);
    }
    passkey.name = name.as_str().to_owned();
    Ok(passkey)
}

/// Removes one of the caller's passkeys, unless it is the last way to sign in: `409`.
pub async fn remove(flows: &Recovery, principal: &Principal, id: &str, now: UnixTime) -> Result<(), ApiError> {
    let id = PasskeyId::parse(id).ok_or(ApiError::NotFound)?;
    for _ in 0..3 {
        let (user, session) = live_session(flows.store.as_ref(), principal, now).await?;
        let passkey = user.passkey(&id).cloned().ok_or(ApiError::NotFound)?;
        if user.ways_to_sign_in() <= 1 {
            return Err(ApiError::Conflict);
        }
        // Refused: the account changed since it was read (another change): again.
        if removed(flows, &user, &passkey, false).await? {
            let detail = EventDetail::ok(&user.id).session(&session.id).method("passkey");
            flows.events.emit(EventKind::UserPasskeyRemoved, detail, now).await;
            return Ok(());
        }
    }
    Err(ApiError::Conflict)
}

/// An account's passkeys, for an administrator.
pub async fn list_for_admin(flows: &Recovery, actor: Actor<'_>, user_id: &str) -> Result<Vec<StoredPasskey>, ApiError> {
    actor.check(flows.store.as_ref(), "list passkeys").await?;
    let user = flows.store.user_by_id(user_id).await?.ok_or(ApiError::NotFound)?;
    Ok(user.passkeys)
}

/// An administrator removes an account's passkey (a lost device): even its last one — the owner
/// can still recover the account through its address.
pub async fn remove_for_admin(
    flows: &Recovery,
    actor: Actor<'_>,
    user_id: &str,
    id: &str,
    now: UnixTime,
) -> Result<(), ApiError> {
    actor.check(flows.store.as_ref(), "remove a passkey").await?;
    let id = PasskeyId::parse(id).ok_or(ApiError::NotFound)?;
    for _ in 0..3 {
        let user = flows.store.user_by_id(user_id).await?.ok_or(ApiError::NotFound)?;
        let passkey = user.passkey(&id).cloned().ok_or(ApiError::NotFound)?;
        if removed(flows, &user, &passkey, true).await? {
            tracing::info!(target: "audit", actor = %actor.id(), user_id = %user.id, action = "passkey_removed", outcome = "ok");
            let detail =
                EventDetail { actor: Some(actor.id().to_owned()), ..EventDetail::ok(&user.id).method("admin") };
            flows.events.emit(EventKind::UserPasskeyRemoved, detail, now).await;
            return Ok(());
        }
    }
    Err(ApiError::Conflict)
}

async fn removed(flows: &Recovery, user: &User, passkey: &StoredPasskey, by_admin: bool) -> Result<bool, ApiError> {
    let passkeys = user.passkeys.iter().filter(|kept| kept.id != passkey.id).cloned().collect();
    let change = PasskeyChange { user_id: user.id.clone(), credential_epoch: user.credential_epoch, passkeys };
    if !flows.store.change_passkeys(&change).await? {
        return Ok(false);
    }
    tracing::info!(target: "audit", user_id = %user.id, action = "passkey_removed", passkey_id = %passkey.id.as_str(), by_admin, outcome = "ok");
    send_notice(flows, &user.email, Notice::PasskeyRemoved { name: passkey.name.clone(), by_admin }).await;
    Ok(true)
}
