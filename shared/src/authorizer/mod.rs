//! The API Gateway Lambda authorizer. By default a stateless check of the access token
//! (signature, type, issuer, audience, expiry) and of what each route requires — a role for this
//! service's own routes, a permission for the deployer's (`ROUTE_PERMISSIONS`) — with no
//! DynamoDB call. With strict revocation on, one batch read also rejects tokens revoked by
//! logout, global logout, a role change or a disable. It answers HTTP API (payload 2.0, simple
//! responses) and REST API (TOKEN and REQUEST, IAM policy) events, choosing by the event's shape.

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerResponse, ApiGatewayV2CustomAuthorizerSimpleResponse,
    ApiGatewayV2CustomAuthorizerV2Request,
};
use serde::Serialize;
use serde_json::json;

use crate::domain::Principal;
use crate::routes::{self, Access, Route};
use crate::store::{AccessTokenRef, RevocationCheck};
use crate::time::UnixTime;
use crate::tokens::{TokenError, TokenVerifier};
use crate::transport::{self, ACCESS_COOKIE, bearer_token};
pub use api_routes::{ApiRoute, ApiRoutes, DefaultAccess};

/// Why a request was refused; logged, never sent to the client (API Gateway answers 403).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denial {
    MissingToken,
    InvalidToken,
    ExpiredToken,
    RevokedToken,
    /// Strict revocation could not reach DynamoDB: refuse rather than guess.
    RevocationCheckFailed,
    UnknownRoute,
    InsufficientRole,
    /// A route of the deployer's API whose permission the token's roles do not grant.
    MissingPermission,
}

/// What a request reaches: one of this service's own routes, a route of the deployer's API
/// (`ROUTE_PERMISSIONS`), or a route neither names (`ROUTE_PERMISSIONS_DEFAULT` decides).
#[derive(Clone, Copy, Debug)]
pub enum Target<'r> {
    Own(&'static Route),
    Api(&'r ApiRoute),
    Unlisted,
}

pub struct Authorizer<'a> {
    verifier: &'a TokenVerifier,
    /// Set when strict revocation (`AUTHORIZER_REVOCATION_CHECK=true`) is on.
    revocations: Option<&'a dyn RevocationCheck>,
    /// Whether the access-token cookie stands in for a missing `Authorization` header
    /// (`TOKEN_TRANSPORT` `cookie` or `both`).
    accepts_cookie: bool,
    api_routes: &'a ApiRoutes,
}

/// Where a request's access token may be: the `Authorization` header, or the cookies.
#[derive(Clone, Copy, Default)]
pub struct Credentials<'e> {
    pub authorization: Option<&'e str>,
    /// Cookie headers (`a=1; b=2`) or HTTP API's `cookies` entries (`a=1`): split on `;` alike.
    pub cookies: &'e [&'e str],
}

impl<'e> Credentials<'e> {
    pub fn bearer(authorization: Option<&'e str>) -> Self {
        Self { authorization, cookies: &[] }
    }
}

impl<'a> Authorizer<'a> {
    pub fn new(verifier: &'a TokenVerifier, revocations: Option<&'a dyn RevocationCheck>) -> Self {
        Self { verifier, revocations, accepts_cookie: false, api_routes: &api_routes::NO_API_ROUTES }
    }

    /// Also guards the routes of the deployer's API, by the permissions they require.
    pub fn guarding(self, api_routes: &'a ApiRoutes) -> Self {
        Self { api_routes, ..self }
    }

    /// Also reads the access token from its cookie when there is no `Authorization` header.
    pub fn accepting_cookie(self, accepts_cookie: bool) -> Self {
        Self { accepts_cookie, ..self }
    }

