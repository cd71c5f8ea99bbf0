use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair};
use serde_json::{Value, json};

use super::*;
use crate::tokens::keys::{generate_ed25519, generate_p256};

const NOW: u64 = 1_800_000_000;

fn claims() -> Value {
    json!({
        "iss": "https://op.example", "sub": "248289761001", "aud": "client-1", "exp": NOW + 300,
        "iat": NOW, "nonce": "n-0S6_WzA2Mj", "email": "ada@example.com", "email_verified": true,
    })
}

fn expected() -> Expected<'static> {
    Expected { issuer: "https://op.example", client_id: "client-1", nonce: "n-0S6_WzA2Mj", now: NOW }
}

fn compact(header: &Value, claims: &Value, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let signed =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let signature = sign(signed.as_bytes());
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// An RSA key as providers publish it: (n, e) from the PKCS#1 public key's two INTEGERs.
struct Rsa {
    pair: RsaKeyPair,
    jwk: Value,
}

fn der_integers(der: &[u8]) -> Vec<Vec<u8>> {
    fn length(der: &[u8], at: &mut usize) -> usize {
        let first = der[*at];
        *at += 1;
        if first < 0x80 {
            return usize::from(first);
        }
        let count = usize::from(first & 0x7f);
        let value = der[*at..*at + count].iter().fold(0usize, |acc, byte| (acc << 8) | usize::from(*byte));
        *at += count;
        value
    }
    let mut at = 1;
    length(der, &mut at);
    let mut integers = Vec::new();
    while at < der.len() {
        at += 1;
        let len = length(der, &mut at);
        let bytes = &der[at..at + len];
        integers.push(bytes.iter().skip_while(|byte| **byte == 0).copied().collect());
        at += len;
    }
    integers
}

fn rsa(kid: &str) -> Rsa {
    let pair = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let integers = der_integers(pair.public_key().as_ref());
    let jwk = json!({"kty": "RSA", "kid": kid, "use": "sig", "n": URL_SAFE_NO_PAD.encode(&integers[0]), "e": URL_SAFE_NO_PAD.encode(&integers[1])});
    Rsa { pair, jwk }
}

impl Rsa {
    fn sign(&self, claims: &Value) -> String {
        compact(&json!({"alg": "RS256", "kid": self.jwk["kid"]}), claims, |message| {
            let mut signature = vec![0; self.pair.public_modulus_len()];
            self.pair.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut signature).unwrap();
            signature
        })
    }
}

fn set(keys: &[&Value]) -> Jwks {
    Jwks::parse(&json!({ "keys": keys }))
}

#[test]
fn rs256_es256_and_eddsa_tokens_verify_against_the_providers_set() {
    let rsa = rsa("r1");
    let claims_out = verify(&rsa.sign(&claims()), &set(&[&rsa.jwk]), &expected()).unwrap();
    assert_eq!(
        claims_out,
        IdTokenClaims { subject: "248289761001".into(), email: Some("ada@example.com".into()), email_verified: true }
    );
    for generated in [generate_p256("e1").unwrap(), generate_ed25519("o1").unwrap()] {
        let (key, _) = generated.key_pair().unwrap();
        let header = json!({"alg": generated.public_jwk["alg"], "kid": generated.kid});
        let token = compact(&header, &claims(), |message| key.sign(message).unwrap().as_ref().to_vec());
        assert!(verify(&token, &set(&[&rsa.jwk, &generated.public_jwk]), &expected()).is_ok(), "{header}");
    }
}

