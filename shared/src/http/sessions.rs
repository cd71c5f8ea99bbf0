//! The session list endpoints, the owner's and the administrators': parse, call the use case,
//! respond.

use http::StatusCode;

use super::paging::{PageQuery, SESSIONS_PAGE};
use super::response::{empty_response, json_response, problem};
use super::views::SessionListView;
use super::{ApiRequest, ApiResponse};
use crate::error::ApiError;
use crate::routes::{self, Endpoint, Route};
use crate::service;
use crate::store::Store;
use crate::time::UnixTime;

/// The `sessions` and `admin-user-sessions` functions' routes, picked by endpoint.
pub async fn session_list(store: &dyn Store, route: &Route, request: ApiRequest) -> ApiResponse {
    let request = &request;
    let now = UnixTime::now();
    let id = || route.parameter(&request.path).ok_or(ApiError::NotFound);
    let result = async {
        let principal = request.principal()?;
        if request.method != http::Method::GET {
            request.check_csrf_unless_bearer()?;
        }
        match route.endpoint {
            Endpoint::ListSessions => {
                let page = PageQuery::parse(&request.query, SESSIONS_PAGE)?;
                service::list_sessions(store, principal, page.limit, page.session_cursor()?, now).await.map(Some)
            }
            Endpoint::ListUserSessions => {
                let page = PageQuery::parse(&request.query, SESSIONS_PAGE)?;
                let user_id = id()?;
                service::list_user_sessions(store, principal, user_id, page.limit, page.session_cursor()?, now)
                    .await
                    .map(Some)
            }
            Endpoint::EndSession => service::end_session(store, principal, id()?, now).await.map(|()| None),
            Endpoint::EndUserSessions => service::end_user_sessions(store, principal, id()?, now).await.map(|()| None),
            _ => Err(ApiError::NotFound),
        }
    };
    match result.await {
        Ok(Some(list)) => json_response(StatusCode::OK, &SessionListView::from(list)),
        Ok(None) => empty_response(StatusCode::NO_CONTENT),
        Err(error) => problem(&error),
    }
}

/// A function's entry point: the route of `function` the request falls under.
pub async fn session_list_function(store: &dyn Store, function: &str, request: ApiRequest) -> ApiResponse {
    match routes::of_function(function, request.method.as_str(), &request.path) {
        Some(route) => session_list(store, route, request).await,
        None => super::not_found(),
    }
}
