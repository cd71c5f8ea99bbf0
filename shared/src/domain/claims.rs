//! Custom claims an administrator sets on an account (a tenant id, a plan): copied into the
//! account's access tokens, so that downstream services decide without a lookup.

use serde_json::{Map, Value};

/// The claims this service sets itself: a custom claim may not take their place.
pub const RESERVED_CLAIMS: [&str; 16] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "sid",
    "typ",
    "client_id",
    "role",
    "email",
    "email_verified",
    "amr",
    "csrf",
    "auth_time",
];
/// Registered claim names that carry authorization or authentication context to those who read
/// the token (RFC 9068 §2.2.3.1 `scope`, `roles`, `groups`, `entitlements`; RFC 8693 `act`,
/// `scope`; RFC 7800 `cnf`; OpenID Connect `acr`, `azp`, `nonce`, `at_hash`, `c_hash`; `scp`,
/// `permissions`, `idp`, `org_id` as common providers use them). API Gateway's JWT authorizer
/// and resource servers authorize on some of them, so an administrator may not set them as
/// custom claims either.
pub const AUTHORIZATION_CLAIMS: [&str; 15] = [
    "scope",
    "scp",
    "roles",
    "groups",
    "entitlements",
    "permissions",
    "acr",
    "azp",
    "cnf",
    "act",
    "nonce",
    "at_hash",
    "c_hash",
    "idp",
    "org_id",
];
/// Serialized as JSON, at most this many bytes: tokens stay small.
pub const MAX_CLAIMS_BYTES: usize = 2048;

/// A JSON object whose keys match `[a-z][a-z0-9_]{0,63}` and are not reserved ([`RESERVED_CLAIMS`],
/// [`AUTHORIZATION_CLAIMS`]), at most 2 KiB.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CustomClaims(Map<String, Value>);

impl CustomClaims {
    /// What an administrator sent; the message names the offending key.
    pub fn parse(value: Value) -> Result<Self, String> {
        let Value::Object(map) = value else { return Err("must be a JSON object".into()) };
        for key in map.keys() {
            if !well_formed(key) {
                return Err(format!("key {key:?} must match [a-z][a-z0-9_]{{0,63}}"));
            }
            if RESERVED_CLAIMS.contains(&key.as_str()) {
                return Err(format!("key {key:?} is reserved: the service sets it"));
            }
            if AUTHORIZATION_CLAIMS.contains(&key.as_str()) {
                return Err(format!("key {key:?} is reserved: a registered claim that carries authorization"));
            }
        }
        let claims = Self(map);
        if claims.to_json().len() > MAX_CLAIMS_BYTES {
            return Err(format!("must be at most {MAX_CLAIMS_BYTES} bytes as JSON"));
        }
        Ok(claims)
    }

    /// As stored: claims this code wrote, so anything unreadable counts as none.
    pub fn from_stored(json: &str) -> Self {
        match serde_json::from_str(json) {
            Ok(Value::Object(map)) => Self(map),
            _ => Self::default(),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|_| "{}".into())
    }

    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn well_formed(key: &str) -> bool {
    let mut bytes = key.bytes();
    key.len() <= 64
        && bytes.next().is_some_and(|first| first.is_ascii_lowercase())
        && bytes.all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_')
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn keys_are_checked_and_named() {
        let claims = CustomClaims::parse(json!({ "tenant_id": "t-42", "plan": { "tier": 2 }, "beta": true })).unwrap();
        assert_eq!(CustomClaims::from_stored(&claims.to_json()), claims);
        for (bad, named) in [
            (json!({ "sub": "x" }), "\"sub\""),
            (json!({ "Tenant": 1 }), "\"Tenant\""),
            (json!({ "9lives": 1 }), "\"9lives\""),
            (json!({ "a-b": 1 }), "\"a-b\""),
            (json!({ "a".repeat(65): 1 }), "\"aaaa"),
        ] {
            let error = CustomClaims::parse(bad).unwrap_err();
            assert!(error.contains(named), "{error}");
        }
        assert!(CustomClaims::parse(json!(["tenant"])).is_err());
        assert!(CustomClaims::parse(json!({ "blob": "x".repeat(2040) })).unwrap_err().contains("2048"));
        assert!(CustomClaims::parse(json!({ "a".repeat(64): 1 })).is_ok());
    }

    #[test]
    fn registered_claims_that_authorize_are_reserved_too() {
        for name in AUTHORIZATION_CLAIMS.iter().chain(RESERVED_CLAIMS.iter()) {
            let error = CustomClaims::parse(json!({ "tenant_id": "t-42", *name: "x" })).unwrap_err();
            assert!(error.contains(&format!("{name:?} is reserved")), "{error}");
        }
        for name in [
            "scope",
            "scp",
            "roles",
            "groups",
            "entitlements",
            "permissions",
            "acr",
            "azp",
            "cnf",
            "act",
            "nonce",
            "auth_time",
            "at_hash",
            "c_hash",
            "idp",
            "org_id",
        ] {
            assert!(CustomClaims::parse(json!({ name: "x" })).is_err(), "{name} was accepted");
        }
        // Names that merely contain one are the administrator's to use.
        assert!(CustomClaims::parse(json!({ "scope_hint": "x", "tenant_roles": [] })).is_ok());
    }
}
