//! How clients present credentials: the `Authorization: Bearer` header, or, for browsers, tokens
//! in HttpOnly cookies instead of the JSON body (`TOKEN_TRANSPORT`) with the double-submit CSRF
//! check that cookie authentication needs, and the CORS allow-list.
//!
//! Cookies keep tokens out of JavaScript's reach (an XSS cannot read them); the price is that the
//! browser attaches them to requests other sites trigger, hence the CSRF token (`csrf`): a
//! readable cookie that only pages of our own origin can copy into the `X-CSRF-Token` header,
//! bound to the session it was issued with.

mod csrf;

use std::fmt;

use cookie::time::Duration;
use cookie::{Cookie, SameSite};
use http::HeaderMap;
use http::header::{COOKIE, HeaderValue};

pub use csrf::{CSRF_COOKIE, CSRF_HEADER, CsrfOffer, check_csrf, check_double_submit, new_csrf_token};

/// The access token: sent to every path of this host only (`__Host-`: Secure, Path=/, no Domain).
pub const ACCESS_COOKIE: &str = "__Host-access_token";
/// The refresh token: sent only to the auth routes, never to the API's other routes. Not
/// `__Host-` (that needs Path=/), so a sibling subdomain could plant one; it would be bound to a
/// CSRF token the page does not hold, and refused like any forgery.
pub const REFRESH_COOKIE: &str = "__Secure-refresh_token";
const REFRESH_COOKIE_PATH: &str = "/auth";

/// Where register, login, refresh and password change put the tokens they issue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TokenTransport {
    /// In the JSON body, for API clients (the default).
    #[default]
    Body,
    /// In HttpOnly cookies only: the body carries no token.
    Cookie,
    /// Both: for deployments serving browsers and API clients alike.
    Both,
}

impl TokenTransport {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "body" => Some(Self::Body),
            "cookie" => Some(Self::Cookie),
            "both" => Some(Self::Both),
            _ => None,
        }
    }

    pub fn tokens_in_body(self) -> bool {
        self != Self::Cookie
    }

    /// Whether tokens are set in, and accepted from, cookies.
    pub fn uses_cookies(self) -> bool {
        self != Self::Body
    }
}

/// The token of an `Authorization: Bearer <token>` header value.
pub fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Whether browsers vouch for where a cookie of this name came from (RFC 6265bis §4.1.3):
/// `__Host-` ones only from this very host, `__Secure-` ones only from a secure origin. A request
/// can still carry two of one name (a `__Secure-` one planted with `Domain`, or no browser at
/// all), so what reads the first must not trust it further than its own check does.
fn is_prefixed(name: &str) -> bool {
    name.starts_with("__Host-") || name.starts_with("__Secure-")
}

/// The value of cookie `name` in the request's `Cookie` headers: the first, if sent twice. Only
/// for prefixed names (all of ours): the tokens read this way are verified anyway, and the CSRF
/// token, whose value is only compared, is read strictly (two of them are refused).
pub fn cookie_value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    cookie_values(headers, name).next()
}

/// Every value of cookie `name` in the request's `Cookie` headers, in the order sent.
fn cookie_values<'h>(headers: &'h HeaderMap, name: &str) -> impl Iterator<Item = &'h str> {
    debug_assert!(is_prefixed(name), "{name}: only prefixed cookies are read");
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|header| header.split(';'))
        .filter_map(move |pair| pair_value(pair, name))
}

/// The value of cookie `name` among `name=value` pairs (as in a `Cookie` header or HTTP API's
/// `cookies` array): the first, and as for [`cookie_value`], only for prefixed names.
pub fn cookie_in<'c>(pairs: impl IntoIterator<Item = &'c str>, name: &str) -> Option<&'c str> {
    debug_assert!(is_prefixed(name), "{name}: only prefixed cookies are read");
    pairs.into_iter().find_map(|pair| pair_value(pair, name))
}

fn pair_value<'c>(pair: &'c str, name: &str) -> Option<&'c str> {
    let (key, value) = pair.trim().split_once('=')?;
    (key.trim() == name && !value.trim().is_empty()).then(|| value.trim())
}

/// What a token response sets: the two tokens and the CSRF token, each living as long as what it
/// guards (`Max-Age` in seconds).
pub struct SessionCookies<'a> {
    pub access_token: &'a str,
    pub access_max_age: u64,
    pub refresh_token: &'a str,
    pub refresh_max_age: u64,
    pub csrf_token: &'a str,
}

impl SessionCookies<'_> {
    pub fn headers(&self) -> [HeaderValue; 3] {
        [
            set_cookie(ACCESS_COOKIE, self.access_token, "/", SameSite::Lax, true, self.access_max_age),
            set_cookie(
                REFRESH_COOKIE,
                self.refresh_token,
                REFRESH_COOKIE_PATH,
                SameSite::Strict,
                true,
                self.refresh_max_age,
            ),
            set_cookie(CSRF_COOKIE, self.csrf_token, "/", SameSite::Strict, false, self.refresh_max_age),
        ]
    }
}

