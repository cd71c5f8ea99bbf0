//! The administration endpoints: parse, call the use case, respond.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::StatusCode;
use serde::Deserialize;

use super::response::{problem, respond};
use super::views::{AdminUserView, UserListView};
use super::{ApiRequest, ApiResponse, json_response};
use crate::domain::Role;
use crate::error::ApiError;
use crate::service;
use crate::store::{Store, UserChanges};
use crate::time::UnixTime;

pub const DEFAULT_PAGE_SIZE: u32 = 20;
pub const MAX_PAGE_SIZE: u32 = 100;

/// Cursors are opaque to clients: the id of the last user of a page, base64url-encoded.
fn encode_cursor(last_id: &str) -> String {
    URL_SAFE_NO_PAD.encode(last_id)
}

fn decode_cursor(cursor: &str) -> Result<String, ApiError> {
    let invalid = || ApiError::validation("cursor", "is not a cursor this API returned");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let id = String::from_utf8(bytes).map_err(|_| invalid())?;
    uuid::Uuid::parse_str(&id).map_err(|_| invalid())?;
    Ok(id)
}

#[derive(Deserialize)]
struct ListQuery {
    limit: Option<String>,
    cursor: Option<String>,
}

fn parse_list_query(query: &str) -> Result<(u32, Option<String>), ApiError> {
    let params: ListQuery =
        serde_urlencoded::from_str(query).map_err(|_| ApiError::validation("query", "is not a valid query string"))?;
    let limit = match params.limit.as_deref() {
        None | Some("") => DEFAULT_PAGE_SIZE,
        Some(raw) => raw.parse::<u32>().ok().filter(|limit| (1..=MAX_PAGE_SIZE).contains(limit)).ok_or_else(|| {
            ApiError::validation("limit", format!("must be a whole number from 1 to {MAX_PAGE_SIZE}"))
        })?,
    };
    let after = params.cursor.as_deref().filter(|cursor| !cursor.is_empty()).map(decode_cursor).transpose()?;
    Ok((limit, after))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserChangesBody {
    role: Option<String>,
    disabled: Option<bool>,
}

fn parse_user_changes(request: &ApiRequest) -> Result<UserChanges, ApiError> {
    let body: UserChangesBody = request.json()?;
    let role = body
        .role
        .map(|raw| Role::parse(&raw).ok_or_else(|| ApiError::validation("role", "must be \"admin\" or \"user\"")))
        .transpose()?;
    if role.is_none() && body.disabled.is_none() {
        return Err(ApiError::validation("body", "give role, disabled, or both"));
    }
    Ok(UserChanges { role, disabled: body.disabled })
}

pub async fn list_users(store: &dyn Store, request: ApiRequest) -> ApiResponse {
    let result = async {
        let (limit, after) = parse_list_query(&request.query)?;
        service::list_users(store, request.principal()?, limit, after).await
    };
    match result.await {
        Ok(page) => json_response(
            StatusCode::OK,
            &UserListView {
                users: page.users.into_iter().map(AdminUserView::from).collect(),
                next_cursor: page.next_after.as_deref().map(encode_cursor),
            },
        ),
        Err(error) => problem(&error),
    }
}

pub async fn get_user(store: &dyn Store, request: ApiRequest) -> ApiResponse {
    let result = async { service::get_user(store, request.principal()?, request.last_path_segment()).await };
    respond::<_, AdminUserView>(StatusCode::OK, result.await)
}

pub async fn update_user(store: &dyn Store, request: ApiRequest) -> ApiResponse {
    let result = async {
        let principal = request.principal()?;
        request.check_csrf_unless_bearer()?;
        let changes = parse_user_changes(&request)?;
        service::update_user(store, principal, request.last_path_segment(), changes, UnixTime::now()).await
    };
    respond::<_, AdminUserView>(StatusCode::OK, result.await)
}
