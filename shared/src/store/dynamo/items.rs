//! The items as stored, one private record per kind, mapped by serde_dynamo. Their attribute
//! names and types are the stored format: existing data, the `users_by_created` index and the
//! TTL (`schema.rs`, `template.yaml`) depend on them, so a field's name, type (S, N, BOOL) and
//! absence when empty never change.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize, Serializer};

use crate::domain::mfa::{MfaChallenge, PendingEnrolment};
use crate::domain::{CustomClaims, Email, MfaFactor, OneTimeToken, Purpose, Role, SeenFrom, Session, User};
use crate::store::{StoreError, ThrottleRecord, UserSummary};

pub(super) type Item = HashMap<String, AttributeValue>;

pub(super) fn user_key(user_id: &str) -> String {
    format!("user#{user_id}")
}

pub(super) fn email_key(email: &Email) -> String {
    format!("email#{}", email.as_str())
}

pub(super) fn session_key(session_id: &str) -> String {
    format!("session#{session_id}")
}

pub(super) fn access_token_key(jti: &str) -> String {
    format!("jti#{jti}")
}

pub(super) fn throttle_key(bucket_key: &str) -> String {
    format!("throttle#{bucket_key}")
}

pub(super) fn one_time_key(digest: &str) -> String {
    format!("otk#{digest}")
}

pub(super) fn mfa_enrolment_key(user_id: &str) -> String {
    format!("mfa_enrolment#{user_id}")
}

pub(super) fn mfa_challenge_key(digest: &str) -> String {
    format!("mfa_challenge#{digest}")
}

pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(super) fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The `entity` attribute each written item carries: `users_by_created` is keyed on it.
#[derive(Clone, Copy)]
pub(super) enum Entity {
    User,
    EmailGuard,
    Session,
    AccessToken,
    Throttle,
    OneTimeToken,
    MfaEnrolment,
    MfaChallenge,
}

impl Entity {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Entity::User => "user",
            Entity::EmailGuard => "email",
            Entity::Session => "session",
            Entity::AccessToken => "access_token",
            Entity::Throttle => "throttle",
            Entity::OneTimeToken => "one_time_token",
            Entity::MfaEnrolment => "mfa_enrolment",
            Entity::MfaChallenge => "mfa_challenge",
        }
    }
}

impl Serialize for Entity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// An item as written: its key and entity around the record. Records leave both out because
/// reads must not need them: an item an update creates has no `entity`.
#[derive(Serialize)]
struct Keyed<R> {
    pk: String,
    entity: Entity,
    #[serde(flatten)]
    record: R,
}

fn write<R: Serialize>(pk: String, entity: Entity, record: R) -> Result<Item, StoreError> {
    serde_dynamo::to_item(Keyed { pk, entity, record })
        .map_err(|error| StoreError::Internal(format!("item not writable: {error}")))
}

/// A stored item as the value its record `R` converts to.
pub(super) fn read<R: DeserializeOwned + Into<T>, T>(item: Item) -> Result<T, StoreError> {
    serde_dynamo::from_item::<_, R>(item)
        .map(Into::into)
        .map_err(|error| StoreError::Internal(format!("stored item unreadable: {error}")))
}

/// The key, which tells apart the kinds of item a batch read returns from one table.
pub(super) fn pk(item: &Item) -> Option<&str> {
    item.get("pk").and_then(|value| value.as_s().ok()).map(String::as_str)
}

#[derive(Serialize, Deserialize)]
pub(super) struct UserItem {
    id: String,
    email: String,
    password_hash: String,
    role: Role,
    #[serde(default)]
    disabled: bool,
    /// Epoch seconds.
    created_at: u64,
    #[serde(default)]
    sessions_valid_after_ms: u64,
    #[serde(default)]
    sessions_started: u64,
    #[serde(default)]
    email_verified: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    latest_reset_ms: Option<u64>,
    /// The TOTP key, sealed (`MfaSealingKey`): present exactly while MFA is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mfa_totp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mfa_last_step: Option<u64>,
    /// A string set (SS) of the unused recovery codes' SHA-256 digests: one is spent with
    /// `DELETE`, conditioned on `contains`. DynamoDB drops the attribute with its last member.
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "serde_dynamo::string_set")]
    mfa_recovery: Vec<String>,
    /// The custom claims as JSON text (absent: none): a string keeps numbers exactly as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    claims: Option<String>,
    /// Raised by every credential event (`credentials.rs`); absent on accounts that never had one.
    #[serde(default)]
    credential_epoch: u64,
}

