use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{DecodingKey, EncodingKey};
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::{Value, json};

use super::keys::{GeneratedKey, generate_ed25519, generate_p256};
use super::*;
use crate::domain::{Email, Entitlements, Role, User};

pub(super) const NOW: UnixTime = UnixTime::from_secs(1_800_000_000);

pub(crate) fn settings() -> TokenSettings {
    TokenSettings::with_defaults("https://auth.example.com", "https://api.example.com")
}

fn user() -> User {
    let email = Email::parse("alice@example.com").unwrap();
    let user = User::new(email, String::new(), Role::Admin, crate::time::UnixTime::from_secs(0));
    User { id: "0190a5b2-0000-7000-8000-000000000001".into(), ..user }
}

pub(super) struct Pair {
    pub(super) issuer: TokenIssuer,
    pub(super) verifier: TokenVerifier,
    oracle: Oracle,
}

/// The pair's key as jsonwebtoken loads it from the same PEM, JWK or secret: the independent
/// implementation our tokens and verdicts are compared with.
struct Oracle {
    algorithm: jsonwebtoken::Algorithm,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

fn asymmetric(generated: GeneratedKey) -> Pair {
    let (signing, verifying) = generated.key_pair().unwrap();
    let pem = generated.private_pem.expose_secret().as_bytes();
    let encoding = match signing.algorithm {
        Algorithm::EdDSA => EncodingKey::from_ed_pem(pem),
        _ => EncodingKey::from_ec_pem(pem),
    };
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(generated.public_jwk).unwrap();
    let oracle = Oracle {
        algorithm: signing.algorithm.name().parse().unwrap(),
        encoding: encoding.unwrap(),
        decoding: DecodingKey::from_jwk(&jwk).unwrap(),
    };
    Pair { issuer: TokenIssuer::new(settings(), signing), verifier: TokenVerifier::new(settings(), verifying), oracle }
}

pub(super) fn eddsa() -> Pair {
    asymmetric(generate_ed25519("k1").unwrap())
}

pub(super) fn es256() -> Pair {
    asymmetric(generate_p256("p1").unwrap())
}

pub(super) fn hs256() -> Pair {
    const SECRET: &str = "0123456789abcdef0123456789abcdef";
    let secret = SecretString::from(SECRET);
    Pair {
        issuer: TokenIssuer::new(settings(), SigningKey::hs256(&secret).unwrap()),
        verifier: TokenVerifier::new(settings(), VerifyingKeys::hs256(&secret).unwrap()),
        oracle: Oracle {
            algorithm: jsonwebtoken::Algorithm::HS256,
            encoding: EncodingKey::from_secret(SECRET.as_bytes()),
            decoding: DecodingKey::from_secret(SECRET.as_bytes()),
        },
    }
}

pub(super) fn issue(pair: &Pair) -> IssuedTokens {
    issue_bound(pair, None)
}

pub(super) fn issue_bound(pair: &Pair, csrf: Option<CsrfBinding>) -> IssuedTokens {
    let grant = pair.issuer.next_refresh("session-1".into(), NOW).bound_to(csrf);
    pair.issuer.issue(&user(), &Entitlements::default(), &grant, NOW).unwrap()
}

fn header_of(token: &str) -> Value {
    let header = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
}

/// Re-signs `claims` under `header` with the pair's own key, to forge well-signed bad tokens.
pub(super) fn forge(pair: &Pair, header: Value, claims: Value) -> String {
    forge_with(&pair.issuer.key, header, claims)
}

pub(super) fn forge_with(key: &SigningKey, header: Value, claims: Value) -> String {
    let input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let signature = URL_SAFE_NO_PAD.encode(key.sign(input.as_bytes()).unwrap());
    format!("{input}.{signature}")
}

pub(super) fn access_claims_json(pair: &Pair) -> Value {
    serde_json::to_value(issue(pair).access_claims).unwrap()
}

#[test]
fn every_algorithm_round_trips_both_token_kinds() {
    for (name, pair) in [("EdDSA", eddsa()), ("ES256", es256()), ("HS256", hs256())] {
        let tokens = issue(&pair);
        assert_eq!(header_of(&tokens.access_token)["alg"], name);
        let access = pair.verifier.verify_access(&tokens.access_token, NOW).unwrap();
        assert_eq!(access, tokens.access_claims);
        assert_eq!(access.role, Role::Admin);
        assert_eq!(access.email, "alice@example.com");
        let refresh = pair.verifier.verify_refresh(&tokens.refresh_token, NOW).unwrap();
        assert_eq!(refresh.sid, "session-1");
        assert_eq!(refresh.aud, settings().issuer);
    }
}

#[test]
fn access_tokens_follow_rfc_9068() {
    let pair = eddsa();
    let tokens = issue(&pair);
    let header = header_of(&tokens.access_token);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["kid"], "k1");
    let claims = &tokens.access_claims;
    assert_eq!((claims.exp - claims.iat), 900);
    for name in ["iss", "aud", "sub", "exp", "iat", "jti", "client_id", "role", "email"] {
        assert!(access_claims_json(&pair).get(name).is_some(), "missing {name}");
    }
}

