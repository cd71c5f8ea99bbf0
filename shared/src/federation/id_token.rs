//! A provider's ID token (OpenID Connect Core §3.1.3.7): its signature by a key of the provider's
//! JWKS — RS256, ES256 or EdDSA, the algorithms providers sign with; never `none` nor a MAC —
//! and its claims: issuer, audience, expiry, nonce. Only upstream tokens come through here: this
//! service's own tokens keep their pinned algorithm (`tokens::jws`).

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

/// Clock difference tolerated between the provider and us.
const LEEWAY_SECS: u64 = 60;
const MAX_TOKEN_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdTokenError {
    #[error("malformed ID token")]
    Malformed,
    #[error("algorithm {0:?} not accepted")]
    Algorithm(String),
    /// No key of the set has the token's `kid`: the set may have rotated.
    #[error("no key {0:?} in the provider's key set")]
    UnknownKey(Option<String>),
    #[error("bad signature")]
    Signature,
    #[error("claim {0} is wrong")]
    Claim(&'static str),
    #[error("expired")]
    Expired,
}

/// A provider's public keys (RFC 7517), those this service can use.
#[derive(Clone, Debug, Default)]
pub struct Jwks {
    keys: Vec<Jwk>,
}

#[derive(Clone, Debug, Deserialize)]
struct Jwk {
    kty: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default, rename = "use")]
    usage: Option<String>,
    #[serde(default)]
    crv: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
    #[serde(default)]
    x: Option<String>,
    #[serde(default)]
    y: Option<String>,
}

impl Jwks {
    pub fn parse(document: &serde_json::Value) -> Self {
        let keys = document["keys"].as_array().cloned().unwrap_or_default();
        let keys = keys
            .into_iter()
            .filter_map(|key| serde_json::from_value::<Jwk>(key).ok())
            .filter(|key| key.usage.as_deref().is_none_or(|usage| usage == "sig"))
            .collect();
        Self { keys }
    }
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

/// What the token must say.
pub struct Expected<'a> {
    /// The provider's issuer; Microsoft's multi-tenant issuer holds `{tenantid}`, which the
    /// token's own `tid` fills.
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: &'a str,
    pub now: u64,
}

/// The claims this service uses, after every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdTokenClaims {
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
}

#[derive(Deserialize)]
struct RawClaims {
    iss: String,
    sub: String,
    aud: Audience,
    exp: u64,
    #[serde(default)]
    iat: Option<u64>,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    tid: Option<String>,
    #[serde(default)]
    email: Option<String>,
    /// A boolean; Apple has sent it as the string "true".
    #[serde(default)]
    email_verified: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

pub fn verify(token: &str, keys: &Jwks, expected: &Expected<'_>) -> Result<IdTokenClaims, IdTokenError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(IdTokenError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(IdTokenError::Malformed);
    };
    let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).map_err(|_| IdTokenError::Malformed);
    let header: Header = serde_json::from_slice(&decode(header)?).map_err(|_| IdTokenError::Malformed)?;
    let signature = decode(signature)?;
    let signed = &token[..token.len() - parts_len(token)];
    verify_signature(&header, keys, signed.as_bytes(), &signature)?;
    let claims: RawClaims = serde_json::from_slice(&decode(payload)?).map_err(|_| IdTokenError::Malformed)?;
    check_claims(claims, expected)
}

/// The length of the signature part and its dot.
fn parts_len(token: &str) -> usize {
    token.rsplit('.').next().map_or(0, |signature| signature.len() + 1)
}

