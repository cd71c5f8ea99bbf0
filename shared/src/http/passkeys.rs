//! Passkeys' endpoints: the `passkeys` function (adding one, the owner's list, rename and
//! removal, and the administrators' list and removal: it signs nothing) and the `passkey-login`
//! function (options and the sign-in itself: it signs the session's tokens, as login does).

use http::StatusCode;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::request::Fields;
use super::response::{empty_response, json_response, problem, token_response};
use super::views::rfc3339;
use super::{ApiRequest, ApiResponse};
use crate::domain::{PasskeyName, Password, StoredPasskey};
use crate::error::ApiError;
use crate::routes::{self, Endpoint, Route};
use crate::service::passkeys as flows;
use crate::service::{Accounts, Actor, Recovery};
use crate::time::UnixTime;
use crate::transport::{CsrfOffer, TokenTransport};

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct OptionsBody {
    current_password: Option<String>,
}

#[derive(Deserialize)]
struct RegisterBody {
    credential: Option<Value>,
    name: Option<String>,
}

#[derive(Deserialize)]
struct RenameBody {
    name: Option<String>,
}

#[derive(Deserialize, Default)]
struct LoginOptionsBody {
    /// Accepted and ignored: options that list an address's passkeys would tell who has an
    /// account (and which have passkeys); discoverable credentials need none.
    #[allow(dead_code)]
    email: Option<String>,
}

#[derive(Deserialize)]
struct LoginBody {
    credential: Option<Value>,
}

#[derive(Serialize)]
pub(crate) struct PasskeyView {
    id: String,
    name: String,
    created_at: String,
    last_used_at: Option<String>,
    /// Synced to other devices (a backup exists) rather than bound to one.
    backed_up: bool,
    backup_eligible: bool,
}

impl From<&StoredPasskey> for PasskeyView {
    fn from(passkey: &StoredPasskey) -> Self {
        Self {
            id: passkey.id.as_str().to_owned(),
            name: passkey.name.clone(),
            created_at: rfc3339(UnixTime::from_secs(passkey.created_at)),
            last_used_at: passkey.last_used_at.map(|at| rfc3339(UnixTime::from_secs(at))),
            backed_up: passkey.backed_up(),
            backup_eligible: passkey.backup_eligible(),
        }
    }
}

/// The browser's JSON form of a credential, or the field's complaint.
pub(crate) fn credential<T: DeserializeOwned>(fields: &mut Fields, raw: Option<Value>) -> Option<T> {
    fields.parse("credential", raw.map(|value| value.to_string()), |text| {
        serde_json::from_str(&text).map_err(|_| "must be the browser's PublicKeyCredential as JSON (toJSON())")
    })
}

fn listed(passkeys: &[StoredPasskey]) -> ApiResponse {
    let views: Vec<PasskeyView> = passkeys.iter().map(PasskeyView::from).collect();
    json_response(StatusCode::OK, &json!({ "passkeys": views }))
}

/// The `passkeys` function's entry point.
pub async fn passkeys_function(flows: &Recovery, request: ApiRequest) -> ApiResponse {
    match routes::of_function("passkeys", request.method.as_str(), &request.path) {
        Some(route) => passkeys(flows, route, request).await,
        None => super::not_found(),
    }
}

async fn passkeys(recovery: &Recovery, route: &Route, request: ApiRequest) -> ApiResponse {
    let request = &request;
    let now = UnixTime::now();
    let parameters = route.parameters(&request.path);
    let result = async {
        let principal = request.principal()?;
        if request.method != http::Method::GET {
            request.check_csrf_unless_bearer()?;
        }
        match route.endpoint {
            Endpoint::PasskeyRegistrationOptions => {
                let body: OptionsBody = request.json()?;
                let mut fields = Fields::default();
                let current = match body.current_password {
                    Some(raw) => fields.parse("current_password", Some(raw), Password::parse_presented),
                    None => None,
                };
                fields.finish(Some(()))?;
                let options = flows::registration_options(recovery, principal, current, now).await?;
                Ok(json_response(StatusCode::OK, &options))
            }
            Endpoint::RegisterPasskey => {
                let body: RegisterBody = request.json()?;
                let mut fields = Fields::default();
                let credential = credential(&mut fields, body.credential);
                let name = match body.name {
                    Some(raw) => fields.parse("name", Some(raw), |raw| PasskeyName::parse(&raw)),
                    None => Some(PasskeyName::default_name()),
                };
                let (credential, name) = fields.finish(credential.zip(name))?;
                let passkey = flows::register(recovery, principal, &credential, name, now).await?;
                Ok(json_response(StatusCode::CREATED, &PasskeyView::from(&passkey)))
            }
            Endpoint::ListPasskeys => Ok(listed(&flows::list(recovery, principal, now).await?)),
            Endpoint::RenamePasskey => {
                let body: RenameBody = request.json()?;
                let mut fields = Fields::default();
                let name = fields.parse("name", body.name, |raw| PasskeyName::parse(&raw));
                let name = fields.finish(name)?;
                let id = parameters.first().copied().unwrap_or_default();
                let passkey = flows::rename(recovery, principal, id, name, now).await?;
                Ok(json_response(StatusCode::OK, &PasskeyView::from(&passkey)))
            }
            Endpoint::DeletePasskey => {
                flows::remove(recovery, principal, parameters.first().copied().unwrap_or_default(), now).await?;
                Ok(empty_response(StatusCode::NO_CONTENT))
            }
            Endpoint::ListUserPasskeys => {
                let user_id = parameters.first().copied().unwrap_or_default();
                Ok(listed(&flows::list_for_admin(recovery, Actor::Admin(principal), user_id).await?))
            }
            Endpoint::DeleteUserPasskey => {
                let (user_id, passkey_id) = match parameters.as_slice() {
                    [user_id, passkey_id] => (*user_id, *passkey_id),
                    _ => return Err(ApiError::NotFound),
                };
                flows::remove_for_admin(recovery, Actor::Admin(principal), user_id, passkey_id, now).await?;
                Ok(empty_response(StatusCode::NO_CONTENT))
            }
            _ => Err(ApiError::NotFound),
        }
    };
    result.await.unwrap_or_else(|error| problem(&error))
}

/// The `passkey-login` function's entry point: options (no account named), then the sign-in,
/// which starts a session with a fresh CSRF token and sets the cookies when cookies carry the
/// tokens.
pub async fn passkey_login_function(
    accounts: &Accounts,
    transport: TokenTransport,
    request: ApiRequest,
) -> ApiResponse {
    let Some(route) = routes::of_function("passkey-login", request.method.as_str(), &request.path) else {
        return super::not_found();
    };
    let now = UnixTime::now();
    match route.endpoint {
        Endpoint::PasskeyLoginOptions => {
            let result = async {
                let _: LoginOptionsBody = request.json()?;
                flows::sign_in_options(accounts, now).await
            };
            match result.await {
                Ok(options) => json_response(StatusCode::OK, &options),
                Err(error) => problem(&error),
            }
        }
        _ => {
            let csrf = CsrfOffer::new_session(transport);
            let result = async {
                let body: LoginBody = request.json()?;
                let mut fields = Fields::default();
                let credential = credential(&mut fields, body.credential);
                let credential: webauthn_rs::prelude::PublicKeyCredential = fields.finish(credential)?;
                flows::sign_in(accounts, &credential, &request.client(), csrf.binding(), now).await
            };
            token_response(StatusCode::OK, result.await, transport, &csrf)
        }
    }
}
