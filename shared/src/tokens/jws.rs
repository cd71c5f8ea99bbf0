//! Compact JWS verification (RFC 7515) against pinned keys.
//!
//! The header is read strictly: the `alg` it names must be the selected key's own, `crit` is
//! refused (we understand no extension), and headers that point at other keys (`jwk`, `jku`,
//! `x5u`, `x5c`) are refused rather than ignored (RFC 8725 §3.10). The signature is checked
//! over the bytes as received, never a re-serialisation.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use super::keys::VerifyingKeys;

/// No token this service issues comes near this; bigger input is refused before any work.
pub const MAX_TOKEN_BYTES: usize = 4096;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JwsError {
    #[error("token is not a compact JWS")]
    Malformed,
    #[error("token header is not acceptable: {0}")]
    Header(&'static str),
    #[error("no configured key matches the token header")]
    UnknownKey,
    #[error("signature does not verify")]
    BadSignature,
}

#[derive(Debug, Deserialize)]
pub struct JwsHeader {
    pub alg: String,
    pub typ: Option<String>,
    pub kid: Option<String>,
    crit: Option<serde::de::IgnoredAny>,
    jwk: Option<serde::de::IgnoredAny>,
    jku: Option<serde::de::IgnoredAny>,
    x5u: Option<serde::de::IgnoredAny>,
    x5c: Option<serde::de::IgnoredAny>,
}

#[derive(Debug)]
pub struct VerifiedJws {
    pub header: JwsHeader,
    pub payload: Vec<u8>,
}

pub fn verify_compact(token: &str, keys: &VerifyingKeys) -> Result<VerifiedJws, JwsError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(JwsError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwsError::Malformed);
    };
    let header_json = URL_SAFE_NO_PAD.decode(header_b64).map_err(|_| JwsError::Malformed)?;
    let header: JwsHeader = serde_json::from_slice(&header_json).map_err(|_| JwsError::Malformed)?;
    if header.crit.is_some() {
        return Err(JwsError::Header("crit is not supported"));
    }
    if header.jwk.is_some() || header.jku.is_some() || header.x5u.is_some() || header.x5c.is_some() {
        return Err(JwsError::Header("embedded or remote keys are not accepted"));
    }
    let key = keys.select(&header.alg, header.kid.as_deref()).ok_or(JwsError::UnknownKey)?;
    let payload = URL_SAFE_NO_PAD.decode(payload_b64).map_err(|_| JwsError::Malformed)?;
    let signing_input_len = header_b64.len() + 1 + payload_b64.len();
    let signing_input = &token.as_bytes()[..signing_input_len];
    let verified = jsonwebtoken::crypto::verify(signature_b64, signing_input, key.decoding_key(), key.algorithm)
        .map_err(|_| JwsError::Malformed)?;
    if !verified {
        return Err(JwsError::BadSignature);
    }
    Ok(VerifiedJws { header, payload })
}