fn verify_signature(header: &Header, keys: &Jwks, signed: &[u8], signature: &[u8]) -> Result<(), IdTokenError> {
    let kty = match header.alg.as_str() {
        "RS256" => "RSA",
        "ES256" => "EC",
        "EdDSA" => "OKP",
        other => return Err(IdTokenError::Algorithm(other.to_owned())),
    };
    // The provider's keys of the token's type (and its kid, when it names one): a signature by
    // any of them is the provider's.
    let candidates: Vec<&Jwk> = keys
        .keys
        .iter()
        .filter(|key| key.kty == kty)
        .filter(|key| key.alg.as_deref().is_none_or(|alg| alg == header.alg))
        .filter(|key| header.kid.is_none() || key.kid == header.kid)
        .filter(|key| match kty {
            "EC" => key.crv.as_deref() == Some("P-256"),
            "OKP" => key.crv.as_deref() == Some("Ed25519"),
            _ => true,
        })
        .collect();
    if candidates.is_empty() {
        return Err(IdTokenError::UnknownKey(header.kid.clone()));
    }
    if candidates.iter().any(|key| signed_by(key, signed, signature)) { Ok(()) } else { Err(IdTokenError::Signature) }
}

/// Whether `key` (its type and curve already checked) made `signature` over `signed`.
fn signed_by(key: &Jwk, signed: &[u8], signature: &[u8]) -> bool {
    let decode = |part: &Option<String>| part.as_deref().and_then(|part| URL_SAFE_NO_PAD.decode(part).ok());
    let verified = match key.kty.as_str() {
        "RSA" => match (decode(&key.n), decode(&key.e)) {
            (Some(n), Some(e)) => RsaPublicKeyComponents { n: n.as_slice(), e: e.as_slice() }.verify(
                &signature::RSA_PKCS1_2048_8192_SHA256,
                signed,
                signature,
            ),
            _ => return false,
        },
        "EC" => match (decode(&key.x), decode(&key.y)) {
            (Some(x), Some(y)) => {
                let point = [&[0x04][..], &x, &y].concat();
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point).verify(signed, signature)
            }
            _ => return false,
        },
        _ => match decode(&key.x) {
            Some(x) => UnparsedPublicKey::new(&signature::ED25519, x).verify(signed, signature),
            None => return false,
        },
    };
    verified.is_ok()
}

fn check_claims(claims: RawClaims, expected: &Expected<'_>) -> Result<IdTokenClaims, IdTokenError> {
    let issuer = match (expected.issuer.contains("{tenantid}"), &claims.tid) {
        (true, Some(tid)) => expected.issuer.replace("{tenantid}", tid),
        (true, None) => return Err(IdTokenError::Claim("iss")),
        (false, _) => expected.issuer.to_owned(),
    };
    if claims.iss != issuer {
        return Err(IdTokenError::Claim("iss"));
    }
    let audiences = match &claims.aud {
        Audience::One(audience) => vec![audience.as_str()],
        Audience::Many(audiences) => audiences.iter().map(String::as_str).collect(),
    };
    if !audiences.contains(&expected.client_id) {
        return Err(IdTokenError::Claim("aud"));
    }
    // Several audiences: the party it was issued to must be us (Core §3.1.3.7, 4–5).
    if audiences.len() > 1 && claims.azp.as_deref() != Some(expected.client_id) {
        return Err(IdTokenError::Claim("azp"));
    }
    if claims.azp.as_deref().is_some_and(|azp| azp != expected.client_id) {
        return Err(IdTokenError::Claim("azp"));
    }
    if claims.exp.saturating_add(LEEWAY_SECS) <= expected.now {
        return Err(IdTokenError::Expired);
    }
    if claims.iat.is_some_and(|iat| iat > expected.now + LEEWAY_SECS) {
        return Err(IdTokenError::Claim("iat"));
    }
    let nonce = claims.nonce.as_deref().unwrap_or_default();
    if verify_slices_are_equal(nonce.as_bytes(), expected.nonce.as_bytes()).is_err() {
        return Err(IdTokenError::Claim("nonce"));
    }
    if claims.sub.is_empty() || claims.sub.len() > 255 {
        return Err(IdTokenError::Claim("sub"));
    }
    let email_verified = match claims.email_verified {
        Some(serde_json::Value::Bool(verified)) => verified,
        Some(serde_json::Value::String(text)) => text == "true",
        _ => false,
    };
    Ok(IdTokenClaims { subject: claims.sub, email: claims.email, email_verified })
}

#[cfg(test)]
#[path = "id_token_tests.rs"]
mod tests;
