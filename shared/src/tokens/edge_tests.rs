//! Token cases found by mutation testing (docs/testing.md, "Mutation testing"): each fails when
//! the check it names is dropped or loosened.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::keys::{GeneratedKey, generate_ed25519};
use super::tests::settings;
use super::*;
use crate::domain::{Email, Entitlements, Role, User};

const NOW: UnixTime = UnixTime::from_secs(1_800_000_000);

fn signing(key: &GeneratedKey) -> SigningKey {
    SigningKey::from_pkcs8_pem(&key.private_pem, key.kid.clone()).unwrap()
}

fn forge(key: &SigningKey, header: Value, claims: &Value) -> String {
    let input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let signature = URL_SAFE_NO_PAD.encode(key.sign(input.as_bytes()).unwrap());
    format!("{input}.{signature}")
}

fn access_claims(issuer: &TokenIssuer) -> Value {
    let user = User::new(Email::parse("alice@example.com").unwrap(), String::new(), Role::User, NOW);
    let grant = issuer.next_refresh("session-1".into(), NOW);
    serde_json::to_value(issuer.issue(&user, &Entitlements::default(), &grant, NOW).unwrap().access_claims).unwrap()
}

/// During a key rotation the set holds several keys: a token that names none of them (no `kid`)
/// is refused, even when it is signed by the first key of the set.
#[test]
fn a_kid_less_token_is_refused_by_a_set_of_several_keys() {
    let (first, second) = (generate_ed25519("first").unwrap(), generate_ed25519("second").unwrap());
    let set = json!({ "keys": [first.public_jwk.clone(), second.public_jwk.clone()] }).to_string();
    let verifier = TokenVerifier::new(settings(), VerifyingKeys::from_public_jwks(&set).unwrap());
    let key = signing(&first);
    let claims = access_claims(&TokenIssuer::new(settings(), signing(&first)));
    let named = forge(&key, json!({ "alg": "EdDSA", "typ": "at+jwt", "kid": "first" }), &claims);
    assert!(verifier.verify_access(&named, NOW).is_ok(), "the same token with its kid verifies");
    let kid_less = forge(&key, json!({ "alg": "EdDSA", "typ": "at+jwt" }), &claims);
    assert_eq!(verifier.verify_access(&kid_less, NOW), Err(TokenError::Invalid));
    assert!(verifier.keys().select("EdDSA", None).is_none());
    // With one key, a kid-less token means that key.
    let one = json!({ "keys": [first.public_jwk.clone()] }).to_string();
    let verifier = TokenVerifier::new(settings(), VerifyingKeys::from_public_jwks(&one).unwrap());
    assert!(verifier.verify_access(&kid_less, NOW).is_ok());
}

/// A certificate chain in the header (`x5c`) points at a key the token chose: refused, not
/// ignored, even though the token is signed with the right key.
#[test]
fn a_header_carrying_x5c_is_refused() {
    let generated = generate_ed25519("k1").unwrap();
    let (key, keys) = generated.key_pair().unwrap();
    let verifier = TokenVerifier::new(settings(), keys);
    let claims = access_claims(&TokenIssuer::new(settings(), signing(&generated)));
    let plain = forge(&key, json!({ "alg": "EdDSA", "typ": "at+jwt", "kid": "k1" }), &claims);
    assert!(verifier.verify_access(&plain, NOW).is_ok());
    let x5c = forge(&key, json!({ "alg": "EdDSA", "typ": "at+jwt", "kid": "k1", "x5c": ["MIIB"] }), &claims);
    assert_eq!(verifier.verify_access(&x5c, NOW), Err(TokenError::Invalid));
    assert_eq!(
        jws::verify_compact(&x5c, verifier.keys()).err(),
        Some(jws::JwsError::Header("embedded or remote keys are not accepted"))
    );
}

/// A token not valid before a future instant (`nbf`) is refused until then, give or take the
/// leeway (5 s), for access and refresh tokens alike; so is one issued in the future (`iat`).
#[test]
fn a_token_whose_nbf_is_in_the_future_is_refused() {
    let generated = generate_ed25519("k1").unwrap();
    let (key, keys) = generated.key_pair().unwrap();
    let issuer = TokenIssuer::new(settings(), signing(&generated));
    let verifier = TokenVerifier::new(settings(), keys);
    let header = json!({ "alg": "EdDSA", "typ": "at+jwt", "kid": "k1" });
    for (field, offset, accepted) in [
        ("nbf", 60, false),
        ("nbf", 6, false),
        ("nbf", 5, true),
        ("nbf", 0, true),
        ("iat", 60, false),
        ("iat", 5, true),
    ] {
        let mut claims = access_claims(&issuer);
        claims[field] = json!(NOW.secs() + offset);
        let token = forge(&key, header.clone(), &claims);
        let verdict = verifier.verify_access(&token, NOW);
        assert_eq!(verdict.is_ok(), accepted, "{field} now+{offset}: {verdict:?}");
        if !accepted {
            assert_eq!(verdict, Err(TokenError::Invalid));
            // Once that instant comes, the same token is good: the check is on time, not shape.
            assert!(verifier.verify_access(&token, UnixTime::from_secs(NOW.secs() + offset)).is_ok());
        }
    }
    let user = User::new(Email::parse("alice@example.com").unwrap(), String::new(), Role::User, NOW);
    let grant = issuer.next_refresh("session-1".into(), NOW);
    let mut refresh =
        serde_json::to_value(issuer.issue(&user, &Entitlements::default(), &grant, NOW).unwrap().refresh_claims)
            .unwrap();
    refresh["nbf"] = json!(NOW.secs() + 60);
    let token = forge(&key, json!({ "alg": "EdDSA", "typ": "rt+jwt", "kid": "k1" }), &refresh);
    assert_eq!(verifier.verify_refresh(&token, NOW).err(), Some(TokenError::Invalid));
}

/// A well-signed token bigger than any this service issues (4 KiB) is refused before any work.
#[test]
fn an_oversized_token_is_refused_even_when_well_signed() {
    let generated = generate_ed25519("k1").unwrap();
    let (key, keys) = generated.key_pair().unwrap();
    let verifier = TokenVerifier::new(settings(), keys);
    let mut claims = access_claims(&TokenIssuer::new(settings(), signing(&generated)));
    claims["padding"] = json!("x".repeat(jws::MAX_TOKEN_BYTES));
    let token = forge(&key, json!({ "alg": "EdDSA", "typ": "at+jwt", "kid": "k1" }), &claims);
    assert!(token.len() > jws::MAX_TOKEN_BYTES);
    assert_eq!(jws::verify_compact(&token, verifier.keys()).err(), Some(jws::JwsError::Malformed));
    assert_eq!(verifier.verify_access(&token, NOW), Err(TokenError::Invalid));
}
