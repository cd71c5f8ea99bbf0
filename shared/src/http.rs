//! The HTTP edge shared by the Lambda functions and the local API: request checks and parsing
//! into use-case inputs, and the one place results and errors become responses.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue, RETRY_AFTER, SET_COOKIE, WWW_AUTHENTICATE};
use http::{HeaderMap, Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::browser::{self, ACCESS_COOKIE, REFRESH_COOKIE, SessionCookies, TokenTransport};
use crate::domain::{Email, LoginThrottle, Password, PasswordHasher, Role, SessionPolicy};
use crate::error::{ApiError, FieldError};
use crate::service::{self, LogoutScope, Principal, TokenResponse, UserView};
use crate::store::{Store, UserChanges};
use crate::time::UnixTime;
use crate::tokens::{TokenIssuer, TokenVerifier, VerifyingKeys};

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
}

pub type ApiResponse = http::Response<String>;

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
}

pub fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
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

// ---- responses: the one place results become HTTP ----

pub fn json_response<T: Serialize>(status: StatusCode, body: &T) -> ApiResponse {
    let body = serde_json::to_string(body).unwrap_or_else(|_| "{}".to_owned());
    let mut response = http::Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn empty_response(status: StatusCode) -> ApiResponse {
    let mut response = http::Response::new(String::new());
    *response.status_mut() = status;
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// RFC 9457 problem document for `error`.
pub fn problem(error: &ApiError) -> ApiResponse {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut body = json!({
        "type": format!("urn:jwt-auth:problem:{}", error.code()),
        "title": error.title(),
        "status": error.status(),
        "detail": error.to_string(),
        "code": error.code(),
    });
    if let ApiError::Validation(errors) = error {
        body["errors"] = json!(errors);
    }
    let mut response = json_response(status, &body);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    if let Some(seconds) = error.retry_after_secs() {
        headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    if status == StatusCode::UNAUTHORIZED && error != &ApiError::InvalidCredentials {
        headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer error=\"invalid_token\""));
    }
    response
}

fn respond<T: Serialize>(status: StatusCode, result: Result<T, ApiError>) -> ApiResponse {
    match result {
        Ok(body) => json_response(status, &body),
        Err(error) => problem(&error),
    }
}

/// A token response without the tokens, for `TOKEN_TRANSPORT=cookie`: they are in cookies only.
#[derive(Serialize)]
struct CookieSessionView<'a> {
    token_type: &'static str,
    expires_in: u64,
    refresh_expires_in: u64,
    user: &'a UserView,
}

/// Where the CSRF token of a token response comes from.
enum Csrf<'r> {
    /// A new session (register, login): a new token.
    Fresh,
    /// A continued session keeps the token its page already holds, so requests in flight during
    /// a refresh still match; a new one if it has none.
    KeepFrom(&'r ApiRequest),
}

/// Issued tokens as the deployment's transport wants them: in the body, in cookies, or both.
fn token_response(
    status: StatusCode,
    result: Result<TokenResponse, ApiError>,
    transport: TokenTransport,
    csrf: Csrf<'_>,
) -> ApiResponse {
    let tokens = match result {
        Ok(tokens) => tokens,
        Err(error) => return problem(&error),
    };
    let mut response = if transport.tokens_in_body() {
        json_response(status, &tokens)
    } else {
        let view = CookieSessionView {
            token_type: tokens.token_type,
            expires_in: tokens.expires_in,
            refresh_expires_in: tokens.refresh_expires_in,
            user: &tokens.user,
        };
        json_response(status, &view)
    };
    if transport.uses_cookies() {
        let kept = match csrf {
            Csrf::Fresh => None,
            Csrf::KeepFrom(request) => browser::cookie_value(&request.headers, browser::CSRF_COOKIE),
        };
        let csrf_token = kept.map_or_else(browser::new_csrf_token, str::to_owned);
        let cookies = SessionCookies {
            access_token: &tokens.access_token,
            access_max_age: tokens.expires_in,
            refresh_token: &tokens.refresh_token,
            refresh_max_age: tokens.refresh_expires_in,
            csrf_token: &csrf_token,
        };
        for cookie in cookies.headers() {
            response.headers_mut().append(SET_COOKIE, cookie);
        }
    }
    response
}

// ---- request bodies ----

#[derive(Deserialize)]
struct CredentialsBody {
    email: Option<String>,
    password: Option<String>,
}

