//! A throttle bucket's counter (`throttle#<bucket>`).

use serde::{Deserialize, Serialize};

use super::{Entity, Item, throttle_key, write};
use crate::store::{StoreError, ThrottleRecord};

/// A login-throttle bucket's attempts within its window, and its lock.
#[derive(Serialize, Deserialize)]
pub(crate) struct ThrottleItem {
    #[serde(default)]
    attempts: u32,
    /// Epoch seconds; the TTL, and the end of the window.
    expires_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    locked_until_ms: Option<u64>,
}

impl From<ThrottleItem> for ThrottleRecord {
    fn from(item: ThrottleItem) -> Self {
        Self { attempts: item.attempts, locked_until_ms: item.locked_until_ms, expires_at: item.expires_at }
    }
}

/// The first attempt of a bucket's window.
pub(crate) fn first_attempt(bucket_key: &str, expires_at: u64) -> Result<Item, StoreError> {
    write(throttle_key(bucket_key), Entity::Throttle, ThrottleItem { attempts: 1, expires_at, locked_until_ms: None })
}
