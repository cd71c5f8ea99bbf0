//! The account and session endpoints: parse, call the use case, respond.

use http::StatusCode;
use http::header::SET_COOKIE;
use serde::Deserialize;

use super::request::Fields;
use super::response::{empty_response, json_response, problem, respond, token_response};
use super::views::{AccountView, UserView};
use super::{ApiRequest, ApiResponse};
use crate::domain::{Email, Password};
use crate::error::ApiError;
use crate::service::{self, Accounts, LogoutScope, Registration};
use crate::store::{AccountStore, Store};
use crate::time::UnixTime;
use crate::tokens::{CsrfBinding, TokenVerifier};
use crate::transport::{self, ACCESS_COOKIE, CsrfOffer, REFRESH_COOKIE, TokenTransport};

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

#[derive(Deserialize)]
struct PasswordChangeBody {
    current_password: Option<String>,
    new_password: Option<String>,
}

fn parse_registration(request: &ApiRequest) -> Result<(Email, Password), ApiError> {
    let body: CredentialsBody = request.json()?;
    let mut fields = Fields::default();
    let email = fields.parse("email", body.email, |raw| Email::parse(&raw));
    let password = fields.parse("password", body.password, Password::parse_new);
    fields.finish(email.zip(password))
}

fn parse_login(request: &ApiRequest) -> Result<(Option<Email>, Password), ApiError> {
    let body: CredentialsBody = request.json()?;
    let mut fields = Fields::default();
    let email = fields.required("email", body.email);
    let password = fields.parse("password", body.password, Password::parse_presented);
    fields.finish(email.zip(password)).map(|(email, password)| (Email::for_lookup(&email), password))
}

fn parse_password_change(request: &ApiRequest) -> Result<(Password, Password), ApiError> {
    let body: PasswordChangeBody = request.json()?;
    let mut fields = Fields::default();
    let current = fields.parse("current_password", body.current_password, Password::parse_presented);
    let new = fields.parse("new_password", body.new_password, Password::parse_new);
    fields.finish(current.zip(new))
}

/// The refresh token a request presents: the body's; else, with cookie transport, the refresh
/// cookie's, honoured only with a matching CSRF header, whose proof comes along: the use case
/// requires it of the token once verified (it must be the CSRF token the token is bound to). The
/// double-submit check comes before any complaint about the body, so a cross-site form post is
/// refused as what it is.
fn presented_refresh_token(
    request: &ApiRequest,
    transport: TokenTransport,
    from_body: Result<Option<String>, ApiError>,
) -> Result<(String, Option<CsrfBinding>), ApiError> {
    let from_cookie = transport.uses_cookies().then(|| transport::cookie_value(&request.headers, REFRESH_COOKIE));
    match (from_body, from_cookie.flatten()) {
        (Ok(Some(token)), _) => Ok((token, None)),
        (from_body, Some(token)) => {
            let proof = transport::check_double_submit(&request.headers)?;
            from_body?;
            Ok((token.to_owned(), Some(proof)))
        }
        (from_body, None) => {
            let mut fields = Fields::default();
            let token = fields.required("refresh_token", from_body?);
            fields.finish(token).map(|token| (token, None))
        }
    }
}

fn parse_scope(scope: Option<&str>) -> Result<LogoutScope, ApiError> {
    match scope {
        None | Some("local") => Ok(LogoutScope::Local),
        Some("global") => Ok(LogoutScope::Global),
        Some("others") => Ok(LogoutScope::Others),
        Some(_) => Err(ApiError::validation("scope", "must be \"local\", \"global\" or \"others\"")),
    }
}

/// A new session gets a new CSRF token, whatever cookie the browser still holds.
pub async fn register(accounts: &Accounts, transport: TokenTransport, request: ApiRequest) -> ApiResponse {
    let csrf = CsrfOffer::new_session(transport);
    let result = async {
        let (email, password) = parse_registration(&request)?;
        service::register(accounts, email, password, &request.client(), csrf.binding(), UnixTime::now()).await
    };
    match result.await {
        Ok(Registration::SignedIn(signed_in)) => token_response(StatusCode::CREATED, Ok(*signed_in), transport, &csrf),
        Ok(Registration::PendingVerification(user)) => json_response(StatusCode::ACCEPTED, &AccountView::from(*user)),
        Err(error) => problem(&error),
    }
}

