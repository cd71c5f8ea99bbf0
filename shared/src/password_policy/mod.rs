//! What a new password must be beyond its length (contract v3, "password policy"): not in a
//! known breach (the Have I Been Pwned range API, `breach.rs`) and, when asked, hard enough to
//! guess (zxcvbn, `strength.rs`). Checked at registration, password change and reset; at login
//! a password found in a breach is only flagged, so that the app can ask for a change.

mod breach;
mod strength;

use std::time::Duration;

pub use breach::{BreachCheck, RangeApi};

use crate::domain::{Email, Password};
use crate::error::{ApiError, FieldError};

/// `PASSWORD_BREACH_CHECK`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreachMode {
    Off,
    /// Accepted, and the token response says `password_breached: true`.
    Warn,
    /// Refused: `400 validation_failed`, field code `password_breached`.
    Block,
}

/// What to do when the breach API does not answer in time (`PASSWORD_BREACH_ON_ERROR`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnBreachApiError {
    /// Accept the password as not found (the default: an outage there must not stop sign-ups).
    Accept,
    /// Refuse the new password with `503 unavailable`.
    Refuse,
}

#[derive(Clone)]
pub struct PasswordPolicy {
    pub breach_mode: BreachMode,
    pub breaches: Option<BreachCheck>,
    pub on_error: OnBreachApiError,
    /// zxcvbn's score a new password must reach (0: no requirement).
    pub min_strength: u8,
}

/// What the policy found of a new password it accepted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Accepted {
    /// In a known breach (`warn` mode): the token response says so.
    pub breached: bool,
}

pub const DEFAULT_BREACH_TIMEOUT: Duration = Duration::from_millis(1500);

impl PasswordPolicy {
    /// Length rules only: no breach check, no strength requirement.
    pub fn lengths_only() -> Self {
        Self { breach_mode: BreachMode::Off, breaches: None, on_error: OnBreachApiError::Accept, min_strength: 0 }
    }

    /// A new `password` for the account of `email`, as the request's `field`: refused with the
    /// field's problem, or accepted (and whether it is in a breach, in `warn` mode).
    pub async fn check_new(
        &self,
        password: &Password,
        email: &Email,
        field: &'static str,
    ) -> Result<Accepted, ApiError> {
        let mut errors = Vec::new();
        if self.min_strength > 0 {
            let assessed = strength::assess(password.expose(), email.as_str());
            if assessed.score < self.min_strength {
                errors.push(FieldError {
                    field,
                    code: Some("password_weak"),
                    message: format!(
                        "is too easy to guess (strength {} of 4, at least {} needed){}",
                        assessed.score, self.min_strength, assessed.advice
                    ),
                });
            }
        }
        let breached = match self.breached(password).await {
            Ok(breached) => breached,
            Err(reason) => {
                tracing::warn!(%reason, "the breach check did not answer");
                if self.on_error == OnBreachApiError::Refuse {
                    return Err(ApiError::Unavailable);
                }
                false
            }
        };
        if breached && self.breach_mode == BreachMode::Block {
            errors.push(FieldError {
                field,
                code: Some("password_breached"),
                message: "appeared in a data breach (Have I Been Pwned): choose another".into(),
            });
        }
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        Ok(Accepted { breached })
    }

    /// At login: whether the password is in a known breach (`warn` and `block` modes; an error
    /// or a timeout is "no", a login never waits on it).
    pub async fn breached_at_login(&self, password: &Password) -> bool {
        self.breached(password).await.unwrap_or_else(|reason| {
            tracing::warn!(%reason, "the breach check did not answer");
            false
        })
    }