impl From<&User> for UserItem {
    fn from(user: &User) -> Self {
        Self {
            id: user.id.clone(),
            email: user.email.as_str().to_owned(),
            password_hash: user.password_hash.clone(),
            role: user.role,
            disabled: user.disabled,
            created_at: user.created_at,
            sessions_valid_after_ms: user.sessions_valid_after_ms,
            sessions_started: user.sessions_started,
            email_verified: user.email_verified,
            latest_reset_ms: user.latest_reset_ms,
            mfa_totp: user.mfa.as_ref().map(|factor| factor.sealed_key.clone()),
            mfa_last_step: user.mfa.as_ref().and_then(|factor| factor.last_used_step),
            mfa_recovery: user.mfa.as_ref().map(|factor| factor.recovery_digests.clone()).unwrap_or_default(),
            claims: (!user.claims.is_empty()).then(|| user.claims.to_json()),
            credential_epoch: user.credential_epoch,
        }
    }
}

impl From<UserItem> for User {
    fn from(item: UserItem) -> Self {
        Self {
            id: item.id,
            email: Email::from_stored(item.email),
            password_hash: item.password_hash,
            role: item.role,
            disabled: item.disabled,
            created_at: item.created_at,
            sessions_valid_after_ms: item.sessions_valid_after_ms,
            sessions_started: item.sessions_started,
            email_verified: item.email_verified,
            latest_reset_ms: item.latest_reset_ms,
            mfa: item.mfa_totp.map(|sealed_key| MfaFactor {
                sealed_key,
                last_used_step: item.mfa_last_step,
                recovery_digests: item.mfa_recovery,
            }),
            claims: item.claims.as_deref().map(CustomClaims::from_stored).unwrap_or_default(),
            credential_epoch: item.credential_epoch,
        }
    }
}

pub(super) fn user(user: &User) -> Result<Item, StoreError> {
    write(user_key(&user.id), Entity::User, UserItem::from(user))
}

/// A user as `users_by_created` projects it (`schema.rs`): no hash, no cutoff.
#[derive(Deserialize)]
pub(super) struct UserSummaryItem {
    id: String,
    email: String,
    role: Role,
    #[serde(default)]
    disabled: bool,
    created_at: u64,
    #[serde(default)]
    email_verified: bool,
}

impl From<UserSummaryItem> for UserSummary {
    fn from(item: UserSummaryItem) -> Self {
        Self {
            id: item.id,
            email: item.email,
            role: item.role,
            disabled: item.disabled,
            created_at: item.created_at,
            email_verified: item.email_verified,
            mfa_enabled: None,
            claims: None,
        }
    }
}

/// The key at which a page of `users_by_created` ends: the index's key and the table's.
pub(super) fn user_index_key(user_id: &str) -> Item {
    HashMap::from([
        ("pk".to_owned(), s(user_key(user_id))),
        ("entity".to_owned(), s(Entity::User.as_str())),
        ("id".to_owned(), s(user_id)),
    ])
}

/// Makes an email unique: a transaction writes it with the user, on the condition that it is new.
#[derive(Serialize, Deserialize)]
pub(super) struct EmailGuardItem {
    pub(super) user_id: String,
}

pub(super) fn email_guard(email: &Email, user_id: &str) -> Result<Item, StoreError> {
    write(email_key(email), Entity::EmailGuard, EmailGuardItem { user_id: user_id.to_owned() })
}

