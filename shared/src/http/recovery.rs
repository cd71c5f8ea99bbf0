//! The email endpoints: verification, resend, forgot / reset password, email change.

use http::StatusCode;
use serde::Deserialize;

use super::request::Fields;
use super::response::{empty_response, problem, respond};
use super::views::AccountView;
use super::{ApiRequest, ApiResponse};
use crate::domain::{Email, Password};
use crate::error::ApiError;
use crate::routes::{self, Endpoint};
use crate::service::{self, Recovery};
use crate::time::UnixTime;

#[derive(Deserialize)]
struct TokenBody {
    token: Option<String>,
}

#[derive(Deserialize)]
struct EmailBody {
    email: Option<String>,
}

#[derive(Deserialize)]
struct ResetBody {
    token: Option<String>,
    new_password: Option<String>,
}

#[derive(Deserialize)]
struct EmailChangeBody {
    new_email: Option<String>,
    current_password: Option<String>,
}

/// The address a mail request names, if it is one at all: anything else is treated as an
/// unknown address (same answer), never as a validation error that would tell them apart.
fn parse_mail_request(request: &ApiRequest) -> Result<Option<Email>, ApiError> {
    let body: EmailBody = request.json()?;
    let mut fields = Fields::default();
    let email = fields.required("email", body.email);
    fields.finish(email).map(|email| Email::for_lookup(&email))
}

fn accepted(result: Result<(), ApiError>) -> ApiResponse {
    match result {
        Ok(()) => empty_response(StatusCode::ACCEPTED),
        Err(error) => problem(&error),
    }
}

/// The `account-recovery` function's routes, picked by endpoint.
async fn account_recovery(flows: &Recovery, endpoint: Endpoint, request: ApiRequest) -> ApiResponse {
    match endpoint {
        Endpoint::VerifyEmail => verify_email(flows, request).await,
        Endpoint::ResendVerification => resend_verification(flows, request).await,
        Endpoint::ForgotPassword => forgot_password(flows, request).await,
        Endpoint::ResetPassword => reset_password(flows, request).await,
        _ => super::not_found(),
    }
}

/// The Lambda function's entry: the route by the request's method and path.
pub async fn account_recovery_function(flows: &Recovery, request: ApiRequest) -> ApiResponse {
    match routes::of_function("account-recovery", request.method.as_str(), &request.path) {
        Some(route) => account_recovery(flows, route.endpoint, request).await,
        None => super::not_found(),
    }
}

async fn verify_email(flows: &Recovery, request: ApiRequest) -> ApiResponse {
    let result = async {
        let body: TokenBody = request.json()?;
        let mut fields = Fields::default();
        let token = fields.required("token", body.token);
        let token = fields.finish(token)?;
        service::verify_email(flows, &token, UnixTime::now()).await
    };
    respond::<_, AccountView>(StatusCode::OK, result.await)
}

async fn resend_verification(flows: &Recovery, request: ApiRequest) -> ApiResponse {
    let result = async {
        let email = parse_mail_request(&request)?;
        service::resend_verification(flows, email, &request.client(), UnixTime::now()).await
    };
    accepted(result.await)
}

async fn forgot_password(flows: &Recovery, request: ApiRequest) -> ApiResponse {
    let result = async {
        let email = parse_mail_request(&request)?;
        service::forgot_password(flows, email, &request.client(), UnixTime::now()).await
    };
    accepted(result.await)
}

async fn reset_password(flows: &Recovery, request: ApiRequest) -> ApiResponse {
    let result = async {
        let body: ResetBody = request.json()?;
        let mut fields = Fields::default();
        let token = fields.required("token", body.token);
        let password = fields.parse("new_password", body.new_password, Password::parse_new);
        let (token, password) = fields.finish(token.zip(password))?;
        service::reset_password(flows, &token, password, UnixTime::now()).await
    };
    match result.await {
        Ok(()) => empty_response(StatusCode::NO_CONTENT),
        Err(error) => problem(&error),
    }
}

/// A cookie-admitted request must prove it comes from our page (CSRF), as every change does.
pub async fn change_email(flows: &Recovery, request: ApiRequest) -> ApiResponse {
    let result = async {
        let principal = request.principal()?;
        request.check_csrf_unless_bearer()?;
        let body: EmailChangeBody = request.json()?;
        let mut fields = Fields::default();
        let email = fields.parse("new_email", body.new_email, |raw| Email::parse(&raw));
        let current = fields.parse("current_password", body.current_password, Password::parse_presented);
        let (email, current) = fields.finish(email.zip(current))?;
        service::request_email_change(flows, principal, email, current, UnixTime::now()).await
    };
    accepted(result.await)
}
