//! The account (`user#<id>`), its summary as the user list's index projects it, and the guard
//! that keeps an address unique (`email#<address>`).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::{
    Entity, Item, LinkedIdentityItem, PasskeyItem, email_key, identities_from_map, identities_map, passkeys_from_map,
    passkeys_map, s, user_key, write,
};
use crate::domain::{CustomClaims, Email, MfaFactor, Role, User};
use crate::store::{StoreError, UserSummary};

#[derive(Serialize, Deserialize)]
pub(crate) struct UserItem {
    id: String,
    email: String,
    /// Absent on an account without a password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    password_hash: Option<String>,
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
    /// A string set (SS) of the ids of the roles an administrator assigned; absent: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "serde_dynamo::string_set")]
    roles: Vec<String>,
    /// Raised by every credential event (`credentials.rs`); written on every account, absent only
    /// on accounts written before credential epochs existed.
    #[serde(default)]
    credential_epoch: u64,
    /// The linked identities, a map (M) by provider; absent: none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    identities: BTreeMap<String, LinkedIdentityItem>,
    /// The passkeys, a map (M) by passkey id; absent: none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    passkeys: BTreeMap<String, PasskeyItem>,
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
            roles: user.roles.clone(),
            credential_epoch: user.credential_epoch,
            identities: identities_map(&user.identities),
            passkeys: passkeys_map(&user.passkeys),
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
            roles: item.roles,
            credential_epoch: item.credential_epoch,
            identities: identities_from_map(item.identities),
            passkeys: passkeys_from_map(item.passkeys),
        }
    }
}

pub(crate) fn user(user: &User) -> Result<Item, StoreError> {
    write(user_key(&user.id), Entity::User, UserItem::from(user))
}

/// A user as `users_by_created` projects it (`schema.rs`): no hash, no cutoff.
#[derive(Deserialize)]
pub(crate) struct UserSummaryItem {
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
            roles: None,
        }
    }
}

/// The key at which a page of `users_by_created` ends: the index's key and the table's.
pub(crate) fn user_index_key(user_id: &str) -> Item {
    HashMap::from([
        ("pk".to_owned(), s(user_key(user_id))),
        ("entity".to_owned(), s(Entity::User.as_str())),
        ("id".to_owned(), s(user_id)),
    ])
}

/// Makes an email unique: a transaction writes it with the user, on the condition that it is new.
#[derive(Serialize, Deserialize)]
pub(crate) struct EmailGuardItem {
    pub(crate) user_id: String,
}

pub(crate) fn email_guard(email: &Email, user_id: &str) -> Result<Item, StoreError> {
    write(email_key(email), Entity::EmailGuard, EmailGuardItem { user_id: user_id.to_owned() })
}
