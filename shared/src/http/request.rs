//! Requests as every handler sees them, the contract's body checks, and field-by-field parsing.

use std::net::IpAddr;

use bytes::Bytes;
use http::{HeaderMap, Method};
use serde::de::DeserializeOwned;

use crate::domain::Principal;
use crate::error::{ApiError, FieldError};
use crate::service::ClientInfo;
use crate::tokens::CsrfBinding;
use crate::transport::{self, DEVICE_COOKIE, bearer_token};

pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// A request as every handler sees it, whether it came from API Gateway or the local API.
#[derive(Clone, Debug)]
pub struct ApiRequest {
    pub method: Method,
    pub path: String,
    /// The raw query string, without `?` (empty when there is none).
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// Set when an authorizer admitted the request.
    pub principal: Option<Principal>,
    /// The client's address as API Gateway saw it (the local API: the peer's).
    pub source_ip: Option<IpAddr>,
}

impl ApiRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// The token of an `Authorization: Bearer <token>` header, if there is one.
    pub fn bearer_token(&self) -> Option<&str> {
        bearer_token(self.header("authorization")?)
    }

    /// The JSON body as `T`, after the contract's checks: size, then content type, then syntax.
    /// An empty body reads as `{}`, so missing fields are reported field by field.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        if self.body.len() > MAX_BODY_BYTES {
            return Err(ApiError::PayloadTooLarge);
        }
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return parse_json(b"{}");
        }
        if !self.header("content-type").is_some_and(is_json_media_type) {
            return Err(ApiError::UnsupportedMediaType);
        }
        parse_json(&self.body)
    }

    /// An `application/x-www-form-urlencoded` body as `T`: only the OAuth routes take one (RFC
    /// 7009, RFC 7662). Size, then content type, then syntax, as for JSON; an empty body reads
    /// as no fields.
    pub fn form<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        if self.body.len() > MAX_BODY_BYTES {
            return Err(ApiError::PayloadTooLarge);
        }
        let is_form = |content_type: &str| {
            content_type.split(';').next().unwrap_or_default().trim().eq_ignore_ascii_case(FORM_MEDIA_TYPE)
        };
        if !self.body.is_empty() && !self.header("content-type").is_some_and(is_form) {
            return Err(ApiError::UnsupportedMediaType);
        }
        serde_urlencoded::from_bytes(&self.body)
            .map_err(|_| ApiError::validation("body", "must be form fields of the documented names"))
    }

    /// The credentials of an `Authorization: Basic` header (RFC 7617), each pair of id and
    /// secret it may stand for: as sent, and form-urldecoded (RFC 6749 §2.3.1 has clients encode
    /// them first; most, like `curl -u`, do not, and a `+` in a secret means itself there).
    pub fn basic_credentials(&self) -> Vec<(String, secrecy::SecretString)> {
        let Some((id, secret)) = self.raw_basic_credentials() else { return Vec::new() };
        let mut pairs = vec![(id.clone(), secrecy::SecretString::from(secret.clone()))];
        if let (Some(id), Some(secret)) = (form_urlencoded_component(&id), form_urlencoded_component(&secret)) {
            pairs.push((id, secrecy::SecretString::from(secret)));
        }
        pairs
    }

    fn raw_basic_credentials(&self) -> Option<(String, String)> {
        use base64::Engine as _;
        let header = self.header("authorization")?;
        let (scheme, encoded) = header.trim().split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (id, secret) = text.split_once(':')?;
        Some((id.to_owned(), secret.to_owned()))
    }

    /// The identity the authorizer established.
    pub(crate) fn principal(&self) -> Result<&Principal, ApiError> {
        // API Gateway only invokes these behind the authorizer; no principal means misconfiguration.
        self.principal.as_ref().ok_or(ApiError::Forbidden)
    }

    /// Requests admitted on the access-token cookie (no `Authorization` header) must prove they
    /// come from our own page, holding the CSRF token the access token is bound to, before they
    /// change anything. The proof, for those; bearer requests need none.
    pub(crate) fn check_csrf_unless_bearer(&self) -> Result<Option<CsrfBinding>, ApiError> {
        match self.bearer_token() {
            Some(_) => Ok(None),
            None => transport::check_csrf(&self.headers, self.principal()?.csrf.as_deref()).map(Some),
        }
    }

    /// What the use cases may know of the client: its address and its device cookie.
    pub(crate) fn client(&self) -> ClientInfo {
        let device_token = transport::cookie_value(&self.headers, DEVICE_COOKIE).map(str::to_owned);
        // A User-Agent may carry non-ASCII bytes (HTTP's obs-text): kept, as UTF-8 where it is.
        let user_agent =
            self.headers.get("user-agent").map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
        ClientInfo { ip: self.source_ip, device_token, user_agent }
    }

    /// The `{id}` of `/…/{id}`: the last path segment, whatever stage prefix precedes it.
    pub(crate) fn last_path_segment(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or_default()
    }
}

