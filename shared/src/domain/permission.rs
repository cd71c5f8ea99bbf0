//! Permissions: names like `orders:read` that roles grant and the routes of a deployer's API
//! require. A granted permission may hold `*` wildcards (`orders:*`); a required one never does.

use std::fmt;

use serde::{Deserialize, Serialize};

pub const MAX_PERMISSION_LEN: usize = 64;

/// A permission name: `[a-z0-9_-]+(:[a-z0-9_*-]+)*`, at most [`MAX_PERMISSION_LEN`] characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Permission(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a permission is one to {MAX_PERMISSION_LEN} characters of a-z, 0-9, _ and -, in segments joined by ':' (after the first, '*' too): {0:?}"
)]
pub struct InvalidPermission(pub String);

impl Permission {
    pub fn parse(raw: &str) -> Result<Self, InvalidPermission> {
        let invalid = || InvalidPermission(raw.chars().take(MAX_PERMISSION_LEN + 8).collect());
        if raw.is_empty() || raw.len() > MAX_PERMISSION_LEN {
            return Err(invalid());
        }
        let word = |segment: &str, wildcard: bool| {
            !segment.is_empty()
                && segment.bytes().all(|byte| {
                    byte.is_ascii_lowercase()
                        || byte.is_ascii_digit()
                        || byte == b'_'
                        || byte == b'-'
                        || (wildcard && byte == b'*')
                })
        };
        let mut segments = raw.split(':');
        let first_ok = segments.next().is_some_and(|first| word(first, false));
        if !first_ok || !segments.all(|segment| word(segment, true)) {
            return Err(invalid());
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Without wildcards: what a route may require.
    pub fn is_concrete(&self) -> bool {
        !self.0.contains('*')
    }

    /// Whether holding this permission grants `required`: the same name, or a pattern whose `*`
    /// stands for any run of characters within one segment, and whose final segment `*` stands
    /// for one or more whole segments (`orders:*` grants `orders:read` and `orders:items:read`,
    /// never `orders` or `billing:read`).
    pub fn grants(&self, required: &Permission) -> bool {
        let held: Vec<&str> = self.0.split(':').collect();
        let wanted: Vec<&str> = required.0.split(':').collect();
        if held.last() == Some(&"*") && wanted.len() >= held.len() {
            let fixed = held.len() - 1;
            return held[..fixed].iter().zip(&wanted[..fixed]).all(|(held, wanted)| segment_matches(held, wanted));
        }
        held.len() == wanted.len() && held.iter().zip(&wanted).all(|(held, wanted)| segment_matches(held, wanted))
    }
}

/// Glob within one segment: `*` matches any run of characters (none included).
fn segment_matches(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((prefix, rest)) => {
            let Some(text) = text.strip_prefix(prefix) else { return false };
            (0..=text.len()).any(|skip| text.is_char_boundary(skip) && segment_matches(rest, &text[skip..]))
        }
    }
}

/// What an account's roles give it, as its access tokens carry it: the role names and the union
/// of their permissions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Entitlements {
    pub roles: Vec<String>,
    pub permissions: Vec<Permission>,
}

impl TryFrom<String> for Permission {
    type Error = InvalidPermission;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Permission::parse(&raw)
    }
}

impl From<Permission> for String {
    fn from(permission: Permission) -> Self {
        permission.0
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(raw: &str) -> Permission {
        Permission::parse(raw).unwrap()
    }

    #[test]
    fn names_follow_the_grammar() {
        for good in ["orders", "orders:read", "a-b_c:d:e", "orders:*", "orders:re*", "x1:*:read"] {
            assert!(Permission::parse(good).is_ok(), "{good}");
        }
        let too_long = "a".repeat(MAX_PERMISSION_LEN + 1);
        for bad in ["", "*", "*:read", "Orders:read", "orders:", ":read", "orders::read", "orders read", "ö", &too_long]
        {
            assert!(Permission::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Permission::parse(&"a".repeat(MAX_PERMISSION_LEN)).is_ok());
        // The refusal quotes enough of the name to recognise it, never a whole oversized input.
        let quoted = Permission::parse(&"a".repeat(10_000)).unwrap_err().0;
        assert!((MAX_PERMISSION_LEN..=MAX_PERMISSION_LEN + 8).contains(&quoted.len()), "{}", quoted.len());
    }

    #[test]
    fn wildcards_grant_within_their_reach_only() {
        assert!(p("orders:read").grants(&p("orders:read")));
        assert!(!p("orders:read").grants(&p("orders:write")));
        assert!(!p("orders:read").grants(&p("orders")));
        assert!(!p("orders").grants(&p("orders:read")), "a prefix is not a wildcard");
        assert!(p("orders:*").grants(&p("orders:read")));
        assert!(p("orders:*").grants(&p("orders:items:read")));
        assert!(!p("orders:*").grants(&p("orders")));
        assert!(!p("orders:*").grants(&p("billing:read")));
        assert!(p("orders:re*").grants(&p("orders:read")));
        assert!(p("orders:re*").grants(&p("orders:re")));
        assert!(!p("orders:re*").grants(&p("orders:write")));
        assert!(!p("orders:re*").grants(&p("orders:read:all")), "a partial wildcard stays in its segment");
        assert!(p("x:*:read").grants(&p("x:a:read")));
        assert!(!p("x:*:read").grants(&p("x:a:write")));
        assert!(!p("x:*:read").grants(&p("x:a:b:read")));
        assert!(!p("orders:*").is_concrete() && p("orders:read").is_concrete());
        assert!(p("x:re*d").grants(&p("x:read")));
        assert!(!p("x:re*d").grants(&p("x:rex")), "what follows a `*` must match too");
        assert!(p("x:*a*").grants(&p("x:bab")));
        assert!(!p("x:*a*").grants(&p("x:bbb")));
    }

    #[test]
    fn a_permission_travels_as_its_name_and_is_checked_when_read() {
        assert_eq!(serde_json::to_string(&p("orders:read")).unwrap(), r#""orders:read""#);
        assert_eq!(serde_json::from_str::<Permission>(r#""orders:*""#).unwrap(), p("orders:*"));
        assert!(serde_json::from_str::<Permission>(r#""Orders""#).is_err());
    }
}
