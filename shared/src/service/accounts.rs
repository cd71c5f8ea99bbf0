//! Accounts: registration, login, password change and the caller's own view.

use super::recovery::{mail_token, send_notice};
use super::{
    Accounts, ClientInfo, SignedIn, internal, new_session_id, proven_caller, renewed, session_for, signed_in, throttle,
};
use super::{legacy, mfa};
use crate::domain::{Client, Email, Password, PasswordCheck, Principal, Purpose, Role, User};
use crate::email::Verification;
use crate::email::templates::Notice;
use crate::error::ApiError;
use crate::events::{EventDetail, EventKind};
use crate::metrics::{self, Metric};
use crate::store::{AccountStore, LoginProof, PasswordChange};
use crate::time::UnixTime;
use crate::tokens::CsrfBinding;

/// What a registration gives: a session, or (`EMAIL_VERIFICATION=required`) only the account,
/// which can log in once its address is proved.
#[derive(Debug)]
pub enum Registration {
    SignedIn(Box<SignedIn>),
    PendingVerification(Box<User>),
}

impl Registration {
    /// The session, if the registration started one.
    pub fn signed_in(self) -> Option<SignedIn> {
        match self {
            Registration::SignedIn(signed_in) => Some(*signed_in),
            Registration::PendingVerification(_) => None,
        }
    }
}

pub async fn register(
    accounts: &Accounts,
    email: Email,
    password: Password,
    client: &ClientInfo,
    csrf: Option<CsrfBinding>,
    now: UnixTime,
) -> Result<Registration, ApiError> {
    // Every registration counts, whatever its outcome: each costs a hash and a mail.
    let store = accounts.store.as_ref();
    let drawn = throttle::draw_all(store, vec![accounts.throttle.registration_bucket(client.ip)], now).await?;
    drawn.failed(store, now).await?;
    // The policy's check (a round trip to the breach API) runs beside the hash.
    let (accepted, password_hash) = tokio::join!(
        accounts.password_policy.check_new(&password, &email, "password"),
        accounts.hasher.hash(password.duplicate())
    );
    let accepted = accepted?;
    let password_hash = password_hash.map_err(internal)?;
    // Registration never makes an admin: admins are made by an operator (authctl).
    let user = User::new(email, password_hash, Role::User, now);
    let verification = accounts.mail.verification;
    let grant = accounts.issuer.next_refresh(new_session_id(), now).bound_to(csrf);
    let session = (verification != Verification::Required).then(|| session_for(&user, &grant, client, now));
    accounts.store.create_user(&user, session.as_ref()).await?;
    tracing::info!(user_id = %user.id, "registered");
    let detail = EventDetail::ok(&user.id).from_ip(client.ip);
    let detail = match &session {
        Some(session) => detail.session(&session.id),
        None => detail,
    };
    accounts.events.emit(EventKind::UserRegistered, detail, now).await;
    if verification != Verification::Off {
        // The account stands whatever happens to the mail: the user can ask for another.
        let to = user.email.clone();
        if let Err(error) = mail_token(accounts, &user, Purpose::VerifyEmail, &to, now).await {
            tracing::warn!(user_id = %user.id, ?error, "verification email not sent");
        }
    }
    match session {
        Some(_) => {
            let entitlements = accounts.entitlements(&user).await?;
            let signed_in = signed_in(&accounts.issuer, user, &entitlements, &grant, now)?;
            Ok(Registration::SignedIn(Box::new(SignedIn { password_breached: accepted.breached, ..signed_in })))
        }
        None => Ok(Registration::PendingVerification(Box::new(user))),
    }
}

