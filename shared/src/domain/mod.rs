//! The service's vocabulary, free of HTTP, Lambda and DynamoDB.

mod auth_methods;
mod claims;
mod clients;
mod email;
pub mod mfa;
mod one_time;
mod password;
mod principal;
mod throttle;
mod user;

pub use auth_methods::{AuthMethod, AuthMethods};
pub use claims::{CustomClaims, MAX_CLAIMS_BYTES, RESERVED_CLAIMS};
pub use clients::IntrospectionClients;
pub use email::Email;
pub use one_time::{OneTimeSecret, OneTimeToken, Purpose, presented_digest, sha256_hex};
pub use password::{Password, PasswordCheck, PasswordHasher, PasswordParams};
pub use principal::Principal;
pub use throttle::{Bucket, Budget, Client, LoginThrottle};
pub use user::{MfaFactor, Role, SeenFrom, Session, SessionPolicy, User};
