//! Account recovery and verification over email: one-time tokens mailed as links, spent by one
//! conditional write each (`Store::redeem`), and the notices that tell an owner what happened.

use std::future::Future;
use std::time::Duration;

use super::{ClientInfo, Recovery, internal, legacy, proven_caller, throttle};
use crate::domain::{Email, OneTimeSecret, OneTimeToken, Password, Principal, Purpose, User, presented_digest};
use crate::email::Verification;
use crate::email::templates::{self, Notice};
use crate::error::ApiError;
use crate::events::{EventDetail, EventKind};
use crate::store::{Effect, Redeemed, Redemption};
use crate::time::UnixTime;

/// `POST /auth/email/verify`: a verification or email-change token; the account as it is now.
pub async fn verify_email(flows: &Recovery, token: &str, now: UnixTime) -> Result<User, ApiError> {
    let store = flows.store.as_ref();
    let record = spendable(flows, token, &[Purpose::VerifyEmail, Purpose::ChangeEmail], now).await?;
    let user = store.user_by_id(&record.user_id).await?.filter(|user| user.unchanged_since(record.credential_epoch));
    let user = user.ok_or(ApiError::InvalidToken)?;
    let old_email = user.email.clone();
    let removes_factor = first_proof_removes_factor(&user);
    let effect = match record.purpose {
        Purpose::ChangeEmail => Effect::ChangeEmail { old_email: old_email.clone() },
        _ => Effect::VerifyEmail { remove_factor: removes_factor },
    };
    match store.redeem(&Redemption { token: record.clone(), effect, now }).await? {
        Redeemed::Done => {}
        Redeemed::Refused => return Err(ApiError::InvalidToken),
        Redeemed::EmailTaken => return Err(ApiError::EmailTaken),
    }
    if record.purpose == Purpose::ChangeEmail {
        tracing::info!(user_id = %user.id, "email changed");
        flows.events.emit(EventKind::UserEmailChanged, EventDetail::ok(&user.id), now).await;
        let new_email = record.email.as_str().to_owned();
        send_notice(flows, &old_email, Notice::EmailChanged { new_email }).await;
    } else {
        tracing::info!(user_id = %user.id, "email verified");
        flows.events.emit(EventKind::UserEmailVerified, EventDetail::ok(&user.id), now).await;
        if removes_factor {
            factor_removed_by_first_proof(flows, &user, now).await;
        }
    }
    store.user_by_id(&user.id).await?.ok_or(ApiError::InvalidToken)
}

/// Whether proving the address now removes a second factor: the first proof of an address
/// takes away one set up before it, which whoever registered the address first may have
/// planted (pre-hijacking); the owner sets it up again.
fn first_proof_removes_factor(user: &User) -> bool {
    !user.email_verified && user.mfa.is_some()
}

async fn factor_removed_by_first_proof(flows: &Recovery, user: &User, now: UnixTime) {
    tracing::info!(target: "audit", user_id = %user.id, action = "mfa_removed", method = "first_proof", outcome = "ok");
    let detail = EventDetail::ok(&user.id).method("first_proof");
    flows.events.emit(EventKind::UserMfaDisabled, detail, now).await;
    send_notice(flows, &user.email, Notice::MfaRemovedByFirstProof).await;
}

/// `POST /auth/email/verify/resend`: a new verification link, if the account exists, is
/// enabled and not verified yet. The answer is the same, and as fast, either way.
pub async fn resend_verification(
    flows: &Recovery,
    email: Option<Email>,
    client: &ClientInfo,
    now: UnixTime,
) -> Result<(), ApiError> {
    let verifying = flows.mail.verification != Verification::Off;
    let wanted = |user: &User| verifying && !user.disabled && !user.email_verified;
    mail_on_request(flows, email, client, Purpose::VerifyEmail, wanted, now).await
}

/// `POST /auth/password/forgot`: a reset link to an existing, enabled account; the answer is
/// the same, and as fast, for any address.
pub async fn forgot_password(
    flows: &Recovery,
    email: Option<Email>,
    client: &ClientInfo,
    now: UnixTime,
) -> Result<(), ApiError> {
    mail_on_request(flows, email, client, Purpose::ResetPassword, |user: &User| !user.disabled, now).await
}

