//! The items as stored, one private record per kind, mapped by serde_dynamo. Their attribute
//! names and types are the stored format: existing data, the `users_by_created` index and the
//! TTL (`schema.rs`, `template.yaml`) depend on them, so a field's name, type (S, N, BOOL) and
//! absence when empty never change.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::de::DeserializeOwned;
use serde::{Serialize, Serializer};

use crate::domain::Email;
use crate::store::StoreError;

mod federation;
mod mfa;
mod one_time;
mod passkey;
mod role;
mod session;
mod throttle;
mod user;

pub(super) use federation::*;
pub(super) use mfa::*;
pub(super) use one_time::*;
pub(super) use passkey::*;
pub(super) use role::*;
pub(super) use session::*;
pub(super) use throttle::*;
pub(super) use user::*;

pub(crate) type Item = HashMap<String, AttributeValue>;

pub(crate) fn user_key(user_id: &str) -> String {
    format!("user#{user_id}")
}

pub(crate) fn email_key(email: &Email) -> String {
    format!("email#{}", email.as_str())
}

pub(crate) fn session_key(session_id: &str) -> String {
    format!("session#{session_id}")
}

pub(crate) fn access_token_key(jti: &str) -> String {
    format!("jti#{jti}")
}

pub(crate) fn throttle_key(bucket_key: &str) -> String {
    format!("throttle#{bucket_key}")
}

pub(crate) fn one_time_key(digest: &str) -> String {
    format!("otk#{digest}")
}

pub(crate) fn mfa_enrolment_key(user_id: &str) -> String {
    format!("mfa_enrolment#{user_id}")
}

pub(crate) fn mfa_challenge_key(digest: &str) -> String {
    format!("mfa_challenge#{digest}")
}

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The `entity` attribute each written item carries: `users_by_created` is keyed on it.
#[derive(Clone, Copy)]
pub(crate) enum Entity {
    User,
    EmailGuard,
    Session,
    AccessToken,
    Throttle,
    OneTimeToken,
    MfaEnrolment,
    MfaChallenge,
    RoleCatalog,
    UpstreamLogin,
    LoginCode,
    IdentityGuard,
    PasskeyCeremony,
}

impl Entity {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Entity::User => "user",
            Entity::EmailGuard => "email",
            Entity::Session => "session",
            Entity::AccessToken => "access_token",
            Entity::Throttle => "throttle",
            Entity::OneTimeToken => "one_time_token",
            Entity::MfaEnrolment => "mfa_enrolment",
            Entity::MfaChallenge => "mfa_challenge",
            Entity::RoleCatalog => "role_catalog",
            Entity::UpstreamLogin => "upstream_login",
            Entity::LoginCode => "login_code",
            Entity::IdentityGuard => "identity",
            Entity::PasskeyCeremony => "passkey_ceremony",
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

pub(crate) fn write<R: Serialize>(pk: String, entity: Entity, record: R) -> Result<Item, StoreError> {
    serde_dynamo::to_item(Keyed { pk, entity, record })
        .map_err(|error| StoreError::Internal(format!("item not writable: {error}")))
}

/// A stored item as the value its record `R` converts to.
pub(crate) fn read<R: DeserializeOwned + Into<T>, T>(item: Item) -> Result<T, StoreError> {
    serde_dynamo::from_item::<_, R>(item)
        .map(Into::into)
        .map_err(|error| StoreError::Internal(format!("stored item unreadable: {error}")))
}

/// The key, which tells apart the kinds of item a batch read returns from one table.
pub(crate) fn pk(item: &Item) -> Option<&str> {
    item.get("pk").and_then(|value| value.as_s().ok()).map(String::as_str)
}