#[derive(Serialize, Deserialize)]
pub(super) struct SessionItem {
    session_id: String,
    user_id: String,
    current_jti: String,
    created_ms: u64,
    /// Epoch seconds; the TTL.
    expires_at: u64,
    auth_time: u64,
    #[serde(default)]
    revoked: bool,
    // The first rotation writes these three together; a session never rotated has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    previous_jti: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rotated_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    grace_used: Option<bool>,
    /// Epoch ms of the login or the latest refresh (absent on sessions older than the list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_used_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user_agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ip: Option<String>,
    /// The owner's id while the session is live: the `sessions_by_user` index's partition key.
    /// A revocation removes it, so the index holds live (or expiring) sessions only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    live_user_id: Option<String>,
    /// Whether its login proved a second factor (absent: it did not).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    mfa: bool,
}

impl From<&Session> for SessionItem {
    fn from(session: &Session) -> Self {
        let rotated = session.previous_jti.is_some();
        Self {
            session_id: session.id.clone(),
            user_id: session.user_id.clone(),
            current_jti: session.current_jti.clone(),
            created_ms: session.created_ms,
            expires_at: session.expires_at,
            auth_time: session.auth_time,
            revoked: false,
            previous_jti: session.previous_jti.clone(),
            rotated_ms: rotated.then_some(session.rotated_ms),
            grace_used: rotated.then_some(session.grace_used),
            last_used_ms: Some(session.last_used_ms),
            user_agent: session.seen_from.user_agent.clone(),
            ip: session.seen_from.ip.clone(),
            live_user_id: Some(session.user_id.clone()),
            mfa: session.mfa,
        }
    }
}

/// The session with its revoked flag.
impl From<SessionItem> for (Session, bool) {
    fn from(item: SessionItem) -> Self {
        let session = Session {
            id: item.session_id,
            user_id: item.user_id,
            current_jti: item.current_jti,
            created_ms: item.created_ms,
            expires_at: item.expires_at,
            auth_time: item.auth_time,
            previous_jti: item.previous_jti,
            rotated_ms: item.rotated_ms.unwrap_or(0),
            grace_used: item.grace_used.unwrap_or(false),
            last_used_ms: item.last_used_ms.unwrap_or(item.created_ms),
            seen_from: SeenFrom { user_agent: item.user_agent, ip: item.ip },
            mfa: item.mfa,
        };
        (session, item.revoked)
    }
}

/// A new session, live.
pub(super) fn session(session: &Session) -> Result<Item, StoreError> {
    write(session_key(&session.id), Entity::Session, SessionItem::from(session))
}

/// An access token blocked until it expires.
#[derive(Serialize, Deserialize)]
pub(super) struct AccessTokenItem {
    /// Epoch seconds; the TTL.
    pub(super) expires_at: u64,
}

pub(super) fn revoked_access_token(jti: &str, expires_at: u64) -> Result<Item, StoreError> {
    write(access_token_key(jti), Entity::AccessToken, AccessTokenItem { expires_at })
}

/// A login-throttle bucket's attempts within its window, and its lock.
#[derive(Serialize, Deserialize)]
pub(super) struct ThrottleItem {
    #[serde(default)]
    attempts: u32,
    /// Epoch seconds; the TTL, and the end of the window.
    expires_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    locked_until_ms: Option<u64>,
}

impl From<ThrottleItem> for ThrottleRecord {
    fn from(item: ThrottleItem) -> Self {
        Self { attempts: item.attempts, locked_until_ms: item.locked_until_ms, expires_at: item.expires_at }
    }
}

/// The first attempt of a bucket's window.
pub(super) fn first_attempt(bucket_key: &str, expires_at: u64) -> Result<Item, StoreError> {
    write(throttle_key(bucket_key), Entity::Throttle, ThrottleItem { attempts: 1, expires_at, locked_until_ms: None })
}

/// A one-time token: the key is its digest; the token itself is never stored.
#[derive(Serialize, Deserialize)]
pub(super) struct OneTimeTokenItem {
    purpose: String,
    user_id: String,
    email: String,
    issued_ms: u64,
    /// Epoch seconds; the TTL.
    expires_at: u64,
    #[serde(default)]
    credential_epoch: u64,
}

