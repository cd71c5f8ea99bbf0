//! The `ses` sender: Amazon SES v2 `SendEmail`, a simple message with text and HTML bodies.

use async_trait::async_trait;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::error::DisplayErrorContext;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message as SesMessage};

use super::{EmailSender, Message, SendError};

pub struct SesSender {
    client: Client,
    from: String,
}

impl SesSender {
    /// `client` is built once at init; `from` is `EMAIL_FROM`, an address of a verified identity.
    pub fn new(client: Client, from: String) -> Self {
        Self { client, from }
    }
}

fn content(data: &str) -> Result<Content, SendError> {
    Content::builder().data(data).charset("UTF-8").build().map_err(|error| SendError(error.to_string()))
}

#[async_trait]
impl EmailSender for SesSender {
    async fn send(&self, message: &Message) -> Result<(), SendError> {
        let body = Body::builder().text(content(&message.text)?).html(content(&message.html)?).build();
        let simple = SesMessage::builder().subject(content(&message.subject)?).body(body).build();
        self.client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(&message.to).build())
            .content(EmailContent::builder().simple(simple).build())
            .send()
            .await
            // DisplayErrorContext names the error; the request (and its token) is not in it.
            .map_err(|error| SendError(DisplayErrorContext(&error).to_string()))?;
        Ok(())
    }
}
