//! Lazy migration from the directory a deployment is leaving (Amazon Cognito, `cognito.rs`):
//! a login for an address this service does not know yet is checked there, and on success the
//! account is made here with an Argon2id hash of the password just proven; "forgot password"
//! for such an address makes the account (without a password) so that the reset can set one.
//! Users move one login at a time and never notice; when the old pool is empty of active
//! users, the configuration is removed. docs/migration.md.

mod cognito;

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value};

pub use cognito::CognitoDirectory;

use crate::domain::{CustomClaims, Email, Password, Role, User};
use crate::time::UnixTime;

/// An account as the old directory holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct LegacyAccount {
    /// Its stable id there (Cognito's `sub`, a UUID): the account keeps it here, as the `sub`
    /// of its tokens, so that what the API behind the service stored under it stays its own.
    pub subject: String,
    pub email_verified: bool,
    /// Its custom attributes, as claims (`custom:tenant` → `tenant`).
    pub claims: Map<String, Value>,
    /// Epoch seconds.
    pub created_at: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
#[error("the legacy directory did not answer: {0}")]
pub struct LegacyError(pub String);

#[async_trait]
pub trait LegacyDirectory: Send + Sync {
    /// The account of `email` there if `password` is its password (and the account may sign
    /// in there with it alone: enabled, confirmed, no second factor asked); else `None`.
    async fn sign_in(&self, email: &Email, password: &Password) -> Result<Option<LegacyAccount>, LegacyError>;

    /// The enabled account of `email` there, if any.
    async fn find(&self, email: &Email) -> Result<Option<LegacyAccount>, LegacyError>;
}

/// The directory users are migrating from, if the deployment is migrating.
#[derive(Clone, Default)]
pub struct Legacy(pub Option<Arc<dyn LegacyDirectory>>);

/// `Legacy::default()`: no migration.
impl Legacy {
    pub fn from(directory: impl LegacyDirectory + 'static) -> Self {
        Self(Some(Arc::new(directory)))
    }
}

impl LegacyAccount {
    /// The account as it is made here (`password_hash` `None`: it sets one through a reset).
    /// Claims that are not valid here (a reserved or malformed name) are left out, by name.
    pub fn into_user(self, email: Email, password_hash: Option<String>, now: UnixTime) -> User {
        let created = self.created_at.map_or(now, UnixTime::from_secs);
        let mut user = User::without_password(email, Role::User, created);
        if uuid::Uuid::try_parse(&self.subject).is_ok() {
            user.id = self.subject.to_ascii_lowercase();
        }
        user.password_hash = password_hash;
        user.email_verified = self.email_verified;
        let mut claims = Map::new();
        for (name, value) in self.claims {
            let single = Map::from_iter([(name.clone(), value.clone())]);
            match CustomClaims::parse(Value::Object(single)) {
                Ok(_) => {
                    claims.insert(name, value);
                }
                Err(_) => tracing::warn!(claim = %name, "a legacy attribute is not a valid claim here: left out"),
            }
        }
        user.claims = CustomClaims::parse(Value::Object(claims.clone())).unwrap_or_default();
        user
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_account_keeps_its_id_proof_and_valid_claims() {
        let account = LegacyAccount {
            subject: "B799E691-C01E-4878-B2CF-1D22B3A9AF9F".into(),
            email_verified: true,
            claims: Map::from_iter([
                ("tenant".into(), json!("t-9")),
                ("sub".into(), json!("x")),
                ("Bad".into(), json!(1)),
            ]),
            created_at: Some(1_600_000_000),
        };
        let email = Email::parse("ann@example.com").unwrap();
        let user = account.into_user(email, Some("$argon2id$…".into()), UnixTime::from_secs(1_800_000_000));
        assert_eq!(user.id, "b799e691-c01e-4878-b2cf-1d22b3a9af9f");
        assert!(user.email_verified);
        assert_eq!(user.created_at, 1_600_000_000);
        assert_eq!(user.claims.as_map(), &Map::from_iter([("tenant".into(), json!("t-9"))]));
        assert_eq!(user.role, Role::User);
        let odd =
            LegacyAccount { subject: "not-a-uuid".into(), email_verified: false, claims: Map::new(), created_at: None };
        let user = odd.into_user(Email::parse("b@example.com").unwrap(), None, UnixTime::from_secs(1_800_000_000));
        assert_ne!(user.id, "not-a-uuid", "an id that is not a UUID is not taken over");
        assert_eq!((user.created_at, user.password_hash), (1_800_000_000, None));
    }
}
