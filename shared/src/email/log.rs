//! The `log` sender: a JSON log line naming the message (never its body, which may carry a
//! token), and in the local API an outbox that `GET /_dev/outbox` shows.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde::Serialize;

use super::{EmailSender, Message, SendError};

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct OutboxMessage {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// RFC 3339, UTC.
    pub sent_at: String,
}

/// The messages sent so far, oldest first.
#[derive(Clone, Default)]
pub struct Outbox(Arc<Mutex<Vec<OutboxMessage>>>);

impl Outbox {
    pub fn messages(&self) -> Vec<OutboxMessage> {
        self.0.lock().map(|messages| messages.clone()).unwrap_or_default()
    }

    fn push(&self, message: OutboxMessage) {
        if let Ok(mut messages) = self.0.lock() {
            messages.push(message);
        }
    }
}

#[derive(Default)]
pub struct LogSender {
    outbox: Option<Outbox>,
}

impl LogSender {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_outbox(outbox: Outbox) -> Self {
        Self { outbox: Some(outbox) }
    }
}

#[async_trait]
impl EmailSender for LogSender {
    async fn send(&self, message: &Message) -> Result<(), SendError> {
        tracing::info!(target: "mail", kind = message.kind, to = %message.to, subject = %message.subject, "email (log sender)");
        if let Some(outbox) = &self.outbox {
            outbox.push(OutboxMessage {
                to: message.to.clone(),
                subject: message.subject.clone(),
                text: message.text.clone(),
                html: message.html.clone(),
                sent_at: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
            });
        }
        Ok(())
    }
}
