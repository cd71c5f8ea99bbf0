use super::{Permission, Role};

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
    /// The access token's `roles` (names of the roles an administrator assigned).
    pub roles: Vec<String>,
    /// The access token's `permissions`: the union of its roles' permissions.
    pub permissions: Vec<Permission>,
    /// The access token's custom claims (a tenant id, ...).
    pub claims: serde_json::Map<String, serde_json::Value>,
}

impl Principal {
    /// Whether the token's permissions grant `required`.
    pub fn holds(&self, required: &Permission) -> bool {
        self.permissions.iter().any(|held| held.grants(required))
    }
}