    async fn breached(&self, password: &Password) -> Result<bool, String> {
        match (&self.breaches, self.breach_mode) {
            (Some(check), BreachMode::Warn | BreachMode::Block) => check.appears(password).await,
            _ => Ok(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use async_trait::async_trait;

    use super::*;

    /// A range API in the process: lists "password" (SHA-1 5BAA6…), or fails; counts calls.
    struct Range {
        fails: bool,
        calls: AtomicUsize,
        prefixes: Mutex<Vec<String>>,
    }

    #[async_trait]
    impl RangeApi for Range {
        async fn range(&self, prefix: &str) -> Result<String, String> {
            self.calls.fetch_add(1, Ordering::Relaxed);
            self.prefixes.lock().unwrap().push(prefix.to_owned());
            if self.fails {
                return Err("no answer".into());
            }
            Ok("1E4C9B93F3F0682250B6CF8331B7EE68FD8:3\r\n0000000000000000000000000000000000A:0".into())
        }
    }

    fn policy(
        mode: BreachMode,
        on_error: OnBreachApiError,
        min_strength: u8,
        fails: bool,
    ) -> (PasswordPolicy, Arc<Range>) {
        let range = Arc::new(Range { fails, calls: AtomicUsize::new(0), prefixes: Mutex::default() });
        let breaches = Some(BreachCheck::shared(range.clone()));
        (PasswordPolicy { breach_mode: mode, breaches, on_error, min_strength }, range)
    }

    fn password(raw: &str) -> Password {
        Password::parse_presented(raw.into()).unwrap()
    }

    fn email() -> Email {
        Email::parse("ada.lovelace@example.com").unwrap()
    }

    fn codes(result: Result<Accepted, ApiError>) -> Vec<(&'static str, Option<&'static str>)> {
        match result {
            Err(ApiError::Validation(errors)) => errors.iter().map(|error| (error.field, error.code)).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn block_refuses_a_listed_password_and_warn_accepts_and_flags_it() {
        let (block, range) = policy(BreachMode::Block, OnBreachApiError::Accept, 0, false);
        assert_eq!(
            codes(block.check_new(&password("password"), &email(), "password").await),
            [("password", Some("password_breached"))]
        );
        assert_eq!(
            block.check_new(&password("not a listed one"), &email(), "password").await.unwrap(),
            Accepted { breached: false }
        );
        assert_eq!(range.prefixes.lock().unwrap().first().map(String::as_str), Some("5BAA6"));
        let (warn, _) = policy(BreachMode::Warn, OnBreachApiError::Accept, 0, false);
        let accepted = warn.check_new(&password("password"), &email(), "new_password").await.unwrap();
        assert_eq!(accepted, Accepted { breached: true });
        assert!(warn.breached_at_login(&password("password")).await);
        assert!(!warn.breached_at_login(&password("not a listed one")).await);
        assert!(block.breached_at_login(&password("password")).await);
    }

    #[tokio::test]
    async fn off_never_asks_the_api() {
        let (off, range) = policy(BreachMode::Off, OnBreachApiError::Refuse, 0, true);
        assert_eq!(off.check_new(&password("password"), &email(), "password").await.unwrap(), Accepted::default());
        assert!(!off.breached_at_login(&password("password")).await);
        assert_eq!(range.calls.load(Ordering::Relaxed), 0);
    }

    #[tokio::test]
    async fn an_api_failure_accepts_or_refuses_as_configured_and_never_blocks_a_login() {
        let (open, _) = policy(BreachMode::Block, OnBreachApiError::Accept, 0, true);
        assert_eq!(open.check_new(&password("password"), &email(), "password").await.unwrap(), Accepted::default());
        assert!(!open.breached_at_login(&password("password")).await);
        let (closed, _) = policy(BreachMode::Block, OnBreachApiError::Refuse, 0, true);
        assert!(matches!(
            closed.check_new(&password("password"), &email(), "password").await,
            Err(ApiError::Unavailable)
        ));
        assert!(!closed.breached_at_login(&password("password")).await, "a login never waits on it");
    }

    #[tokio::test]
    async fn the_strength_floor_refuses_below_it_and_both_refusals_are_listed() {
        let (floor, _) = policy(BreachMode::Block, OnBreachApiError::Accept, 3, false);
        assert_eq!(
            codes(floor.check_new(&password("adalovelace"), &email(), "password").await),
            [("password", Some("password_weak"))]
        );
        assert_eq!(
            codes(floor.check_new(&password("password"), &email(), "password").await),
            [("password", Some("password_weak")), ("password", Some("password_breached"))]
        );
        let strong = floor.check_new(&password("correct horse battery staple violin"), &email(), "password").await;
        assert_eq!(strong.unwrap(), Accepted::default());
        // A score exactly at the floor passes; one below it does not.
        let score = strength::assess("tr0ub4dour&3", email().as_str()).score;
        let (at, _) = policy(BreachMode::Off, OnBreachApiError::Accept, score, false);
        assert!(at.check_new(&password("tr0ub4dour&3"), &email(), "password").await.is_ok());
        if score < 4 {
            let (above, _) = policy(BreachMode::Off, OnBreachApiError::Accept, score + 1, false);
            assert!(above.check_new(&password("tr0ub4dour&3"), &email(), "password").await.is_err());
        }
        let (none, _) = policy(BreachMode::Off, OnBreachApiError::Accept, 0, false);
        assert!(none.check_new(&password("aaaaaaaa"), &email(), "password").await.is_ok(), "0: no floor");
    }
}
