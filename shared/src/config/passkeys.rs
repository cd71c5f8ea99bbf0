//! The relying party passkeys are bound to: `WEBAUTHN_RP_ID` (default: the issuer's host),
//! `WEBAUTHN_RP_NAME` (default: as `MFA_ISSUER_NAME`), `WEBAUTHN_ORIGINS` (comma-separated;
//! default: `APP_URL`'s origin). Set and wrong fails init; defaults that cannot work together
//! (an issuer at `auth.example.com` and a page at `app.example.com`) turn passkeys off, with a
//! warning naming the variable to set.

use webauthn_rs::prelude::Url;

use super::{ConfigError, Env, mfa_issuer_name};
use crate::passkeys::RelyingParty;

pub const RP_ID: &str = "WEBAUTHN_RP_ID";
pub const ORIGINS: &str = "WEBAUTHN_ORIGINS";

impl RelyingParty {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let configured = env.get(RP_ID).is_some() || env.get(ORIGINS).is_some();
        let rp_id = match env.get(RP_ID) {
            Some(rp_id) => rp_id.trim().to_owned(),
            None => match env.get("JWT_ISSUER").and_then(|issuer| Url::parse(issuer).ok()) {
                Some(issuer) if issuer.domain().is_some() => issuer.domain().unwrap_or_default().to_owned(),
                _ => return off(configured, "JWT_ISSUER is not a URL with a host name"),
            },
        };
        let origins: Vec<Url> = match env.get(ORIGINS) {
            Some(listed) => listed
                .split(',')
                .map(str::trim)
                .filter(|origin| !origin.is_empty())
                .map(|origin| {
                    Url::parse(origin)
                        .map_err(|error| ConfigError::Invalid { name: ORIGINS, reason: format!("{origin}: {error}") })
                })
                .collect::<Result<_, _>>()?,
            None => match env.get("APP_URL").and_then(|app| Url::parse(app).ok()) {
                Some(app) => vec![
                    Url::parse(&app.origin().ascii_serialization())
                        .map_err(|error| ConfigError::Invalid { name: "APP_URL", reason: error.to_string() })?,
                ],
                None => return off(configured, "APP_URL is not set"),
            },
        };
        let rp_name =
            env.get("WEBAUTHN_RP_NAME").map_or_else(|| mfa_issuer_name(env), |name| Ok(name.trim().to_owned()))?;
        match RelyingParty::new(&rp_id, &rp_name, &origins) {
            Ok(relying_party) => Ok(relying_party),
            Err(reason) if configured => Err(ConfigError::Invalid { name: RP_ID, reason }),
            Err(reason) => off(false, &reason),
        }
    }
}

fn off(configured: bool, reason: &str) -> Result<RelyingParty, ConfigError> {
    if configured {
        return Err(ConfigError::Invalid { name: RP_ID, reason: reason.to_owned() });
    }
    tracing::warn!(reason, "passkeys are off: set WEBAUTHN_RP_ID and WEBAUTHN_ORIGINS");
    Ok(RelyingParty::off())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relying_party(pairs: &[(&str, &str)]) -> Result<RelyingParty, ConfigError> {
        RelyingParty::from_env(&Env::from_pairs(pairs.iter().copied()))
    }

    #[test]
    fn defaults_come_from_the_issuer_and_the_app() {
        let same_host = [("JWT_ISSUER", "https://example.com"), ("APP_URL", "https://example.com/app")];
        assert!(relying_party(&same_host).unwrap().is_on());
        // Defaults that cannot work together turn passkeys off instead of failing every function.
        let apart = [("JWT_ISSUER", "https://auth.example.com"), ("APP_URL", "https://app.example.com")];
        assert!(!relying_party(&apart).unwrap().is_on());
        assert!(!relying_party(&[("JWT_ISSUER", "jwt-auth")]).unwrap().is_on());
    }

    #[test]
    fn what_is_set_must_work() {
        let base = [("JWT_ISSUER", "https://auth.example.com"), ("APP_URL", "https://app.example.com")];
        let shared_parent = [base[0], base[1], (RP_ID, "example.com")];
        assert!(relying_party(&shared_parent).unwrap().is_on());
        let wrong = [base[0], base[1], (RP_ID, "other.example")];
        assert!(matches!(relying_party(&wrong), Err(ConfigError::Invalid { name: RP_ID, .. })));
        let bad_origin = [base[0], (RP_ID, "example.com"), (ORIGINS, "https://example.com, not a url")];
        assert!(matches!(relying_party(&bad_origin), Err(ConfigError::Invalid { name: ORIGINS, .. })));
        let two = [base[0], (RP_ID, "localhost"), (ORIGINS, "http://localhost:3000,http://localhost:8080")];
        assert!(relying_party(&two).unwrap().is_on());
    }
}
