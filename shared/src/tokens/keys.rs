//! Key material, parsed once at init. Verifying keys come from a JWK Set (or the HS256
//! secret); each key carries the one algorithm it may be used with, so a token can never
//! choose how it is checked (RFC 8725 §3.1).

use std::collections::HashSet;

use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, ED25519, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _,
    ParsedPublicKey,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

use super::algorithm::Algorithm;
use super::signing::SigningKey;

/// HS256 keys shorter than the hash output weaken HMAC (RFC 7518 §3.2).
pub const MIN_HMAC_KEY_BYTES: usize = 32;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("not a JSON Web Key Set: {0}")]
    NotAJwks(String),
    #[error("key {index}: {reason}")]
    BadKey { index: usize, reason: String },
    #[error("two keys share the kid {0:?}")]
    DuplicateKid(String),
    #[error("symmetric and asymmetric keys are mixed in one set")]
    MixedSymmetry,
    #[error("the set holds no key")]
    Empty,
    #[error("HS256 secret must be at least 32 bytes")]
    ShortSecret,
    #[error("private key: {0}")]
    BadPrivateKey(String),
}

pub struct VerifyingKey {
    pub kid: Option<String>,
    pub algorithm: Algorithm,
    /// Prepared once for aws-lc (HMAC key schedule, parsed public key), so a verification does
    /// no key parsing, copying or boxing.
    prepared: PreparedVerifier,
}

enum PreparedVerifier {
    Hmac(Box<hmac::Key>),
    Public(ParsedPublicKey),
    /// Bytes aws-lc refuses as a key: no signature verifies, as it would not when parsed per call.
    Unusable,
}

impl VerifyingKey {
    /// `material`: the HMAC secret, the uncompressed P-256 point or the raw Ed25519 key.
    fn new(kid: Option<String>, algorithm: Algorithm, material: &[u8]) -> Self {
        let prepared = match algorithm {
            Algorithm::HS256 => PreparedVerifier::Hmac(Box::new(hmac::Key::new(hmac::HMAC_SHA256, material))),
            Algorithm::ES256 => ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, material)
                .map_or(PreparedVerifier::Unusable, PreparedVerifier::Public),
            Algorithm::EdDSA => {
                ParsedPublicKey::new(&ED25519, material).map_or(PreparedVerifier::Unusable, PreparedVerifier::Public)
            }
        };
        Self { kid, algorithm, prepared }
    }

    /// Whether `signature` (decoded) signs `message` under this key and its algorithm.
    pub fn verify_signature(&self, message: &[u8], signature: &[u8]) -> bool {
        match &self.prepared {
            PreparedVerifier::Hmac(key) => hmac::verify(key, message, signature).is_ok(),
            PreparedVerifier::Public(key) => key.verify_sig(message, signature).is_ok(),
            PreparedVerifier::Unusable => false,
        }
    }
}

/// The keys a token may be signed with (the current one and those still being rotated out).
pub struct VerifyingKeys {
    keys: Vec<VerifyingKey>,
    /// The public JWK Set as served on `/.well-known/jwks.json`: only public members.
    public_jwks: Value,
}

#[derive(Deserialize)]
struct RawJwks {
    keys: Vec<RawJwk>,
}

#[derive(Deserialize)]
struct RawJwk {
    kty: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    kid: Option<String>,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
    k: Option<String>,
    d: Option<String>,
    key_ops: Option<Vec<String>>,
}

