//! The password policy from the environment: `PASSWORD_BREACH_CHECK` (`off`, the default where
//! unset; the template deploys `block`), `PASSWORD_BREACH_API`, `PASSWORD_BREACH_TIMEOUT_MS`,
//! `PASSWORD_BREACH_ON_ERROR` (`accept` or `refuse`) and `PASSWORD_MIN_STRENGTH` (0–4).

use std::time::Duration;

use super::{ConfigError, Env};
use crate::password_policy::{BreachCheck, BreachMode, DEFAULT_BREACH_TIMEOUT, OnBreachApiError, PasswordPolicy};

const HIBP_RANGE_API: &str = "https://api.pwnedpasswords.com";

impl PasswordPolicy {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let invalid = |name, reason: &str| ConfigError::Invalid { name, reason: reason.into() };
        let breach_mode = match env.get("PASSWORD_BREACH_CHECK").unwrap_or("off") {
            "off" => BreachMode::Off,
            "warn" => BreachMode::Warn,
            "block" => BreachMode::Block,
            _ => return Err(invalid("PASSWORD_BREACH_CHECK", "must be off, warn or block")),
        };
        let on_error = match env.get("PASSWORD_BREACH_ON_ERROR").unwrap_or("accept") {
            "accept" => OnBreachApiError::Accept,
            "refuse" => OnBreachApiError::Refuse,
            _ => return Err(invalid("PASSWORD_BREACH_ON_ERROR", "must be accept or refuse")),
        };
        let default_ms = u64::try_from(DEFAULT_BREACH_TIMEOUT.as_millis()).unwrap_or(1500);
        let timeout = Duration::from_millis(env.number("PASSWORD_BREACH_TIMEOUT_MS", default_ms, 100..=10_000)?);
        let api = env.get("PASSWORD_BREACH_API").unwrap_or(HIBP_RANGE_API).trim();
        if !(api.starts_with("https://") || api.starts_with("http://")) || api.contains(['?', '#', ' ']) {
            return Err(invalid("PASSWORD_BREACH_API", "must be an http(s) URL (the range API's base)"));
        }
        let breaches = match breach_mode {
            BreachMode::Off => None,
            _ => Some(BreachCheck::over_http(api, timeout).map_err(|reason| invalid("PASSWORD_BREACH_API", &reason))?),
        };
        let min_strength = env.number("PASSWORD_MIN_STRENGTH", 0u8, 0..=4)?;
        Ok(Self { breach_mode, breaches, on_error, min_strength })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name_refused(pairs: &[(&str, &str)]) -> &'static str {
        match PasswordPolicy::from_env(&Env::from_pairs(pairs.iter().copied())) {
            Err(ConfigError::Invalid { name, .. }) => name,
            Err(other) => panic!("{other}"),
            Ok(_) => panic!("{pairs:?} accepted"),
        }
    }

    #[test]
    fn unset_is_lengths_only_and_each_variable_is_checked() {
        let policy = PasswordPolicy::from_env(&Env::from_pairs([])).unwrap();
        assert_eq!((policy.breach_mode, policy.min_strength, policy.breaches.is_none()), (BreachMode::Off, 0, true));
        let on = Env::from_pairs([("PASSWORD_BREACH_CHECK", "block"), ("PASSWORD_MIN_STRENGTH", "3")]);
        let policy = PasswordPolicy::from_env(&on).unwrap();
        assert_eq!((policy.breach_mode, policy.min_strength, policy.breaches.is_some()), (BreachMode::Block, 3, true));
        assert_eq!(name_refused(&[("PASSWORD_BREACH_CHECK", "strict")]), "PASSWORD_BREACH_CHECK");
        assert_eq!(name_refused(&[("PASSWORD_BREACH_ON_ERROR", "maybe")]), "PASSWORD_BREACH_ON_ERROR");
        assert_eq!(name_refused(&[("PASSWORD_MIN_STRENGTH", "5")]), "PASSWORD_MIN_STRENGTH");
        assert_eq!(name_refused(&[("PASSWORD_BREACH_TIMEOUT_MS", "50")]), "PASSWORD_BREACH_TIMEOUT_MS");
        assert_eq!(
            name_refused(&[("PASSWORD_BREACH_CHECK", "warn"), ("PASSWORD_BREACH_API", "ftp://x")]),
            "PASSWORD_BREACH_API"
        );
    }
}
