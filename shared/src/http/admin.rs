//! The administration endpoints: parse, call the use case, respond.

use http::StatusCode;
use serde::Deserialize;

use super::paging::{self, PageQuery, USERS_PAGE};
use super::response::{problem, respond};
use super::views::{AdminUserView, UserListView};
use super::{ApiRequest, ApiResponse, json_response};
use crate::domain::{CustomClaims, Email, Role};
use crate::error::ApiError;
use crate::events::Events;
use crate::service::{self, Actor, AdminChange};
use crate::store::{Store, UserChanges};
use crate::time::UnixTime;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserChangesBody {
    role: Option<String>,
    disabled: Option<bool>,
    claims: Option<serde_json::Value>,
    /// The names of the roles the account is to hold, all of them (`[]`: none).
    roles: Option<Vec<String>>,
    #[serde(default)]
    revoke_sessions: bool,
}

fn parse_user_changes(request: &ApiRequest) -> Result<AdminChange, ApiError> {
    let body: UserChangesBody = request.json()?;
    let role = body
        .role
        .map(|raw| Role::parse(&raw).ok_or_else(|| ApiError::validation("role", "must be \"admin\" or \"user\"")))
        .transpose()?;
    let claims =
        body.claims.map(CustomClaims::parse).transpose().map_err(|message| ApiError::validation("claims", message))?;
    if role.is_none() && body.disabled.is_none() && claims.is_none() && body.roles.is_none() && !body.revoke_sessions {
        return Err(ApiError::validation("body", "give role, disabled, claims, roles, revoke_sessions, or several"));
    }
    let changes = UserChanges { role, disabled: body.disabled, claims, roles: None };
    Ok(AdminChange { changes, roles: body.roles, revoke_sessions: body.revoke_sessions })
}

#[derive(Deserialize)]
struct SearchQuery {
    email: Option<String>,
}

/// `GET /admin/users`: a page of users, newest first; with `email=`, the account with that
/// address (a page of one, or none).
pub async fn list_users(store: &dyn Store, request: ApiRequest) -> ApiResponse {
    let result = async {
        let page = PageQuery::parse(&request.query, USERS_PAGE)?;
        let search: SearchQuery = serde_urlencoded::from_str(&request.query)
            .map_err(|_| ApiError::validation("query", "is not a valid query string"))?;
        let actor = Actor::Admin(request.principal()?);
        match search.email.filter(|email| !email.is_empty()) {
            Some(raw) => {
                let email = Email::parse(&raw).map_err(|reason| ApiError::validation("email", reason))?;
                service::find_user(store, actor, &email).await
            }
            None => service::list_users(store, actor, page.limit, page.user_cursor()?).await,
        }
    };
    match result.await {
        Ok(page) => json_response(
            StatusCode::OK,
            &UserListView {
                users: page.users.into_iter().map(AdminUserView::from).collect(),
                next_cursor: page.next_after.as_deref().map(paging::user_cursor),
            },
        ),
        Err(error) => problem(&error),
    }
}

pub async fn get_user(store: &dyn Store, request: ApiRequest) -> ApiResponse {
    let result =
        async { service::get_user(store, Actor::Admin(request.principal()?), request.last_path_segment()).await };
    respond::<_, AdminUserView>(StatusCode::OK, result.await)
}

pub async fn update_user(store: &dyn Store, events: &Events, request: ApiRequest) -> ApiResponse {
    let result = async {
        let principal = request.principal()?;
        request.check_csrf_unless_bearer()?;
        let changes = parse_user_changes(&request)?;
        service::update_user(
            store,
            events,
            Actor::Admin(principal),
            request.last_path_segment(),
            changes,
            UnixTime::now(),
        )
        .await
    };
    respond::<_, AdminUserView>(StatusCode::OK, result.await)
}
