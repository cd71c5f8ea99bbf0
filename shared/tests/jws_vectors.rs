//! Public JWS conformance vectors (Wycheproof, RFC 7515 / RFC 8037) from `tests/vectors/` (its
//! README gives their sources and licences), run against the compact-JWS verifier with the
//! vector's key pinned to the vector's algorithm.

use std::path::Path;

use serde::Deserialize;
use serde_json::{Value, json};
use shared::tokens::VerifyingKeys;
use shared::tokens::jws::verify_compact;

#[derive(Deserialize)]
struct Vector {
    id: String,
    alg: String,
    jwk: Option<Value>,
    jwks: Option<Value>,
    jws: String,
    expected: String,
}

fn load(file: &str) -> Vec<Vector> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Wycheproof errata listed in the vectors' README: tc367/tc370 are byte-identical to a valid
/// vector; tc372/tc373 verify only for a lax base64 decoder (either outcome is acceptable).
fn expected_outcome(vector: &Vector) -> Option<bool> {
    let wycheproof_case = vector.id.strip_prefix("wycheproof-jws-");
    if matches!(wycheproof_case, Some("372" | "373")) {
        return None;
    }
    if matches!(wycheproof_case, Some("367" | "370")) {
        return Some(true);
    }
    Some(vector.expected == "valid")
}

/// The key set a deployment would configure for this vector: the given set, or the single key
/// pinned to the vector's algorithm.
fn key_set(vector: &Vector) -> Option<String> {
    if let Some(jwks) = &vector.jwks {
        return Some(jwks.to_string());
    }
    let mut jwk = vector.jwk.clone()?;
    let object = jwk.as_object_mut()?;
    object.entry("alg").or_insert_with(|| json!(vector.alg));
    for private in ["d", "p", "q", "dp", "dq", "qi"] {
        if object.get("kty") != Some(&json!("oct")) {
            object.remove(private);
        }
    }
    Some(json!({ "keys": [jwk] }).to_string())
}

fn verifies(vector: &Vector) -> bool {
    let Some(keys) = key_set(vector) else { return false };
    match VerifyingKeys::from_jwks(&keys) {
        Ok(keys) => verify_compact(&vector.jws, &keys).is_ok(),
        Err(_) => false,
    }
}

fn check(file: &str) -> usize {
    let vectors = load(file);
    let mut failures = Vec::new();
    for vector in &vectors {
        if let Some(expected) = expected_outcome(vector)
            && verifies(vector) != expected
        {
            failures.push(format!("{} ({}): expected {}", vector.id, vector.alg, vector.expected));
        }
    }
    assert!(failures.is_empty(), "{} of {} vectors disagree:\n{}", failures.len(), vectors.len(), failures.join("\n"));
    vectors.len()
}

#[test]
fn conformance_subset() {
    assert_eq!(check("jws_conformance_subset.json"), 101);
}

#[test]
fn rfc_examples_for_supported_algorithms() {
    // RS256 (RFC 7515 A.2) is not an algorithm this service accepts: it must not verify.
    let vectors = load("rfc_examples.json");
    for vector in &vectors {
        let supported = ["HS256", "ES256", "EdDSA"].contains(&vector.alg.as_str());
        let expected = supported && vector.expected == "valid";
        assert_eq!(verifies(vector), expected, "{}", vector.id);
    }
    assert!(vectors.len() >= 5);
}
