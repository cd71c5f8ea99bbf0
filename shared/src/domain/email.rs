use std::fmt;

use unicode_normalization::UnicodeNormalization as _;

/// A normalised email address: a bare addr-spec (no display name, comment or quoted local part),
/// trimmed, in Unicode NFC, lower-cased, with the domain in its IDNA ASCII form. Accounts are
/// keyed by this form, so `Alice@Example.com `, `alice@EXAMPLE.com` and the composed and
/// decomposed spellings of one address are one account, and whatever is stored is what tokens say.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Email(String);

/// RFC 5321 caps a forward path at 254 octets; anything longer is not an address.
pub const MAX_EMAIL_LEN: usize = 254;
/// RFC 5321's limit on a local part.
const MAX_LOCAL_LEN: usize = 64;

impl Email {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err("must not be empty");
        }
        if trimmed.len() > MAX_EMAIL_LEN * 4 {
            return Err("must be at most 254 characters");
        }
        let (local, domain) = trimmed.rsplit_once('@').ok_or("must be a valid email address")?;
        if !is_dot_atom(local) || local.chars().count() > MAX_LOCAL_LEN {
            // Display names (`Name <a@b>`), comments, quoted local parts and spaces all land here.
            return Err("must be a plain address like name@example.com");
        }
        let domain = idna::domain_to_ascii(domain).map_err(|_| "must be a valid email address")?;
        let normalised = format!("{}@{domain}", normalise_local(local));
        if normalised.len() > MAX_EMAIL_LEN {
            return Err("must be at most 254 characters");
        }
        let labels_ok = domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-')
        });
        if !labels_ok || !domain.contains('.') || !email_address::EmailAddress::is_valid(&normalised) {
            return Err("must be a valid email address");
        }
        Ok(Self(normalised))
    }

    /// The lookup key for a login attempt. Login never says whether an address is malformed
    /// (that would differ from "unknown"): a valid address normalises as at registration, and
    /// anything else is only bounded (it matches no account, but still counts for the throttle).
    pub fn for_lookup(raw: &str) -> Option<Self> {
        if let Ok(email) = Self::parse(raw) {
            return Some(email);
        }
        let normalised = normalise_local(raw.trim());
        (!normalised.is_empty() && normalised.len() <= MAX_EMAIL_LEN).then_some(Self(normalised))
    }

    /// Rebuilds an address read back from the store, where it was saved already normalised.
    pub fn from_stored(stored: String) -> Self {
        Self(stored)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn normalise_local(local: &str) -> String {
    local.nfc().collect::<String>().to_lowercase()
}

/// RFC 5322's dot-atom, with RFC 6531's UTF-8 characters allowed: atoms of atext joined by
/// single dots. No quotes, spaces, angle brackets, parentheses, commas or `@`.
fn is_dot_atom(local: &str) -> bool {
    let atext = |c: char| {
        c.is_alphanumeric()
            || "!#$%&'*+-/=?^_`{|}~".contains(c)
            || (!c.is_ascii() && !c.is_control() && !c.is_whitespace())
    };
    !local.is_empty() && local.split('.').all(|atom| !atom.is_empty() && atom.chars().all(atext))
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
    fn only_a_bare_addr_spec_is_an_address() {
        for bad in [
            "Mallory <alice@example.com>",
            "<alice@example.com>",
            "alice@example.com (Mallory)",
            "(comment)alice@example.com",
            "\"alice\"@example.com",
            "\"mallory <alice\"@example.com",
            "alice..bob@example.com",
            ".alice@example.com",
            "alice,bob@example.com",
            "alice@exa mple.com",
            "alice@-example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert_eq!(Email::parse("o'brien+tag@example.com").unwrap().as_str(), "o'brien+tag@example.com");
    }

    #[test]
    fn one_address_has_one_normal_form() {
        let composed = Email::parse("jos\u{e9}@example.com").unwrap();
        let decomposed = Email::parse("jose\u{301}@example.com").unwrap();
        assert_eq!(composed, decomposed);
        let unicode_domain = Email::parse("user@B\u{fc}cher.example").unwrap();
        assert_eq!(unicode_domain.as_str(), "user@xn--bcher-kva.example");
        assert_eq!(Email::parse("user@xn--bcher-kva.example").unwrap(), unicode_domain);
        assert_eq!(Email::for_lookup("USER@b\u{fc}cher.EXAMPLE").unwrap(), unicode_domain);
    }

    #[test]
    fn lookup_bounds_length_but_not_syntax() {
        assert_eq!(Email::for_lookup(" X@Y ").unwrap().as_str(), "x@y");
        assert!(Email::for_lookup(&"a".repeat(300)).is_none());
        assert!(Email::for_lookup("  ").is_none());
    }
}