pub(super) fn one_time_token(token: &OneTimeToken) -> Result<Item, StoreError> {
    let record = OneTimeTokenItem {
        purpose: token.purpose.as_str().to_owned(),
        user_id: token.user_id.clone(),
        email: token.email.as_str().to_owned(),
        issued_ms: token.issued_ms,
        expires_at: token.expires_at,
        credential_epoch: token.credential_epoch,
    };
    write(one_time_key(&token.digest), Entity::OneTimeToken, record)
}

pub(super) fn read_one_time_token(digest: &str, item: Item) -> Result<OneTimeToken, StoreError> {
    let record = read::<OneTimeTokenItem, OneTimeTokenItem>(item)?;
    let purpose = Purpose::parse(&record.purpose)
        .ok_or_else(|| StoreError::Internal(format!("stored one-time token has purpose {:?}", record.purpose)))?;
    Ok(OneTimeToken {
        digest: digest.to_owned(),
        purpose,
        user_id: record.user_id,
        email: Email::from_stored(record.email),
        issued_ms: record.issued_ms,
        expires_at: record.expires_at,
        credential_epoch: record.credential_epoch,
    })
}

/// A TOTP enrolment waiting for its code, one per account (a new one replaces it).
#[derive(Serialize, Deserialize)]
pub(super) struct MfaEnrolmentItem {
    user_id: String,
    sealed_key: String,
    /// Epoch seconds; the TTL.
    expires_at: u64,
    #[serde(default)]
    credential_epoch: u64,
}

pub(super) fn mfa_enrolment(enrolment: &PendingEnrolment) -> Result<Item, StoreError> {
    let record = MfaEnrolmentItem {
        user_id: enrolment.user_id.clone(),
        sealed_key: enrolment.sealed_key.clone(),
        expires_at: enrolment.expires_at,
        credential_epoch: enrolment.credential_epoch,
    };
    write(mfa_enrolment_key(&enrolment.user_id), Entity::MfaEnrolment, record)
}

impl From<MfaEnrolmentItem> for PendingEnrolment {
    fn from(item: MfaEnrolmentItem) -> Self {
        Self {
            user_id: item.user_id,
            sealed_key: item.sealed_key,
            expires_at: item.expires_at,
            credential_epoch: item.credential_epoch,
        }
    }
}

/// A login waiting for its second factor: keyed by the `mfa_token`'s digest.
#[derive(Serialize, Deserialize)]
pub(super) struct MfaChallengeItem {
    user_id: String,
    password_digest: String,
    client_digest: String,
    #[serde(default)]
    attempts: u32,
    /// Epoch seconds; the TTL.
    expires_at: u64,
    #[serde(default)]
    credential_epoch: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    device_id: Option<String>,
}

pub(super) fn mfa_challenge(challenge: &MfaChallenge) -> Result<Item, StoreError> {
    let record = MfaChallengeItem {
        user_id: challenge.user_id.clone(),
        password_digest: challenge.password_digest.clone(),
        client_digest: challenge.client_digest.clone(),
        attempts: challenge.attempts,
        expires_at: challenge.expires_at,
        credential_epoch: challenge.credential_epoch,
        device_id: challenge.device_id.clone(),
    };
    write(mfa_challenge_key(&challenge.digest), Entity::MfaChallenge, record)
}

pub(super) fn read_mfa_challenge(digest: &str, item: Item) -> Result<MfaChallenge, StoreError> {
    let record = read::<MfaChallengeItem, MfaChallengeItem>(item)?;
    Ok(MfaChallenge {
        digest: digest.to_owned(),
        user_id: record.user_id,
        password_digest: record.password_digest,
        client_digest: record.client_digest,
        attempts: record.attempts,
        expires_at: record.expires_at,
        credential_epoch: record.credential_epoch,
        device_id: record.device_id,
    })
}
