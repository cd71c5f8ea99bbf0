use super::Role;

/// The identity the authorizer established for a request, as handed to handlers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub user_id: String,
    pub email: String,
    pub role: Role,
    pub token_id: String,
    pub session_id: String,
}
