//! The JWS algorithms this service signs and verifies with (RFC 7518 §3, RFC 8037 §3.1).

use serde::{Serialize, Serializer};

/// Closed on purpose: a key set can only ever hold keys of these algorithms, so no token can
/// ask for another (RSA, `none`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    HS256,
    ES256,
    EdDSA,
}

impl Algorithm {
    /// The `alg` header value (and JWK `alg` member), compared byte for byte.
    pub const fn name(self) -> &'static str {
        match self {
            Algorithm::HS256 => "HS256",
            Algorithm::ES256 => "ES256",
            Algorithm::EdDSA => "EdDSA",
        }
    }

    pub const fn as_str(self) -> &'static str {
        self.name()
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Serialised as its name, so a header's `alg` can never drift from what verification compares.
impl Serialize for Algorithm {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::Algorithm;

    #[test]
    fn serialises_as_its_name() {
        for algorithm in [Algorithm::HS256, Algorithm::ES256, Algorithm::EdDSA] {
            assert_eq!(serde_json::to_value(algorithm).unwrap(), algorithm.name());
            assert_eq!(algorithm.to_string(), algorithm.as_str());
        }
    }
}