    /// The access token of a request: the bearer token, else (cookie transport) the cookie's.
    fn access_token<'e>(&self, credentials: Credentials<'e>) -> Option<&'e str> {
        match credentials.authorization {
            Some(header) => bearer_token(header),
            None if self.accepts_cookie => {
                transport::cookie_in(credentials.cookies.iter().flat_map(|header| header.split(';')), ACCESS_COOKIE)
            }
            None => None,
        }
    }

    /// Who presents `credentials`, if the token is good (and, in strict mode, not revoked).
    pub async fn authenticate(&self, credentials: Credentials<'_>, now: UnixTime) -> Result<Principal, Denial> {
        let token = self.access_token(credentials).ok_or(Denial::MissingToken)?;
        let claims = self.verifier.verify_access(token, now).map_err(|error| match error {
            TokenError::Expired => Denial::ExpiredToken,
            TokenError::Invalid => Denial::InvalidToken,
        })?;
        let principal = Principal {
            user_id: claims.sub,
            email: claims.email,
            role: claims.role,
            token_id: claims.jti,
            session_id: claims.sid,
            csrf: claims.csrf,
            amr: claims.amr,
            roles: claims.roles,
            permissions: claims.permissions,
            claims: claims.custom,
        };
        if let Some(store) = self.revocations {
            let token = AccessTokenRef {
                jti: principal.token_id.clone(),
                session_id: principal.session_id.clone(),
                user_id: principal.user_id.clone(),
            };
            match store.is_access_revoked(&token, now).await {
                Ok(false) => {}
                Ok(true) => return Err(Denial::RevokedToken),
                Err(error) => {
                    tracing::error!(%error, "revocation check failed: refusing");
                    return Err(Denial::RevocationCheckFailed);
                }
            }
        }
        Ok(principal)
    }

    /// The decision for one route: a good token whose role satisfies the route's.
    pub async fn decide(
        &self,
        route: Option<&Route>,
        credentials: Credentials<'_>,
        now: UnixTime,
    ) -> Result<Principal, Denial> {
        let required = match route.map(|route| route.access) {
            Some(Access::Bearer(role)) => role,
            // Asked about a public or unknown route: a wiring mistake, so refuse.
            Some(Access::Public) | None => return Err(Denial::UnknownRoute),
        };
        let principal = self.authenticate(credentials, now).await?;
        if !principal.role.satisfies(required) {
            return Err(Denial::InsufficientRole);
        }
        Ok(principal)
    }

    /// The decision for any target: this service's routes by role, the deployer's by
    /// permission, any other by `ROUTE_PERMISSIONS_DEFAULT`.
    pub async fn decide_target(
        &self,
        target: Target<'_>,
        credentials: Credentials<'_>,
        now: UnixTime,
    ) -> Result<Principal, Denial> {
        // A route nobody may call is refused before the token is looked at (strict mode
        // spends no read on it).
        if let Target::Own(Route { access: Access::Public, .. }) = target {
            return Err(Denial::UnknownRoute);
        }
        if let (Target::Unlisted, DefaultAccess::Deny) = (target, self.api_routes.default) {
            return Err(Denial::UnknownRoute);
        }
        let principal = self.authenticate(credentials, now).await?;
        self.permits(target, &principal)?;
        Ok(principal)
    }

    /// Whether an authenticated caller may call `target`.
    fn permits(&self, target: Target<'_>, principal: &Principal) -> Result<(), Denial> {
        match target {
            Target::Own(Route { access: Access::Bearer(required), .. }) => match principal.role.satisfies(*required) {
                true => Ok(()),
                false => Err(Denial::InsufficientRole),
            },
            Target::Own(_) => Err(Denial::UnknownRoute),
            Target::Api(route) => match principal.holds(&route.permission) {
                true => Ok(()),
                false => Err(Denial::MissingPermission),
            },
            Target::Unlisted => match self.api_routes.default {
                DefaultAccess::Allow => Ok(()),
                DefaultAccess::Deny => Err(Denial::UnknownRoute),
            },
        }
    }

    /// Whether the deployer's API is guarded too (a table, or a default that lets callers in).
    fn guards_api(&self) -> bool {
        !self.api_routes.is_empty() || self.api_routes.default == DefaultAccess::Allow
    }

    /// The target of an HTTP API request: by its route key, which names the API's route as
    /// declared; under a catch-all route (`$default`, `ANY /{proxy+}`), by the request's own
    /// method and path in the deployer's table. This service's routes are only ever matched by
    /// their declared keys.
    pub fn http_target(&self, event: &ApiGatewayV2CustomAuthorizerV2Request) -> Target<'_> {
        let route_key = event.route_key.as_deref().or(event.request_context.route_key.as_deref()).unwrap_or_default();
        if let Some(route) = routes::by_route_key(route_key) {
            return Target::Own(route);
        }
        if self.api_routes.is_empty() {
            return Target::Unlisted;
        }
        if let Some(route) = self.api_routes.route_by_key(route_key) {
            return Target::Api(route);
        }
        let method = event.request_context.http.method.as_str();
        let raw_path = event.raw_path.as_deref().unwrap_or("/");
        // A named stage prefixes the raw path (`/prod/orders`); the route table does not.
        let path = match event.request_context.stage.as_deref() {
            Some(stage) if stage != "$default" => raw_path
                .strip_prefix('/')
                .and_then(|rest| rest.strip_prefix(stage))
                .filter(|rest| rest.is_empty() || rest.starts_with('/'))
                .map_or(raw_path, |rest| if rest.is_empty() { "/" } else { rest }),
            _ => raw_path,
        };
        self.api_routes.route_for(method, path).map_or(Target::Unlisted, Target::Api)
    }

    /// HTTP API (payload 2.0) REQUEST authorizer with simple responses. API Gateway caches the
    /// answer per identity source, which includes `$context.routeKey`, so it is per route.
    pub async fn http_api(
        &self,
        event: &ApiGatewayV2CustomAuthorizerV2Request,
        now: UnixTime,
    ) -> ApiGatewayV2CustomAuthorizerSimpleResponse {
        let route_key = event.route_key.as_deref().or(event.request_context.route_key.as_deref());
        let authorization = event.headers.get("authorization").and_then(|value| value.to_str().ok());
        // Gathered only where they can count: no allocation on the bearer path.
        let cookies: Vec<&str> = if self.accepts_cookie && authorization.is_none() {
            let cookie_headers = event.headers.get_all("cookie").iter().filter_map(|value| value.to_str().ok());
            event.cookies.iter().map(String::as_str).chain(cookie_headers).collect()
        } else {
            Vec::new()
        };
        let credentials = Credentials { authorization, cookies: &cookies };
        let mut response = ApiGatewayV2CustomAuthorizerSimpleResponse::default();
        match self.decide_target(self.http_target(event), credentials, now).await {
            Ok(principal) => {
                tracing::info!(user_id = %principal.user_id, route = route_key.unwrap_or_default(), "authorized");
                response.is_authorized = true;
                response.context = principal_context(&principal);
            }
            Err(denial) => {
                tracing::info!(?denial, route = route_key.unwrap_or_default(), "denied");
                response.context = json!({});
            }
        }
        response
    }

    /// Answers any authorizer event this service supports, by its shape: HTTP API payload 2.0
    /// (`version: "2.0"`), REST `TOKEN` (`authorizationToken`), or REST `REQUEST` (`methodArn`).
    /// HTTP API events, the hot path, are parsed straight into their type in one pass (no
    /// `serde_json::Value` detour); anything else is then read as a REST event.
    pub async fn handle(&self, event: &str, now: UnixTime) -> Result<AuthorizerResponse, serde_json::Error> {
        if let Ok(request) = serde_json::from_str::<ApiGatewayV2CustomAuthorizerV2Request>(event)
            && request.version.as_deref() == Some("2.0")
        {
            return Ok(AuthorizerResponse::HttpApi(self.http_api(&request, now).await));
        }
        let event: RestEvent = serde_json::from_str(event)?;
        let token_event = event.kind.as_deref() == Some("TOKEN");
        let cookies: Vec<&str> = if token_event { Vec::new() } else { event.header("cookie").into_iter().collect() };
        let credentials = if token_event {
            Credentials::bearer(event.authorization_token.as_deref())
        } else {
            Credentials { authorization: event.header("authorization"), cookies: &cookies }
        };
        let method_arn = event.method_arn.as_deref().unwrap_or_default();
        Ok(AuthorizerResponse::RestApi(self.rest_api(credentials, method_arn, now).await))
    }
}