/// `Set-Cookie` values that delete the session cookies (same name, path and attributes, Max-Age=0).
pub fn cleared_session_cookies() -> [HeaderValue; 3] {
    [
        set_cookie(ACCESS_COOKIE, "", "/", SameSite::Lax, true, 0),
        set_cookie(REFRESH_COOKIE, "", REFRESH_COOKIE_PATH, SameSite::Strict, true, 0),
        set_cookie(CSRF_COOKIE, "", "/", SameSite::Strict, false, 0),
    ]
}

fn set_cookie(name: &str, value: &str, path: &str, same_site: SameSite, http_only: bool, max_age: u64) -> HeaderValue {
    let max_age = Duration::seconds(i64::try_from(max_age).unwrap_or(i64::MAX));
    let cookie = Cookie::build((name, value))
        .path(path)
        .secure(true)
        .http_only(http_only)
        .same_site(same_site)
        .max_age(max_age)
        .build();
    // Names are constants and values base64url / JWT characters: always a valid header value.
    HeaderValue::from_str(&cookie.to_string()).expect("cookie characters are header-safe")
}

/// Binds an upstream login to the browser that started it: the provider's callback must come
/// with it. `SameSite=None`: Apple's answer is a cross-site POST, which a Lax cookie would miss
/// (the cookie is no credential, only half of a pair whose other half, `state`, is single use).
pub const UPSTREAM_LOGIN_COOKIE: &str = "__Host-upstream_login";

pub fn upstream_login_cookie(value: &str, max_age: u64) -> HeaderValue {
    set_cookie(UPSTREAM_LOGIN_COOKIE, value, "/", SameSite::None, true, max_age)
}

/// The device cookie (OWASP's "device cookies"): set on every successful login, in every token
/// transport, so that this client keeps a login-throttle budget of its own for that account.
/// Only /auth/login reads it; `__Host-`: only this host can have set it.
pub const DEVICE_COOKIE: &str = "__Host-device";

pub fn device_cookie(device_token: &str) -> HeaderValue {
    let max_age = crate::tokens::device::DEVICE_TOKEN_TTL_SECS;
    set_cookie(DEVICE_COOKIE, device_token, "/", SameSite::Strict, true, max_age)
}

/// `CORS_ALLOWED_ORIGINS`: the exact origins (`scheme://host[:port]`) whose pages may call the
/// API with credentials. Never a wildcard: with credentials, `*` would hand any site the session.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowedOrigins(Vec<String>);

#[derive(Debug, PartialEq, Eq)]
pub struct BadOrigin(pub String);

impl fmt::Display for BadOrigin {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{:?} is not an origin (scheme://host[:port], no path, no wildcard)", self.0)
    }
}

