//! The API Gateway Lambda authorizer. By default a stateless check of the access token
//! (signature, type, issuer, audience, expiry) and of the role each route requires, with no
//! DynamoDB call. With strict revocation on, one batch read also rejects tokens revoked by
//! logout, global logout, a role change or a disable. It answers HTTP API (payload 2.0, simple
//! responses) and REST API (TOKEN and REQUEST, IAM policy) events, choosing by the event's shape.

use std::collections::HashMap;

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerPolicy, ApiGatewayCustomAuthorizerResponse, ApiGatewayV2CustomAuthorizerSimpleResponse,
    ApiGatewayV2CustomAuthorizerV2Request,
};
use aws_lambda_events::iam::{IamPolicyEffect, IamPolicyStatement};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::domain::{Principal, Role};
use crate::routes::{self, Access, ROUTES, Route};
use crate::store::{AccessTokenRef, RevocationCheck};
use crate::time::UnixTime;
use crate::tokens::{TokenError, TokenVerifier};
use crate::transport::{self, ACCESS_COOKIE, bearer_token};

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
}

pub struct Authorizer<'a> {
    verifier: &'a TokenVerifier,
    /// Set when strict revocation (`AUTHORIZER_REVOCATION_CHECK=true`) is on.
    revocations: Option<&'a dyn RevocationCheck>,
    /// Whether the access-token cookie stands in for a missing `Authorization` header
    /// (`TOKEN_TRANSPORT` `cookie` or `both`).
    accepts_cookie: bool,
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
        Self { verifier, revocations, accepts_cookie: false }
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
        match self.decide(route_key.and_then(routes::by_route_key), credentials, now).await {
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

    /// REST API TOKEN or REQUEST authorizer. REST caches a policy per token (TOKEN) or per
    /// identity source (REQUEST) and applies it to every method, so the policy never names the
    /// route being called: it allows exactly the routes the token's role may use, all of them,
    /// and nothing else. A refused token gets an explicit deny on the whole API.
    pub async fn rest_api(
        &self,
        credentials: Credentials<'_>,
        method_arn: &str,
        now: UnixTime,
    ) -> ApiGatewayCustomAuthorizerResponse {
        let mut response = ApiGatewayCustomAuthorizerResponse::default();
        let mut policy = ApiGatewayCustomAuthorizerPolicy::default();
        policy.version = Some("2012-10-17".into());
        let Some(stage_arn) = stage_arn(method_arn) else {
            tracing::warn!("denied: malformed methodArn");
            response.principal_id = Some("anonymous".into());
            policy.statement = vec![statement(IamPolicyEffect::Deny, vec!["*".into()])];
            response.policy_document = policy;
            return response;
        };
        match self.authenticate(credentials, now).await {
            Ok(principal) => {
                tracing::info!(user_id = %principal.user_id, role = principal.role.as_str(), "authorized (REST policy)");
                policy.statement =
                    vec![statement(IamPolicyEffect::Allow, allowed_resources(stage_arn, principal.role))];
                response.principal_id = Some(principal.user_id.clone());
                response.context = principal_context(&principal);
            }
            Err(denial) => {
                tracing::info!(?denial, "denied (REST policy)");
                policy.statement = vec![statement(IamPolicyEffect::Deny, vec![format!("{stage_arn}/*")])];
                response.principal_id = Some("anonymous".into());
                response.context = json!({});
            }
        }
        response.policy_document = policy;
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

/// The parts of a REST API TOKEN or REQUEST authorizer event the decision needs.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RestEvent {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    method_arn: Option<String>,
    #[serde(default)]
    authorization_token: Option<String>,
    #[serde(default)]
    headers: Option<HashMap<String, Option<String>>>,
}

impl RestEvent {
    /// A header, whatever case the client used.
    fn header(&self, name: &str) -> Option<&str> {
        let headers = self.headers.as_ref()?;
        headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).and_then(|(_, value)| value.as_deref())
    }
}

/// `arn:aws:execute-api:REGION:ACCOUNT:API_ID/STAGE` out of a method ARN
/// (`.../STAGE/METHOD/resource/path`).
fn stage_arn(method_arn: &str) -> Option<&str> {
    let (api, rest) = method_arn.split_once('/')?;
    if !api.starts_with("arn:") || api.split(':').count() != 6 {
        return None;
    }
    let stage = rest.split('/').next().filter(|stage| !stage.is_empty())?;
    Some(&method_arn[..api.len() + 1 + stage.len()])
}

/// Every protected route `role` may call, as execute-api resources (`{param}` → `*`).
fn allowed_resources(stage_arn: &str, role: Role) -> Vec<String> {
    ROUTES
        .iter()
        .filter(|route| matches!(route.access, Access::Bearer(required) if role.satisfies(required)))
        .map(|route| {
            let path: Vec<&str> = route
                .path
                .split('/')
                .map(|segment| if segment.starts_with('{') && segment.ends_with('}') { "*" } else { segment })
                .collect();
            format!("{stage_arn}/{}{}", route.method, path.join("/"))
        })
        .collect()
}

fn statement(effect: IamPolicyEffect, resource: Vec<String>) -> IamPolicyStatement {
    let mut statement = IamPolicyStatement::default();
    statement.action = vec!["execute-api:Invoke".into()];
    statement.effect = effect;
    statement.resource = resource;
    statement
}

/// The prefix of custom claims in the authorizer context (`claim_tenant_id`).
pub const CLAIM_PREFIX: &str = "claim_";

mod context;
pub use context::{principal_context, principal_from_context};

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/auth/me";

    #[test]
    fn stage_arn_is_cut_from_a_method_arn() {
        assert_eq!(stage_arn(ARN), Some("arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod"));
        assert_eq!(stage_arn("garbage"), None);
        assert_eq!(stage_arn("arn:aws:execute-api:x/"), None);
    }

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

    #[test]
    fn a_user_policy_never_reaches_admin_routes() {
        let stage = stage_arn(ARN).unwrap();
        let user = allowed_resources(stage, Role::User);
        assert_eq!(
            user,
            [
                format!("{stage}/GET/auth/me"),
                format!("{stage}/POST/auth/password"),
                format!("{stage}/POST/auth/email"),
                format!("{stage}/GET/auth/sessions"),
                format!("{stage}/DELETE/auth/sessions/*"),
                format!("{stage}/POST/auth/mfa/totp"),
                format!("{stage}/POST/auth/mfa/totp/confirm"),
                format!("{stage}/DELETE/auth/mfa/totp"),
            ]
        );
        assert!(!user.iter().any(|resource| resource.contains("/admin/")), "{user:?}");
        let admin = allowed_resources(stage, Role::Admin);
        assert!(admin.contains(&format!("{stage}/GET/admin/users")));
        assert!(admin.contains(&format!("{stage}/PATCH/admin/users/*")));
        assert!(admin.contains(&format!("{stage}/DELETE/admin/users/*/sessions")));
        assert!(admin.contains(&format!("{stage}/DELETE/admin/users/*/mfa")));
        assert!(admin.contains(&format!("{stage}/GET/auth/me")));
        let public = ["POST/auth/login", "POST/auth/register", "POST/auth/refresh", "POST/auth/mfa/verify"];
        for public in public.into_iter().chain(["GET/.well-known/jwks.json"]) {
            assert!(!admin.iter().any(|resource| resource.ends_with(public)), "public routes need no grant: {public}");
        }
    }
}