#[test]
fn one_kind_never_passes_for_the_other() {
    let pair = eddsa();
    let tokens = issue(&pair);
    assert_eq!(pair.verifier.verify_access(&tokens.refresh_token, NOW), Err(TokenError::Invalid));
    assert_eq!(pair.verifier.verify_refresh(&tokens.access_token, NOW).err(), Some(TokenError::Invalid));
}

#[test]
fn expiry_honours_the_leeway_only() {
    let pair = hs256();
    let tokens = issue(&pair);
    let exp = tokens.access_claims.exp;
    assert!(pair.verifier.verify_access(&tokens.access_token, UnixTime::from_secs(exp + 4)).is_ok());
    assert_eq!(
        pair.verifier.verify_access(&tokens.access_token, UnixTime::from_secs(exp + 5)),
        Err(TokenError::Expired)
    );
}

#[test]
fn an_exp_at_the_end_of_time_does_not_overflow() {
    // Found by fuzz/token_claims: `exp + leeway` overflowed (a panic with overflow checks on).
    let pair = hs256();
    let mut claims = access_claims_json(&pair);
    claims["exp"] = json!(u64::MAX);
    let token = forge(&pair, json!({ "alg": "HS256", "typ": "at+jwt" }), claims);
    assert!(pair.verifier.verify_access(&token, NOW).is_ok());
}

#[test]
fn wrong_issuer_audience_or_missing_exp_is_invalid() {
    let pair = eddsa();
    let header = json!({"alg": "EdDSA", "typ": "at+jwt", "kid": "k1"});
    for (name, value) in [("iss", json!("https://evil.example.com")), ("aud", json!("https://other.example.com"))] {
        let mut claims = access_claims_json(&pair);
        claims[name] = value;
        assert_eq!(pair.verifier.verify_access(&forge(&pair, header.clone(), claims), NOW), Err(TokenError::Invalid));
    }
    let mut claims = access_claims_json(&pair);
    claims.as_object_mut().unwrap().remove("exp");
    assert_eq!(pair.verifier.verify_access(&forge(&pair, header.clone(), claims), NOW), Err(TokenError::Invalid));
    let claims = access_claims_json(&pair);
    assert!(
        pair.verifier.verify_access(&forge(&pair, header, claims), NOW).is_ok(),
        "the forging helper itself is broken"
    );
}

#[test]
fn hostile_headers_are_refused() {
    let pair = eddsa();
    let claims = access_claims_json(&pair);
    let hostile = [
        json!({"alg": "EdDSA", "typ": "JWT", "kid": "k1"}),
        json!({"alg": "EdDSA", "kid": "k1"}),
        json!({"alg": "EdDSA", "typ": "at+jwt", "kid": "k1", "crit": ["exp"]}),
        json!({"alg": "EdDSA", "typ": "at+jwt", "kid": "k1", "jku": "https://evil.example.com/jwks"}),
        json!({"alg": "EdDSA", "typ": "at+jwt", "kid": "k1", "x5u": "https://evil.example.com/cert"}),
        json!({"alg": "EdDSA", "typ": "at+jwt", "kid": "k1", "jwk": {"kty": "OKP"}}),
        json!({"alg": "EdDSA", "typ": "at+jwt", "kid": "unknown"}),
        json!({"alg": "HS256", "typ": "at+jwt", "kid": "k1"}),
    ];
    for header in hostile {
        let token = forge(&pair, header.clone(), claims.clone());
        assert_eq!(pair.verifier.verify_access(&token, NOW), Err(TokenError::Invalid), "{header}");
    }
}