#[derive(Deserialize)]
struct RefreshBody {
    refresh_token: Option<String>,
}

#[derive(Deserialize)]
struct LogoutBody {
    refresh_token: Option<String>,
    scope: Option<String>,
}

fn required(value: Option<String>, field: &'static str, errors: &mut Vec<FieldError>) -> Option<String> {
    if value.is_none() {
        errors.push(FieldError { field, message: "is required".into() });
    }
    value
}

fn validated<T>(value: Option<T>, errors: Vec<FieldError>) -> Result<T, ApiError> {
    match value {
        Some(value) if errors.is_empty() => Ok(value),
        _ => Err(ApiError::Validation(errors)),
    }
}

fn parse_registration(request: &ApiRequest) -> Result<(Email, Password), ApiError> {
    let body: CredentialsBody = request.json()?;
    let mut errors = Vec::new();
    let email = required(body.email, "email", &mut errors).and_then(|raw| {
        Email::parse(&raw).map_err(|message| errors.push(FieldError { field: "email", message: message.into() })).ok()
    });
    let password = required(body.password, "password", &mut errors).and_then(|raw| {
        Password::parse_new(raw)
            .map_err(|message| errors.push(FieldError { field: "password", message: message.into() }))
            .ok()
    });
    validated(email.zip(password), errors)
}

fn parse_login(request: &ApiRequest) -> Result<(Option<Email>, Password), ApiError> {
    let body: CredentialsBody = request.json()?;
    let mut errors = Vec::new();
    let email = required(body.email, "email", &mut errors);
    let password = required(body.password, "password", &mut errors).and_then(|raw| {
        Password::parse_presented(raw)
            .map_err(|message| errors.push(FieldError { field: "password", message: message.into() }))
            .ok()
    });
    validated(email.zip(password), errors).map(|(email, password)| (Email::for_lookup(&email), password))
}

fn parse_refresh_token(value: Option<String>) -> Result<String, ApiError> {
    let mut errors = Vec::new();
    let token = required(value, "refresh_token", &mut errors);
    validated(token, errors)
}

/// The refresh token a request presents: the body's; else, with cookie transport, the refresh
/// cookie's, honoured only with a matching CSRF header. The CSRF check comes before any complaint
/// about the body, so a cross-site form post is refused as what it is.
fn presented_refresh_token(
    request: &ApiRequest,
    transport: TokenTransport,
    from_body: Result<Option<String>, ApiError>,
) -> Result<String, ApiError> {
    let from_cookie = transport.uses_cookies().then(|| browser::cookie_value(&request.headers, REFRESH_COOKIE));
    match (from_body, from_cookie.flatten()) {
        (Ok(Some(token)), _) => Ok(token),
        (from_body, Some(token)) => {
            browser::check_csrf(&request.headers)?;
            from_body?;
            Ok(token.to_owned())
        }
        (from_body, None) => parse_refresh_token(from_body?),
    }
}

/// Requests admitted on the access-token cookie (no `Authorization` header) must prove they come
/// from our own page before they change anything.
fn check_csrf_unless_bearer(request: &ApiRequest) -> Result<(), ApiError> {
    match request.bearer_token() {
        Some(_) => Ok(()),
        None => browser::check_csrf(&request.headers),
    }
}

fn parse_scope(scope: Option<&str>) -> Result<LogoutScope, ApiError> {
    match scope {
        None | Some("local") => Ok(LogoutScope::Local),
        Some("global") => Ok(LogoutScope::Global),
        Some(_) => Err(ApiError::validation("scope", "must be \"local\" or \"global\"")),
    }
}

// ---- handlers: parse, call the use case, respond ----

pub async fn register(
    store: &dyn Store,
    hasher: &PasswordHasher,
    issuer: &TokenIssuer,
    transport: TokenTransport,
    request: ApiRequest,
) -> ApiResponse {
    let request = &request;
    let result = async {
        let (email, password) = parse_registration(request)?;
        service::register(store, hasher, issuer, email, password, UnixTime::now()).await
    };
    token_response(StatusCode::CREATED, result.await, transport, Csrf::Fresh)
}

