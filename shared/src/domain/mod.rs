//! The service's vocabulary, free of HTTP, Lambda and DynamoDB.

mod email;
mod password;
mod principal;
mod throttle;
mod user;

pub use email::Email;
pub use password::{Password, PasswordCheck, PasswordHasher, PasswordParams};
pub use principal::Principal;
pub use throttle::{Bucket, Budget, Client, LoginThrottle};
pub use user::{Role, Session, SessionPolicy, User};