#[test]
fn rotated_keys_keep_verifying_until_removed() {
    let old = generate_ed25519("old").unwrap();
    let new = generate_ed25519("new").unwrap();
    let both = json!({ "keys": [new.public_jwk.clone(), old.public_jwk.clone()] }).to_string();
    let verifier = TokenVerifier::new(settings(), VerifyingKeys::from_public_jwks(&both).unwrap());
    let old_issuer = TokenIssuer::new(settings(), SigningKey::from_pkcs8_pem(&old.private_pem, "old".into()).unwrap());
    let grant = old_issuer.next_refresh("s".into(), NOW);
    let token = old_issuer.issue(&user(), &Entitlements::default(), &grant, NOW).unwrap().access_token;
    assert!(verifier.verify_access(&token, NOW).is_ok());
    let only_new = json!({ "keys": [new.public_jwk] }).to_string();
    let verifier = TokenVerifier::new(settings(), VerifyingKeys::from_public_jwks(&only_new).unwrap());
    assert_eq!(verifier.verify_access(&token, NOW), Err(TokenError::Invalid));
}

#[test]
fn served_key_set_holds_public_members_only() {
    let generated = generate_ed25519("k1").unwrap();
    let jwks = json!({ "keys": [generated.public_jwk] }).to_string();
    let keys = VerifyingKeys::from_public_jwks(&jwks).unwrap();
    let served = keys.public_jwks()["keys"][0].as_object().unwrap();
    let mut names: Vec<_> = served.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["alg", "crv", "kid", "kty", "use", "x"]);
    assert!(keys.select("EdDSA", Some("k1")).is_some());
    assert_eq!(hs256().verifier.keys().public_jwks(), &json!({"keys": []}));
}

/// The issuer signs with keys parsed once and precomputed headers: its tokens must be the very
/// bytes `jsonwebtoken::encode` makes (EdDSA and HS256 signatures are deterministic).
#[test]
fn issued_tokens_are_what_jsonwebtoken_encode_makes() {
    let pairs = [eddsa(), hs256(), es256()];
    // Unbound (body transport) and bound (cookies) tokens alike.
    let cases = pairs.iter().flat_map(|pair| [None, Some(CsrfBinding::of("csrf-token"))].map(|csrf| (pair, csrf)));
    for (pair, csrf) in cases {
        let tokens = issue_bound(pair, csrf);
        let key = &pair.issuer.key;
        let encode = |typ: &str, claims: &dyn erased::Claims| {
            let mut header = jsonwebtoken::Header::new(pair.oracle.algorithm);
            header.typ = Some(typ.to_owned());
            header.kid = key.kid.clone();
            claims.encode(&header, &pair.oracle.encoding)
        };
        for (token, reference) in [
            (&tokens.access_token, encode(ACCESS_TOKEN_TYPE, &tokens.access_claims)),
            (&tokens.refresh_token, encode(REFRESH_TOKEN_TYPE, &tokens.refresh_claims)),
        ] {
            let (input, signature) = token.rsplit_once('.').unwrap();
            let (reference_input, _) = reference.rsplit_once('.').unwrap();
            assert_eq!(input, reference_input);
            if key.algorithm == Algorithm::ES256 {
                // Randomised signatures: check it with jsonwebtoken instead.
                let verified = jsonwebtoken::crypto::verify(
                    signature,
                    input.as_bytes(),
                    &pair.oracle.decoding,
                    pair.oracle.algorithm,
                );
                assert!(verified.unwrap());
            } else {
                assert_eq!(token, &reference);
            }
        }
    }
}

