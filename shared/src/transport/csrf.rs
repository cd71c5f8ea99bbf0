//! The CSRF token of cookie transport: a readable cookie the page echoes in `X-CSRF-Token`
//! (double submit), bound to the session by the tokens' `csrf` claim ([`CsrfBinding`]).
//!
//! Header == cookie only shows that the sender could set both. A sibling subdomain can set
//! cookies for ours (`Domain=.example.com`): the `__Host-` name makes browsers refuse those, and
//! the binding makes any CSRF token other than the session's own useless, planted or not.

use aws_lc_rs::constant_time::verify_slices_are_equal;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::HeaderMap;

use super::{TokenTransport, cookie_values};
use crate::error::ApiError;
use crate::tokens::{CsrfBinding, Rebinding};

/// Readable by the page, which echoes it in [`CSRF_HEADER`]. `__Host-`: only this host can set it.
pub const CSRF_COOKIE: &str = "__Host-csrf_token";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A fresh CSRF token: 256 random bits, base64url.
pub fn new_csrf_token() -> String {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).expect("the system RNG works");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The page's CSRF token: the cookie's value, if one came. Browsers keep one `__Host-` cookie of
/// a name per host, so two mean something other than our page sent them: refuse, never pick.
fn page_token(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let mut values = cookie_values(headers, CSRF_COOKIE);
    let first = values.next();
    match values.next() {
        Some(_) => Err(ApiError::CsrfFailed),
        None => Ok(first),
    }
}

/// The double-submit half of the check on a cookie-authenticated, state-changing request: the
/// `X-CSRF-Token` header must carry the CSRF cookie's value (compared in constant time). Another
/// site can make the browser send our cookies, but cannot read them to set the header. Returns
/// the binding the header proves: the caller requires it of the token that authenticated the
/// request (it may not have verified that token yet), so another session's pair fails too.
pub fn check_double_submit(headers: &HeaderMap) -> Result<CsrfBinding, ApiError> {
    let cookie = page_token(headers)?;
    let header = headers.get(CSRF_HEADER).and_then(|value| value.to_str().ok()).map(str::trim);
    match (cookie, header) {
        (Some(cookie), Some(header)) if verify_slices_are_equal(cookie.as_bytes(), header.as_bytes()).is_ok() => {
            Ok(CsrfBinding::of(header))
        }
        _ => Err(ApiError::CsrfFailed),
    }
}

/// The whole check, for a request whose authenticating token's `csrf` claim is known (the access
/// token, verified by the authorizer): double submit, and the header's token is the one bound.
pub fn check_csrf(headers: &HeaderMap, claim: Option<&str>) -> Result<CsrfBinding, ApiError> {
    let proof = check_double_submit(headers)?;
    if proof.binds(claim) { Ok(proof) } else { Err(ApiError::CsrfFailed) }
}

/// The CSRF tokens a token response may set, each with its binding: the one the page holds
/// (kept when the issued tokens are bound to it) and a fresh one (for new sessions, and for
/// sessions whose page holds none of theirs). Empty with body transport, which sets no cookie.
pub struct CsrfOffer {
    held: Option<(String, CsrfBinding)>,
    fresh: Option<(String, CsrfBinding)>,
}

impl CsrfOffer {
    /// For register and login: a fresh token, whatever CSRF cookie the browser still has.
    pub fn new_session(transport: TokenTransport) -> Self {
        let fresh = transport.uses_cookies().then(new_csrf_token).map(|token| {
            let binding = CsrfBinding::of(&token);
            (token, binding)
        });
        Self { held: None, fresh }
    }

    /// For refresh and password change: also the page's token, if it sent exactly one.
    pub fn continued(transport: TokenTransport, headers: &HeaderMap) -> Self {
        let held = match transport.uses_cookies() {
            true => page_token(headers).ok().flatten().map(|token| (token.to_owned(), CsrfBinding::of(token))),
            false => None,
        };
        Self { held, ..Self::new_session(transport) }
    }

    /// What a new session's tokens are bound to.
    pub fn binding(&self) -> Option<CsrfBinding> {
        self.fresh.as_ref().map(|(_, binding)| binding.clone())
    }

    /// What a continued session's tokens are bound to: the token the request proved, if it was
    /// cookie-authenticated (`proof`); else the page's, if the session is bound to it, or the fresh one.
    pub fn rebinding(&self, proof: Option<CsrfBinding>) -> Rebinding {
        let binding = |offered: &Option<(String, CsrfBinding)>| offered.as_ref().map(|(_, binding)| binding.clone());
        match proof {
            Some(proof) => Rebinding::Proven(proof),
            None => Rebinding::Offered { held: binding(&self.held), fresh: binding(&self.fresh) },
        }
    }

