//! A session (`session#<sid>`) and an access token revoked before its expiry (`jti#<jti>`).

use serde::{Deserialize, Serialize};

use super::{Entity, Item, access_token_key, session_key, write};
use crate::domain::{AuthMethods, SeenFrom, Session};
use crate::store::StoreError;

#[derive(Serialize, Deserialize)]
pub(crate) struct SessionItem {
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
    /// How its sign-in proved who it was, as `amr` values (absent on sessions written before
    /// the methods were: then `mfa` says whether a code was proved).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    amr: Vec<String>,
    #[serde(default, skip_serializing)]
    mfa: bool,
    /// The provider of a federated sign-in; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    idp: Option<String>,
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
            amr: session.methods.amr(),
            mfa: false,
            idp: session.idp.clone(),
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
            methods: match (item.amr.is_empty(), item.mfa) {
                (false, _) => AuthMethods::from_amr(&item.amr),
                (true, true) => AuthMethods::password_and_code(),
                (true, false) => AuthMethods::password(),
            },
            idp: item.idp,
        };
        (session, item.revoked)
    }
}

/// A new session, live.
pub(crate) fn session(session: &Session) -> Result<Item, StoreError> {
    write(session_key(&session.id), Entity::Session, SessionItem::from(session))
}

/// An access token blocked until it expires.
#[derive(Serialize, Deserialize)]
pub(crate) struct AccessTokenItem {
    /// Epoch seconds; the TTL.
    pub(crate) expires_at: u64,
}

pub(crate) fn revoked_access_token(jti: &str, expires_at: u64) -> Result<Item, StoreError> {
    write(access_token_key(jti), Entity::AccessToken, AccessTokenItem { expires_at })
}