/// Keys prepared at init accept and refuse exactly what jsonwebtoken's per-call check does.
#[test]
fn prepared_keys_agree_with_jsonwebtoken_verification() {
    for (alg, kid, pair) in [("EdDSA", Some("k1"), eddsa()), ("ES256", Some("p1"), es256()), ("HS256", None, hs256())] {
        let key = pair.verifier.keys().select(alg, kid).unwrap();
        let token = issue(&pair).access_token;
        let (input, signature) = token.rsplit_once('.').unwrap();
        let decoded = URL_SAFE_NO_PAD.decode(signature).unwrap();
        let mut flipped = decoded.clone();
        flipped[0] ^= 1;
        let signatures = [decoded.clone(), flipped, decoded[..decoded.len() - 1].to_vec(), vec![], vec![7; 200]];
        for message in [input.as_bytes(), b"other message".as_slice()] {
            for candidate in &signatures {
                let reference = jsonwebtoken::crypto::verify(
                    &URL_SAFE_NO_PAD.encode(candidate),
                    message,
                    &pair.oracle.decoding,
                    pair.oracle.algorithm,
                )
                .unwrap();
                assert_eq!(key.verify_signature(message, candidate), reference, "{alg} {}", candidate.len());
            }
        }
        assert!(key.verify_signature(input.as_bytes(), &decoded));
    }
}

#[test]
fn oversized_or_invalid_signatures_keep_their_error() {
    let pair = hs256();
    let token = issue(&pair).access_token;
    let (input, _) = token.rsplit_once('.').unwrap();
    let keys = pair.verifier.keys();
    let long = URL_SAFE_NO_PAD.encode([1u8; 300]);
    assert_eq!(jws::verify_compact(&format!("{input}.{long}"), keys).unwrap_err(), jws::JwsError::BadSignature);
    let long_invalid = format!("{long}!");
    assert_eq!(jws::verify_compact(&format!("{input}.{long_invalid}"), keys).unwrap_err(), jws::JwsError::Malformed);
    assert_eq!(jws::verify_compact(&format!("{input}.ab!c"), keys).unwrap_err(), jws::JwsError::Malformed);
}

mod erased {
    /// `jsonwebtoken::encode` over either claims struct, as the issuer serialises it.
    pub trait Claims {
        fn encode(&self, header: &jsonwebtoken::Header, key: &jsonwebtoken::EncodingKey) -> String;
    }

    impl<T: serde::Serialize> Claims for T {
        fn encode(&self, header: &jsonwebtoken::Header, key: &jsonwebtoken::EncodingKey) -> String {
            jsonwebtoken::encode(header, self, key).unwrap()
        }
    }
}

/// A verifier that has seen a token answers, at any time, what a fresh verifier answers.
#[test]
fn remembered_access_tokens_get_the_answer_of_a_full_check() {
    let pair = hs256();
    let tokens = issue(&pair);
    let fresh = || {
        TokenVerifier::new(
            settings(),
            VerifyingKeys::hs256(&SecretString::from("0123456789abcdef0123456789abcdef".to_owned())).unwrap(),
        )
    };
    let (iat, exp) = (tokens.access_claims.iat, tokens.access_claims.exp);
    assert!(pair.verifier.verify_access(&tokens.access_token, NOW).is_ok());
    for secs in [iat - 6, iat - 5, iat, exp + 4, exp + 5, exp + 3600, iat] {
        let at = UnixTime::from_secs(secs);
        let remembered = pair.verifier.verify_access(&tokens.access_token, at);
        assert_eq!(remembered, fresh().verify_access(&tokens.access_token, at), "at {secs}");
    }
    assert_eq!(
        pair.verifier.verify_access(&tokens.access_token, UnixTime::from_secs(exp + 5)),
        Err(TokenError::Expired)
    );
    // A refused token is never remembered as good, and other keys do not share the memory.
    let tampered = format!("{}x", tokens.access_token);
    assert_eq!(pair.verifier.verify_access(&tampered, NOW), Err(TokenError::Invalid));
    assert_eq!(eddsa().verifier.verify_access(&tokens.access_token, NOW), Err(TokenError::Invalid));
    // The memory stays bounded.
    for _ in 0..(VerifiedAccessTokens::CAPACITY + 10) {
        assert!(pair.verifier.verify_access(&issue(&pair).access_token, NOW).is_ok());
    }
    assert!(pair.verifier.verified_access.lock().len() <= VerifiedAccessTokens::CAPACITY);
}