    /// The token to set beside tokens bound to `bound`: the page's (re-set unchanged) or the
    /// fresh one. None if neither is it, which only body transport (no cookie set) gets.
    pub fn token_for(&self, bound: Option<&CsrfBinding>) -> Option<&str> {
        let bound = bound?.as_str();
        [&self.held, &self.fresh]
            .into_iter()
            .flatten()
            .find(|(_, binding)| binding.binds(Some(bound)))
            .map(|(token, _)| token.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::headers;
    use super::*;

    const COOKIE_ABC: (&str, &str) = ("cookie", "__Host-csrf_token=abc");

    #[test]
    fn double_submit_needs_one_cookie_and_the_same_header() {
        let matching = headers(&[COOKIE_ABC, ("x-csrf-token", "abc")]);
        assert_eq!(check_double_submit(&matching), Ok(CsrfBinding::of("abc")));
        for refused in [
            headers(&[COOKIE_ABC]),
            headers(&[("x-csrf-token", "abc")]),
            headers(&[COOKIE_ABC, ("x-csrf-token", "abd")]),
            headers(&[COOKIE_ABC, ("x-csrf-token", "")]),
            // The unprefixed cookie of old, which a sibling subdomain could plant, counts for nothing.
            headers(&[("cookie", "csrf_token=abc"), ("x-csrf-token", "abc")]),
            // Two: refused, whichever the header names.
            headers(&[("cookie", "__Host-csrf_token=abc; __Host-csrf_token=evil"), ("x-csrf-token", "abc")]),
            headers(&[COOKIE_ABC, ("cookie", "__Host-csrf_token=evil"), ("x-csrf-token", "evil")]),
            headers(&[]),
        ] {
            assert_eq!(check_double_submit(&refused), Err(ApiError::CsrfFailed), "{refused:?}");
        }
    }

    #[test]
    fn the_header_must_be_the_token_the_session_is_bound_to() {
        let request = headers(&[COOKIE_ABC, ("x-csrf-token", "abc")]);
        assert_eq!(check_csrf(&request, Some(CsrfBinding::of("abc").as_str())), Ok(CsrfBinding::of("abc")));
        // A matching pair the attacker chose, or another session's: not this session's token.
        assert_eq!(check_csrf(&request, Some(CsrfBinding::of("mine").as_str())), Err(ApiError::CsrfFailed));
        // A token issued before binding (no claim) fails in cookie mode: the user logs in again.
        assert_eq!(check_csrf(&request, None), Err(ApiError::CsrfFailed));
        assert_eq!(check_csrf(&request, Some("abc")), Err(ApiError::CsrfFailed), "the claim is a digest");
    }

    #[test]
    fn csrf_tokens_are_fresh_and_long() {
        let (one, two) = (new_csrf_token(), new_csrf_token());
        assert_ne!(one, two);
        assert_eq!(URL_SAFE_NO_PAD.decode(&one).unwrap().len(), 32);
    }

    #[test]
    fn a_new_session_gets_a_fresh_token_whatever_the_page_holds() {
        let offer = CsrfOffer::new_session(TokenTransport::Cookie);
        let binding = offer.binding().unwrap();
        let token = offer.token_for(Some(&binding)).unwrap();
        assert_eq!(CsrfBinding::of(token), binding);
        assert_ne!(CsrfOffer::new_session(TokenTransport::Both).binding(), Some(binding));
        let body = CsrfOffer::new_session(TokenTransport::Body);
        assert_eq!((body.binding(), body.token_for(None)), (None, None), "body transport binds nothing");
    }

    #[test]
    fn a_continued_session_keeps_the_pages_token_if_bound_to_it() {
        let request = headers(&[COOKIE_ABC]);
        let offer = CsrfOffer::continued(TokenTransport::Both, &request);
        let Rebinding::Offered { held: Some(held), fresh: Some(fresh) } = offer.rebinding(None) else {
            panic!("both offered with cookies on")
        };
        assert_eq!((offer.token_for(Some(&held)), held), (Some("abc"), CsrfBinding::of("abc")));
        assert_eq!(offer.token_for(Some(&fresh)).map(CsrfBinding::of), Some(fresh));
        assert_eq!(offer.token_for(Some(&CsrfBinding::of("other"))), None);
        let proven = offer.rebinding(Some(CsrfBinding::of("abc")));
        assert!(matches!(proven, Rebinding::Proven(proof) if proof == CsrfBinding::of("abc")));

        // Two cookies: neither is the page's. Body transport reads none and offers nothing.
        let two = headers(&[("cookie", "__Host-csrf_token=abc; __Host-csrf_token=abd")]);
        let Rebinding::Offered { held, .. } = CsrfOffer::continued(TokenTransport::Cookie, &two).rebinding(None) else {
            panic!("an offer")
        };
        assert_eq!(held, None);
        let body = CsrfOffer::continued(TokenTransport::Body, &request).rebinding(None);
        assert!(matches!(body, Rebinding::Offered { held: None, fresh: None }), "{body:?}");
    }
}
