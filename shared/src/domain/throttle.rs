/// Brute-force protection for logins, per account (normalised email), known or not: after
/// `free_failures` failed attempts within `window_secs`, each further failure locks the address
/// for `base_lock_secs * 2^(failures - free_failures)`, capped at `max_lock_secs`. A success
/// resets the count; nothing ever locks for longer than the cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoginThrottle {
    pub free_failures: u32,
    pub base_lock_secs: u64,
    pub max_lock_secs: u64,
    pub window_secs: u64,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self { free_failures: 5, base_lock_secs: 1, max_lock_secs: 900, window_secs: 900 }
    }
}

impl LoginThrottle {
    /// How long to lock after the `failures`-th failure in a row, if at all.
    pub fn lock_secs(&self, failures: u32) -> Option<u64> {
        let beyond = failures.checked_sub(self.free_failures)?;
        let factor = 1u64.checked_shl(beyond.min(32)).unwrap_or(u64::MAX);
        Some(self.base_lock_secs.saturating_mul(factor).min(self.max_lock_secs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_first_failure_past_the_allowance_and_is_capped() {
        let throttle = LoginThrottle::default();
        let locks: Vec<_> = (1..=8).map(|failures| throttle.lock_secs(failures)).collect();
        assert_eq!(locks, [None, None, None, None, Some(1), Some(2), Some(4), Some(8)]);
        assert_eq!(throttle.lock_secs(20), Some(900));
        assert_eq!(throttle.lock_secs(u32::MAX), Some(900));
    }
}