pub async fn login(
    store: &dyn Store,
    hasher: &PasswordHasher,
    throttle: &LoginThrottle,
    issuer: &TokenIssuer,
    transport: TokenTransport,
    request: ApiRequest,
) -> ApiResponse {
    let request = &request;
    let result = async {
        let (email, password) = parse_login(request)?;
        service::login(store, hasher, throttle, issuer, email, password, UnixTime::now()).await
    };
    token_response(StatusCode::OK, result.await, transport, Csrf::Fresh)
}

pub async fn refresh(
    store: &dyn Store,
    verifier: &TokenVerifier,
    issuer: &TokenIssuer,
    policy: &SessionPolicy,
    transport: TokenTransport,
    request: ApiRequest,
) -> ApiResponse {
    let request = &request;
    let result = async {
        let body = request.json::<RefreshBody>().map(|body| body.refresh_token);
        let token = presented_refresh_token(request, transport, body)?;
        service::refresh(store, verifier, issuer, policy, &token, UnixTime::now()).await
    };
    token_response(StatusCode::OK, result.await, transport, Csrf::KeepFrom(request))
}

pub async fn logout(
    store: &dyn Store,
    verifier: &TokenVerifier,
    transport: TokenTransport,
    request: ApiRequest,
) -> ApiResponse {
    let request = &request;
    let result = async {
        let (from_body, scope) = match request.json::<LogoutBody>() {
            Ok(body) => (Ok(body.refresh_token), body.scope),
            Err(error) => (Err(error), None),
        };
        let token = presented_refresh_token(request, transport, from_body)?;
        let scope = parse_scope(scope.as_deref())?;
        let access_cookie = transport.uses_cookies().then(|| browser::cookie_value(&request.headers, ACCESS_COOKIE));
        let access = request.bearer_token().or(access_cookie.flatten());
        service::logout(store, verifier, &token, access, scope, UnixTime::now()).await
    };
    match result.await {
        Ok(()) => {
            let mut response = empty_response(StatusCode::NO_CONTENT);
            if transport.uses_cookies() {
                for cookie in browser::cleared_session_cookies() {
                    response.headers_mut().append(SET_COOKIE, cookie);
                }
            }
            response
        }
        Err(error) => problem(&error),
    }
}

#[derive(Deserialize)]
struct PasswordChangeBody {
    current_password: Option<String>,
    new_password: Option<String>,
}

fn parse_password_change(request: &ApiRequest) -> Result<(Password, Password), ApiError> {
    let body: PasswordChangeBody = request.json()?;
    let mut errors = Vec::new();
    let current = required(body.current_password, "current_password", &mut errors).and_then(|raw| {
        Password::parse_presented(raw)
            .map_err(|message| errors.push(FieldError { field: "current_password", message: message.into() }))
            .ok()
    });
    let new = required(body.new_password, "new_password", &mut errors).and_then(|raw| {
        Password::parse_new(raw)
            .map_err(|message| errors.push(FieldError { field: "new_password", message: message.into() }))
            .ok()
    });
    validated(current.zip(new), errors)
}

pub async fn change_password(
    store: &dyn Store,
    hasher: &PasswordHasher,
    throttle: &LoginThrottle,
    issuer: &TokenIssuer,
    transport: TokenTransport,
    request: ApiRequest,
) -> ApiResponse {
    let request = &request;
    let result = async {
        let principal = principal(request)?;
        check_csrf_unless_bearer(request)?;
        let (current, new) = parse_password_change(request)?;
        service::change_password(store, hasher, throttle, issuer, principal, current, new, UnixTime::now()).await
    };
    token_response(StatusCode::OK, result.await, transport, Csrf::KeepFrom(request))
}

pub async fn me(store: &dyn Store, request: ApiRequest) -> ApiResponse {
    let request = &request;
    let result = async { service::me(store, principal(request)?).await };
    respond(StatusCode::OK, result.await)
}

// ---- administration ----

pub const DEFAULT_PAGE_SIZE: u32 = 20;
pub const MAX_PAGE_SIZE: u32 = 100;

/// Cursors are opaque to clients: the id of the last user of a page, base64url-encoded.
pub fn encode_cursor(last_id: &str) -> String {
    URL_SAFE_NO_PAD.encode(last_id)
}

fn decode_cursor(cursor: &str) -> Result<String, ApiError> {
    let invalid = || ApiError::validation("cursor", "is not a cursor this API returned");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let id = String::from_utf8(bytes).map_err(|_| invalid())?;
    uuid::Uuid::parse_str(&id).map_err(|_| invalid())?;
    Ok(id)
}