/// A link of `purpose` to the account of `email`, if it has one that `wanted` accepts: one
/// throttle attempt spent and the same store reads whatever the account, and the answer after
/// the same floor.
async fn mail_on_request(
    flows: &Recovery,
    email: Option<Email>,
    client: &ClientInfo,
    purpose: Purpose,
    wanted: impl Fn(&User) -> bool + Send,
    now: UnixTime,
) -> Result<(), ApiError> {
    let floor = flows.mail.response_floor;
    let deadline = tokio::time::Instant::now() + floor;
    equalised(floor, async {
        spend_mail_attempt(flows, email.as_ref(), client, now).await?;
        let Some(email) = email else { return Ok(()) };
        let user = match flows.store.as_ref().user_by_email(&email).await? {
            None if purpose == Purpose::ResetPassword => legacy::adopt_for_reset(flows, &email, now).await?,
            found => found,
        };
        match user {
            Some(user) if wanted(&user) => {
                let to = user.email.clone();
                // The mail must not outlast the floor: a slow mail service would tell known
                // addresses from unknown ones.
                let send_by = deadline.checked_sub(MAIL_MARGIN).unwrap_or(deadline);
                mail_token_by(flows, &user, purpose, &to, now, Some(send_by)).await
            }
            _ => Ok(()),
        }
    })
    .await
}

/// What the answer keeps in hand at its floor after a mail that was cut short.
const MAIL_MARGIN: Duration = Duration::from_millis(20);

/// `POST /auth/password/reset`: the newest reset token of an enabled account sets the password,
/// revokes every session and counts as a proof of the address.
pub async fn reset_password(flows: &Recovery, token: &str, new: Password, now: UnixTime) -> Result<(), ApiError> {
    let store = flows.store.as_ref();
    let record = spendable(flows, token, &[Purpose::ResetPassword], now).await?;
    // The newest reset link of an enabled account, mailed to the address it still has, with no
    // credential event since.
    let current = |user: &User| {
        !user.disabled
            && user.latest_reset_ms == Some(record.issued_ms)
            && user.email == record.email
            && user.unchanged_since(record.credential_epoch)
    };
    let mut user = store.user_by_id(&record.user_id).await?.filter(current).ok_or(ApiError::InvalidToken)?;
    // A refused password leaves the link unspent: the user tries another with it.
    flows.password_policy.check_new(&new, &user.email, "new_password").await?;
    let new_hash = flows.hasher.hash(new).await.map_err(internal)?;
    for _ in 0..3 {
        // Taken just before the commit, which is conditional on no session having started
        // since the read: every session a login could have made before it is revoked.
        let cutoff = UnixTime::now().max(now);
        let remove_factor = first_proof_removes_factor(&user);
        // The first proof of the address: an identity linked before it may be a planted one.
        let remove_identities = if user.email_verified { Vec::new() } else { user.identities.clone() };
        let remove_passkeys = if user.email_verified { Vec::new() } else { user.passkeys.clone() };
        let effect = Effect::ResetPassword {
            new_hash: new_hash.clone(),
            sessions_started: user.sessions_started,
            cutoff,
            remove_factor,
            remove_identities: remove_identities.clone(),
            remove_passkeys: !remove_passkeys.is_empty(),
        };
        match store.redeem(&Redemption { token: record.clone(), effect, now: cutoff }).await? {
            Redeemed::Done => {
                tracing::info!(user_id = %user.id, "password reset; every session revoked");
                flows.events.emit(EventKind::UserPasswordReset, EventDetail::ok(&user.id), cutoff).await;
                send_notice(flows, &user.email, Notice::PasswordReset).await;
                if remove_factor {
                    factor_removed_by_first_proof(flows, &user, cutoff).await;
                }
                for identity in remove_identities {
                    let provider = identity.provider;
                    tracing::info!(target: "audit", user_id = %user.id, action = "identity_unlinked", provider = %provider, method = "first_proof", outcome = "ok");
                    let detail = EventDetail::ok(&user.id).method("first_proof");
                    flows.events.emit(EventKind::UserIdentityUnlinked, detail, cutoff).await;
                    send_notice(flows, &user.email, Notice::IdentityUnlinked { provider }).await;
                }
                for passkey in remove_passkeys {
                    tracing::info!(target: "audit", user_id = %user.id, action = "passkey_removed", passkey_id = %passkey.id.as_str(), method = "first_proof", outcome = "ok");
                    let detail = EventDetail::ok(&user.id).method("first_proof");
                    flows.events.emit(EventKind::UserPasskeyRemoved, detail, cutoff).await;
                    send_notice(flows, &user.email, Notice::PasskeyRemoved { name: passkey.name, by_admin: false })
                        .await;
                }
                return Ok(());
            }
            Redeemed::EmailTaken => return Err(internal("a reset reported an email conflict")),
            Redeemed::Refused => {
                // Spent or replaced meanwhile, or a login slipped a session in: retry only that.
                let still_stored = store.one_time_token(&record.digest).await?.is_some();
                match store.user_by_id(&user.id).await?.filter(current) {
                    Some(fresh) if still_stored => user = fresh,
                    _ => return Err(ApiError::InvalidToken),
                }
            }
        }
    }
    Err(ApiError::Unavailable)
}

