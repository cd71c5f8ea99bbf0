use std::time::{SystemTime, UNIX_EPOCH};

/// A point in time as milliseconds since the Unix epoch. Every use case takes one as a
/// parameter so that expiry, rotation and TTL rules are tested without sleeping.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct UnixTime {
    millis: u64,
}

impl UnixTime {
    pub fn now() -> Self {
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        Self { millis }
    }

    pub const fn from_millis(millis: u64) -> Self {
        Self { millis }
    }

    pub const fn from_secs(secs: u64) -> Self {
        Self { millis: secs.saturating_mul(1000) }
    }

    pub const fn millis(self) -> u64 {
        self.millis
    }

    pub const fn secs(self) -> u64 {
        self.millis / 1000
    }

    pub const fn plus_secs(self, secs: u64) -> Self {
        Self { millis: self.millis.saturating_add(secs.saturating_mul(1000)) }
    }
}