#[test]
fn a_bad_signature_an_unknown_key_or_another_algorithm_is_refused() {
    let (rsa, other) = (rsa("r1"), rsa("r2"));
    let keys = set(&[&rsa.jwk]);
    // Signed by a key that is not the provider's, under the provider's kid.
    let forged = Rsa { pair: other.pair, jwk: rsa.jwk.clone() }.sign(&claims());
    assert_eq!(verify(&forged, &keys, &expected()), Err(IdTokenError::Signature));
    let token = rsa.sign(&claims());
    let (signed, _) = token.rsplit_once('.').unwrap();
    let mut bytes = token.clone().into_bytes();
    let last = bytes.len() - 2;
    bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
    assert_eq!(verify(std::str::from_utf8(&bytes).unwrap(), &keys, &expected()), Err(IdTokenError::Signature));
    assert_eq!(verify(&rsa.sign(&claims()), &set(&[]), &expected()), Err(IdTokenError::UnknownKey(Some("r1".into()))));
    let none = format!("{}.{}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#), signed.split('.').nth(1).unwrap());
    assert_eq!(verify(&none, &keys, &expected()), Err(IdTokenError::Algorithm("none".into())));
    // A MAC keyed with the public modulus (the RS256/HS256 confusion) is never tried.
    let hs = compact(&json!({"alg": "HS256", "kid": "r1"}), &claims(), |_| vec![0; 32]);
    assert_eq!(verify(&hs, &keys, &expected()), Err(IdTokenError::Algorithm("HS256".into())));
    assert_eq!(verify("a.b", &keys, &expected()), Err(IdTokenError::Malformed));
}

#[test]
fn claims_for_another_client_issuer_nonce_or_time_are_refused() {
    let rsa = rsa("r1");
    let keys = set(&[&rsa.jwk]);
    let with = |name: &str, value: Value| {
        let mut claims = claims();
        claims[name] = value;
        verify(&rsa.sign(&claims), &keys, &expected())
    };
    assert_eq!(with("aud", json!("client-2")), Err(IdTokenError::Claim("aud")));
    assert_eq!(with("aud", json!(["client-2", "client-1"])), Err(IdTokenError::Claim("azp")));
    assert_eq!(with("azp", json!("client-2")), Err(IdTokenError::Claim("azp")));
    assert_eq!(with("iss", json!("https://evil.example")), Err(IdTokenError::Claim("iss")));
    assert_eq!(with("nonce", json!("another")), Err(IdTokenError::Claim("nonce")));
    assert_eq!(with("nonce", Value::Null), Err(IdTokenError::Claim("nonce")));
    assert_eq!(with("exp", json!(NOW - 61)), Err(IdTokenError::Expired));
    assert!(with("exp", json!(NOW - 30)).is_ok(), "within the leeway");
    assert_eq!(with("iat", json!(NOW + 3600)), Err(IdTokenError::Claim("iat")));
    assert_eq!(with("sub", json!("")), Err(IdTokenError::Claim("sub")));
    // Only an explicit assertion verifies an address; Apple's string form counts.
    assert!(!with("email_verified", Value::Null).unwrap().email_verified);
    assert!(with("email_verified", json!("true")).unwrap().email_verified);
    assert!(!with("email_verified", json!("false")).unwrap().email_verified);
}

#[test]
fn microsofts_tenant_issuer_is_filled_from_the_tokens_tid() {
    let rsa = rsa("r1");
    let keys = set(&[&rsa.jwk]);
    let template = "https://login.microsoftonline.com/{tenantid}/v2.0";
    let expected = Expected { issuer: template, ..expected() };
    let mut claims = claims();
    claims["tid"] = json!("9188040d-6c67-4c5b-b112-36a304b66dad");
    claims["iss"] = json!("https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0");
    assert!(verify(&rsa.sign(&claims), &keys, &expected).is_ok());
    claims["iss"] = json!("https://login.microsoftonline.com/another-tenant/v2.0");
    assert_eq!(verify(&rsa.sign(&claims), &keys, &expected), Err(IdTokenError::Claim("iss")));
}

#[test]
fn without_a_kid_any_key_of_the_set_that_signed_it_verifies() {
    let (first, second) = (rsa("r1"), rsa("r2"));
    let unnamed = |rsa: &Rsa| {
        compact(&json!({"alg": "RS256"}), &claims(), |message| {
            let mut signature = vec![0; rsa.pair.public_modulus_len()];
            rsa.pair.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut signature).unwrap();
            signature
        })
    };
    let both = set(&[&first.jwk, &second.jwk]);
    assert!(verify(&unnamed(&first), &both, &expected()).is_ok());
    assert!(verify(&unnamed(&second), &both, &expected()).is_ok(), "not only the first key of the set");
    assert!(verify(&unnamed(&second), &set(&[&second.jwk]), &expected()).is_ok(), "a set of one");
    assert_eq!(verify(&unnamed(&second), &set(&[&first.jwk]), &expected()), Err(IdTokenError::Signature));
}

