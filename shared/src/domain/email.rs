use std::fmt;

/// A normalised email address: trimmed, lower-cased and syntactically valid. Accounts are keyed
/// by this form, so `Alice@Example.com ` and `alice@example.com` are one account.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Email(String);

/// RFC 5321 caps a forward path at 254 octets; anything longer is not an address.
pub const MAX_EMAIL_LEN: usize = 254;

impl Email {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let normalised = Self::normalise(raw);
        if normalised.is_empty() {
            return Err("must not be empty");
        }
        if normalised.len() > MAX_EMAIL_LEN {
            return Err("must be at most 254 characters");
        }
        if !email_address::EmailAddress::is_valid(&normalised) || !normalised.contains('.') {
            return Err("must be a valid email address");
        }
        Ok(Self(normalised))
    }

    /// The lookup key for a login attempt. Login never says whether an address is malformed
    /// (that would differ from "unknown"), so it only normalises and bounds the input.
    pub fn for_lookup(raw: &str) -> Option<Self> {
        let normalised = Self::normalise(raw);
        (!normalised.is_empty() && normalised.len() <= MAX_EMAIL_LEN).then_some(Self(normalised))
    }

    /// Rebuilds an address read back from the store, where it was saved already normalised.
    pub fn from_stored(stored: String) -> Self {
        Self(stored)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn normalise(raw: &str) -> String {
        raw.trim().to_lowercase()
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_lowercases() {
        assert_eq!(Email::parse("  Alice@Example.COM ").unwrap().as_str(), "alice@example.com");
    }

    #[test]
    fn rejects_what_is_not_an_address() {
        for bad in ["", "   ", "alice", "alice@", "@example.com", "a b@example.com", "alice@localhost"] {
            assert!(Email::parse(bad).is_err(), "{bad:?} was accepted");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&long).is_err());
    }

    #[test]
    fn lookup_bounds_length_but_not_syntax() {
        assert_eq!(Email::for_lookup(" X@Y ").unwrap().as_str(), "x@y");
        assert!(Email::for_lookup(&"a".repeat(300)).is_none());
        assert!(Email::for_lookup("  ").is_none());
    }
}
