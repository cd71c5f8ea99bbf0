//! The MFA endpoints: parse, call the use case, respond.

use http::StatusCode;
use secrecy::SecretString;
use serde::Deserialize;

use super::request::Fields;
use super::response::{empty_response, json_response, problem, token_response, with_member};
use super::views::EnrolmentView;
use super::{ApiRequest, ApiResponse};
use crate::domain::Password;
use crate::domain::mfa::SecondFactor;
use crate::error::ApiError;
use crate::routes::{self, Endpoint, Route};
use crate::service::{self, Accounts, MfaConfig, Recovery};
use crate::time::UnixTime;
use crate::transport::{CsrfOffer, TokenTransport};

#[derive(Deserialize)]
struct FactorBody {
    code: Option<String>,
    recovery_code: Option<String>,
}

#[derive(Deserialize)]
struct ConfirmBody {
    code: Option<String>,
    current_password: Option<String>,
}

#[derive(Deserialize)]
struct VerifyBody {
    mfa_token: Option<String>,
    code: Option<String>,
    recovery_code: Option<String>,
    /// A passkey's assertion (`AuthenticationResponseJSON`) for the `mfa_required` answer's
    /// `passkey` options, in place of a code.
    passkey: Option<serde_json::Value>,
}

/// Exactly one of `code` and `recovery_code`; a code is no longer than any real one, so garbage
/// is refused before it costs anything.
fn parse_factor(code: Option<String>, recovery_code: Option<String>) -> Result<SecondFactor, ApiError> {
    const MAX_CODE_CHARS: usize = 64;
    let too_long = |field, value: &String| {
        (value.chars().count() > MAX_CODE_CHARS).then(|| ApiError::validation(field, "is too long"))
    };
    match (code, recovery_code) {
        (Some(code), None) => match too_long("code", &code) {
            Some(error) => Err(error),
            None => Ok(SecondFactor::Totp(SecretString::from(code.trim().to_owned()))),
        },
        (None, Some(code)) => match too_long("recovery_code", &code) {
            Some(error) => Err(error),
            None => Ok(SecondFactor::RecoveryCode(SecretString::from(code))),
        },
        _ => Err(ApiError::validation("code", "give either code or recovery_code")),
    }
}

/// The `mfa` function's routes, picked by endpoint: every one changes something, so a
/// cookie-admitted request must prove it comes from our page (CSRF).
async fn mfa_management(flows: &Recovery, mfa: &MfaConfig, route: &Route, request: ApiRequest) -> ApiResponse {
    let request = &request;
    let now = UnixTime::now();
    let factor = || {
        let body: FactorBody = request.json()?;
        parse_factor(body.code, body.recovery_code)
    };
    let result = async {
        let principal = request.principal()?;
        request.check_csrf_unless_bearer()?;
        match route.endpoint {
            Endpoint::StartMfaEnrolment => {
                let enrolment = service::start_enrolment(flows, mfa, principal, now).await?;
                Ok(json_response(StatusCode::OK, &EnrolmentView::from(enrolment)))
            }
            Endpoint::DisableMfa => {
                service::disable_mfa(flows, mfa, principal, &factor()?, now).await?;
                Ok(empty_response(StatusCode::NO_CONTENT))
            }
            Endpoint::RemoveUserMfa => {
                let user_id = route.parameter(&request.path).ok_or(ApiError::NotFound)?;
                service::remove_user_mfa(flows, principal, user_id, now).await?;
                Ok(empty_response(StatusCode::NO_CONTENT))
            }
            _ => Err(ApiError::NotFound),
        }
    };
    result.await.unwrap_or_else(|error| problem(&error))
}

/// The `mfa` function's entry point.
pub async fn mfa_function(flows: &Recovery, mfa: &MfaConfig, request: ApiRequest) -> ApiResponse {
    match routes::of_function("mfa", request.method.as_str(), &request.path) {
        Some(route) => mfa_management(flows, mfa, route, request).await,
        None => super::not_found(),
    }
}

