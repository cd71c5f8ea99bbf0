//! Outgoing mail behind one narrow port, [`EmailSender`], with two adapters: Amazon SES v2
//! (`ses`) and a log line plus, in the local API, an outbox (`log`). The messages themselves
//! come from `templates`.

mod log;
mod ses;
pub mod templates;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

pub use log::{LogSender, Outbox, OutboxMessage};
pub use ses::SesSender;

/// One message, both bodies rendered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// What it is (`verify_email`, `notice_password_changed`, …): for logs, never its content.
    pub kind: &'static str,
}

#[derive(Debug, thiserror::Error)]
#[error("sending mail failed: {0}")]
pub struct SendError(pub String);

#[async_trait]
pub trait EmailSender: Send + Sync {
    async fn send(&self, message: &Message) -> Result<(), SendError>;
}

/// `EMAIL_VERIFICATION`: whether an address must be proved before its account can log in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Verification {
    /// No verification mail; `email_verified` still reports what a reset proved.
    Off,
    /// A verification mail at registration; logging in does not wait for it.
    #[default]
    Optional,
    /// Registration answers without tokens; login waits for the proof.
    Required,
}

impl Verification {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "off" => Some(Self::Off),
            "optional" => Some(Self::Optional),
            "required" => Some(Self::Required),
            _ => None,
        }
    }
}

/// What the email flows need: the sender, where links point, the verification rule, the
/// one-time tokens' lifetimes, and how long the answers that must not reveal an account take.
pub struct Mail {
    pub sender: Arc<dyn EmailSender>,
    /// The front end's origin, without a trailing slash: links are `{app_url}/verify-email#token=…`.
    pub app_url: String,
    pub verification: Verification,
    pub verify_ttl_secs: u64,
    pub reset_ttl_secs: u64,
    /// `forgot` and `resend` answer no sooner than this after the request arrived, whether or
    /// not the account exists and mail went out: their timing says nothing about accounts.
    pub response_floor: Duration,
}

impl Mail {
    pub const DEFAULT_VERIFY_TTL_SECS: u64 = 86_400;
    pub const DEFAULT_RESET_TTL_SECS: u64 = 1_800;
    pub const DEFAULT_RESPONSE_FLOOR_MS: u64 = 400;

    /// Mail that goes to `outbox` (and a log line), with the documented defaults: the local
    /// API's and the tests'.
    pub fn to_outbox(app_url: &str, outbox: Outbox) -> Self {
        Self {
            sender: Arc::new(LogSender::with_outbox(outbox)),
            app_url: app_url.trim_end_matches('/').to_owned(),
            verification: Verification::default(),
            verify_ttl_secs: Self::DEFAULT_VERIFY_TTL_SECS,
            reset_ttl_secs: Self::DEFAULT_RESET_TTL_SECS,
            response_floor: Duration::from_millis(Self::DEFAULT_RESPONSE_FLOOR_MS),
        }
    }

    /// Sends, and logs a failure instead of returning it: no flow fails, or tells anything,
    /// because a mail could not go out (the user can ask again).
    pub async fn send_best_effort(&self, message: Message) {
        match self.sender.send(&message).await {
            Ok(()) => tracing::info!(kind = message.kind, "email sent"),
            Err(error) => tracing::warn!(kind = message.kind, %error, "email not sent"),
        }
    }

    /// [`Mail::send_best_effort`], given up at `deadline`: an answer whose timing must not
    /// depend on the mail service (the mail may still arrive, or not; the owner can ask again).
    pub async fn send_best_effort_by(&self, message: Message, deadline: tokio::time::Instant) {
        let kind = message.kind;
        if tokio::time::timeout_at(deadline, self.send_best_effort(message)).await.is_err() {
            tracing::warn!(kind, "email not sent: the mail service did not answer in time");
        }
    }
}
