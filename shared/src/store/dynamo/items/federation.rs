//! Federation's items: an upstream login in flight (`upstream_login#<state digest>`) and a login
//! code (`login_code#<digest>`), both in the revocations table under its TTL; an identity's guard
//! (`identity#<provider>#<subject>`) beside the account in the users table; and the account's
//! linked identities, a map by provider on the user item.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Entity, Item, read, write};
use crate::domain::LinkedIdentity;
use crate::domain::federation::{FlowMode, LoginCode, UpstreamLogin};
use crate::store::StoreError;

pub(crate) fn upstream_login_key(state_digest: &str) -> String {
    format!("upstream_login#{state_digest}")
}

pub(crate) fn login_code_key(digest: &str) -> String {
    format!("login_code#{digest}")
}

/// Providers and subjects may hold `#`: the subject is last, and the provider id has none.
pub(crate) fn identity_key(provider: &str, subject: &str) -> String {
    format!("identity#{provider}#{subject}")
}

#[derive(Serialize, Deserialize)]
struct UpstreamLoginItem {
    provider: String,
    browser_digest: String,
    nonce: String,
    upstream_verifier: String,
    redirect_uri: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    code_challenge: Option<String>,
    /// Link mode: the account and its epoch; absent when signing in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    link_user_id: Option<String>,
    #[serde(default)]
    link_epoch: u64,
    /// Epoch seconds; the TTL.
    expires_at: u64,
}

pub(crate) fn upstream_login(login: &UpstreamLogin) -> Result<Item, StoreError> {
    let (link_user_id, link_epoch) = match &login.mode {
        FlowMode::SignIn => (None, 0),
        FlowMode::Link { user_id, credential_epoch } => (Some(user_id.clone()), *credential_epoch),
    };
    let record = UpstreamLoginItem {
        provider: login.provider.clone(),
        browser_digest: login.browser_digest.clone(),
        nonce: login.nonce.clone(),
        upstream_verifier: login.upstream_verifier.clone(),
        redirect_uri: login.redirect_uri.clone(),
        code_challenge: login.code_challenge.clone(),
        link_user_id,
        link_epoch,
        expires_at: login.expires_at,
    };
    write(upstream_login_key(&login.state_digest), Entity::UpstreamLogin, record)
}

pub(crate) fn read_upstream_login(state_digest: &str, item: Item) -> Result<UpstreamLogin, StoreError> {
    let record = read::<UpstreamLoginItem, UpstreamLoginItem>(item)?;
    let mode = match record.link_user_id {
        Some(user_id) => FlowMode::Link { user_id, credential_epoch: record.link_epoch },
        None => FlowMode::SignIn,
    };
    Ok(UpstreamLogin {
        state_digest: state_digest.to_owned(),
        provider: record.provider,
        browser_digest: record.browser_digest,
        nonce: record.nonce,
        upstream_verifier: record.upstream_verifier,
        redirect_uri: record.redirect_uri,
        code_challenge: record.code_challenge,
        mode,
        expires_at: record.expires_at,
    })
}

#[derive(Serialize, Deserialize)]
struct LoginCodeItem {
    user_id: String,
    provider: String,
    code_challenge: String,
    credential_epoch: u64,
    /// Epoch seconds; the TTL.
    expires_at: u64,
}

pub(crate) fn login_code(code: &LoginCode) -> Result<Item, StoreError> {
    let record = LoginCodeItem {
        user_id: code.user_id.clone(),
        provider: code.provider.clone(),
        code_challenge: code.code_challenge.clone(),
        credential_epoch: code.credential_epoch,
        expires_at: code.expires_at,
    };
    write(login_code_key(&code.digest), Entity::LoginCode, record)
}

pub(crate) fn read_login_code(digest: &str, item: Item) -> Result<LoginCode, StoreError> {
    let record = read::<LoginCodeItem, LoginCodeItem>(item)?;
    Ok(LoginCode {
        digest: digest.to_owned(),
        user_id: record.user_id,
        provider: record.provider,
        code_challenge: record.code_challenge,
        credential_epoch: record.credential_epoch,
        expires_at: record.expires_at,
    })
}

/// Keeps an identity on one account: a transaction writes it with the account or the link, on
/// the condition that it is new.
#[derive(Serialize, Deserialize)]
pub(crate) struct IdentityGuardItem {
    pub(crate) user_id: String,
}

pub(crate) fn identity_guard(provider: &str, subject: &str, user_id: &str) -> Result<Item, StoreError> {
    write(identity_key(provider, subject), Entity::IdentityGuard, IdentityGuardItem { user_id: user_id.to_owned() })
}

/// One linked identity as the user item's `identities` map holds it, under its provider.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct LinkedIdentityItem {
    subject: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    linked_at: u64,
}

pub(crate) fn identities_map(identities: &[LinkedIdentity]) -> BTreeMap<String, LinkedIdentityItem> {
    identities
        .iter()
        .map(|identity| {
            let item = LinkedIdentityItem {
                subject: identity.subject.clone(),
                email: identity.email.clone(),
                linked_at: identity.linked_at,
            };
            (identity.provider.clone(), item)
        })
        .collect()
}

pub(crate) fn identities_value(
    identities: &[LinkedIdentity],
) -> Result<aws_sdk_dynamodb::types::AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(identities_map(identities))
        .map_err(|error| StoreError::Internal(format!("identities not writable: {error}")))
}

pub(crate) fn identities_from_map(map: BTreeMap<String, LinkedIdentityItem>) -> Vec<LinkedIdentity> {
    map.into_iter()
        .map(|(provider, item)| LinkedIdentity {
            provider,
            subject: item.subject,
            email: item.email,
            linked_at: item.linked_at,
        })
        .collect()
}
