//! The one-time tokens the email flows send: verification, password reset, email change. The
//! link carries 256 random bits; the store keeps only their SHA-256 digest, bound to the
//! account and the purpose, and spends it with one conditional write.

use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};

use super::Email;

/// What a one-time token may be spent on: a token for one purpose is no good for another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Proves the account's current address.
    VerifyEmail,
    /// Sets a new password without the old one.
    ResetPassword,
    /// Proves the new address of an email change, and makes it the account's.
    ChangeEmail,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::VerifyEmail => "verify_email",
            Purpose::ResetPassword => "reset_password",
            Purpose::ChangeEmail => "change_email",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Purpose::VerifyEmail, Purpose::ResetPassword, Purpose::ChangeEmail]
            .into_iter()
            .find(|purpose| purpose.as_str() == raw)
    }
}

/// A one-time token as stored: never the token itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OneTimeToken {
    /// Hex SHA-256 of the token: the stored key.
    pub digest: String,
    pub purpose: Purpose,
    pub user_id: String,
    /// The address the token was mailed to: the account's (verification), or the new one (email
    /// change). A verification token stops working once the account has another address.
    pub email: Email,
    /// Epoch milliseconds. Only the newest reset token of an account works.
    pub issued_ms: u64,
    /// Epoch seconds; the TTL.
    pub expires_at: u64,
    /// The account's credential epoch when it was issued: a credential event since voids it.
    pub credential_epoch: u64,
}

/// The token a link carries, secret until it reaches the mailbox.
pub struct OneTimeSecret(SecretString);

impl OneTimeSecret {
    /// 256 random bits, base64url: 43 characters of `[A-Za-z0-9_-]`.
    pub fn generate() -> Result<Self, aws_lc_rs::error::Unspecified> {
        let mut bytes = [0u8; 32];
        SystemRandom::new().fill(&mut bytes)?;
        Ok(Self(SecretString::from(URL_SAFE_NO_PAD.encode(bytes))))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    pub fn digest(&self) -> String {
        sha256_hex(self.expose())
    }
}

/// The stored key of a presented token, or `None` when it cannot be one of ours (the shape
/// the contract fixes, and no longer than ours), so garbage costs no store read.
pub fn presented_digest(token: &str) -> Option<String> {
    let shaped = (22..=128).contains(&token.len())
        && token.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
    shaped.then(|| sha256_hex(token))
}

/// Hex SHA-256: how the store keys what must not be stored (tokens, codes, what a login is bound to).
pub fn sha256_hex(text: &str) -> String {
    let hash = digest::digest(&digest::SHA256, text.as_bytes());
    hash.as_ref().iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_url_safe_and_only_their_digest_is_kept() {
        let first = OneTimeSecret::generate().unwrap();
        let second = OneTimeSecret::generate().unwrap();
        assert_eq!(first.expose().len(), 43);
        assert_ne!(first.expose(), second.expose());
        assert_eq!(presented_digest(first.expose()), Some(first.digest()));
        assert_eq!(first.digest().len(), 64);
        assert!(!first.digest().contains(first.expose()));
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        assert_eq!(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn garbage_is_refused_before_any_lookup() {
        for bad in ["", "short", "has space in it and is long enough", "ünïcode-ünïcode-ünïcode", &"a".repeat(129)]
        {
            assert_eq!(presented_digest(bad), None, "{bad:?}");
        }
        assert!(presented_digest(&"a".repeat(22)).is_some());
    }

    #[test]
    fn purposes_round_trip() {
        for purpose in [Purpose::VerifyEmail, Purpose::ResetPassword, Purpose::ChangeEmail] {
            assert_eq!(Purpose::parse(purpose.as_str()), Some(purpose));
        }
        assert_eq!(Purpose::parse("login"), None);
    }
}
