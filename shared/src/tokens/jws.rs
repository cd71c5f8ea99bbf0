//! Compact JWS verification (RFC 7515) against pinned keys.
//!
//! The header is read strictly: the `alg` it names must be the selected key's own, `crit` is
//! refused (we understand no extension), and headers that point at other keys (`jwk`, `jku`,
//! `x5u`, `x5c`) are refused rather than ignored (RFC 8725 §3.10). The signature is checked
//! over the bytes as received, never a re-serialisation.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::{DecodeSliceError, Engine as _};
use serde::Deserialize;

use super::keys::{VerifyingKey, VerifyingKeys};

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
    if !verify_signature(key, signing_input, signature_b64)? {
        return Err(JwsError::BadSignature);
    }
    Ok(VerifiedJws { header, payload })
}

/// Every signature this service accepts is 32 (HS256) or 64 (ES256, EdDSA) bytes.
const SIGNATURE_BUFFER_BYTES: usize = 96;

/// Decodes the signature (not base64url: `Malformed`) and checks it with the key prepared at
/// init. The decode goes to the stack; only an oversized signature (which cannot verify, but is
/// still decoded so invalid base64 anywhere in it stays `Malformed`) takes the heap.
fn verify_signature(key: &VerifyingKey, signing_input: &[u8], signature_b64: &str) -> Result<bool, JwsError> {
    let mut buffer = [0u8; SIGNATURE_BUFFER_BYTES];
    match URL_SAFE_NO_PAD.decode_slice(signature_b64, &mut buffer) {
        Ok(len) => Ok(key.verify_signature(signing_input, &buffer[..len])),
        Err(DecodeSliceError::OutputSliceTooSmall) => {
            let signature = URL_SAFE_NO_PAD.decode(signature_b64).map_err(|_| JwsError::Malformed)?;
            Ok(key.verify_signature(signing_input, &signature))
        }
        Err(DecodeSliceError::DecodeError(_)) => Err(JwsError::Malformed),
    }
}
