//! The key register, login and refresh sign with. Only those functions ever build one.

use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair};
use secrecy::zeroize::Zeroizing;
use secrecy::{ExposeSecret, SecretString};

use super::algorithm::Algorithm;
use super::keys::{KeyError, MIN_HMAC_KEY_BYTES};

/// Why a token could not be signed: the caller answers 500, so this is for the log only.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("claims do not serialise to JSON: {0}")]
    Claims(#[from] serde_json::Error),
    /// aws-lc reports no detail (for ES256, the random nonce could not be drawn).
    #[error("the signer failed")]
    Signer,
    #[error("unexpected {0}-byte signature")]
    SignatureLength(usize),
}

pub struct SigningKey {
    pub kid: Option<String>,
    pub algorithm: Algorithm,
    /// Parsed once: an Ed25519 key pair costs as much to load from PKCS#8 as one signature (it
    /// derives the public key), so it is not reloaded per token.
    signer: Signer,
}

enum Signer {
    Hmac(Box<hmac::Key>),
    Ed25519(Ed25519KeyPair),
    Es256(EcdsaKeyPair, SystemRandom),
}

impl SigningKey {
    /// A PKCS#8 PEM private key ("PRIVATE KEY"): Ed25519 (EdDSA) or P-256 (ES256).
    pub fn from_pkcs8_pem(pem: &SecretString, kid: String) -> Result<Self, KeyError> {
        let not_a_key = || KeyError::BadPrivateKey("not a PKCS#8 PEM Ed25519 or P-256 key".into());
        let der = pkcs8_der(pem.expose_secret()).ok_or_else(not_a_key)?;
        let (algorithm, signer) = if let Ok(pair) = Ed25519KeyPair::from_pkcs8(&der) {
            (Algorithm::EdDSA, Signer::Ed25519(pair))
        } else if let Ok(pair) = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der) {
            (Algorithm::ES256, Signer::Es256(pair, SystemRandom::new()))
        } else {
            return Err(not_a_key());
        };
        let key = Self { kid: Some(kid), algorithm, signer };
        // A key that loads but cannot sign would otherwise fail every login: find out at init.
        key.sign(b"probe").map_err(|error| KeyError::BadPrivateKey(error.to_string()))?;
        Ok(key)
    }

    pub fn hs256(secret: &SecretString) -> Result<Self, KeyError> {
        let bytes = secret.expose_secret().as_bytes();
        if bytes.len() < MIN_HMAC_KEY_BYTES {
            return Err(KeyError::ShortSecret);
        }
        let signer = Signer::Hmac(Box::new(hmac::Key::new(hmac::HMAC_SHA256, bytes)));
        Ok(Self { kid: None, algorithm: Algorithm::HS256, signer })
    }

    /// Signs `message` with the key parsed at init.
    pub(crate) fn sign(&self, message: &[u8]) -> Result<RawSignature, SignError> {
        match &self.signer {
            Signer::Hmac(key) => RawSignature::from_slice(hmac::sign(key, message).as_ref()),
            Signer::Ed25519(pair) => RawSignature::from_slice(pair.sign(message).as_ref()),
            Signer::Es256(pair, rng) => {
                RawSignature::from_slice(pair.sign(rng, message).map_err(|_| SignError::Signer)?.as_ref())
            }
        }
    }
}

/// The DER inside a "PRIVATE KEY" PEM, wiped when dropped. Whitespace around the armour (a
/// trailing blank line in a secret) and base64 wrapped at any one width are accepted: keys are
/// pasted from many tools, and only the bytes matter.
fn pkcs8_der(pem: &str) -> Option<Zeroizing<Vec<u8>>> {
    let mut decoder = pem_rfc7468::Decoder::new_detect_wrap(pem.trim().as_bytes()).ok()?;
    if decoder.type_label() != "PRIVATE KEY" {
        return None;
    }
    let mut der = Zeroizing::new(vec![0; decoder.remaining_len()]);
    decoder.decode(&mut der).ok()?;
    decoder.is_finished().then_some(der)
}

/// A signature on the stack: HS256 tags are 32 bytes, ES256 (fixed) and EdDSA signatures 64.
pub(crate) struct RawSignature {
    bytes: [u8; 64],
    len: usize,
}

