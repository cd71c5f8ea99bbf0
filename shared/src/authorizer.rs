//! The API Gateway Lambda authorizer: a stateless check of the access token (signature, type,
//! issuer, audience, expiry) and of the route's required role. No DynamoDB call by default.

use std::collections::HashMap;

use aws_lambda_events::apigw::{ApiGatewayV2CustomAuthorizerSimpleResponse, ApiGatewayV2CustomAuthorizerV2Request};
use serde_json::{Value, json};

use crate::domain::Role;
use crate::http::bearer_token;
use crate::routes::{self, Access};
use crate::service::Principal;
use crate::time::UnixTime;
use crate::tokens::TokenVerifier;

/// Why a request was refused; logged, never sent to the client (API Gateway answers 403).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denial {
    MissingToken,
    InvalidToken,
    ExpiredToken,
    UnknownRoute,
    InsufficientRole,
}

/// Decides one request: `route_key` as API Gateway names it, `authorization` the header value.
pub fn decide(
    verifier: &TokenVerifier,
    route_key: Option<&str>,
    authorization: Option<&str>,
    now: UnixTime,
) -> Result<Principal, Denial> {
    let route = route_key.and_then(routes::by_route_key).ok_or(Denial::UnknownRoute)?;
    let token = authorization.and_then(bearer_token).ok_or(Denial::MissingToken)?;
    let claims = verifier.verify_access(token, now).map_err(|error| match error {
        crate::tokens::TokenError::Expired => Denial::ExpiredToken,
        crate::tokens::TokenError::Invalid => Denial::InvalidToken,
    })?;
    let required = match route.access {
        Access::Bearer(role) => role,
        // A public route never needs the authorizer; being asked about one is a wiring mistake.
        Access::Public => return Err(Denial::UnknownRoute),
    };
    if !claims.role.satisfies(required) {
        return Err(Denial::InsufficientRole);
    }
    Ok(Principal {
        user_id: claims.sub,
        email: claims.email,
        role: claims.role,
        token_id: claims.jti,
        session_id: claims.sid,
    })
}

/// HTTP API (payload 2.0) REQUEST authorizer with simple responses.
pub fn authorize_http_api(
    verifier: &TokenVerifier,
    event: &ApiGatewayV2CustomAuthorizerV2Request,
    now: UnixTime,
) -> ApiGatewayV2CustomAuthorizerSimpleResponse {
    let route_key = event.route_key.as_deref().or(event.request_context.route_key.as_deref());
    let authorization = event.headers.get("authorization").and_then(|value| value.to_str().ok());
    let mut response = ApiGatewayV2CustomAuthorizerSimpleResponse::default();
    match decide(verifier, route_key, authorization, now) {
        Ok(principal) => {
            tracing::info!(user_id = %principal.user_id, route = route_key.unwrap_or_default(), "authorized");
            response.is_authorized = true;
            response.context = principal_context(&principal);
        }
        Err(denial) => {
            tracing::info!(?denial, route = route_key.unwrap_or_default(), "denied");
            response.is_authorized = false;
            response.context = json!({});
        }
    }
    response
}

/// The authorizer context handed to handlers (flat string values, as API Gateway requires).
pub fn principal_context(principal: &Principal) -> Value {
    json!({
        "user_id": principal.user_id,
        "email": principal.email,
        "role": principal.role.as_str(),
        "token_id": principal.token_id,
        "session_id": principal.session_id,
    })
}

/// Reads back what [`principal_context`] wrote, from the request context a handler receives.
pub fn principal_from_context(fields: &HashMap<String, Value>) -> Option<Principal> {
    let text = |name: &str| fields.get(name).and_then(Value::as_str).map(str::to_owned);
    Some(Principal {
        user_id: text("user_id")?,
        email: text("email")?,
        role: Role::parse(&text("role")?)?,
        token_id: text("token_id")?,
        session_id: text("session_id")?,
    })
}