/// An authorizer's answer, in the shape the API that asked expects.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum AuthorizerResponse {
    HttpApi(ApiGatewayV2CustomAuthorizerSimpleResponse),
    RestApi(ApiGatewayCustomAuthorizerResponse),
}

/// The prefix of custom claims in the authorizer context (`claim_tenant_id`).
pub const CLAIM_PREFIX: &str = "claim_";

mod api_routes;
mod context;
mod rest;
pub use context::{principal_context, principal_from_context};
use rest::RestEvent;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Role;

    #[test]
    fn the_context_carries_the_csrf_binding_when_there_is_one_and_the_methods() {
        let principal = Principal {
            user_id: "u".into(),
            email: "a@example.com".into(),
            role: Role::User,
            token_id: "t".into(),
            session_id: "s".into(),
            csrf: Some("digest".into()),
            amr: vec!["pwd".into(), "otp".into()],
            roles: vec!["support".into()],
            permissions: vec![crate::domain::Permission::parse("orders:read").unwrap()],
            claims: serde_json::json!({ "tenant_id": "t-42", "seats": 5, "beta": true }).as_object().unwrap().clone(),
        };
        let nested = serde_json::json!({ "plan": { "tier": 2 } }).as_object().unwrap().clone();
        let context = principal_context(&Principal { claims: nested, ..principal.clone() });
        assert_eq!(context["claim_plan"], r#"{"tier":2}"#, "a nested claim travels as its JSON text");
        for principal in [principal.clone(), Principal { csrf: None, amr: vec!["pwd".into()], ..principal }] {
            let context = principal_context(&principal);
            assert_eq!(context["amr"], principal.amr.join(" "));
            let flat = |value: &serde_json::Value| value.is_string() || value.is_number() || value.is_boolean();
            assert!(context.as_object().unwrap().values().all(flat), "flat values only: {context}");
            let fields = context.as_object().unwrap().clone().into_iter().collect();
            assert_eq!(principal_from_context(&fields), Some(principal));
        }
    }

    /// The service's own routes by role: a user's token opens a user's route, not an admin's.
    #[tokio::test]
    async fn an_own_route_asks_for_its_role() {
        use crate::domain::{Email, Entitlements, User};
        use crate::tokens::{TokenIssuer, ephemeral_ed25519};
        let now = UnixTime::now();
        let settings = crate::tokens::tests::settings();
        let (signing, keys) = ephemeral_ed25519("roles").unwrap();
        let (issuer, verifier) = (TokenIssuer::new(settings.clone(), signing), TokenVerifier::new(settings, keys));
        let user = User::new(Email::parse("a@example.com").unwrap(), String::new(), Role::User, now);
        let grant = issuer.next_refresh("s".into(), now);
        let token = issuer.issue(&user, &Entitlements::default(), &grant, now).unwrap().access_token;
        let header = format!("Bearer {token}");
        let credentials = Credentials { authorization: Some(&header), cookies: &[] };
        let authorizer = Authorizer::new(&verifier, None);
        let me = crate::routes::find("GET", "/auth/me");
        assert_eq!(authorizer.decide(me, credentials, now).await.map(|p| p.user_id), Ok(user.id.clone()));
        let admin = crate::routes::find("GET", "/admin/users");
        assert_eq!(authorizer.decide(admin, credentials, now).await.err(), Some(Denial::InsufficientRole));
        assert_eq!(authorizer.decide(None, credentials, now).await.err(), Some(Denial::UnknownRoute));

        // The access cookie counts only with the cookie transport: with tokens in bodies there is
        // no CSRF defence, so an ambient cookie must open nothing.
        let cookie = format!("theme=dark; {ACCESS_COOKIE}={token}");
        let cookies = [cookie.as_str()];
        let by_cookie = Credentials { authorization: None, cookies: &cookies };
        assert_eq!(authorizer.decide(me, by_cookie, now).await.err(), Some(Denial::MissingToken));
        let accepting = Authorizer::new(&verifier, None).accepting_cookie(true);
        assert_eq!(accepting.decide(me, by_cookie, now).await.map(|p| p.user_id), Ok(user.id.clone()));
    }

    /// A deployer's table changes what the authorizer reaches (a catch-all by path) and what a
    /// REST policy names (the call alone); without one, both are as they always were.
    #[tokio::test]
    async fn a_route_table_changes_the_catch_all_and_the_rest_policy() {
        use crate::domain::{Email, Entitlements, Permission, User};
        use crate::tokens::{TokenIssuer, ephemeral_ed25519};
        use futures_util::FutureExt as _;
        let now = UnixTime::now();
        let settings = crate::tokens::tests::settings();
        let (signing, keys) = ephemeral_ed25519("table").unwrap();
        let (issuer, verifier) = (TokenIssuer::new(settings.clone(), signing), TokenVerifier::new(settings, keys));
        let user = User::new(Email::parse("a@example.com").unwrap(), String::new(), Role::User, now);
        let entitlements =
            Entitlements { roles: vec!["reader".into()], permissions: vec![Permission::parse("orders:read").unwrap()] };
        let grant = issuer.next_refresh("s".into(), now);
        let token = issuer.issue(&user, &entitlements, &grant, now).unwrap().access_token;
        let table = ApiRoutes::new(&[("GET /orders/{id}", "orders:read")], DefaultAccess::Deny).unwrap();
        let none = ApiRoutes::default();
        let found = |routes: &ApiRoutes, stage: &str, raw_path: &str| {
            let event = serde_json::json!({
                "version": "2.0", "type": "REQUEST", "routeKey": "$default", "rawPath": raw_path,
                "headers": { "authorization": format!("Bearer {token}") },
                "requestContext": { "routeKey": "$default", "stage": stage,
                    "http": { "method": "GET", "path": raw_path } }
            });
            let event: ApiGatewayV2CustomAuthorizerV2Request = serde_json::from_value(event).unwrap();
            let authorizer = Authorizer::new(&verifier, None).guarding(routes);
            let target = authorizer.http_target(&event);
            matches!(target, Target::Api(_))
        };
        let http = |routes: &ApiRoutes| found(routes, "$default", "/orders/7");
        assert!(http(&table), "behind a catch-all, the table's route is found by path");
        assert!(!http(&none), "without a table, nothing is");
        assert!(found(&table, "prod", "/prod/orders/7"), "a named stage's prefix is not part of the route");
        assert!(!found(&table, "$default", "/$default/orders/7"), "the default stage prefixes nothing");
        let rest = |routes: &ApiRoutes| {
            let event = serde_json::json!({ "type": "TOKEN", "authorizationToken": format!("Bearer {token}"),
                "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/orders/7" });
            let authorizer = Authorizer::new(&verifier, None).guarding(routes);
            let answer = authorizer.handle(&event.to_string(), now).now_or_never().unwrap().unwrap();
            let answer = serde_json::to_value(answer).unwrap();
            answer["policyDocument"]["Statement"].clone()
        };
        let named = rest(&table);
        assert_eq!(named[0]["Effect"], "Allow");
        assert_eq!(
            named[0]["Resource"],
            serde_json::json!(["arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/orders/7"])
        );
        let listed = rest(&none);
        assert!(listed[0]["Resource"].as_array().unwrap().len() > 1, "the service's routes, listed: {listed}");
    }
}
