//! Tokens built to fool the verifier: `alg: none`, the key-confusion attacks (an HMAC keyed with
//! what the verifier publishes, the other asymmetric algorithm), and malformed input.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::EncodingKey;
use serde_json::json;

use super::tests::{access_claims_json, eddsa, es256, forge, hs256, issue};
use super::*;

const NOW: UnixTime = super::tests::NOW;

#[test]
fn alg_none_and_key_confusion_are_refused() {
    let pair = eddsa();
    let claims = access_claims_json(&pair);
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "at+jwt"}).to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    assert_eq!(pair.verifier.verify_access(&unsigned, NOW), Err(TokenError::Invalid));
    // The classic confusion: an HS256 token keyed with what the verifier publishes — its public
    // key's raw bytes, their base64url text, the JWK, the whole JWK Set — under its own kid.
    for pair in [eddsa(), es256()] {
        let claims = access_claims_json(&pair);
        let published = pair.verifier.keys().public_jwks().clone();
        let jwk = &published["keys"][0];
        let kid = jwk["kid"].as_str().unwrap();
        let x = jwk["x"].as_str().unwrap();
        let mut point = URL_SAFE_NO_PAD.decode(x).unwrap();
        if let Some(y) = jwk["y"].as_str() {
            point = [vec![4], point, URL_SAFE_NO_PAD.decode(y).unwrap()].concat();
        }
        let secrets = [point, x.as_bytes().to_vec(), jwk.to_string().into_bytes(), published.to_string().into_bytes()];
        for secret in secrets {
            // Signed by the oracle, which takes any bytes as an HMAC key (raw points are not text).
            let key = EncodingKey::from_secret(&secret);
            for kid in [Some(kid), None] {
                let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
                header.typ = Some("at+jwt".into());
                header.kid = kid.map(str::to_owned);
                let token = jsonwebtoken::encode(&header, &claims, &key).unwrap();
                assert_eq!(pair.verifier.verify_access(&token, NOW), Err(TokenError::Invalid), "{kid:?}");
            }
        }
        // The right key with another asymmetric algorithm named in the header.
        let other = if pair.issuer.key.algorithm == Algorithm::EdDSA { "ES256" } else { "EdDSA" };
        let swapped = forge(&pair, json!({"alg": other, "typ": "at+jwt", "kid": kid}), claims.clone());
        assert_eq!(pair.verifier.verify_access(&swapped, NOW), Err(TokenError::Invalid), "{other} for {kid}");
        // Sanity: the same forge with the key's own algorithm verifies, so the refusals above are
        // about the algorithm, not the forging.
        let honest =
            forge(&pair, json!({"alg": pair.issuer.key.algorithm.name(), "typ": "at+jwt", "kid": kid}), claims);
        assert!(pair.verifier.verify_access(&honest, NOW).is_ok());
    }
}

#[test]
fn malformed_tokens_are_invalid_not_panics() {
    let pair = hs256();
    let good = issue(&pair).access_token;
    let (head, rest) = good.split_once('.').unwrap();
    // A different last character (an HS256 signature ends in one of A, Q, g, w: appending a fixed
    // 'A' left one token in four untouched, and this test flaky).
    let last = if good.ends_with('A') { 'Q' } else { 'A' };
    let tampered_signature = format!("{}{last}", &good[..good.len() - 1]);
    let cases = [
        String::new(),
        "a".into(),
        "a.b".into(),
        "a.b.c.d".into(),
        "!!!.@@@.###".into(),
        format!("{head}=.{rest}"),
        format!("{good}.extra"),
        tampered_signature,
        "x".repeat(jws::MAX_TOKEN_BYTES + 1),
        format!("{}.{}.sig", URL_SAFE_NO_PAD.encode("not json"), URL_SAFE_NO_PAD.encode("{}")),
    ];
    for token in cases {
        assert_eq!(pair.verifier.verify_access(&token, NOW), Err(TokenError::Invalid), "{token:.40}");
    }
}
