//! The `admin-roles` function: roles defined, listed, read and deleted by administrators.

use http::StatusCode;
use serde::{Deserialize, Serialize};

use super::response::{empty_response, json_response, problem};
use super::{ApiRequest, ApiResponse};
use crate::domain::Permission;
use crate::error::ApiError;
use crate::events::Events;
use crate::routes::{self, Endpoint, Route};
use crate::service::{self, Actor, RoleView};
use crate::store::Store;
use crate::time::UnixTime;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleBody {
    #[serde(default)]
    description: String,
    permissions: Vec<String>,
}

/// A role as the API shows it.
#[derive(Debug, Serialize)]
pub struct RoleBodyView {
    pub name: String,
    pub description: String,
    pub permissions: Vec<String>,
    /// How many accounts hold it.
    pub assigned: u64,
}

impl From<RoleView> for RoleBodyView {
    fn from(role: RoleView) -> Self {
        Self {
            name: role.name.as_str().to_owned(),
            description: role.description,
            permissions: role.permissions.iter().map(Permission::as_str).map(str::to_owned).collect(),
            assigned: role.assigned,
        }
    }
}

#[derive(Debug, Serialize)]
struct RoleListView {
    roles: Vec<RoleBodyView>,
}

async fn admin_roles(store: &dyn Store, events: &Events, route: &Route, request: ApiRequest) -> ApiResponse {
    let request = &request;
    let now = UnixTime::now();
    let result = async {
        let principal = request.principal()?;
        let name = || route.parameter(&request.path).ok_or(ApiError::NotFound);
        match route.endpoint {
            Endpoint::ListRoles => {
                let roles = service::list_roles(store, Actor::Admin(principal)).await?;
                Ok(json_response(
                    StatusCode::OK,
                    &RoleListView { roles: roles.into_iter().map(RoleBodyView::from).collect() },
                ))
            }
            Endpoint::GetRole => {
                let role = service::get_role(store, Actor::Admin(principal), name()?).await?;
                Ok(json_response(StatusCode::OK, &RoleBodyView::from(role)))
            }
            Endpoint::PutRole => {
                request.check_csrf_unless_bearer()?;
                let body: RoleBody = request.json()?;
                let (description, permissions) = (&body.description, &body.permissions);
                let role = service::define_role(
                    store,
                    events,
                    Actor::Admin(principal),
                    name()?,
                    description,
                    permissions,
                    now,
                )
                .await?;
                Ok(json_response(StatusCode::OK, &RoleBodyView::from(role)))
            }
            Endpoint::DeleteRole => {
                request.check_csrf_unless_bearer()?;
                service::delete_role(store, events, Actor::Admin(principal), name()?, now).await?;
                Ok(empty_response(StatusCode::NO_CONTENT))
            }
            _ => Err(ApiError::NotFound),
        }
    };
    result.await.unwrap_or_else(|error| problem(&error))
}

/// The `admin-roles` function's entry point.
pub async fn admin_roles_function(store: &dyn Store, events: &Events, request: ApiRequest) -> ApiResponse {
    match routes::of_function("admin-roles", request.method.as_str(), &request.path) {
        Some(route) => admin_roles(store, events, route, request).await,
        None => super::not_found(),
    }
}
