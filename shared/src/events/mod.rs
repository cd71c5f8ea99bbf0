//! Lifecycle events (registration, logins, lockouts, reuse, password and email changes, MFA,
//! administrators' changes) for whoever listens: Amazon EventBridge when deployed
//! (`EVENT_BUS_NAME`), an in-memory list in the local API (`GET /_dev/events`), or nobody.
//!
//! Delivery is best-effort by design: an event is sent once the request's answer is decided,
//! with a short bound, and a failure is logged, never returned. A detail names the account, the
//! session, the client's address and the outcome — never a password, token, code or key.

mod eventbridge;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;

pub use eventbridge::EventBridgeSink;

use crate::time::UnixTime;

/// The events' `source` on the bus.
pub const EVENT_SOURCE: &str = "jwt-auth";
/// How long a request may wait for its events to be accepted before going on without them.
pub const SEND_TIMEOUT: Duration = Duration::from_millis(300);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    UserRegistered,
    UserLoggedIn,
    UserLoginFailed,
    UserLockedOut,
    SessionReuseDetected,
    UserPasswordChanged,
    UserPasswordReset,
    UserEmailVerified,
    UserEmailChanged,
    UserMfaEnabled,
    UserMfaDisabled,
    UserUpdated,
    RoleUpdated,
    UserDeleted,
    UserIdentityLinked,
    UserIdentityUnlinked,
    UserPasskeyAdded,
    UserPasskeyRemoved,
}

impl EventKind {
    /// The event's name: EventBridge's `detail-type`.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::UserRegistered => "user.registered",
            EventKind::UserLoggedIn => "user.logged_in",
            EventKind::UserLoginFailed => "user.login_failed",
            EventKind::UserLockedOut => "user.locked_out",
            EventKind::SessionReuseDetected => "session.reuse_detected",
            EventKind::UserPasswordChanged => "user.password_changed",
            EventKind::UserPasswordReset => "user.password_reset",
            EventKind::UserEmailVerified => "user.email_verified",
            EventKind::UserEmailChanged => "user.email_changed",
            EventKind::UserMfaEnabled => "user.mfa_enabled",
            EventKind::UserMfaDisabled => "user.mfa_disabled",
            EventKind::UserUpdated => "user.updated",
            EventKind::RoleUpdated => "role.updated",
            EventKind::UserDeleted => "user.deleted",
            EventKind::UserIdentityLinked => "user.identity_linked",
            EventKind::UserIdentityUnlinked => "user.identity_unlinked",
            EventKind::UserPasskeyAdded => "user.passkey_added",
            EventKind::UserPasskeyRemoved => "user.passkey_removed",
        }
    }
}

impl Serialize for EventKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// What an event says. Identifiers and outcomes only: nothing secret fits in it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct EventDetail {
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub ip: Option<String>,
    /// `ok`, or the refusal's error code (`invalid_credentials`, `too_many_attempts`, ...).
    pub outcome: &'static str,
    /// How: `pwd`, `totp`, `recovery_code` (logins, MFA), `admin` (an administrator's action).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<&'static str>,
    /// Who did it, when not the account itself (an administrator's id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// The role a `role.updated` is about (its name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// What an administrator changed (`role`, `disabled`, `claims`, `roles`; for a role
    /// `created`, `permissions`, `deleted`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<&'static str>,
}

impl EventDetail {
    pub fn ok(user_id: &str) -> Self {
        Self { user_id: Some(user_id.to_owned()), outcome: "ok", ..Self::default() }
    }

    pub fn session(self, session_id: &str) -> Self {
        Self { session_id: Some(session_id.to_owned()), ..self }
    }

    pub fn from_ip(self, ip: Option<std::net::IpAddr>) -> Self {
        Self { ip: ip.map(|ip| ip.to_string()), ..self }
    }

    pub fn method(self, method: &'static str) -> Self {
        Self { method: Some(method), ..self }
    }
}

/// Serialized as the contract's `{"type", "detail", "time"}` (the local API's `GET /_dev/events`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Event {
    #[serde(rename = "type")]
    pub kind: EventKind,
    pub detail: EventDetail,
    /// RFC 3339, UTC.
    pub time: String,
}

impl Event {
    pub fn new(kind: EventKind, detail: EventDetail, now: UnixTime) -> Self {
        let instant = std::time::UNIX_EPOCH + Duration::from_millis(now.millis());
        Self { kind, detail, time: humantime::format_rfc3339_millis(instant).to_string() }
    }
}

/// Where events go.
#[async_trait]
pub trait EventSink: Send + Sync {
    async fn put(&self, event: &Event) -> Result<(), String>;
}

/// The events of this process, oldest first (the local API's `GET /_dev/events`).
#[derive(Clone, Default)]
pub struct MemoryEvents {
    events: Arc<Mutex<Vec<Event>>>,
}

impl MemoryEvents {
    pub fn events(&self) -> Vec<Event> {
        self.events.lock().map(|events| events.clone()).unwrap_or_default()
    }
}

#[async_trait]
impl EventSink for MemoryEvents {
    async fn put(&self, event: &Event) -> Result<(), String> {
        self.events.lock().map_err(|_| "event list lock poisoned".to_owned())?.push(event.clone());
        Ok(())
    }
}

/// The use cases' handle on the sink: `emit` never fails and never waits past [`SEND_TIMEOUT`].
#[derive(Clone, Default)]
pub struct Events {
    sink: Option<Arc<dyn EventSink>>,
}

impl Events {
    /// Events go nowhere (no `EVENT_BUS_NAME`).
    pub fn disabled() -> Self {
        Self { sink: None }
    }

    pub fn to(sink: Arc<dyn EventSink>) -> Self {
        Self { sink: Some(sink) }
    }

    pub async fn emit(&self, kind: EventKind, detail: EventDetail, now: UnixTime) {
        let Some(sink) = &self.sink else { return };
        let event = Event::new(kind, detail, now);
        match tokio::time::timeout(SEND_TIMEOUT, sink.put(&event)).await {
            Ok(Ok(())) => {}
            Ok(Err(reason)) => tracing::warn!(event = kind.name(), %reason, "event not delivered"),
            Err(_) => tracing::warn!(
                event = kind.name(),
                timeout_ms = SEND_TIMEOUT.as_millis() as u64,
                "event not delivered in time"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_reads_as_type_detail_and_time() {
        let event = Event::new(EventKind::UserLoggedIn, EventDetail::ok("u-1").method("pwd"), UnixTime::from_millis(0));
        let json = serde_json::to_value(&event).unwrap();
        let mut keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["detail", "time", "type"], "the contract's names, and no `kind`");
        assert_eq!(json["type"], "user.logged_in");
        assert_eq!(json["time"], "1970-01-01T00:00:00.000Z");
        assert_eq!(json["detail"]["user_id"], "u-1");
    }
}