#[derive(Deserialize)]
struct ListQuery {
    limit: Option<String>,
    cursor: Option<String>,
}

fn parse_list_query(query: &str) -> Result<(u32, Option<String>), ApiError> {
    let params: ListQuery =
        serde_urlencoded::from_str(query).map_err(|_| ApiError::validation("query", "is not a valid query string"))?;
    let limit = match params.limit.as_deref() {
        None | Some("") => DEFAULT_PAGE_SIZE,
        Some(raw) => raw.parse::<u32>().ok().filter(|limit| (1..=MAX_PAGE_SIZE).contains(limit)).ok_or_else(|| {
            ApiError::validation("limit", format!("must be a whole number from 1 to {MAX_PAGE_SIZE}"))
        })?,
    };
    let after = params.cursor.as_deref().filter(|cursor| !cursor.is_empty()).map(decode_cursor).transpose()?;
    Ok((limit, after))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserChangesBody {
    role: Option<String>,
    disabled: Option<bool>,
}

fn parse_user_changes(request: &ApiRequest) -> Result<UserChanges, ApiError> {
    let body: UserChangesBody = request.json()?;
    let role = body
        .role
        .map(|raw| Role::parse(&raw).ok_or_else(|| ApiError::validation("role", "must be \"admin\" or \"user\"")))
        .transpose()?;
    if role.is_none() && body.disabled.is_none() {
        return Err(ApiError::validation("body", "give role, disabled, or both"));
    }
    Ok(UserChanges { role, disabled: body.disabled })
}

/// The `{id}` of `/admin/users/{id}`: the last path segment, whatever stage prefix precedes it.
fn user_id_from_path(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or_default()
}

fn principal(request: &ApiRequest) -> Result<&Principal, ApiError> {
    // API Gateway only invokes these behind the authorizer; no principal means misconfiguration.
    request.principal.as_ref().ok_or(ApiError::Forbidden)
}

pub async fn list_users(store: &dyn Store, request: ApiRequest) -> ApiResponse {
    let request = &request;
    let result = async {
        let (limit, after) = parse_list_query(&request.query)?;
        service::list_users(store, principal(request)?, limit, after).await
    };
    respond(StatusCode::OK, result.await)
}

pub async fn get_user(store: &dyn Store, request: ApiRequest) -> ApiResponse {
    let request = &request;
    let result = async { service::get_user(store, principal(request)?, user_id_from_path(&request.path)).await };
    respond(StatusCode::OK, result.await)
}

pub async fn update_user(store: &dyn Store, request: ApiRequest) -> ApiResponse {
    let request = &request;
    let result = async {
        let principal = principal(request)?;
        check_csrf_unless_bearer(request)?;
        let changes = parse_user_changes(request)?;
        service::update_user(store, principal, user_id_from_path(&request.path), changes, UnixTime::now()).await
    };
    respond(StatusCode::OK, result.await)
}

pub fn jwks(keys: &VerifyingKeys) -> ApiResponse {
    let mut response = json_response(StatusCode::OK, keys.public_jwks());
    // Public data that changes only at key rotation: let clients and CDNs cache it briefly.
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    response
}

pub fn not_found() -> ApiResponse {
    problem(&ApiError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(content_type: Option<&str>, body: &str) -> ApiRequest {
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

    #[test]
    fn registration_reports_every_bad_field() {
        let error =
            parse_registration(&post(Some("application/json"), r#"{"email":"nope","password":"short"}"#)).unwrap_err();
        let ApiError::Validation(errors) = error else { panic!("{error:?}") };
        let fields: Vec<_> = errors.iter().map(|error| error.field).collect();
        assert_eq!(fields, ["email", "password"]);
        assert!(!errors.iter().any(|error| error.message.contains("short")), "echoed the password");
    }

    #[test]
    fn problems_carry_code_status_and_retry_after() {
        let response = problem(&ApiError::Unavailable);
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()["content-type"], "application/problem+json");
        assert_eq!(response.headers()["retry-after"], "1");
        let body: serde_json::Value = serde_json::from_str(response.body()).unwrap();
        assert_eq!(body["code"], "unavailable");
        assert_eq!(body["status"], 503);
    }

    #[test]
    fn bearer_tokens_are_read_strictly() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer"), None);
        assert_eq!(bearer_token("Bearer "), None);
    }
}
