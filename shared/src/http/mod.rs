//! The HTTP edge shared by the Lambda functions and the local API: requests are checked and
//! parsed into use-case inputs (`request`), use cases are called (`auth`, `admin`), and results
//! and errors become responses in one place (`response`, with the HTTP shapes in `views`).

pub mod admin;
pub mod auth;
pub mod deletion;
pub mod discovery;
pub mod federation;
pub mod mfa;
mod paging;
pub mod passkeys;
pub mod recovery;
mod request;
mod response;
pub mod roles;
pub mod sessions;
pub mod standards;
pub mod views;

use http::StatusCode;
use http::header::{CACHE_CONTROL, HeaderValue};

pub use request::{ApiRequest, MAX_BODY_BYTES};
pub use response::{ApiResponse, json_response, problem};

use crate::error::ApiError;
use crate::tokens::VerifyingKeys;

pub fn jwks(keys: &VerifyingKeys) -> ApiResponse {
    let mut response = json_response(StatusCode::OK, keys.public_jwks());
    // Public data that changes only at key rotation: let clients and CDNs cache it briefly.
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    response
}

/// The `jwks` function's two routes: the key set and the discovery document that points at it.
/// The key set for every request but the discovery document's (as the function answered before
/// it had two routes); without a document (no absolute issuer or `PUBLIC_BASE_URL`) that is 404.
pub fn jwks_function(
    keys: &VerifyingKeys,
    discovery: Option<&discovery::Discovery>,
    request: &ApiRequest,
) -> ApiResponse {
    match crate::routes::of_function("jwks", request.method.as_str(), &request.path).map(|route| route.endpoint) {
        Some(crate::routes::Endpoint::Discovery) => discovery.map_or_else(not_found, discovery::discovery),
        _ => jwks(keys),
    }
}

pub fn not_found() -> ApiResponse {
    problem(&ApiError::NotFound)
}
