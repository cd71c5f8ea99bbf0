//! What the two kinds of token say: an access token's claims (RFC 9068) and a refresh token's.

use serde::{Deserialize, Serialize};

use crate::domain::{AuthMethods, Permission, Role};

/// Claims of an access token (RFC 9068 §2.2, plus the user's role and email).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: u64,
    pub iat: u64,
    pub jti: String,
    /// RFC 9068 requires it; every first-party client shares the API's audience as its id.
    pub client_id: String,
    /// The session (refresh-token family) this token was issued for.
    pub sid: String,
    pub email: String,
    /// Whether the account proved its address (`EMAIL_VERIFICATION`).
    #[serde(default)]
    pub email_verified: bool,
    pub role: Role,
    /// How the session's login authenticated (RFC 8176): `["pwd"]`, or `["pwd", "otp"]` after a
    /// second factor.
    #[serde(default)]
    pub amr: Vec<String>,
    /// The roles an administrator assigned (names), and the union of their permissions: what
    /// the authorizer checks a route of the deployer's API against (`ROUTE_PERMISSIONS`).
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub permissions: Vec<Permission>,
    /// The provider the session signed in with (`OAUTH_PROVIDERS` id), when it was another's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp: Option<String>,
    /// The session's CSRF binding ([`CsrfBinding`]), checked on cookie-admitted changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csrf: Option<String>,
    /// The account's custom claims (`PATCH /admin/users/{id}` `claims`), at the top level
    /// beside the registered ones; none of their names is one of those above.
    #[serde(flatten)]
    pub custom: serde_json::Map<String, serde_json::Value>,
}

/// Claims of a refresh token. Its audience is the issuer itself: only this service accepts it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: u64,
    pub iat: u64,
    pub jti: String,
    pub sid: String,
    /// When the login that started the session happened (epoch seconds): rotation never
    /// extends the session past `auth_time + session_max_age_secs`.
    pub auth_time: u64,
    /// As in [`AccessClaims::amr`]; absent on tokens from before MFA, which took a password only.
    #[serde(default)]
    pub amr: Vec<String>,
    /// As in [`AccessClaims::idp`]: rotations keep saying so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp: Option<String>,
    /// As in [`AccessClaims::csrf`]: checked when the refresh cookie presents this token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csrf: Option<String>,
}

impl RefreshClaims {
    /// How the session's sign-in proved who it was: its rotations keep saying so.
    pub fn methods(&self) -> AuthMethods {
        AuthMethods::from_amr(&self.amr)
    }
}
