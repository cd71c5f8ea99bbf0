//! Every way a request can fail, with its stable `code`. The mapping to a status and an RFC 9457
//! problem document lives in [`crate::http::problem`], the one place responses are built.

use serde::Serialize;

use crate::store::StoreError;
use crate::tokens::TokenError;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: &'static str,
    /// Why, when a client may act on it (`password_breached`, `password_weak`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    pub message: String,
}

/// Seconds a client should wait before retrying a request that met an unavailable dependency.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 1;

/// The `mfa_token` a correct password earns an account with MFA, and the second steps the account
/// can take (`methods`, from its factors): secret, so it never shows in a log line (its `Debug`
/// is redacted); only the problem document carries it.
#[derive(Clone, PartialEq, Eq)]
pub struct MfaTicket {
    pub token: String,
    pub methods: Vec<&'static str>,
    /// `{"publicKey": …}` for a second step with one of the account's passkeys, if it has any.
    pub passkey: Option<serde_json::Value>,
}

impl std::fmt::Debug for MfaTicket {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("MfaTicket(..)")
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("the request body is not valid JSON")]
    MalformedJson,
    #[error("request bodies must be application/json")]
    UnsupportedMediaType,
    #[error("the request body is larger than 16 KiB")]
    PayloadTooLarge,
    #[error("the request has invalid fields")]
    Validation(Vec<FieldError>),
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error("the email or password is incorrect")]
    InvalidCredentials,
    #[error("this account is disabled")]
    AccountDisabled,
    #[error("the email address is not verified yet; use the link sent to it")]
    EmailNotVerified,
    #[error("the password was right; now give a code from your authenticator app or a recovery code")]
    MfaRequired(MfaTicket),
    #[error("the code is wrong, expired or already used")]
    InvalidCode,
    #[error("this change needs the current password (or a sign-in within the last 5 minutes)")]
    ReauthenticationRequired,
    #[error("client authentication failed")]
    InvalidClient,
    #[error("too many attempts; try again later")]
    TooManyAttempts { retry_after_secs: u64 },
    #[error("the token is invalid")]
    InvalidToken,
    #[error("the token has expired")]
    TokenExpired,
    #[error("the token has been revoked")]
    TokenRevoked,
    #[error("the refresh token was already used; the session has been revoked")]
    TokenReused,
    #[error("not allowed")]
    Forbidden,
    #[error("the CSRF token is missing or does not match")]
    CsrfFailed,
    #[error("not found")]
    NotFound,
    #[error("the change conflicts with the current state")]
    Conflict,
    #[error("a dependency is unavailable; retry shortly")]
    Unavailable,
    /// Federation: the provider's callback names a `state` that is unknown, spent, expired or
    /// another browser's (a 400: no token was presented, and no app to send anyone back to).
    #[error("the sign-in's state is unknown, used, expired or another browser's")]
    InvalidState,
    /// Federation: the app's `redirect_uri` is not on `OAUTH_REDIRECT_URIS`.
    #[error("redirect_uri is not one of this service's registered redirect URIs")]
    InvalidRedirectUri,
    /// Federation: the upstream provider did not answer in time, or failed.
    #[error("the identity provider is unavailable; retry shortly")]
    ProviderUnavailable,
    #[error("internal error")]
    Internal,
}

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::MalformedJson => "malformed_json",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::Validation(_) => "validation_failed",
            ApiError::EmailTaken => "email_taken",
            ApiError::InvalidCredentials => "invalid_credentials",
            ApiError::AccountDisabled => "account_disabled",
            ApiError::EmailNotVerified => "email_not_verified",
            ApiError::MfaRequired(_) => "mfa_required",
            ApiError::InvalidCode => "invalid_code",
            ApiError::ReauthenticationRequired => "reauthentication_required",
            ApiError::InvalidClient => "invalid_client",
            ApiError::TooManyAttempts { .. } => "too_many_attempts",
            ApiError::InvalidToken => "invalid_token",
            ApiError::TokenExpired => "token_expired",
            ApiError::TokenRevoked => "token_revoked",
            ApiError::TokenReused => "token_reused",
            ApiError::Forbidden => "forbidden",
            ApiError::CsrfFailed => "csrf_failed",
            ApiError::NotFound => "not_found",
            ApiError::Conflict => "conflict",
            ApiError::Unavailable => "unavailable",
            ApiError::InvalidRedirectUri => "invalid_redirect_uri",
            ApiError::InvalidState => "invalid_token",
            ApiError::ProviderUnavailable => "provider_unavailable",
            ApiError::Internal => "internal",
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            ApiError::MalformedJson
            | ApiError::Validation(_)
            | ApiError::InvalidRedirectUri
            | ApiError::InvalidState => 400,
            ApiError::InvalidCredentials
            | ApiError::MfaRequired(_)
            | ApiError::InvalidCode
            | ApiError::ReauthenticationRequired
            | ApiError::InvalidClient
            | ApiError::InvalidToken
            | ApiError::TokenExpired
            | ApiError::TokenRevoked
            | ApiError::TokenReused => 401,
            ApiError::AccountDisabled | ApiError::EmailNotVerified | ApiError::Forbidden | ApiError::CsrfFailed => 403,
            ApiError::NotFound => 404,
            ApiError::EmailTaken | ApiError::Conflict => 409,
            ApiError::PayloadTooLarge => 413,
            ApiError::UnsupportedMediaType => 415,
            ApiError::TooManyAttempts { .. } => 429,
            ApiError::Internal => 500,
            ApiError::Unavailable | ApiError::ProviderUnavailable => 503,
        }
    }

    pub fn title(&self) -> &'static str {
        match self.status() {
            400 => "Bad Request",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            409 => "Conflict",
            413 => "Content Too Large",
            415 => "Unsupported Media Type",
            429 => "Too Many Requests",
            503 => "Service Unavailable",
            _ => "Internal Server Error",
        }
    }

    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            ApiError::TooManyAttempts { retry_after_secs } => Some(*retry_after_secs),
            ApiError::Unavailable | ApiError::ProviderUnavailable => Some(UNAVAILABLE_RETRY_AFTER_SECS),
            _ => None,
        }
    }

    pub fn validation(field: &'static str, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError { field, code: None, message: message.into() }])
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::EmailTaken => ApiError::EmailTaken,
            StoreError::Conflict => ApiError::Conflict,
            StoreError::Unavailable(reason) => {
                tracing::warn!(%reason, "store unavailable");
                ApiError::Unavailable
            }
            StoreError::Internal(reason) => {
                tracing::error!(%reason, "store failure");
                ApiError::Internal
            }
        }
    }
}

impl From<TokenError> for ApiError {
    fn from(error: TokenError) -> Self {
        match error {
            TokenError::Invalid => ApiError::InvalidToken,
            TokenError::Expired => ApiError::TokenExpired,
        }
    }
}
