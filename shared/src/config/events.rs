//! Where lifecycle events go: `EVENT_BUS_NAME` names an EventBridge bus; unset, nowhere.

use std::sync::Arc;

use super::{ConfigError, Env, aws_sdk_config};
use crate::events::{EventBridgeSink, Events};

impl Events {
    pub async fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let Some(bus) = env.get("EVENT_BUS_NAME") else { return Ok(Self::disabled()) };
        let bus = bus.trim();
        if bus.len() > 1600 || bus.contains(char::is_whitespace) {
            return Err(ConfigError::Invalid { name: "EVENT_BUS_NAME", reason: "must be a bus name or ARN".into() });
        }
        let client = aws_sdk_eventbridge::Client::new(&aws_sdk_config().await);
        Ok(Self::to(Arc::new(EventBridgeSink::new(client, bus.to_owned()))))
    }
}