pub async fn login(accounts: &Accounts, transport: TokenTransport, request: ApiRequest) -> ApiResponse {
    let csrf = CsrfOffer::new_session(transport);
    let result = async {
        let (email, password) = parse_login(&request)?;
        service::login(accounts, email, password, &request.client(), csrf.binding(), UnixTime::now()).await
    };
    token_response(StatusCode::OK, result.await, transport, &csrf)
}

/// A refresh keeps the session's binding (and the page its CSRF cookie); one by a body token
/// whose page holds no CSRF token of the session's gets a fresh one (`CsrfOffer::rebinding`).
pub async fn refresh(accounts: &Accounts, transport: TokenTransport, request: ApiRequest) -> ApiResponse {
    let request = &request;
    let csrf = CsrfOffer::continued(transport, &request.headers);
    let result = async {
        let body = request.json::<RefreshBody>().map(|body| body.refresh_token);
        let (token, proof) = presented_refresh_token(request, transport, body)?;
        service::refresh(accounts, &token, csrf.rebinding(proof), &request.client(), UnixTime::now()).await
    };
    token_response(StatusCode::OK, result.await, transport, &csrf)
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
        let (token, proof) = presented_refresh_token(request, transport, from_body)?;
        let scope = parse_scope(scope.as_deref())?;
        let access_cookie = transport.uses_cookies().then(|| transport::cookie_value(&request.headers, ACCESS_COOKIE));
        let access = request.bearer_token().or(access_cookie.flatten());
        service::logout(store, verifier, &token, access, scope, proof.as_ref(), UnixTime::now()).await?;
        Ok(scope)
    };
    match result.await {
        Ok(scope) => {
            let mut response = empty_response(StatusCode::NO_CONTENT);
            // "Everywhere else" keeps this browser signed in.
            if transport.uses_cookies() && scope != LogoutScope::Others {
                for cookie in transport::cleared_session_cookies() {
                    response.headers_mut().append(SET_COOKIE, cookie);
                }
            }
            response
        }
        Err(error) => problem(&error),
    }
}

/// The password change renews the session: like a refresh, it keeps the session's binding. The
/// access token that binding is read from is already verified, so it is resolved here.
pub async fn change_password(accounts: &Accounts, transport: TokenTransport, request: ApiRequest) -> ApiResponse {
    let request = &request;
    let csrf = CsrfOffer::continued(transport, &request.headers);
    let result = async {
        let principal = request.principal()?;
        let proof = request.check_csrf_unless_bearer()?;
        let (current, new) = parse_password_change(request)?;
        let binding = csrf.rebinding(proof).apply(principal.csrf.as_deref()).map_err(|_| ApiError::CsrfFailed)?;
        service::change_password(accounts, principal, current, new, binding, UnixTime::now()).await
    };
    token_response(StatusCode::OK, result.await, transport, &csrf)
}

pub async fn me(store: &dyn AccountStore, request: ApiRequest) -> ApiResponse {
    let result = async { service::me(store, request.principal()?).await };
    respond::<_, UserView>(StatusCode::OK, result.await)
}

#[cfg(test)]
mod tests {
    use super::super::request::tests::post;
    use super::*;

    #[test]
    fn registration_reports_every_bad_field() {
        let error =
            parse_registration(&post(Some("application/json"), r#"{"email":"nope","password":"short"}"#)).unwrap_err();
        let ApiError::Validation(errors) = error else { panic!("{error:?}") };
        let fields: Vec<_> = errors.iter().map(|error| error.field).collect();
        assert_eq!(fields, ["email", "password"]);
        assert!(!errors.iter().any(|error| error.message.contains("short")), "echoed the password");
    }
}