#[test]
fn a_key_of_another_curve_is_never_used() {
    for (generated, other_curve) in
        [(generate_p256("e1").unwrap(), "P-384"), (generate_ed25519("o1").unwrap(), "Ed448")]
    {
        let (key, _) = generated.key_pair().unwrap();
        let header = json!({"alg": generated.public_jwk["alg"], "kid": generated.kid});
        let token = compact(&header, &claims(), |message| key.sign(message).unwrap().as_ref().to_vec());
        let mut mislabelled = generated.public_jwk.clone();
        mislabelled["crv"] = json!(other_curve);
        let refused = verify(&token, &set(&[&mislabelled]), &expected());
        assert!(matches!(refused, Err(IdTokenError::UnknownKey(_))), "{other_curve}: {refused:?}");
    }
}

#[test]
fn a_token_up_to_16_kib_is_read_and_a_byte_more_is_not() {
    let rsa = rsa("r1");
    let keys = set(&[&rsa.jwk]);
    // A token of exactly `bytes`: base64url lengths skip some values, so the header's length
    // varies too until the total lands on it.
    let sized = |bytes: usize| {
        for extra in 0..4 {
            let header = json!({"alg": "RS256", "kid": "r1", "x": "h".repeat(extra)});
            let sign = |claims: &Value| {
                compact(&header, claims, |message| {
                    let mut signature = vec![0; rsa.pair.public_modulus_len()];
                    rsa.pair.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut signature).unwrap();
                    signature
                })
            };
            let mut claims = claims();
            claims["pad"] = json!("");
            let base = sign(&claims).len();
            let mut pad = (bytes - base) / 4 * 3;
            loop {
                claims["pad"] = json!("p".repeat(pad));
                let token = sign(&claims);
                if token.len() == bytes {
                    return token;
                }
                if token.len() > bytes {
                    break;
                }
                pad += 1;
            }
        }
        panic!("no token of {bytes} bytes");
    };
    let at_limit = sized(16 * 1024);
    assert_eq!(at_limit.len(), 16 * 1024);
    assert!(verify(&at_limit, &keys, &expected()).is_ok());
    assert!(verify(&sized(2 * 1024), &keys, &expected()).is_ok());
    let over = sized(16 * 1024 + 1);
    assert_eq!(over.len(), 16 * 1024 + 1);
    assert_eq!(verify(&over, &keys, &expected()), Err(IdTokenError::Malformed));
}

#[test]
fn the_leeway_and_the_subjects_length_hold_at_their_edges() {
    let rsa = rsa("r1");
    let keys = set(&[&rsa.jwk]);
    let with = |name: &str, value: Value| {
        let mut claims = claims();
        claims[name] = value;
        verify(&rsa.sign(&claims), &keys, &expected())
    };
    assert!(with("iat", json!(NOW + 60)).is_ok(), "issued at the edge of the leeway");
    assert_eq!(with("iat", json!(NOW + 61)), Err(IdTokenError::Claim("iat")));
    assert!(with("sub", json!("s".repeat(255))).is_ok());
    assert_eq!(with("sub", json!("s".repeat(256))), Err(IdTokenError::Claim("sub")));
    assert!(with("exp", json!(NOW - 59)).is_ok());
    assert_eq!(with("exp", json!(NOW - 60)), Err(IdTokenError::Expired));
}