impl VerifyingKeys {
    /// Loads a JWK Set. Every key must name its `alg` (HS256, ES256 or EdDSA) consistently with
    /// its `kty`/`crv`, be meant for signatures, and have a unique `kid`.
    pub fn from_jwks(json: &str) -> Result<Self, KeyError> {
        let raw: RawJwks = serde_json::from_str(json).map_err(|error| KeyError::NotAJwks(error.to_string()))?;
        if raw.keys.is_empty() {
            return Err(KeyError::Empty);
        }
        let mut kids = HashSet::new();
        let mut keys = Vec::with_capacity(raw.keys.len());
        let mut public = Vec::new();
        for (index, jwk) in raw.keys.iter().enumerate() {
            let bad = |reason: &str| KeyError::BadKey { index, reason: reason.to_owned() };
            if let Some(kid) = &jwk.kid
                && !kids.insert(kid.clone())
            {
                return Err(KeyError::DuplicateKid(kid.clone()));
            }
            if jwk.use_.as_deref().is_some_and(|use_| use_ != "sig") {
                return Err(bad("use must be \"sig\""));
            }
            if jwk.key_ops.as_ref().is_some_and(|ops| !ops.iter().any(|op| op == "verify")) {
                return Err(bad("key_ops must allow \"verify\""));
            }
            let alg = jwk.alg.as_deref().ok_or_else(|| bad("alg is required"))?;
            let (algorithm, material) = match (alg, jwk.kty.as_deref(), jwk.crv.as_deref()) {
                ("HS256", Some("oct"), None) => {
                    let secret = decode_member(jwk.k.as_deref(), "k").map_err(|reason| bad(&reason))?;
                    if secret.len() < MIN_HMAC_KEY_BYTES {
                        return Err(bad("HS256 key shorter than 32 bytes"));
                    }
                    (Algorithm::HS256, secret)
                }
                ("ES256", Some("EC"), Some("P-256")) => {
                    let x = decode_member(jwk.x.as_deref(), "x").map_err(|reason| bad(&reason))?;
                    let y = decode_member(jwk.y.as_deref(), "y").map_err(|reason| bad(&reason))?;
                    if x.len() != 32 || y.len() != 32 {
                        return Err(bad("P-256 coordinates must be 32 bytes"));
                    }
                    let mut point = Vec::with_capacity(65);
                    point.push(0x04);
                    point.extend_from_slice(&x);
                    point.extend_from_slice(&y);
                    (Algorithm::ES256, point)
                }
                ("EdDSA", Some("OKP"), Some("Ed25519")) => {
                    let x = decode_member(jwk.x.as_deref(), "x").map_err(|reason| bad(&reason))?;
                    if x.len() != 32 {
                        return Err(bad("Ed25519 public key must be 32 bytes"));
                    }
                    (Algorithm::EdDSA, x)
                }
                _ => return Err(bad("unsupported alg/kty/crv combination")),
            };
            if algorithm != Algorithm::HS256 {
                if jwk.d.is_some() {
                    return Err(bad("a private key does not belong in a public key set"));
                }
                public.push(public_member(jwk, alg));
            }
            keys.push(VerifyingKey::new(jwk.kid.clone(), algorithm, &material));
        }
        let symmetric = keys.iter().filter(|key| key.algorithm == Algorithm::HS256).count();
        if symmetric != 0 && symmetric != keys.len() {
            return Err(KeyError::MixedSymmetry);
        }
        if keys.len() > 1 && keys.iter().any(|key| key.kid.is_none()) {
            return Err(KeyError::BadKey { index: 0, reason: "every key of a multi-key set needs a kid".into() });
        }
        Ok(Self { keys, public_jwks: json!({ "keys": public }) })
    }

    /// A set that holds only public keys: what `JWT_PUBLIC_JWKS` must be.
    pub fn from_public_jwks(json: &str) -> Result<Self, KeyError> {
        let keys = Self::from_jwks(json)?;
        if keys.keys.iter().any(|key| key.algorithm == Algorithm::HS256) {
            return Err(KeyError::BadKey { index: 0, reason: "a public key set must not hold a symmetric key".into() });
        }
        Ok(keys)
    }

    pub fn hs256(secret: &SecretString) -> Result<Self, KeyError> {
        let bytes = secret.expose_secret().as_bytes();
        if bytes.len() < MIN_HMAC_KEY_BYTES {
            return Err(KeyError::ShortSecret);
        }
        let key = VerifyingKey::new(None, Algorithm::HS256, bytes);
        Ok(Self { keys: vec![key], public_jwks: json!({ "keys": [] }) })
    }

