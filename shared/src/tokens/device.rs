//! Device tokens (OWASP's "device cookies"): proof that this client signed in to this account
//! before, so the login throttle gives it a budget of its own that others cannot spend. Signed
//! with the signing key like the other tokens, but typed and addressed so that no kind passes
//! for another.

use serde::{Deserialize, Serialize};

use super::{SignError, TokenError, TokenIssuer, TokenVerifier, encoded_header};
use crate::domain::Email;
use crate::time::UnixTime;

pub const DEVICE_TOKEN_TYPE: &str = "device+jwt";
/// How long a device stays trusted after its last successful login there.
pub const DEVICE_TOKEN_TTL_SECS: u64 = 180 * 86_400;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceClaims {
    pub iss: String,
    pub aud: String,
    /// The normalised email the device signed in as.
    pub sub: String,
    /// The device's id: the throttle's key for it.
    pub did: String,
    pub iat: u64,
    pub exp: u64,
}

fn device_audience(issuer: &str) -> String {
    format!("{issuer}#device")
}

impl TokenIssuer {
    /// A device token for `email` on device `device_id` (a new random id when `None`).
    pub fn issue_device(&self, email: &Email, device_id: Option<&str>, now: UnixTime) -> Result<String, SignError> {
        let claims = DeviceClaims {
            iss: self.settings.issuer.clone(),
            aud: device_audience(&self.settings.issuer),
            sub: email.as_str().to_owned(),
            did: device_id.map_or_else(super::new_token_id, str::to_owned),
            iat: now.secs(),
            exp: now.secs() + DEVICE_TOKEN_TTL_SECS,
        };
        self.sign(&encoded_header(&self.key, DEVICE_TOKEN_TYPE), &claims)
    }
}

impl TokenVerifier {
    /// The device id of a valid device token issued for `email`.
    pub fn device_id(&self, token: &str, email: &Email, now: UnixTime) -> Result<String, TokenError> {
        let audience = device_audience(&self.settings.issuer);
        let (claims, _): (DeviceClaims, _) = self.verify(token, DEVICE_TOKEN_TYPE, &audience, now)?;
        if claims.sub != email.as_str() {
            return Err(TokenError::Invalid);
        }
        Ok(claims.did)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Entitlements;
    use crate::tokens::ephemeral_ed25519;

    fn pair() -> (TokenIssuer, TokenVerifier) {
        let settings = crate::tokens::tests::settings();
        let (signing, keys) = ephemeral_ed25519("device-test").unwrap();
        (TokenIssuer::new(settings.clone(), signing), TokenVerifier::new(settings, keys))
    }

    #[test]
    fn a_device_token_names_its_device_for_its_account_only() {
        let (issuer, verifier) = pair();
        let now = UnixTime::from_secs(1_800_000_000);
        let alice = Email::parse("alice@example.com").unwrap();
        let bob = Email::parse("bob@example.com").unwrap();
        let token = issuer.issue_device(&alice, Some("d-1"), now).unwrap();
        assert_eq!(verifier.device_id(&token, &alice, now).unwrap(), "d-1");
        assert_eq!(verifier.device_id(&token, &bob, now), Err(TokenError::Invalid));
        let later = UnixTime::from_secs(now.secs() + DEVICE_TOKEN_TTL_SECS + 60);
        assert_eq!(verifier.device_id(&token, &alice, later), Err(TokenError::Expired));
        // No other kind of token passes for a device token, nor the other way round.
        let user = crate::domain::User::new(alice.clone(), String::new(), crate::domain::Role::User, now);
        let grant = issuer.next_refresh("s".into(), now);
        let tokens = issuer.issue(&user, &Entitlements::default(), &grant, now).unwrap();
        assert!(verifier.device_id(&tokens.access_token, &alice, now).is_err());
        assert!(verifier.device_id(&tokens.refresh_token, &alice, now).is_err());
        assert!(verifier.verify_access(&token, now).is_err());
        assert!(verifier.verify_refresh(&token, now).is_err());
    }
}
