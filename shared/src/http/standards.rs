//! The OAuth endpoints (RFC 7009 revocation, RFC 7662 introspection): form-encoded bodies, as
//! their RFCs say (the only routes that take them), parsed here; the rules are the use cases'.

use http::StatusCode;
use serde::{Deserialize, Serialize};

use super::response::{empty_response, json_response, problem};
use super::{ApiRequest, ApiResponse};
use crate::domain::{IntrospectionClients, Role};
use crate::error::ApiError;
use crate::service::{self, ActiveToken, TokenHint};
use crate::store::Store;
use crate::time::UnixTime;
use crate::tokens::TokenVerifier;
use crate::transport::{self, REFRESH_COOKIE, TokenTransport};

#[derive(Deserialize)]
struct TokenForm {
    token: Option<String>,
    token_type_hint: Option<String>,
}

fn hint(form: &TokenForm) -> Option<TokenHint> {
    // An unknown hint is ignored (RFC 7009 §2.1: the server may search every kind).
    form.token_type_hint.as_deref().and_then(TokenHint::parse)
}

/// `POST /auth/revoke`: `200` with an empty body for any token, good or not. With cookie
/// transport and no `token` field, the refresh cookie is the token, honoured only with the
/// double-submit CSRF header (a cross-site form could otherwise sign the user out).
pub async fn revoke(
    store: &dyn Store,
    verifier: &TokenVerifier,
    transport: TokenTransport,
    request: ApiRequest,
) -> ApiResponse {
    let result = async {
        let form: TokenForm = request.form()?;
        let cookie = transport.uses_cookies().then(|| transport::cookie_value(&request.headers, REFRESH_COOKIE));
        let (token, proof) = match (form.token, cookie.flatten()) {
            (Some(token), _) => (token, None),
            (None, Some(token)) => (token.to_owned(), Some(transport::check_double_submit(&request.headers)?)),
            (None, None) => return Err(ApiError::validation("token", "is required")),
        };
        service::revoke(store, verifier, &token, proof.as_ref(), UnixTime::now()).await
    };
    match result.await {
        Ok(()) => empty_response(StatusCode::OK),
        Err(error) => problem(&error),
    }
}

/// RFC 7662's answer: `{"active": false}` alone for anything not good.
#[derive(Serialize)]
struct IntrospectionView {
    active: bool,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    token: Option<ActiveView>,
}

#[derive(Serialize)]
struct ActiveView {
    token_type: &'static str,
    sub: String,
    exp: u64,
    iat: u64,
    jti: String,
    sid: String,
    role: Role,
    client_id: String,
    iss: String,
    aud: String,
}

impl From<ActiveToken> for ActiveView {
    fn from(token: ActiveToken) -> Self {
        Self {
            token_type: token.token_type,
            sub: token.sub,
            exp: token.exp,
            iat: token.iat,
            jti: token.jti,
            sid: token.sid,
            role: token.role,
            client_id: token.client_id,
            iss: token.iss,
            aud: token.aud,
        }
    }
}

/// `POST /auth/introspect`: the caller authenticates with HTTP Basic as one of
/// `INTROSPECTION_CLIENTS` before anything else is read.
pub async fn introspect(
    store: &dyn Store,
    verifier: &TokenVerifier,
    clients: &IntrospectionClients,
    request: ApiRequest,
) -> ApiResponse {
    let result = async {
        let client = request
            .basic_credentials()
            .iter()
            .find_map(|(id, secret)| {
                use secrecy::ExposeSecret as _;
                clients.authenticate(id, secret.expose_secret()).map(str::to_owned)
            })
            .ok_or(ApiError::InvalidClient)?;
        let form: TokenForm = request.form()?;
        let hint = hint(&form);
        let Some(token) = form.token else { return Err(ApiError::validation("token", "is required")) };
        service::introspect(store, verifier, &client, &token, hint, UnixTime::now()).await
    };
    match result.await {
        Ok(token) => json_response(
            StatusCode::OK,
            &IntrospectionView { active: token.is_some(), token: token.map(ActiveView::from) },
        ),
        Err(error) => problem(&error),
    }
}
