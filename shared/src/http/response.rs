//! The one place results and errors become HTTP responses.

use http::StatusCode;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue, RETRY_AFTER, SET_COOKIE, WWW_AUTHENTICATE};
use serde::Serialize;
use serde_json::json;

use super::views::{CookieSessionView, TokenResponse};
use crate::error::ApiError;
use crate::metrics::{self, Metric};
use crate::service::SignedIn;
use crate::transport::{self, CsrfOffer, SessionCookies, TokenTransport};

pub type ApiResponse = http::Response<String>;

pub fn json_response<T: Serialize>(status: StatusCode, body: &T) -> ApiResponse {
    let body = serde_json::to_string(body).unwrap_or_else(|_| "{}".to_owned());
    let mut response = http::Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub(super) fn empty_response(status: StatusCode) -> ApiResponse {
    let mut response = http::Response::new(String::new());
    *response.status_mut() = status;
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// RFC 9457 problem document for `error`.
pub fn problem(error: &ApiError) -> ApiResponse {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status.is_server_error() {
        metrics::count(Metric::ServerError);
    }
    if status == StatusCode::SERVICE_UNAVAILABLE {
        metrics::count(Metric::Unavailable);
    }
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
    if let ApiError::MfaRequired(ticket) = error {
        body["mfa_token"] = json!(ticket.token);
        body["methods"] = json!(ticket.methods);
        if let Some(options) = &ticket.passkey {
            body["passkey"] = options.clone();
        }
    }
    let mut response = json_response(status, &body);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    if let Some(seconds) = error.retry_after_secs() {
        headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    // Only a token problem is a bearer challenge: credentials and codes are not; a client of the
    // introspection endpoint authenticates with HTTP Basic (RFC 7662 §2.1, RFC 7617).
    let token_problem = !matches!(
        error,
        ApiError::InvalidCredentials
            | ApiError::MfaRequired(_)
            | ApiError::InvalidCode
            | ApiError::InvalidClient
            | ApiError::ReauthenticationRequired
    );
    // The token is good but the sign-in behind it too old for this change (RFC 9470 step-up).
    if error == &ApiError::ReauthenticationRequired {
        let challenge = "Bearer error=\"insufficient_user_authentication\", max_age=300";
        headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    }
    if error == &ApiError::InvalidClient {
        headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"jwt-auth\", charset=\"UTF-8\""));
    }
    if status == StatusCode::UNAUTHORIZED && token_problem {
        headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer error=\"invalid_token\""));
    }
    response
}

/// A JSON object response with one more member (a use case's extra beside a token response).
pub(super) fn with_member(mut response: ApiResponse, name: &str, value: serde_json::Value) -> ApiResponse {
    if let Ok(serde_json::Value::Object(mut body)) = serde_json::from_str::<serde_json::Value>(response.body()) {
        body.insert(name.to_owned(), value);
        *response.body_mut() = serde_json::Value::Object(body).to_string();
    }
    response
}

/// `result` as JSON in the shape `View` gives it, or its problem.
pub(super) fn respond<T, View: Serialize + From<T>>(status: StatusCode, result: Result<T, ApiError>) -> ApiResponse {
    match result {
        Ok(value) => json_response(status, &View::from(value)),
        Err(error) => problem(&error),
    }
}

/// Issued tokens as the deployment's transport wants them: in the body, in cookies, or both.
/// With cookies, the CSRF cookie is set to the token of `csrf` the issued tokens are bound to:
/// the page's own, unchanged, when the session kept its binding (requests in flight during a
/// refresh still match), else the fresh one.
pub(super) fn token_response(
    status: StatusCode,
    result: Result<SignedIn, ApiError>,
    transport: TokenTransport,
    csrf: &CsrfOffer,
) -> ApiResponse {
    let mut signed_in = match result {
        Ok(signed_in) => signed_in,
        Err(error) => return problem(&error),
    };
    let csrf_token = match csrf.token_for(signed_in.csrf.as_ref()) {
        Some(token) => Some(token.to_owned()),
        None if !transport.uses_cookies() => None,
        None => {
            // With cookies every use case binds to a token of the offer: anything else is a bug.
            tracing::error!("issued tokens are bound to no CSRF token this response can set");
            return problem(&ApiError::Internal);
        }
    };
    let device_token = signed_in.device_token.take();
    let tokens = TokenResponse::from(signed_in);
    let mut response = if transport.tokens_in_body() {
        json_response(status, &tokens)
    } else {
        json_response(status, &CookieSessionView::from(&tokens))
    };
    if let Some(csrf_token) = csrf_token {
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
    if let Some(device_token) = device_token {
        response.headers_mut().append(SET_COOKIE, transport::device_cookie(&device_token));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