impl AllowedOrigins {
    /// Comma-separated origins; empty means no cross-origin access at all.
    pub fn parse(raw: &str) -> Result<Self, BadOrigin> {
        raw.split(',')
            .map(str::trim)
            .filter(|origin| !origin.is_empty())
            .map(parse_origin)
            .collect::<Result<_, _>>()
            .map(Self)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    pub fn allows(&self, origin: &str) -> bool {
        self.0.iter().any(|allowed| allowed == origin)
    }
}

fn parse_origin(origin: &str) -> Result<String, BadOrigin> {
    let bad = || BadOrigin(origin.to_owned());
    let (scheme, rest) = origin.split_once("://").ok_or_else(bad)?;
    let host = rest.rsplit_once(':').map_or(rest, |(host, port)| if port.parse::<u16>().is_ok() { host } else { "" });
    let host_ok =
        !host.is_empty() && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'));
    if !matches!(scheme, "http" | "https") || !host_ok {
        return Err(bad());
    }
    Ok(format!("{scheme}://{}", rest.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_token_transport_parses_and_says_where_tokens_go() {
        let parsed: Vec<_> = ["body", " Cookie ", "BOTH"].into_iter().map(TokenTransport::parse).collect();
        assert_eq!(parsed, [Some(TokenTransport::Body), Some(TokenTransport::Cookie), Some(TokenTransport::Both)]);
        assert_eq!(TokenTransport::parse("cookies"), None);
        let sides = |t: TokenTransport| (t.tokens_in_body(), t.uses_cookies());
        assert_eq!(sides(TokenTransport::Body), (true, false));
        assert_eq!(sides(TokenTransport::Cookie), (false, true));
        assert_eq!(sides(TokenTransport::Both), (true, true));
    }

    #[test]
    fn bearer_tokens_are_read_strictly() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer"), None);
        assert_eq!(bearer_token("Bearer "), None);
    }

    pub(super) fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers
                .append(http::HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    fn attributes(value: &HeaderValue) -> Vec<String> {
        value.to_str().unwrap().split(';').map(|part| part.trim().to_owned()).collect()
    }

    #[test]
    fn session_cookies_carry_the_attributes_browsers_enforce() {
        let cookies = SessionCookies {
            access_token: "a.b.c",
            access_max_age: 900,
            refresh_token: "d.e.f",
            refresh_max_age: 604_800,
            csrf_token: "csrf",
        }
        .headers();
        let access = attributes(&cookies[0]);
        assert_eq!(access[0], "__Host-access_token=a.b.c");
        for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/", "Max-Age=900"] {
            assert!(access.iter().any(|a| a == attribute), "access cookie lacks {attribute}: {access:?}");
        }
        assert!(!access.iter().any(|a| a.starts_with("Domain")), "__Host- cookies must not set Domain");

        let refresh = attributes(&cookies[1]);
        assert_eq!(refresh[0], "__Secure-refresh_token=d.e.f");
        for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/auth", "Max-Age=604800"] {
            assert!(refresh.iter().any(|a| a == attribute), "refresh cookie lacks {attribute}: {refresh:?}");
        }

        let csrf = attributes(&cookies[2]);
        assert_eq!(csrf[0], "__Host-csrf_token=csrf");
        assert!(!csrf.iter().any(|a| a == "HttpOnly"), "the page must be able to read the CSRF token");
        for attribute in ["Secure", "SameSite=Strict", "Path=/", "Max-Age=604800"] {
            assert!(csrf.iter().any(|a| a == attribute), "CSRF cookie lacks {attribute}: {csrf:?}");
        }
        assert!(!csrf.iter().any(|a| a.starts_with("Domain")), "__Host- cookies must not set Domain");
    }

    #[test]
    fn clearing_expires_every_session_cookie_on_its_own_path() {
        let cleared = cleared_session_cookies();
        let expected = [(ACCESS_COOKIE, "Path=/"), (REFRESH_COOKIE, "Path=/auth"), (CSRF_COOKIE, "Path=/")];
        for (value, (name, path)) in cleared.iter().zip(expected) {
            let parts = attributes(value);
            assert_eq!(parts[0], format!("{name}="));
            assert!(parts.iter().any(|a| a == "Max-Age=0") && parts.iter().any(|a| a == path), "{parts:?}");
        }
    }

    #[test]
    fn cookies_are_found_among_several_headers() {
        let request =
            headers(&[("cookie", "theme=dark; __Host-csrf_token=abc"), ("cookie", "__Host-access_token=x.y.z")]);
        assert_eq!(cookie_value(&request, CSRF_COOKIE), Some("abc"));
        assert_eq!(cookie_value(&request, ACCESS_COOKIE), Some("x.y.z"));
        assert_eq!(cookie_value(&request, REFRESH_COOKIE), None);
        assert_eq!(cookie_in(["a=1", " __Host-access_token=t "], ACCESS_COOKIE), Some("t"));
        assert_eq!(cookie_in(["__Host-csrf_token="], CSRF_COOKIE), None);
        // The old, unprefixed name is another cookie: a sibling subdomain could have set it.
        assert_eq!(cookie_value(&headers(&[("cookie", "csrf_token=abc")]), CSRF_COOKIE), None);
    }

    #[test]
    fn every_cookie_read_is_one_whose_origin_browsers_vouch_for() {
        for name in [ACCESS_COOKIE, REFRESH_COOKIE, CSRF_COOKIE] {
            assert!(is_prefixed(name), "{name}");
        }
        assert!(CSRF_COOKIE.starts_with("__Host-") && ACCESS_COOKIE.starts_with("__Host-"));
        assert!(!is_prefixed("csrf_token"));
    }

    #[test]
    fn transports_parse_and_say_where_tokens_go() {
        assert_eq!(TokenTransport::parse("Cookie"), Some(TokenTransport::Cookie));
        assert_eq!(TokenTransport::parse("jar"), None);
        assert!(TokenTransport::Body.tokens_in_body() && !TokenTransport::Body.uses_cookies());
        assert!(!TokenTransport::Cookie.tokens_in_body() && TokenTransport::Cookie.uses_cookies());
        assert!(TokenTransport::Both.tokens_in_body() && TokenTransport::Both.uses_cookies());
    }

    #[test]
    fn origins_are_exact_and_never_wildcards() {
        let origins = AllowedOrigins::parse(" https://app.example.com, http://localhost:5173 ").unwrap();
        assert!(origins.allows("https://app.example.com") && origins.allows("http://localhost:5173"));
        assert!(!origins.allows("https://evil.example.com") && !origins.allows("http://localhost:5174"));
        assert!(AllowedOrigins::parse("").unwrap().is_empty());
        // What the local API's CORS layer is built from: the listed origins, lower-cased, in order.
        assert!(!origins.is_empty());
        assert_eq!(origins.as_slice(), ["https://app.example.com", "http://localhost:5173"]);
        assert_eq!(AllowedOrigins::parse("https://App.Example.com").unwrap().as_slice(), ["https://app.example.com"]);
        // The configuration error names the bad entry (an origin is not a secret).
        let error = AllowedOrigins::parse("https://ok.example.com, *").unwrap_err();
        assert_eq!(error.to_string(), "\"*\" is not an origin (scheme://host[:port], no path, no wildcard)");
        for bad in
            ["*", "https://*.example.com", "https://app.example.com/", "app.example.com", "ftp://x", "https://x:99999"]
        {
            assert!(AllowedOrigins::parse(bad).is_err(), "{bad} accepted");
        }
    }
}
