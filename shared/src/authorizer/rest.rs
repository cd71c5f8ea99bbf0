//! The REST API answer: an IAM policy, which API Gateway caches (per token, or per identity
//! source) and applies to later calls. Guarding this service's routes only, it names every
//! route the token's role may call, so one cached policy serves them all. Guarding the
//! deployer's routes too, it names just the call being made: IAM's `*` spans `/`, so a policy
//! naming `GET /orders/{id}` as `GET/orders/*` would also open unlisted deeper paths, while a
//! policy naming one concrete call can never open another (a cache keyed more broadly than the
//! call then costs a spurious 403, never an access: docs/authorizing-your-api.md).

use std::collections::HashMap;

use aws_lambda_events::apigw::{ApiGatewayCustomAuthorizerPolicy, ApiGatewayCustomAuthorizerResponse};
use aws_lambda_events::iam::{IamPolicyEffect, IamPolicyStatement};
use serde::Deserialize;
use serde_json::json;

use super::{Authorizer, Credentials, Denial, Target, principal_context};
use crate::domain::Principal;
use crate::routes::{self, Access, ROUTES};
use crate::time::UnixTime;

impl Authorizer<'_> {
    /// REST API TOKEN or REQUEST authorizer (see the module's note on what the policy names).
    /// A refused token gets an explicit deny on the whole API.
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
                policy.statement = match self.guards_api() {
                    true => vec![self.call_statement(stage_arn, method_arn, &principal)],
                    false => vec![statement(IamPolicyEffect::Allow, allowed_resources(stage_arn, principal.role))],
                };
                tracing::info!(user_id = %principal.user_id, role = principal.role.as_str(), "authenticated (REST policy)");
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
    /// The decision on the one call a method ARN names (`.../STAGE/GET/orders/42`): this
    /// service's routes by role, the deployer's by permission, any other by the default. A
    /// call whose path holds an IAM wildcard character is refused: its resource would match
    /// other calls.
    fn call_statement(&self, stage_arn: &str, method_arn: &str, principal: &Principal) -> IamPolicyStatement {
        let call = &method_arn[stage_arn.len()..];
        let decision = call
            .strip_prefix('/')
            .and_then(|call| call.split_once('/'))
            .filter(|_| !call.contains(['*', '?']))
            .ok_or(Denial::UnknownRoute)
            .and_then(|(method, path)| {
                let path = format!("/{path}");
                let own = routes::find(method, &path).filter(|route| matches!(route.access, Access::Bearer(_)));
                let target = match own {
                    Some(route) => Target::Own(route),
                    None => self.api_routes.route_for(method, &path).map_or(Target::Unlisted, Target::Api),
                };
                self.permits(target, principal)
            });
        match decision {
            Ok(()) => statement(IamPolicyEffect::Allow, vec![method_arn.to_owned()]),
            Err(denial) => {
                tracing::info!(user_id = %principal.user_id, ?denial, call, "denied (REST policy)");
                statement(IamPolicyEffect::Deny, vec![method_arn.to_owned()])
            }
        }
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
fn allowed_resources(stage_arn: &str, role: crate::domain::Role) -> Vec<String> {
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

/// The parts of a REST API TOKEN or REQUEST authorizer event the decision needs.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RestEvent {
    #[serde(rename = "type", default)]
    pub(super) kind: Option<String>,
    #[serde(default)]
    pub(super) method_arn: Option<String>,
    #[serde(default)]
    pub(super) authorization_token: Option<String>,
    #[serde(default)]
    headers: Option<HashMap<String, Option<String>>>,
}

impl RestEvent {
    /// A header, whatever case the client used.
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        let headers = self.headers.as_ref()?;
        headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).and_then(|(_, value)| value.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::domain::Role;

    const ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/auth/me";

    #[test]
    fn stage_arn_is_cut_from_a_method_arn() {
        assert_eq!(stage_arn(ARN), Some("arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod"));
        assert_eq!(stage_arn("garbage"), None);
        assert_eq!(stage_arn("arn:aws:execute-api:x/"), None);
        assert_eq!(stage_arn("arn:aws:execute-api:us-east-1:abcdef1234/prod/GET/x"), None, "five parts");
        assert_eq!(stage_arn("xrn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/x"), None, "not an ARN");
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
                format!("{stage}/DELETE/auth/me"),
                format!("{stage}/GET/auth/identities"),
                format!("{stage}/POST/auth/identities/*"),
                format!("{stage}/DELETE/auth/identities/*"),
                format!("{stage}/POST/auth/passkeys/register/options"),
                format!("{stage}/POST/auth/passkeys/register"),
                format!("{stage}/GET/auth/passkeys"),
                format!("{stage}/PATCH/auth/passkeys/*"),
                format!("{stage}/DELETE/auth/passkeys/*"),
            ]
        );
        assert!(!user.iter().any(|resource| resource.contains("/admin/")), "{user:?}");
        let admin = allowed_resources(stage, Role::Admin);
        assert!(admin.contains(&format!("{stage}/GET/admin/users")));
        assert!(admin.contains(&format!("{stage}/PATCH/admin/users/*")));
        assert!(admin.contains(&format!("{stage}/DELETE/admin/users/*/sessions")));
        assert!(admin.contains(&format!("{stage}/DELETE/admin/users/*/mfa")));
        assert!(admin.contains(&format!("{stage}/DELETE/admin/users/*/passkeys/*")));
        assert!(admin.contains(&format!("{stage}/GET/auth/me")));
        let public = [
            "POST/auth/login",
            "POST/auth/register",
            "POST/auth/refresh",
            "POST/auth/mfa/verify",
            "POST/auth/passkeys/login",
        ];
        for public in public.into_iter().chain(["GET/.well-known/jwks.json"]) {
            assert!(!admin.iter().any(|resource| resource.ends_with(public)), "public routes need no grant: {public}");
        }
    }
}
