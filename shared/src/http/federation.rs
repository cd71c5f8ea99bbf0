//! Federation's endpoints: the `oauth` function (the redirect to the provider, its callback, the
//! providers list and the caller's identities) and the `oauth-token` function (the login code
//! traded for tokens: the one that signs, and holds no provider secret).

use http::StatusCode;
use http::header::{HeaderValue, LOCATION, SET_COOKIE};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::request::Fields;
use super::response::{empty_response, json_response, problem, token_response};
use super::views::rfc3339;
use super::{ApiRequest, ApiResponse};
use crate::domain::Password;
use crate::domain::federation::UPSTREAM_LOGIN_TTL_SECS;
use crate::error::ApiError;
use crate::federation::Federation;
use crate::routes::{self, Endpoint, Route};
use crate::service::federation::{self as flows, CallbackParams, SignInRequest, UpstreamRedirect};
use crate::service::{Accounts, Recovery};
use crate::time::UnixTime;
use crate::transport::{self, CsrfOffer, TokenTransport, UPSTREAM_LOGIN_COOKIE};

#[derive(Deserialize, Default)]
struct AuthorizeQuery {
    redirect_uri: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    login_hint: Option<String>,
}

/// The provider's answer: in the query (GET) or, with `form_post` (Apple), in a form body.
#[derive(Deserialize, Default)]
struct CallbackFields {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
    iss: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct LinkBody {
    redirect_uri: Option<String>,
    current_password: Option<String>,
}

#[derive(Deserialize)]
struct TokenBody {
    code: Option<String>,
    code_verifier: Option<String>,
}

#[derive(Serialize)]
struct IdentityView {
    provider: String,
    subject: String,
    email: Option<String>,
    linked_at: String,
}

/// The `oauth` function's entry point.
pub async fn oauth_function(federation: &Federation, flows: &Recovery, request: ApiRequest) -> ApiResponse {
    match routes::of_function("oauth", request.method.as_str(), &request.path) {
        Some(route) => oauth(federation, flows, route, request).await,
        None => super::not_found(),
    }
}

async fn oauth(federation: &Federation, recovery: &Recovery, route: &Route, request: ApiRequest) -> ApiResponse {
    let request = &request;
    let now = UnixTime::now();
    let provider = route.parameter(&request.path).unwrap_or_default();
    let result = async {
        match route.endpoint {
            Endpoint::OAuthProviders => {
                let providers: Vec<_> =
                    federation.listed().into_iter().map(|(id, name)| json!({ "id": id, "name": name })).collect();
                Ok(json_response(StatusCode::OK, &json!({ "providers": providers })))
            }
            Endpoint::OAuthAuthorize => {
                let query: AuthorizeQuery = serde_urlencoded::from_str(&request.query).unwrap_or_default();
                let sign_in = SignInRequest {
                    provider,
                    redirect_uri: query.redirect_uri.as_deref(),
                    code_challenge: query.code_challenge.as_deref(),
                    code_challenge_method: query.code_challenge_method.as_deref(),
                    login_hint: query.login_hint.as_deref(),
                };
                let redirect = flows::begin_sign_in(federation, recovery.store.as_ref(), &sign_in, now).await?;
                Ok(to_provider(redirect))
            }
            Endpoint::OAuthCallback => {
                let fields: CallbackFields = match request.method.as_str() {
                    "POST" => request.form()?,
                    _ => serde_urlencoded::from_str(&request.query).unwrap_or_default(),
                };
                let params = CallbackParams {
                    provider,
                    state: fields.state.as_deref(),
                    code: fields.code.as_deref(),
                    error: fields.error.as_deref(),
                    issuer: fields.iss.as_deref(),
                    browser_binding: transport::cookie_value(&request.headers, UPSTREAM_LOGIN_COOKIE),
                };
                let location = flows::callback(federation, recovery, &params, now).await?;
                Ok(found(&location, transport::upstream_login_cookie("", 0)))
            }
            Endpoint::ListIdentities => {
                let principal = request.principal()?;
                let identities = flows::list_identities(recovery, principal, now).await?;
                let views: Vec<IdentityView> = identities
                    .into_iter()
                    .map(|identity| IdentityView {
                        provider: identity.provider,
                        subject: identity.subject,
                        email: identity.email,
                        linked_at: rfc3339(UnixTime::from_secs(identity.linked_at)),
                    })
                    .collect();
                Ok(json_response(StatusCode::OK, &json!({ "identities": views })))
            }
            Endpoint::LinkIdentity => {
                let principal = request.principal()?;
                request.check_csrf_unless_bearer()?;
                let body: LinkBody = if request.body.is_empty() { LinkBody::default() } else { request.json()? };
                let mut fields = Fields::default();
                let current = match body.current_password {
                    Some(raw) => fields.parse("current_password", Some(raw), Password::parse_presented),
                    None => None,
                };
                fields.finish(Some(()))?;
                // Back to the first registered URI unless the page names another registered one.
                let redirect_uri = body.redirect_uri.as_deref().or(federation.redirect_uris.first());
                let redirect =
                    flows::begin_link(federation, recovery, principal, provider, redirect_uri, current, now).await?;
                let mut response = json_response(StatusCode::OK, &json!({ "authorize_url": redirect.location }));
                let cookie = transport::upstream_login_cookie(&redirect.browser_binding, UPSTREAM_LOGIN_TTL_SECS);
                response.headers_mut().append(SET_COOKIE, cookie);
                Ok(response)
            }
            Endpoint::UnlinkIdentity => {
                let principal = request.principal()?;
                request.check_csrf_unless_bearer()?;
                flows::unlink_identity(recovery, principal, provider, now).await?;
                Ok(empty_response(StatusCode::NO_CONTENT))
            }
            _ => Err(ApiError::NotFound),
        }
    };
    result.await.unwrap_or_else(|error| problem(&error))
}

fn to_provider(redirect: UpstreamRedirect) -> ApiResponse {
    found(&redirect.location, transport::upstream_login_cookie(&redirect.browser_binding, UPSTREAM_LOGIN_TTL_SECS))
}

fn found(location: &str, cookie: HeaderValue) -> ApiResponse {
    let mut response = empty_response(StatusCode::FOUND);
    match HeaderValue::from_str(location) {
        Ok(location) => {
            response.headers_mut().insert(LOCATION, location);
            response.headers_mut().append(SET_COOKIE, cookie);
            response
        }
        Err(_) => problem(&ApiError::Internal),
    }
}

/// The `oauth-token` function's entry point: `POST /auth/oauth/token`. Like a login, it starts a
/// session with a fresh CSRF token and sets the cookies when cookies carry the tokens.
pub async fn oauth_token_function(accounts: &Accounts, transport: TokenTransport, request: ApiRequest) -> ApiResponse {
    if routes::of_function("oauth-token", request.method.as_str(), &request.path).is_none() {
        return super::not_found();
    }
    let csrf = CsrfOffer::new_session(transport);
    let result = async {
        let body: TokenBody = request.json()?;
        let mut fields = Fields::default();
        let code = fields.required("code", body.code);
        let verifier = fields.required("code_verifier", body.code_verifier);
        let (code, verifier) = fields.finish(code.zip(verifier))?;
        let client = request.client();
        flows::exchange_login_code(accounts, &code, &verifier, &client, csrf.binding(), UnixTime::now()).await
    };
    token_response(StatusCode::OK, result.await, transport, &csrf)
}
