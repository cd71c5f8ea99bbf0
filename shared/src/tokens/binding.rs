//! The `csrf` claim: what binds a session's tokens to the CSRF token its page holds.
//!
//! A double-submit check alone (header == cookie) passes whenever the attacker chooses both, and
//! a sibling subdomain can plant the cookie. Binding the tokens to the CSRF token makes the check
//! "header == cookie, and the header is *this session's* token", with no store read: the signed
//! tokens carry base64url(SHA-256(CSRF token)). Only the digest is signed in: tokens end up in
//! places (logs of a misbehaving client, an API client's storage) the CSRF token need not.

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The value of a `csrf` claim. Opaque to the use cases: they stamp it on tokens and compare it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsrfBinding(String);

impl CsrfBinding {
    /// The binding to the CSRF token `token`.
    pub fn of(token: &str) -> Self {
        Self(URL_SAFE_NO_PAD.encode(digest(&SHA256, token.as_bytes())))
    }

    /// A claim read from a verified token, as it was signed.
    pub fn from_claim(claim: &str) -> Self {
        Self(claim.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether a token whose `csrf` claim is `claim` is bound to this, in constant time. A token
    /// without the claim (issued before binding existed, or in body transport) is bound to nothing.
    pub fn binds(&self, claim: Option<&str>) -> bool {
        claim.is_some_and(|claim| verify_slices_are_equal(self.0.as_bytes(), claim.as_bytes()).is_ok())
    }
}

/// The presented CSRF token is not the one the session is bound to.
#[derive(Debug, PartialEq, Eq)]
pub struct CsrfMismatch;

/// How a continued session (refresh, password change) binds its next tokens: decided where the
/// request was read, applied to the binding of the token that authenticated it once that token
/// is verified.
#[derive(Clone, Debug)]
pub enum Rebinding {
    /// The client proved it holds the CSRF token bound here (a cookie-authenticated request): it
    /// must be the session's, and stays it.
    Proven(CsrfBinding),
    /// The token came by other means (body, bearer): nothing to prove. The session keeps its
    /// binding if the client also holds that CSRF token (`held`); otherwise it is bound to
    /// `fresh`, whose token the response hands out; with neither, it stays as it is.
    Offered { held: Option<CsrfBinding>, fresh: Option<CsrfBinding> },
}

impl Rebinding {
    /// Nothing proven, nothing offered (body transport): the next tokens are bound as these were.
    pub const UNCHANGED: Self = Self::Offered { held: None, fresh: None };

    /// The binding of the next tokens, given the `csrf` claim of the presented one.
    pub fn apply(self, current: Option<&str>) -> Result<Option<CsrfBinding>, CsrfMismatch> {
        match self {
            Self::Proven(proof) if proof.binds(current) => Ok(Some(proof)),
            Self::Proven(_) => Err(CsrfMismatch),
            Self::Offered { held: Some(held), .. } if held.binds(current) => Ok(Some(held)),
            Self::Offered { fresh: Some(fresh), .. } => Ok(Some(fresh)),
            Self::Offered { fresh: None, .. } => Ok(current.map(CsrfBinding::from_claim)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{NOW, eddsa, issue, issue_bound};
    use super::*;

    #[test]
    fn both_tokens_carry_the_csrf_binding_and_unbound_ones_no_claim() {
        let pair = eddsa();
        let binding = CsrfBinding::of("csrf-token");
        let bound = issue_bound(&pair, Some(binding.clone()));
        let access = pair.verifier.verify_access(&bound.access_token, NOW).unwrap();
        let refresh = pair.verifier.verify_refresh(&bound.refresh_token, NOW).unwrap();
        assert!(binding.binds(access.csrf.as_deref()) && binding.binds(refresh.csrf.as_deref()));
        let unbound = issue(&pair);
        assert_eq!(serde_json::to_value(unbound.access_claims).unwrap().get("csrf"), None, "the old shape");
        assert_eq!(serde_json::to_value(unbound.refresh_claims).unwrap().get("csrf"), None);
    }

    #[test]
    fn a_binding_is_the_base64url_sha256_of_the_token() {
        // SHA-256("abc"), RFC 6234's test vector, base64url without padding.
        assert_eq!(CsrfBinding::of("abc").as_str(), "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
        assert!(CsrfBinding::of("abc").binds(Some(CsrfBinding::of("abc").as_str())));
        assert!(!CsrfBinding::of("abc").binds(Some(CsrfBinding::of("abd").as_str())));
        assert!(!CsrfBinding::of("abc").binds(Some("abc")), "the claim holds the digest, not the token");
        assert!(!CsrfBinding::of("abc").binds(None), "an unbound token is bound to nothing");
    }

    #[test]
    fn a_proof_must_be_the_sessions_and_is_kept() {
        let (mine, other) = (CsrfBinding::of("mine"), CsrfBinding::of("other"));
        assert_eq!(Rebinding::Proven(mine.clone()).apply(Some(mine.as_str())), Ok(Some(mine.clone())));
        assert_eq!(Rebinding::Proven(other).apply(Some(mine.as_str())), Err(CsrfMismatch));
        assert_eq!(Rebinding::Proven(mine).apply(None), Err(CsrfMismatch));
    }

    #[test]
    fn an_offer_keeps_a_held_binding_else_takes_the_fresh_one() {
        let (held, fresh) = (CsrfBinding::of("held"), CsrfBinding::of("fresh"));
        let offer = |held: Option<&CsrfBinding>, fresh: Option<&CsrfBinding>| Rebinding::Offered {
            held: held.cloned(),
            fresh: fresh.cloned(),
        };
        let current = Some(held.as_str());
        assert_eq!(offer(Some(&held), Some(&fresh)).apply(current), Ok(Some(held.clone())));
        assert_eq!(offer(Some(&fresh), Some(&fresh)).apply(current), Ok(Some(fresh.clone())), "held, not bound");
        assert_eq!(offer(None, Some(&fresh)).apply(current), Ok(Some(fresh.clone())));
        assert_eq!(offer(None, Some(&fresh)).apply(None), Ok(Some(fresh)), "an unbound session gets bound");
        // Body transport offers nothing: the session stays as it is.
        assert_eq!(Rebinding::UNCHANGED.apply(current), Ok(Some(held)));
        assert_eq!(Rebinding::UNCHANGED.apply(None), Ok(None));
    }
}
