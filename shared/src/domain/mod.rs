//! The service's vocabulary, free of HTTP, Lambda and DynamoDB.

mod auth_methods;
mod claims;
mod clients;
mod email;
pub mod federation;
pub mod mfa;
mod one_time;
pub mod passkeys;
mod password;
mod permission;
mod principal;
mod roles;
mod throttle;
mod user;

pub use auth_methods::{AuthMethod, AuthMethods};
pub use claims::{CustomClaims, MAX_CLAIMS_BYTES, RESERVED_CLAIMS};
pub use clients::IntrospectionClients;
pub use email::Email;
pub use federation::{LinkedIdentity, ProviderId, UpstreamIdentity};
pub use one_time::{OneTimeSecret, OneTimeToken, Purpose, presented_digest, sha256_hex};
#[cfg(test)]
pub(crate) use passkeys::test_passkey;
pub use passkeys::{PasskeyId, PasskeyName, StoredPasskey};
pub use password::{HashFormatError, Password, PasswordCheck, PasswordHasher, PasswordParams, StoredHash};
pub use permission::{Entitlements, InvalidPermission, MAX_PERMISSION_LEN, Permission};
pub use principal::Principal;
pub use roles::{
    MAX_ENTITLEMENT_BYTES, MAX_PERMISSIONS_PER_ROLE, MAX_ROLES, MAX_ROLES_PER_USER, MAX_TOKEN_PERMISSIONS, RoleCatalog,
    RoleDefinition, RoleError, RoleName,
};
pub use throttle::{Bucket, Budget, Client, LoginThrottle};
pub use user::{MfaFactor, Role, SeenFrom, Session, SessionPolicy, User};
