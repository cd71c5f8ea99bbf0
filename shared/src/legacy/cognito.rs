//! Amazon Cognito as the directory users migrate from: `AdminInitiateAuth` with
//! `ADMIN_USER_PASSWORD_AUTH` checks a password, `AdminGetUser` reads the account (the two
//! actions the functions' role may take on that pool, and nothing else: template.yaml).
//! A client with a secret signs each call with `SECRET_HASH`, Base64(HMAC-SHA256(secret,
//! username ‖ client id)), as Cognito's developer guide ("Computing secret hash values") says.

use async_trait::async_trait;
use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::error::DisplayErrorContext;
use aws_sdk_cognitoidentityprovider::types::{AttributeType, AuthFlowType, UserStatusType};
use base64::Engine as _;
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::{Map, Value};

use super::{LegacyAccount, LegacyDirectory, LegacyError};
use crate::domain::{Email, Password};

/// Cognito's bound on a username: a longer address cannot be one (and is not asked about).
const MAX_USERNAME_CHARS: usize = 128;

pub struct CognitoDirectory {
    client: Client,
    user_pool_id: String,
    client_id: String,
    client_secret: Option<SecretString>,
}

impl CognitoDirectory {
    pub fn new(client: Client, user_pool_id: String, client_id: String, client_secret: Option<SecretString>) -> Self {
        Self { client, user_pool_id, client_id, client_secret }
    }

    fn secret_hash(&self, username: &str) -> Option<String> {
        let secret = self.client_secret.as_ref()?;
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.expose_secret().as_bytes());
        let tag = aws_lc_rs::hmac::sign(&key, format!("{username}{}", self.client_id).as_bytes());
        Some(base64::engine::general_purpose::STANDARD.encode(tag.as_ref()))
    }
}

#[async_trait]
impl LegacyDirectory for CognitoDirectory {
    async fn sign_in(&self, email: &Email, password: &Password) -> Result<Option<LegacyAccount>, LegacyError> {
        let username = email.as_str();
        if username.len() > MAX_USERNAME_CHARS {
            return Ok(None);
        }
        let request = self
            .client
            .admin_initiate_auth()
            .user_pool_id(&self.user_pool_id)
            .client_id(&self.client_id)
            .auth_flow(AuthFlowType::AdminUserPasswordAuth)
            .auth_parameters("USERNAME", username)
            .auth_parameters("PASSWORD", password.expose());
        let request = match self.secret_hash(username) {
            Some(hash) => request.auth_parameters("SECRET_HASH", hash),
            None => request,
        };
        match request.send().await {
            // Tokens mean the password alone signs in there. A challenge (a second factor, a
            // temporary password to replace) is not migrated here: the reset path is.
            Ok(answer) if answer.authentication_result().is_some() => self.find(email).await,
            Ok(_) => Ok(None),
            Err(error) => {
                let refused = error.as_service_error().is_some_and(|service| {
                    service.is_not_authorized_exception()
                        || service.is_user_not_found_exception()
                        || service.is_user_not_confirmed_exception()
                        || service.is_password_reset_required_exception()
                        || service.is_invalid_parameter_exception()
                });
                if refused { Ok(None) } else { Err(LegacyError(DisplayErrorContext(&error).to_string())) }
            }
        }
    }

    async fn find(&self, email: &Email) -> Result<Option<LegacyAccount>, LegacyError> {
        if email.as_str().len() > MAX_USERNAME_CHARS {
            return Ok(None);
        }
        let answer =
            match self.client.admin_get_user().user_pool_id(&self.user_pool_id).username(email.as_str()).send().await {
                Ok(answer) => answer,
                Err(error) if error.as_service_error().is_some_and(|service| service.is_user_not_found_exception()) => {
                    return Ok(None);
                }
                Err(error) => return Err(LegacyError(DisplayErrorContext(&error).to_string())),
            };
        let usable = !matches!(
            answer.user_status(),
            Some(UserStatusType::Compromised | UserStatusType::Archived | UserStatusType::UnknownValue)
        );
        if !answer.enabled() || !usable {
            return Ok(None);
        }
        let attributes = answer.user_attributes();
        let value =
            |name: &str| attributes.iter().find(|attribute| attribute.name() == name).and_then(AttributeType::value);
        // A pool whose usernames are free text may have a user *named* like this address whose
        // address is another: only the account whose own address this is moves here.
        let own_address =
            value("email").and_then(|address| Email::parse(address).ok()).is_some_and(|address| address == *email);
        let Some(subject) = value("sub").filter(|_| own_address) else { return Ok(None) };
        let claims: Map<String, Value> = attributes
            .iter()
            .filter_map(|attribute| {
                let name = attribute.name().strip_prefix("custom:")?;
                Some((name.to_owned(), Value::String(attribute.value()?.to_owned())))
            })
            .collect();
        Ok(Some(LegacyAccount {
            subject: subject.to_owned(),
            email_verified: value("email_verified") == Some("true"),
            claims,
            created_at: answer.user_create_date().and_then(|date| u64::try_from(date.secs()).ok()),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_hash_is_cognito_s() {
        // Python: base64(hmac.new(b"s3cret", b"ann@example.com" + b"client-1", sha256).digest())
        let config = aws_sdk_cognitoidentityprovider::Config::builder()
            .behavior_version(aws_sdk_cognitoidentityprovider::config::BehaviorVersion::latest())
            .build();
        let directory = CognitoDirectory::new(
            Client::from_conf(config),
            "us-east-1_pool".into(),
            "client-1".into(),
            Some(SecretString::from("s3cret")),
        );
        assert_eq!(directory.secret_hash("ann@example.com").as_deref(), Some(EXPECTED));
        let without = CognitoDirectory { client_secret: None, ..directory };
        assert_eq!(without.secret_hash("ann@example.com"), None);
    }

    const EXPECTED: &str = "yyRoO/uafJ42tZKwP4pDVH/kBgsv7zcxRg8NgGtug4k=";
}