pub async fn login(
    accounts: &Accounts,
    email: Option<Email>,
    password: Password,
    client: &ClientInfo,
    csrf: Option<CsrfBinding>,
    now: UnixTime,
) -> Result<SignedIn, ApiError> {
    let store = accounts.store.as_ref();
    // A device that signed in to this account before keeps its own budget (OWASP's device
    // cookies); anyone else is known by address.
    let device = match (&email, &client.device_token) {
        (Some(email), Some(token)) => accounts.verifier.device_id(token, email, now).ok(),
        _ => None,
    };
    let who = device.clone().map_or(Client::Untrusted(client.ip), Client::Device);
    // Drawn before any hashing, for known and unknown addresses alike: parallel guesses cannot
    // all pass, and a refusal reveals nothing about which addresses have accounts.
    let buckets = accounts.throttle.login_buckets(email.as_ref(), &who);
    let lookup = async {
        match &email {
            Some(email) => store.user_by_email(email).await,
            None => Ok(None),
        }
    };
    // The draws and the account's lookup go out together: one round trip less on every login.
    let (drawn, user) = tokio::join!(throttle::draw_all(store, buckets, now), lookup);
    let user = match (user?, &email) {
        // Not here yet: the directory users migrate from may know the address (a refused draw
        // asks it nothing). Every address not here costs its round trip, known there or not.
        (None, Some(email)) if drawn.is_ok() => legacy::adopt_at_login(accounts, email, &password, now).await?,
        (user, _) => user,
    };
    let known_id = user.as_ref().map(|user| user.id.clone());
    // Known and unknown addresses alike get one event: its cost says nothing either.
    let refused =
        |outcome| EventDetail { user_id: known_id.clone(), outcome, ..EventDetail::default() }.from_ip(client.ip);
    let drawn = match drawn {
        Ok(drawn) => drawn,
        Err(error) => {
            if let ApiError::TooManyAttempts { .. } = error {
                metrics::count(Metric::LoginThrottled);
                accounts.events.emit(EventKind::UserLockedOut, refused("too_many_attempts"), now).await;
            }
            return Err(error);
        }
    };
    let stored_hash = user.as_ref().and_then(|user| user.password_hash.clone());
    // A breach lookup (when the policy has one) runs beside the check, for every address alike.
    let (check, breached) = tokio::join!(
        accounts.hasher.verify(password.duplicate(), stored_hash),
        accounts.password_policy.breached_at_login(&password)
    );
    let check = check.map_err(internal)?;
    let (PasswordCheck::Valid { needs_rehash }, Some(user)) = (check, user) else {
        drawn.failed(store, now).await?;
        metrics::count(Metric::LoginFailed);
        tracing::info!("login refused: invalid credentials");
        accounts.events.emit(EventKind::UserLoginFailed, refused("invalid_credentials").method("pwd"), now).await;
        return Err(ApiError::InvalidCredentials);
    };
    // Only after a correct password: a wrong one must not learn the account is disabled.
    if user.disabled {
        drawn.succeeded(store).await?;
        tracing::info!(user_id = %user.id, "login refused: account disabled");
        accounts.events.emit(EventKind::UserLoginFailed, refused("account_disabled").method("pwd"), now).await;
        return Err(ApiError::AccountDisabled);
    }
    if accounts.mail.verification == Verification::Required && !user.email_verified {
        drawn.succeeded(store).await?;
        tracing::info!(user_id = %user.id, "login refused: email not verified");
        return Err(ApiError::EmailNotVerified);
    }
    if user.mfa.is_some() {
        // No session yet: the second step (`verify_login`) starts it, bound to the hash as it
        // will stand then (an upgrade first).
        let user = match needs_rehash {
            true => match rehash(accounts, &user, password).await {
                Some(password_hash) => User { password_hash: Some(password_hash), ..user },
                None => user,
            },
            false => user,
        };
        let (returned, challenge) = tokio::join!(
            drawn.succeeded(store),
            mfa::challenge(store, &accounts.passkeys, &user, client, device, None, now)
        );
        returned?;
        metrics::count(Metric::LoginSucceeded);
        return Err(challenge?);
    }
    let entitlements = accounts.entitlements(&user).await?;
    let grant = accounts.issuer.next_refresh(new_session_id(), now).bound_to(csrf);
    // The session exists only if the account is still as the check saw it: a password change
    // (or any credential event) that committed meanwhile made the check stale. The attempts go
    // back meanwhile: the password was right either way.
    let session = session_for(&user, &grant, client, now);
    let proof = LoginProof::Password { credential_epoch: user.credential_epoch };
    let (returned, created) = tokio::join!(drawn.succeeded(store), store.start_session(&session, &proof));
    returned?;
    if !created? {
        tracing::info!(user_id = %user.id, "login refused: the password changed during the check");
        return Err(ApiError::InvalidCredentials);
    }
    if needs_rehash {
        rehash(accounts, &user, password).await;
    }
    metrics::count(Metric::LoginSucceeded);
    tracing::info!(user_id = %user.id, session_id = %grant.session_id, "logged in");
    let detail = EventDetail::ok(&user.id).session(&grant.session_id).from_ip(client.ip).method("pwd");
    accounts.events.emit(EventKind::UserLoggedIn, detail, now).await;
    let device_token = accounts.issuer.issue_device(&user.email, device.as_deref(), now).map_err(internal)?;
    let signed_in = signed_in(&accounts.issuer, user, &entitlements, &grant, now)?;
    Ok(SignedIn { device_token: Some(device_token), password_breached: breached, ..signed_in })
}

