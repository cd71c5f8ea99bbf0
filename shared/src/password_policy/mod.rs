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
