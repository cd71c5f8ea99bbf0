//! The `delete-account` function: an account deleted by its owner (`DELETE /auth/me`) or by an
//! administrator (`DELETE /admin/users/{id}`).

use http::StatusCode;
use http::header::SET_COOKIE;
use serde::Deserialize;

use super::request::Fields;
use super::response::{empty_response, problem};
use super::{ApiRequest, ApiResponse};
use crate::domain::Password;
use crate::error::ApiError;
use crate::routes::{self, Endpoint, Route};
use crate::service::{self, Actor, Recovery};
use crate::time::UnixTime;
use crate::transport::{self, TokenTransport};

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct DeletionBody {
    current_password: Option<String>,
}

async fn deletion(flows: &Recovery, transport: TokenTransport, route: &Route, request: ApiRequest) -> ApiResponse {
    let request = &request;
    let now = UnixTime::now();
    let result = async {
        let principal = request.principal()?;
        request.check_csrf_unless_bearer()?;
        match route.endpoint {
            Endpoint::DeleteAccount => {
                // No body: the caller signed in moments ago, or learns that the password is needed.
                let body: DeletionBody =
                    if request.body.is_empty() { DeletionBody::default() } else { request.json()? };
                let mut fields = Fields::default();
                let current = match body.current_password {
                    Some(raw) => fields.parse("current_password", Some(raw), Password::parse_presented),
                    None => None,
                };
                fields.finish(Some(()))?;
                service::delete_account(flows, principal, current, now).await?;
                Ok(true)
            }
            Endpoint::DeleteUser => {
                let user_id = route.parameter(&request.path).ok_or(ApiError::NotFound)?;
                service::delete_user(flows, Actor::Admin(principal), user_id, now).await?;
                Ok(false)
            }
            _ => Err(ApiError::NotFound),
        }
    };
    match result.await {
        Ok(own) => {
            let mut response = empty_response(StatusCode::NO_CONTENT);
            // The deleted account's own browser keeps no cookie of it.
            if own && transport.uses_cookies() {
                for cookie in transport::cleared_session_cookies() {
                    response.headers_mut().append(SET_COOKIE, cookie);
                }
            }
            response
        }
        Err(error) => problem(&error),
    }
}

/// The `delete-account` function's entry point.
pub async fn delete_account_function(flows: &Recovery, transport: TokenTransport, request: ApiRequest) -> ApiResponse {
    match routes::of_function("delete-account", request.method.as_str(), &request.path) {
        Some(route) => deletion(flows, transport, route, request).await,
        None => super::not_found(),
    }
}