/// Changes the caller's password: the caller's session must be live (not revoked, expired or
/// cut off account-wide); the current password must be right (failures count against that
/// session's own budget, never against logins); every other session of the account is revoked
/// and the caller's renewed, in one atomic write.
pub async fn change_password(
    accounts: &Accounts,
    principal: &Principal,
    current: Password,
    new: Password,
    csrf: Option<CsrfBinding>,
    now: UnixTime,
) -> Result<SignedIn, ApiError> {
    let store = accounts.store.as_ref();
    let (user, session) = proven_caller(accounts, principal, current, "password change", now).await?;
    let accepted = accounts.password_policy.check_new(&new, &user.email, "new_password").await?;
    let new_hash = accounts.hasher.hash(new).await.map_err(internal)?;
    let entitlements = accounts.entitlements(&user).await?;
    let mut user = user;
    // The commit is conditional on the account being as read here, including its count of
    // sessions started: a login that slipped a session in since makes it retry, with a cutoff
    // (taken just before the commit, not at the start: hashing takes a while) that covers it.
    for _ in 0..3 {
        let commit = UnixTime::now().max(now);
        let (grant, renewal) = renewed(&accounts.issuer, &session, csrf.clone(), session.methods, commit);
        let change = PasswordChange {
            user_id: user.id.clone(),
            credential_epoch: user.credential_epoch,
            sessions_started: user.sessions_started,
            new_hash: new_hash.clone(),
            renewal,
        };
        if store.change_password(&change).await? {
            tracing::info!(user_id = %user.id, session_id = %grant.session_id, "password changed; other sessions revoked");
            let detail = EventDetail::ok(&user.id).session(&session.id);
            accounts.events.emit(EventKind::UserPasswordChanged, detail, commit).await;
            send_notice(accounts, &user.email, Notice::PasswordChanged).await;
            let user = User {
                password_hash: Some(new_hash),
                sessions_valid_after_ms: commit.millis(),
                latest_reset_ms: None,
                credential_epoch: user.credential_epoch + 1,
                ..user
            };
            let signed_in = signed_in(&accounts.issuer, user, &entitlements, &grant, commit)?;
            return Ok(SignedIn { password_breached: accepted.breached, ..signed_in });
        }
        // Refused: another change won, the account or the session ended, or a login raced.
        let fresh = store.user_by_id(&user.id).await?;
        let live = store.session(&session.id).await?;
        match (fresh, live) {
            (Some(fresh), Some((live, false)))
                if fresh.unchanged_since(user.credential_epoch)
                    && !fresh.disabled
                    && live.created_ms == session.created_ms
                    && live.created_ms > fresh.sessions_valid_after_ms =>
            {
                user = fresh;
            }
            _ => return Err(ApiError::TokenRevoked),
        }
    }
    Err(ApiError::Unavailable)
}

pub async fn me(store: &dyn AccountStore, principal: &Principal) -> Result<User, ApiError> {
    match store.user_by_id(&principal.user_id).await? {
        Some(user) if user.disabled => Err(ApiError::AccountDisabled),
        Some(user) => Ok(user),
        None => Err(ApiError::InvalidToken),
    }
}

/// Upgrades a hash made with older parameters; the new hash, if it was stored. A failure costs
/// nothing but the upgrade: the login itself already succeeded, and the next one retries.
async fn rehash(accounts: &Accounts, user: &User, password: Password) -> Option<String> {
    // Only over the hash just verified: never over one a concurrent password change wrote.
    let current = user.password_hash.as_deref()?;
    let outcome = match accounts.hasher.hash(password).await {
        Ok(hash) => match accounts.store.set_password_hash(&user.id, current, &hash).await {
            Ok(true) => Ok(Some(hash)),
            Ok(false) => Ok(None),
            Err(error) => Err(error.to_string()),
        },
        Err(error) => Err(error.to_string()),
    };
    match outcome {
        Ok(stored) => {
            tracing::info!(user_id = %user.id, stored = stored.is_some(), "password rehashed with current parameters");
            stored
        }
        Err(reason) => {
            tracing::warn!(user_id = %user.id, %reason, "password rehash failed");
            None
        }
    }
}
