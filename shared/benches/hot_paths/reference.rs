//! What the hot paths did before keys were prepared at init: jsonwebtoken parses the key (and,
//! for Ed25519 signing, derives the public key) on every call. Kept as a yardstick.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{DecodingKey, EncodingKey, Header};
use secrecy::ExposeSecret as _;
use shared::tokens::keys::generate_ed25519;
use shared::tokens::{ACCESS_TOKEN_TYPE, AccessClaims, REFRESH_TOKEN_TYPE, RefreshClaims};

use super::*;

/// The issuer's key as jsonwebtoken loads it, from the same PEM, public JWK or secret.
struct Oracle {
    algorithm: jsonwebtoken::Algorithm,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

/// [`pair`], with jsonwebtoken's view of its key (which the ephemeral key pair hides).
fn pair_and_oracle(alg: Alg) -> (TokenIssuer, TokenVerifier, Oracle) {
    let algorithm = alg.to_string().parse().unwrap();
    match alg {
        Alg::EdDSA => {
            let generated = generate_ed25519("bench").unwrap();
            let (signing, verifying) = generated.key_pair().unwrap();
            let (issuer, verifier) = wire(signing, verifying);
            let encoding = EncodingKey::from_ed_pem(generated.private_pem.expose_secret().as_bytes()).unwrap();
            let jwk = serde_json::from_value(generated.public_jwk).unwrap();
            (issuer, verifier, Oracle { algorithm, encoding, decoding: DecodingKey::from_jwk(&jwk).unwrap() })
        }
        Alg::HS256 => {
            let (issuer, verifier) = pair(alg);
            let encoding = EncodingKey::from_secret(HS256_SECRET.as_bytes());
            (
                issuer,
                verifier,
                Oracle { algorithm, encoding, decoding: DecodingKey::from_secret(HS256_SECRET.as_bytes()) },
            )
        }
    }
}

/// Signature check alone: the key prepared once (what `verify_compact` does now) ...
#[divan::bench(args = ALGS)]
fn signature_prepared_key(bencher: Bencher, alg: Alg) {
    let (issuer, verifier) = pair(alg);
    let token = access_token(&issuer, NOW);
    let (input, signature) = token.rsplit_once('.').unwrap();
    let key = verifier.keys().select(&alg.to_string(), issuer.key().kid.as_deref()).unwrap();
    bencher.bench_local(|| {
        let signature = URL_SAFE_NO_PAD.decode(black_box(signature)).unwrap();
        assert!(key.verify_signature(black_box(input.as_bytes()), &signature));
    });
}

/// ... and through `jsonwebtoken::crypto::verify` (key copied and parsed per call).
#[divan::bench(args = ALGS)]
fn signature_jsonwebtoken(bencher: Bencher, alg: Alg) {
    let (issuer, _, oracle) = pair_and_oracle(alg);
    let token = access_token(&issuer, NOW);
    let (input, signature) = token.rsplit_once('.').unwrap();
    bencher.bench_local(|| {
        let ok = jsonwebtoken::crypto::verify(
            black_box(signature),
            black_box(input.as_bytes()),
            &oracle.decoding,
            oracle.algorithm,
        );
        assert!(ok.unwrap());
    });
}

/// Issuing a pair with `jsonwebtoken::encode` (the same bytes `tokens/issue_pair` makes).
#[divan::bench(args = ALGS)]
fn issue_pair_jsonwebtoken(bencher: Bencher, alg: Alg) {
    let (issuer, _, oracle) = pair_and_oracle(alg);
    let user = user();
    let header = |typ: &str| {
        let mut header = Header::new(oracle.algorithm);
        header.typ = Some(typ.to_owned());
        header.kid = issuer.key().kid.clone();
        header
    };
    let settings = issuer.settings();
    bencher.bench_local(|| {
        let user = black_box(&user);
        let grant = issuer.next_refresh("session".into(), NOW);
        let access_claims = AccessClaims {
            iss: settings.issuer.clone(),
            sub: user.id.clone(),
            aud: settings.audience.clone(),
            exp: NOW.secs() + settings.access_ttl_secs,
            iat: NOW.secs(),
            jti: shared::tokens::new_token_id(),
            client_id: settings.audience.clone(),
            sid: grant.session_id.clone(),
            email: user.email.as_str().to_owned(),
            email_verified: user.email_verified,
            role: user.role,
            amr: shared::domain::AuthMethods::password().amr(),
            roles: Vec::new(),
            permissions: Vec::new(),
            idp: None,
            csrf: None,
            custom: Default::default(),
        };
        let refresh_claims = RefreshClaims {
            iss: settings.issuer.clone(),
            sub: user.id.clone(),
            aud: settings.issuer.clone(),
            exp: grant.expires_at,
            iat: NOW.secs(),
            jti: grant.jti.clone(),
            sid: grant.session_id.clone(),
            auth_time: grant.auth_time,
            amr: shared::domain::AuthMethods::password().amr(),
            idp: None,
            csrf: None,
        };
        let access = jsonwebtoken::encode(&header(ACCESS_TOKEN_TYPE), &access_claims, &oracle.encoding);
        let refresh = jsonwebtoken::encode(&header(REFRESH_TOKEN_TYPE), &refresh_claims, &oracle.encoding);
        (access.unwrap(), refresh.unwrap())
    });
}
