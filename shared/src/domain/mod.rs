//! The service's vocabulary, free of HTTP, Lambda and DynamoDB.

mod email;
mod one_time;
mod password;
mod principal;
mod throttle;
mod user;

pub use email::Email;
pub use one_time::{OneTimeSecret, OneTimeToken, Purpose, presented_digest};
pub use password::{Password, PasswordCheck, PasswordHasher, PasswordParams};
pub use principal::Principal;
pub use throttle::{Bucket, Budget, Client, LoginThrottle};
pub use user::{Role, SeenFrom, Session, SessionPolicy, User};
