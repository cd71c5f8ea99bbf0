use super::Role;

/// The identity the authorizer established for a request, as handed to handlers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub user_id: String,
    pub email: String,
    pub role: Role,
    pub token_id: String,
    pub session_id: String,
    /// The access token's `csrf` claim: a cookie-admitted change must present the CSRF token it
    /// binds (see `tokens::CsrfBinding`).
    pub csrf: Option<String>,
    /// The access token's `amr` (RFC 8176): `pwd`, and `otp` after a second factor.
    pub amr: Vec<String>,
    /// The access token's custom claims (a tenant id, ...).
    pub claims: serde_json::Map<String, serde_json::Value>,
}
