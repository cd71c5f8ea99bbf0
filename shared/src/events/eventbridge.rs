//! Events to Amazon EventBridge: one `PutEvents` entry per event, on the configured bus, with
//! the client built once at init.

use async_trait::async_trait;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use super::{EVENT_SOURCE, Event, EventSink};

pub struct EventBridgeSink {
    client: aws_sdk_eventbridge::Client,
    bus_name: String,
}

impl EventBridgeSink {
    pub fn new(client: aws_sdk_eventbridge::Client, bus_name: String) -> Self {
        Self { client, bus_name }
    }
}

#[async_trait]
impl EventSink for EventBridgeSink {
    async fn put(&self, event: &Event) -> Result<(), String> {
        let detail = serde_json::to_string(&event.detail).map_err(|error| error.to_string())?;
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus_name)
            .source(EVENT_SOURCE)
            .detail_type(event.kind.name())
            .detail(detail)
            .build();
        let output = self
            .client
            .put_events()
            .entries(entry)
            .send()
            .await
            .map_err(|error| aws_sdk_eventbridge::error::DisplayErrorContext(&error).to_string())?;
        match output.failed_entry_count() {
            0 => Ok(()),
            _ => {
                let code = output.entries().first().and_then(|entry| entry.error_code()).unwrap_or("unknown");
                Err(format!("PutEvents refused the entry: {code}"))
            }
        }
    }
}
