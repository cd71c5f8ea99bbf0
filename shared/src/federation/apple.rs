//! Sign in with Apple's differences from plain OpenID Connect: the client secret is a JWT the
//! team's key signs (ES256, at most six months; ours live five minutes), and the answer comes by
//! `form_post`. Followed: Apple's "Generate and validate tokens" and "Creating a client secret".

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::SecretString;
use serde_json::json;

use super::UpstreamError;
use crate::tokens::{Algorithm, SigningKey};

const LIFETIME_SECS: u64 = 300;

pub(super) fn client_secret(
    key: &SigningKey,
    team_id: &str,
    client_id: &str,
    audience: &str,
    now: u64,
) -> Result<SecretString, UpstreamError> {
    if key.algorithm != Algorithm::ES256 {
        return Err(UpstreamError::Invalid("Apple's key must be a P-256 (ES256) key".into()));
    }
    let header = json!({ "alg": "ES256", "kid": key.kid });
    let claims = json!({ "iss": team_id, "iat": now, "exp": now + LIFETIME_SECS, "aud": audience, "sub": client_id });
    let signed =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let signature = key.sign(signed.as_bytes()).map_err(|error| UpstreamError::Invalid(error.to_string()))?;
    Ok(SecretString::from(format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature))))
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret as _;

    use super::*;
    use crate::federation::id_token::{self, Expected, Jwks};
    use crate::tokens::keys::generate_p256;

    #[test]
    fn the_client_secret_is_an_es256_jwt_naming_the_team_and_the_service() {
        let generated = generate_p256("KEY123").unwrap();
        let (key, _) = generated.key_pair().unwrap();
        let secret =
            client_secret(&key, "TEAM456", "com.example.web", "https://appleid.apple.com", 1_800_000_000).unwrap();
        let token = secret.expose_secret();
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').next().unwrap()).unwrap()).unwrap();
        assert_eq!(header, json!({"alg": "ES256", "kid": "KEY123"}));
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap();
        assert_eq!(claims["iss"], "TEAM456");
        assert_eq!(claims["sub"], "com.example.web");
        assert_eq!(claims["aud"], "https://appleid.apple.com");
        assert_eq!(claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(), LIFETIME_SECS);
        // Its signature verifies with the key's public half (as Apple checks it).
        let keys = Jwks::parse(&json!({ "keys": [generated.public_jwk] }));
        let expected =
            Expected { issuer: "TEAM456", client_id: "https://appleid.apple.com", nonce: "", now: 1_800_000_000 };
        let checked = id_token::verify(token, &keys, &expected);
        // No `nonce` or `sub` rules apply to a client secret: only the signature matters here.
        assert!(
            !matches!(checked, Err(id_token::IdTokenError::Signature | id_token::IdTokenError::UnknownKey(_))),
            "{checked:?}"
        );
    }
}
