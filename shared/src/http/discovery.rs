//! `GET /.well-known/openid-configuration`: where resource servers, JWT libraries and API
//! Gateway's own JWT authorizer find our keys and the revocation and introspection endpoints.
//! Built once at init from the configuration.

use http::StatusCode;
use http::header::{CACHE_CONTROL, HeaderValue};
use serde_json::{Value, json};

use super::{ApiResponse, json_response};
use crate::tokens::VerifyingKeys;

pub struct Discovery {
    document: Value,
}

impl Discovery {
    /// `base_url` is the public origin (and base path) the routes are served under, without a
    /// trailing slash.
    pub fn new(issuer: &str, base_url: &str, keys: &VerifyingKeys) -> Self {
        let base = base_url.trim_end_matches('/');
        let document = json!({
            "issuer": issuer,
            "jwks_uri": format!("{base}/.well-known/jwks.json"),
            "revocation_endpoint": format!("{base}/auth/revoke"),
            "introspection_endpoint": format!("{base}/auth/introspect"),
            // Our tokens are access and refresh tokens, not OpenID ID tokens; the member is what
            // JWT libraries and API Gateway's JWT authorizer read for the signing algorithms.
            "id_token_signing_alg_values_supported": keys.algorithms(),
            "token_endpoint_auth_methods_supported": ["none"],
            "revocation_endpoint_auth_methods_supported": ["none"],
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic"],
            "subject_types_supported": ["public"],
            "response_types_supported": ["token"],
            "grant_types_supported": ["password", "refresh_token"],
            "claims_supported": [
                "iss", "sub", "aud", "exp", "iat", "jti", "client_id", "sid", "email", "email_verified", "role", "amr",
            ],
        });
        Self { document }
    }

    pub fn document(&self) -> &Value {
        &self.document
    }
}

pub fn discovery(discovery: &Discovery) -> ApiResponse {
    let mut response = json_response(StatusCode::OK, discovery.document());
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    response
}