/// The `mfa-verify` function's entry point: the routes that sign a session's tokens.
pub async fn mfa_verify_function(
    accounts: &Accounts,
    mfa: &MfaConfig,
    transport: TokenTransport,
    request: ApiRequest,
) -> ApiResponse {
    match routes::of_function("mfa-verify", request.method.as_str(), &request.path).map(|route| route.endpoint) {
        Some(Endpoint::VerifyMfa) => verify(accounts, mfa, transport, request).await,
        Some(Endpoint::ConfirmMfaEnrolment) => confirm(accounts, mfa, transport, request).await,
        _ => super::not_found(),
    }
}

/// `POST /auth/mfa/verify`: the second step of a login. Like a login, it starts a session with a
/// fresh CSRF token, and sets the cookies when cookies carry the tokens.
async fn verify(accounts: &Accounts, mfa: &MfaConfig, transport: TokenTransport, request: ApiRequest) -> ApiResponse {
    let csrf = CsrfOffer::new_session(transport);
    let result = async {
        let body: VerifyBody = request.json()?;
        let mut fields = Fields::default();
        let token = fields.required("mfa_token", body.mfa_token);
        let factor = match body.passkey {
            Some(assertion) if body.code.is_none() && body.recovery_code.is_none() => {
                let assertion = super::passkeys::credential(&mut fields, Some(assertion));
                fields
                    .finish(token.zip(assertion))
                    .map(|(token, assertion)| (token, SecondFactor::Passkey(Box::new(assertion))))?
            }
            Some(_) => return Err(ApiError::validation("passkey", "give a passkey, a code or a recovery code: one")),
            None => {
                let token = fields.finish(token)?;
                (token, parse_factor(body.code, body.recovery_code)?)
            }
        };
        let (token, factor) = factor;
        service::verify_login(accounts, mfa, &token, &factor, &request.client(), csrf.binding(), UnixTime::now()).await
    };
    token_response(StatusCode::OK, result.await, transport, &csrf)
}

/// `POST /auth/mfa/totp/confirm`: turns MFA on and, like a password change, renews the caller's
/// session (keeping its CSRF binding): the token response, with the recovery codes beside it.
async fn confirm(accounts: &Accounts, mfa: &MfaConfig, transport: TokenTransport, request: ApiRequest) -> ApiResponse {
    let request = &request;
    let csrf = CsrfOffer::continued(transport, &request.headers);
    let mut recovery_codes = None;
    let result = async {
        let principal = request.principal()?;
        let proof = request.check_csrf_unless_bearer()?;
        let body: ConfirmBody = request.json()?;
        let mut fields = Fields::default();
        let code = fields.required("code", body.code);
        // Absent is a question for the use case (an account without a password may instead
        // have signed in moments ago); present but unusable is the request's fault.
        let current = match body.current_password {
            Some(raw) => fields.parse("current_password", Some(raw), Password::parse_presented),
            None => None,
        };
        let code = fields.finish(code)?;
        let factor = parse_factor(Some(code), None)?;
        let binding = csrf.rebinding(proof).apply(principal.csrf.as_deref()).map_err(|_| ApiError::CsrfFailed)?;
        let enabled =
            service::confirm_enrolment(accounts, mfa, principal, &factor, current, binding, UnixTime::now()).await?;
        recovery_codes = Some(enabled.recovery_codes);
        Ok(enabled.signed_in)
    };
    let result = result.await;
    let response = token_response(StatusCode::OK, result, transport, &csrf);
    match recovery_codes {
        Some(codes) => with_member(response, "recovery_codes", serde_json::json!(codes.expose())),
        None => response,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_factor_is_one_code_or_one_recovery_code() {
        assert!(matches!(parse_factor(Some(" 123456 ".into()), None), Ok(SecondFactor::Totp(_))));
        assert!(matches!(parse_factor(None, Some("abcd-efgh".into())), Ok(SecondFactor::RecoveryCode(_))));
        for (code, recovery) in [(None, None), (Some("1".into()), Some("2".into())), (Some("9".repeat(65)), None)] {
            let error = parse_factor(code, recovery).unwrap_err();
            assert_eq!(error.code(), "validation_failed");
        }
    }
}