impl RawSignature {
    fn from_slice(signature: &[u8]) -> Result<Self, SignError> {
        let mut bytes = [0; 64];
        let len = signature.len();
        if len > bytes.len() {
            return Err(SignError::SignatureLength(len));
        }
        bytes[..len].copy_from_slice(signature);
        Ok(Self { bytes, len })
    }
}

impl AsRef<[u8]> for RawSignature {
    fn as_ref(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::signature::{ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair};
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use secrecy::{ExposeSecret as _, SecretString};

    use super::*;
    use crate::tokens::keys::{generate_ed25519, generate_p256};

    fn loads(pem: &str) -> bool {
        SigningKey::from_pkcs8_pem(&SecretString::from(pem), "k".into()).is_ok()
    }

    /// What the jsonwebtoken-based loader accepted: PEM parsed by the `pem` crate, then a probe
    /// signature with the algorithm the key's OID named.
    fn jsonwebtoken_loaded(pem: &str) -> bool {
        use jsonwebtoken::{Algorithm, EncodingKey};
        let probe = |key: EncodingKey, algorithm| jsonwebtoken::crypto::sign(b"probe", &key, algorithm).is_ok();
        match (EncodingKey::from_ed_pem(pem.as_bytes()), EncodingKey::from_ec_pem(pem.as_bytes())) {
            (Ok(key), _) => probe(key, Algorithm::EdDSA),
            (_, Ok(key)) => probe(key, Algorithm::ES256),
            _ => false,
        }
    }

    fn armour(label: &str, body: &str) -> String {
        format!("-----BEGIN {label}-----\n{body}\n-----END {label}-----\n")
    }

    fn rewrapped(pem: &str, width: usize) -> String {
        let body: String = pem.lines().filter(|line| !line.starts_with("-----")).collect();
        let lines: Vec<_> = body.as_bytes().chunks(width).map(|line| std::str::from_utf8(line).unwrap()).collect();
        armour("PRIVATE KEY", &lines.join("\n"))
    }

    #[test]
    fn generated_keys_are_64_column_pkcs8_pem() {
        for (generated, algorithm) in
            [(generate_ed25519("k").unwrap(), Algorithm::EdDSA), (generate_p256("k").unwrap(), Algorithm::ES256)]
        {
            let pem = generated.private_pem.expose_secret();
            assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n") && pem.ends_with("\n-----END PRIVATE KEY-----\n"));
            assert!(pem.lines().all(|line| line.len() <= 64), "{pem}");
            assert_eq!(generated.key_pair().unwrap().0.algorithm, algorithm);
        }
    }

    /// Keys that loaded before still load (as the same algorithm), and what was refused still is.
    #[test]
    fn private_keys_load_as_the_jsonwebtoken_loader_did() {
        let p384 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &SystemRandom::new()).unwrap();
        let p384 = pem_rfc7468::encode_string("PRIVATE KEY", pem_rfc7468::LineEnding::LF, p384.as_ref()).unwrap();
        let mut cases = vec![(p384, false), ("garbage".to_owned(), false), (String::new(), false)];
        for generated in [generate_ed25519("k").unwrap(), generate_p256("k").unwrap()] {
            let pem = generated.private_pem.expose_secret();
            let body: String = pem.lines().filter(|line| !line.starts_with("-----")).collect();
            cases.extend([
                (pem.to_owned(), true),
                (pem.replace('\n', "\r\n"), true),
                (format!("\n  {pem}\n\n"), true),
                (pem.trim_end().to_owned(), true),
                (format!("a note before the key\n{pem}"), true),
                (rewrapped(pem, 76), true),
                (rewrapped(pem, 200), true),
                (pem.replace("PRIVATE KEY", "PUBLIC KEY"), false),
                (pem.replace("PRIVATE KEY", "EC PRIVATE KEY"), false),
                (armour("PRIVATE KEY", &body[..body.len() - 8]), false),
                (armour("PRIVATE KEY", &STANDARD.encode(b"not DER at all")), false),
            ]);
        }
        for (pem, expected) in &cases {
            assert_eq!(jsonwebtoken_loaded(pem), *expected, "the reference disagrees on {pem:?}");
            assert_eq!(loads(pem), *expected, "{pem:?}");
        }
    }
}