    /// The key a token header points at: by `kid`, or the only key when the header has none.
    /// The header's `alg` must be the key's own algorithm.
    pub fn select(&self, alg: &str, kid: Option<&str>) -> Option<&VerifyingKey> {
        let key = match kid {
            Some(kid) => self.keys.iter().find(|key| key.kid.as_deref() == Some(kid)),
            None if self.keys.len() == 1 => self.keys.first(),
            None => None,
        }?;
        (key.algorithm.name() == alg).then_some(key)
    }

    pub fn public_jwks(&self) -> &Value {
        &self.public_jwks
    }

    /// The algorithms of the keys, each once, in the set's order (what discovery advertises).
    pub fn algorithms(&self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = Vec::new();
        for key in &self.keys {
            if !names.contains(&key.algorithm.name()) {
                names.push(key.algorithm.name());
            }
        }
        names
    }
}

fn decode_member(value: Option<&str>, name: &str) -> Result<Vec<u8>, String> {
    let value = value.ok_or_else(|| format!("{name} is required"))?;
    URL_SAFE_NO_PAD.decode(value).map_err(|_| format!("{name} is not base64url"))
}

fn public_member(jwk: &RawJwk, alg: &str) -> Value {
    let mut out = serde_json::Map::new();
    for (name, value) in [("kty", &jwk.kty), ("crv", &jwk.crv), ("x", &jwk.x), ("y", &jwk.y), ("kid", &jwk.kid)] {
        if let Some(value) = value {
            out.insert(name.to_owned(), Value::String(value.clone()));
        }
    }
    out.insert("alg".into(), Value::String(alg.to_owned()));
    out.insert("use".into(), Value::String("sig".into()));
    Value::Object(out)
}

/// A new signing key: its PKCS#8 PEM (secret) and the public JWK to publish.
pub struct GeneratedKey {
    pub kid: String,
    pub private_pem: SecretString,
    pub public_jwk: Value,
}

impl GeneratedKey {
    fn new(kid: &str, pkcs8: &[u8], public_jwk: Value) -> Result<Self, KeyError> {
        let pem =
            pem_rfc7468::encode_string("PRIVATE KEY", pem_rfc7468::LineEnding::LF, pkcs8).map_err(generation_failed)?;
        Ok(Self { kid: kid.to_owned(), private_pem: SecretString::from(pem), public_jwk })
    }

    /// The signing key and its one-key public set, loaded from the PEM and the JWK Set exactly as
    /// a deployment configured with them loads them.
    pub fn key_pair(&self) -> Result<(SigningKey, VerifyingKeys), KeyError> {
        let signing = SigningKey::from_pkcs8_pem(&self.private_pem, self.kid.clone())?;
        let verifying = VerifyingKeys::from_public_jwks(&json!({ "keys": [self.public_jwk] }).to_string())?;
        Ok((signing, verifying))
    }
}

/// A fresh Ed25519 key pair that lives as long as the value: the local API without a configured
/// key, tests, benches and fuzzing.
pub fn ephemeral_ed25519(kid: &str) -> Result<(SigningKey, VerifyingKeys), KeyError> {
    generate_ed25519(kid)?.key_pair()
}

fn generation_failed(error: impl std::fmt::Display) -> KeyError {
    KeyError::BadPrivateKey(format!("key generation failed: {error}"))
}

pub fn generate_ed25519(kid: &str) -> Result<GeneratedKey, KeyError> {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).map_err(generation_failed)?;
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(generation_failed)?;
    let public_jwk = json!({
        "kty": "OKP",
        "crv": "Ed25519",
        "x": URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
        "kid": kid,
        "alg": "EdDSA",
        "use": "sig",
    });
    GeneratedKey::new(kid, pkcs8.as_ref(), public_jwk)
}

/// A new P-256 signing key for deployments that choose ES256.
pub fn generate_p256(kid: &str) -> Result<GeneratedKey, KeyError> {
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
        .map_err(generation_failed)?;
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).map_err(generation_failed)?;
    let point = pair.public_key().as_ref();
    let public_jwk = json!({
        "kty": "EC",
        "crv": "P-256",
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
        "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        "kid": kid,
        "alg": "ES256",
        "use": "sig",
    });
    GeneratedKey::new(kid, pkcs8.as_ref(), public_jwk)
}