const FORM_MEDIA_TYPE: &str = "application/x-www-form-urlencoded";

/// One form-urlencoded component (`+` is a space, `%XX` a byte), or `None` if it is not UTF-8.
fn form_urlencoded_component(part: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&format!("v={}", part.replace('&', "%26"))).ok()?;
    pairs.into_iter().next().map(|(_, value)| value)
}

fn is_json_media_type(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|error| match error.classify() {
        // serde's messages quote the value received (`invalid type: string "<token>"`): never show them.
        serde_json::error::Category::Data => {
            ApiError::validation("body", "must be a JSON object whose fields have the documented types")
        }
        _ => ApiError::MalformedJson,
    })
}

/// Collects every bad field of a body, so one answer names them all.
#[derive(Default)]
pub(crate) struct Fields {
    errors: Vec<FieldError>,
}

impl Fields {
    pub fn required(&mut self, field: &'static str, value: Option<String>) -> Option<String> {
        if value.is_none() {
            self.errors.push(FieldError { field, code: None, message: "is required".into() });
        }
        value
    }

    /// A required field, parsed; the parser's message never quotes the value.
    pub fn parse<T>(
        &mut self,
        field: &'static str,
        value: Option<String>,
        parse: impl FnOnce(String) -> Result<T, &'static str>,
    ) -> Option<T> {
        let raw = self.required(field, value)?;
        parse(raw).map_err(|message| self.errors.push(FieldError { field, code: None, message: message.into() })).ok()
    }

    /// `value` if every field was good, else every field's complaint.
    pub fn finish<T>(self, value: Option<T>) -> Result<T, ApiError> {
        match value {
            Some(value) if self.errors.is_empty() => Ok(value),
            _ => Err(ApiError::Validation(self.errors)),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use http::HeaderValue;
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    struct RefreshBody {
        #[allow(dead_code)]
        refresh_token: Option<String>,
    }

    pub(crate) fn post(content_type: Option<&str>, body: &str) -> ApiRequest {
        let mut headers = HeaderMap::new();
        if let Some(content_type) = content_type {
            headers.insert("content-type", HeaderValue::from_str(content_type).unwrap());
        }
        ApiRequest {
            method: Method::POST,
            path: "/auth/register".into(),
            query: String::new(),
            headers,
            body: Bytes::from(body.to_owned()),
            principal: None,
            source_ip: None,
        }
    }

    #[test]
    fn body_checks_follow_the_contract_order() {
        let huge = format!("{{\"email\":\"{}\"}}", "a".repeat(MAX_BODY_BYTES));
        assert_eq!(post(Some("application/json"), &huge).json::<RefreshBody>().err(), Some(ApiError::PayloadTooLarge));
        assert_eq!(post(Some("text/plain"), "{}").json::<RefreshBody>().err(), Some(ApiError::UnsupportedMediaType));
        assert_eq!(post(None, "{}").json::<RefreshBody>().err(), Some(ApiError::UnsupportedMediaType));
        assert_eq!(post(Some("application/json"), "{nope").json::<RefreshBody>().err(), Some(ApiError::MalformedJson));
        assert!(post(Some("application/json; charset=utf-8"), "{}").json::<RefreshBody>().is_ok());
        assert!(matches!(
            post(Some("application/json"), r#"{"refresh_token": 5}"#).json::<RefreshBody>(),
            Err(ApiError::Validation(_))
        ));
    }

    #[test]
    fn shape_errors_never_echo_the_value() {
        for body in [r#""eyJhbGciOi.secret.sig""#, r#"{"refresh_token": 12345678901}"#, r#"{"refresh_token": true}"#] {
            let Err(ApiError::Validation(errors)) = post(Some("application/json"), body).json::<RefreshBody>() else {
                panic!("{body} was not a validation error")
            };
            assert!(
                errors.iter().all(|error| !error.message.contains("secret") && !error.message.contains("12345678901")),
                "{errors:?}"
            );
        }
    }
}
