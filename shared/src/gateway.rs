//! API Gateway's behaviour in front of the handlers, for the local API and end-to-end tests:
//! the route table picks the handler; protected routes go through the same authorizer code as
//! the Lambda authorizer, with HTTP API's answers (401 without a token, 403 when refused).

use ::http::StatusCode;
use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use serde_json::json;

use crate::authorizer::{Authorizer, principal_from_context};
use crate::domain::IntrospectionClients;
use crate::domain::Principal;
use crate::federation::Federation;
use crate::http::discovery::Discovery;
use crate::http::{
    self, ApiRequest, ApiResponse, admin, auth, deletion, federation, mfa, passkeys, recovery, roles, sessions,
    standards,
};
use crate::routes::{self, Access};
use crate::service::{Accounts, MfaConfig};
use crate::store::RevocationCheck;
use crate::time::UnixTime;
use crate::transport::TokenTransport;

/// Everything every function holds, in one process.
pub struct Gateway {
    pub accounts: Accounts,
    /// What the `mfa` and `mfa-verify` functions hold besides: the TOTP keys' data key.
    pub mfa: MfaConfig,
    /// The `jwks` function's discovery document, built at init.
    pub discovery: Option<Discovery>,
    /// The resource servers `introspect` admits (`INTROSPECTION_CLIENTS`).
    pub introspection_clients: IntrospectionClients,
    /// The authorizer also checks revocations in the store (`AUTHORIZER_REVOCATION_CHECK`).
    pub strict_revocation: bool,
    /// Tokens in the body, in cookies, or both (`TOKEN_TRANSPORT`).
    pub transport: TokenTransport,
    /// The upstream identity providers (`OAUTH_PROVIDERS`): the `oauth` function's.
    pub federation: Federation,
}

impl Gateway {
    pub async fn handle(&self, mut request: ApiRequest) -> ApiResponse {
        let Some(route) = routes::find(request.method.as_str(), &request.path) else {
            return http::not_found();
        };
        if let Access::Bearer(_) = route.access {
            // The template's identity sources: the Authorization header with bearer transport (API
            // Gateway answers 401 without it); none with cookies, so the authorizer always decides.
            if !self.transport.uses_cookies() && request.header("authorization").is_none() {
                return gateway_message(StatusCode::UNAUTHORIZED, "Unauthorized");
            }
            match self.authorize(&request, &route.key()).await {
                Some(principal) => request.principal = Some(principal),
                None => return gateway_message(StatusCode::FORBIDDEN, "Forbidden"),
            }
        }
        let (accounts, transport) = (&self.accounts, self.transport);
        let store = accounts.store.as_ref();
        // One arm per function, each the entry its Lambda's main calls: the local API and the
        // tests run exactly what is deployed, with the bundle that function holds.
        match route.function {
            "register" => auth::register(accounts, transport, request).await,
            "login" => auth::login(accounts, transport, request).await,
            "refresh" => auth::refresh(accounts, transport, request).await,
            "logout" => auth::logout(store, &accounts.verifier, transport, request).await,
            "me" => auth::me(store, request).await,
            "change-password" => auth::change_password(accounts, transport, request).await,
            "admin-list-users" => admin::list_users(store, request).await,
            "admin-get-user" => admin::get_user(store, request).await,
            "admin-update-user" => admin::update_user(store, &accounts.events, request).await,
            "delete-account" => deletion::delete_account_function(accounts, self.transport, request).await,
            "admin-roles" => roles::admin_roles_function(store, &accounts.events, request).await,
            "account-recovery" => recovery::account_recovery_function(accounts, request).await,
            "change-email" => recovery::change_email(accounts, request).await,
            function @ ("sessions" | "admin-user-sessions") => {
                sessions::session_list_function(store, function, request).await
            }
            "mfa" => mfa::mfa_function(accounts, &self.mfa, request).await,
            "oauth" => federation::oauth_function(&self.federation, accounts, request).await,
            "oauth-token" => federation::oauth_token_function(accounts, transport, request).await,
            "passkeys" => passkeys::passkeys_function(accounts, request).await,
            "passkey-login" => passkeys::passkey_login_function(accounts, transport, request).await,
            "mfa-verify" => mfa::mfa_verify_function(accounts, &self.mfa, transport, request).await,
            "jwks" => http::jwks_function(accounts.verifier.keys(), self.discovery.as_ref(), &request),
            "revoke" => standards::revoke(store, &accounts.verifier, transport, request).await,
            "introspect" => {
                standards::introspect(store, &accounts.verifier, &self.introspection_clients, request).await
            }
            _ => http::not_found(),
        }
    }

    /// The event API Gateway sends a Lambda REQUEST authorizer (payload 2.0), and its decision.
    async fn authorize(&self, request: &ApiRequest, route_key: &str) -> Option<Principal> {
        let mut event = ApiGatewayV2CustomAuthorizerV2Request::default();
        event.version = Some("2.0".into());
        event.type_ = Some("REQUEST".into());
        event.route_key = Some(route_key.to_owned());
        event.raw_path = Some(request.path.clone());
        event.headers = request.headers.clone();
        // Payload 2.0 carries cookies in their own field, not as a header.
        event.headers.remove(::http::header::COOKIE);
        event.cookies = request
            .headers
            .get_all(::http::header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|header| header.split(';'))
            .map(|cookie| cookie.trim().to_owned())
            .filter(|cookie| !cookie.is_empty())
            .collect();
        let revocations = self.strict_revocation.then_some(self.accounts.store.as_ref() as &dyn RevocationCheck);
        let authorizer =
            Authorizer::new(&self.accounts.verifier, revocations).accepting_cookie(self.transport.uses_cookies());
        let decision = authorizer.http_api(&event, UnixTime::now()).await;
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
