//! API Gateway's behaviour in front of the handlers, for the local API and end-to-end tests:
//! the route table picks the handler; protected routes go through the same authorizer code as
//! the Lambda authorizer, with HTTP API's answers (401 without a token, 403 when refused).

use std::sync::Arc;

use ::http::StatusCode;
use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use serde_json::json;

use crate::authorizer::{Authorizer, principal_from_context};
use crate::domain::{LoginThrottle, PasswordHasher, SessionPolicy};
use crate::http::{self, ApiRequest, ApiResponse};
use crate::routes::{self, Access, Endpoint};
use crate::store::Store;
use crate::time::UnixTime;
use crate::tokens::{TokenIssuer, TokenVerifier};

/// Everything every function holds, in one process.
pub struct Gateway {
    pub store: Arc<dyn Store>,
    pub hasher: PasswordHasher,
    pub throttle: LoginThrottle,
    pub sessions: SessionPolicy,
    pub issuer: TokenIssuer,
    pub verifier: TokenVerifier,
    /// The authorizer also checks revocations in the store (`AUTHORIZER_REVOCATION_CHECK`).
    pub strict_revocation: bool,
}

impl Gateway {
    pub async fn handle(&self, mut request: ApiRequest) -> ApiResponse {
        let Some(route) = routes::find(request.method.as_str(), &request.path) else {
            return http::not_found();
        };
        if let Access::Bearer(_) = route.access {
            match self.authorize(&request, &route.key()).await {
                Some(principal) => request.principal = Some(principal),
                None if request.header("authorization").is_none() => {
                    return gateway_message(StatusCode::UNAUTHORIZED, "Unauthorized");
                }
                None => return gateway_message(StatusCode::FORBIDDEN, "Forbidden"),
            }
        }
        let store = self.store.as_ref();
        match route.endpoint {
            Endpoint::Register => http::register(store, &self.hasher, &self.issuer, request).await,
            Endpoint::Login => http::login(store, &self.hasher, &self.throttle, &self.issuer, request).await,
            Endpoint::Refresh => http::refresh(store, &self.verifier, &self.issuer, &self.sessions, request).await,
            Endpoint::Logout => http::logout(store, &self.verifier, request).await,
            Endpoint::Me => http::me(store, request).await,
            Endpoint::Jwks => http::jwks(self.verifier.keys()),
            Endpoint::ChangePassword => {
                http::change_password(store, &self.hasher, &self.throttle, &self.issuer, request).await
            }
            Endpoint::ListUsers => http::list_users(store, request).await,
            Endpoint::GetUser => http::get_user(store, request).await,
            Endpoint::UpdateUser => http::update_user(store, request).await,
        }
    }

    /// What API Gateway does for a route with a Lambda REQUEST authorizer (simple responses):
    /// without the identity source it answers 401 itself; otherwise it asks the authorizer.
    async fn authorize(&self, request: &ApiRequest, route_key: &str) -> Option<crate::service::Principal> {
        request.header("authorization")?;
        let mut event = ApiGatewayV2CustomAuthorizerV2Request::default();
        event.version = Some("2.0".into());
        event.type_ = Some("REQUEST".into());
        event.route_key = Some(route_key.to_owned());
        event.raw_path = Some(request.path.clone());
        event.headers = request.headers.clone();
        let revocations = self.strict_revocation.then_some(self.store.as_ref());
        let decision = Authorizer::new(&self.verifier, revocations).http_api(&event, UnixTime::now()).await;
        let fields = decision.context.as_object().map(|map| map.clone().into_iter().collect());
        if !decision.is_authorized {
            return None;
        }
        fields.as_ref().and_then(principal_from_context)
    }
}

fn gateway_message(status: StatusCode, message: &str) -> ApiResponse {
    http::json_response(status, &json!({ "message": message }))
}
