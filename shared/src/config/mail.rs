//! The email configuration: which sender, where links point, the verification rule, and the
//! one-time tokens' lifetimes.

use std::sync::Arc;
use std::time::Duration;

use super::{ConfigError, DAY, Env, aws_sdk_config};
use crate::email::{LogSender, Mail, SesSender, Verification};

impl Verification {
    /// `EMAIL_VERIFICATION`: `off`, `optional` (default) or `required`.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let Some(raw) = env.get("EMAIL_VERIFICATION") else { return Ok(Self::default()) };
        Self::parse(raw).ok_or_else(|| ConfigError::Invalid {
            name: "EMAIL_VERIFICATION",
            reason: "must be off, optional or required".into(),
        })
    }
}

impl Mail {
    /// `EMAIL_SENDER`: `ses` (with `EMAIL_FROM` and `APP_URL`), or `log` (the default: mail is
    /// only logged, never delivered, so the v1 functions run with their v1 configuration);
    /// `EMAIL_VERIFICATION` and the one-time tokens' lifetimes. The SES client is built here, once.
    pub async fn from_env(env: &Env) -> Result<Self, ConfigError> {
        match env.get("EMAIL_SENDER").unwrap_or("log") {
            "log" => Self::settings_from_env(env),
            "ses" => {
                env.required("APP_URL")?;
                let from = env.required("EMAIL_FROM")?.to_owned();
                let client = aws_sdk_sesv2::Client::new(&aws_sdk_config().await);
                Ok(Self { sender: Arc::new(SesSender::new(client, from)), ..Self::settings_from_env(env)? })
            }
            _ => Err(ConfigError::Invalid { name: "EMAIL_SENDER", reason: "must be ses or log".into() }),
        }
    }

    /// Everything but the sender (a `log` one without outbox): the local API sets its own.
    /// `APP_URL` falls back to `JWT_ISSUER`'s value: with `log` no link is delivered anyway.
    pub fn settings_from_env(env: &Env) -> Result<Self, ConfigError> {
        let app_url = env.get("APP_URL").or(env.get("JWT_ISSUER")).ok_or(ConfigError::Missing("APP_URL"))?;
        if !(app_url.starts_with("https://") || app_url.starts_with("http://")) {
            return Err(ConfigError::Invalid { name: "APP_URL", reason: "must be an http(s) origin".into() });
        }
        Ok(Self {
            sender: Arc::new(LogSender::new()),
            app_url: app_url.trim_end_matches('/').to_owned(),
            verification: Verification::from_env(env)?,
            verify_ttl_secs: env.number("VERIFY_TOKEN_TTL_SECONDS", Self::DEFAULT_VERIFY_TTL_SECS, 60..=30 * DAY)?,
            reset_ttl_secs: env.number("RESET_TOKEN_TTL_SECONDS", Self::DEFAULT_RESET_TTL_SECS, 60..=DAY)?,
            response_floor: Duration::from_millis(env.number(
                "EMAIL_RESPONSE_FLOOR_MS",
                Self::DEFAULT_RESPONSE_FLOOR_MS,
                0..=10_000,
            )?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn mail_is_logged_unless_ses_is_configured_and_ses_needs_its_sender_and_links() {
        let v1 = Env::from_pairs([("JWT_ISSUER", "https://auth.example.com")]);
        let mail = Mail::from_env(&v1).await.expect("the v1 configuration still starts");
        assert_eq!((mail.app_url.as_str(), mail.verification), ("https://auth.example.com", Verification::Optional));
        let ses = |extra: &[(&'static str, &'static str)]| {
            Env::from_pairs([("EMAIL_SENDER", "ses")].into_iter().chain(extra.iter().copied()))
        };
        assert_eq!(
            Mail::from_env(&ses(&[("EMAIL_FROM", "a@example.com")])).await.err(),
            Some(ConfigError::Missing("APP_URL"))
        );
        assert_eq!(
            Mail::from_env(&ses(&[("APP_URL", "https://app.example.com")])).await.err(),
            Some(ConfigError::Missing("EMAIL_FROM"))
        );
        let bad = Env::from_pairs([("EMAIL_SENDER", "smtp"), ("APP_URL", "https://app.example.com")]);
        assert!(matches!(Mail::from_env(&bad).await, Err(ConfigError::Invalid { name: "EMAIL_SENDER", .. })));
        let bad = Env::from_pairs([("APP_URL", "https://app.example.com"), ("EMAIL_VERIFICATION", "sometimes")]);
        assert!(matches!(Mail::from_env(&bad).await, Err(ConfigError::Invalid { name: "EMAIL_VERIFICATION", .. })));
    }
}