/// `POST /auth/email`: with the current password, a confirmation link to the new address and
/// a notice to the old one; nothing changes until the link is used.
pub async fn request_email_change(
    flows: &Recovery,
    principal: &Principal,
    new_email: Email,
    current: Password,
    now: UnixTime,
) -> Result<(), ApiError> {
    let store = flows.store.as_ref();
    let (user, _) = proven_caller(flows, principal, current, "email change", now).await?;
    // Every request counts, whatever its outcome: each mails a third party.
    let drawn = throttle::draw_all(store, vec![flows.throttle.email_change_bucket(&user.id)], now).await?;
    drawn.failed(store, now).await?;
    if new_email == user.email {
        return Err(ApiError::validation("new_email", "is already the account's address"));
    }
    if store.user_by_email(&new_email).await?.is_some() {
        return Err(ApiError::EmailTaken);
    }
    mail_token(flows, &user, Purpose::ChangeEmail, &new_email, now).await?;
    let notice = Notice::EmailChangeRequested { new_email: new_email.as_str().to_owned() };
    send_notice(flows, &user.email, notice).await;
    tracing::info!(user_id = %user.id, "email change requested");
    Ok(())
}

/// Stores a new token of `purpose` for `user` and mails its link to `to`.
pub(super) async fn mail_token(
    flows: &Recovery,
    user: &User,
    purpose: Purpose,
    to: &Email,
    now: UnixTime,
) -> Result<(), ApiError> {
    mail_token_by(flows, user, purpose, to, now, None).await
}

/// [`mail_token`], giving up on the mail at `send_by` (the token stays: the link just never
/// arrives, and the owner asks again).
async fn mail_token_by(
    flows: &Recovery,
    user: &User,
    purpose: Purpose,
    to: &Email,
    now: UnixTime,
    send_by: Option<tokio::time::Instant>,
) -> Result<(), ApiError> {
    let mail = &flows.mail;
    let ttl_secs = match purpose {
        Purpose::ResetPassword => mail.reset_ttl_secs,
        Purpose::VerifyEmail | Purpose::ChangeEmail => mail.verify_ttl_secs,
    };
    let secret = OneTimeSecret::generate().map_err(internal)?;
    let token = OneTimeToken {
        digest: secret.digest(),
        purpose,
        user_id: user.id.clone(),
        email: to.clone(),
        issued_ms: now.millis(),
        expires_at: now.secs() + ttl_secs,
        credential_epoch: user.credential_epoch,
    };
    if !flows.store.as_ref().issue_one_time_token(&token).await? {
        return Ok(());
    }
    let (app_url, token) = (mail.app_url.as_str(), secret.expose());
    let message = match purpose {
        Purpose::VerifyEmail => templates::verify_email(to, app_url, token, ttl_secs),
        Purpose::ResetPassword => templates::reset_password(to, app_url, token, ttl_secs),
        Purpose::ChangeEmail => templates::confirm_email_change(to, app_url, token, ttl_secs),
    };
    match send_by {
        Some(deadline) => mail.send_best_effort_by(message, deadline).await,
        None => mail.send_best_effort(message).await,
    }
    Ok(())
}

pub(super) async fn send_notice(flows: &Recovery, to: &Email, notice: Notice) {
    flows.mail.send_best_effort(templates::notice(to, &notice)).await;
}

/// The stored token a presented one stands for, if it is unexpired and for one of `purposes`.
async fn spendable(
    flows: &Recovery,
    token: &str,
    purposes: &[Purpose],
    now: UnixTime,
) -> Result<OneTimeToken, ApiError> {
    let digest = presented_digest(token).ok_or(ApiError::InvalidToken)?;
    let record = flows.store.as_ref().one_time_token(&digest).await?;
    record
        .filter(|record| purposes.contains(&record.purpose) && record.expires_at > now.secs())
        .ok_or(ApiError::InvalidToken)
}

/// Every mail request spends an attempt of its address's and its client's budgets, before the
/// account is looked up: the refusal says nothing about the account (a device cookie is judged
/// against the address asked for, not the account).
async fn spend_mail_attempt(
    flows: &Recovery,
    email: Option<&Email>,
    client: &ClientInfo,
    now: UnixTime,
) -> Result<(), ApiError> {
    let store = flows.store.as_ref();
    let who = match email {
        Some(email) => client.throttled_as(&flows.verifier, email, now),
        None => crate::domain::Client::Untrusted(client.ip),
    };
    let drawn = throttle::draw_all(store, flows.throttle.mail_buckets(email, &who), now).await?;
    drawn.failed(store, now).await
}

/// Runs `work`, then waits out the rest of `floor`: an answer that must not tell whether an
/// account exists takes the same time either way (as long as the work fits in the floor).
async fn equalised<T>(floor: Duration, work: impl Future<Output = T>) -> T {
    let deadline = tokio::time::Instant::now() + floor;
    let result = work.await;
    tokio::time::sleep_until(deadline).await;
    result
}
