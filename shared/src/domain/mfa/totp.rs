//! TOTP (RFC 6238): HMAC-SHA-1, 6 digits, 30-second steps, as every authenticator app speaks
//! it. The algorithm is `totp-rs`'s; what is ours is the policy around it: ±1 step of clock skew,
//! constant-time comparison, and which step matched, so that the caller can refuse a code whose
//! step was already used (a code works once).

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use secrecy::{ExposeSecret, SecretBox};
use totp_rs::{Algorithm, TOTP};

pub const CODE_DIGITS: usize = 6;
pub const STEP_SECS: u64 = 30;
/// 160 bits, the length RFC 4226 recommends (and the HMAC-SHA-1 block's natural key size).
const KEY_BYTES: usize = 20;

/// An account's TOTP key: secret everywhere but in its sealed form and the enrolment answer.
pub struct TotpKey(SecretBox<Vec<u8>>);

impl TotpKey {
    pub fn generate() -> Result<Self, aws_lc_rs::error::Unspecified> {
        let mut bytes = vec![0u8; KEY_BYTES];
        SystemRandom::new().fill(&mut bytes)?;
        Ok(Self::from_bytes(bytes))
    }

    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(SecretBox::new(Box::new(bytes)))
    }

    /// The key an authenticator app holds, from the base32 text the enrolment showed.
    pub fn from_base32(encoded: &str) -> Option<Self> {
        totp_rs::Secret::Encoded(encoded.trim().to_ascii_uppercase()).to_bytes().ok().map(Self::from_bytes)
    }

    pub fn expose_bytes(&self) -> &[u8] {
        self.0.expose_secret()
    }

    /// RFC 4648 base32 without padding: what a user types into an authenticator app.
    pub fn base32(&self) -> String {
        totp_rs::Secret::Raw(self.expose_bytes().to_vec()).to_encoded().to_string()
    }

    fn totp(&self, digits: usize, issuer: Option<&str>, account: &str) -> TOTP {
        // `new_unchecked`: the key length is ours (160 bits), and an account label may hold a
        // character (`:`) that the checked constructor refuses; the URI below escapes it.
        TOTP::new_unchecked(
            Algorithm::SHA1,
            digits,
            1,
            STEP_SECS,
            self.expose_bytes().to_vec(),
            issuer.map(str::to_owned),
            account.to_owned(),
        )
    }

    /// The code of the step that `unix_secs` falls in.
    pub fn code_at(&self, unix_secs: u64) -> String {
        self.code_with_digits(unix_secs, CODE_DIGITS)
    }

    fn code_with_digits(&self, unix_secs: u64, digits: usize) -> String {
        self.totp(digits, None, "").generate(unix_secs)
    }

    /// The step (`unix_secs / 30`) whose code `code` is, within one step either side of now,
    /// and later than `last_used_step`; `None` otherwise. Every candidate is compared, in
    /// constant time, whether or not an earlier one matched.
    pub fn verify(&self, code: &str, unix_secs: u64, last_used_step: Option<u64>) -> Option<u64> {
        if code.len() != CODE_DIGITS || !code.bytes().all(|byte| byte.is_ascii_digit()) {
            return None;
        }
        let now_step = unix_secs / STEP_SECS;
        let mut matched = None;
        for step in [now_step.saturating_sub(1), now_step, now_step + 1] {
            let expected = self.code_at(step * STEP_SECS);
            let fresh = last_used_step.is_none_or(|used| step > used);
            if verify_slices_are_equal(expected.as_bytes(), code.as_bytes()).is_ok() && fresh {
                matched = Some(step);
            }
        }
        matched
    }

    /// The `otpauth://totp/…` URI an authenticator app reads (from the QR code, or pasted).
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> String {
        self.totp(CODE_DIGITS, Some(issuer), account).get_url()
    }

    /// The URI as a QR code, an SVG document (dark modules on white, a quiet zone around).
    pub fn qr_svg(&self, issuer: &str, account: &str) -> Result<String, qrcode::types::QrError> {
        let code = qrcode::QrCode::new(self.otpauth_uri(issuer, account).as_bytes())?;
        Ok(code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(200, 200).build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, the SHA-1 rows: the key is the ASCII "12345678901234567890", the
    /// codes 8 digits. Our path generates them; production uses the same path with 6 digits,
    /// which are the last 6 of these (RFC 4226's truncation is modulo 10^digits).
    const RFC_6238_SHA1: [(u64, &str); 6] = [
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ];

    fn rfc_key() -> TotpKey {
        TotpKey::from_bytes(b"12345678901234567890".to_vec())
    }

    #[test]
    fn rfc_6238_appendix_b_sha1_vectors() {
        let key = rfc_key();
        for (time, expected) in RFC_6238_SHA1 {
            assert_eq!(key.code_with_digits(time, 8), expected, "T = {time}");
            assert_eq!(key.code_at(time), expected[2..], "6 digits at T = {time}");
            assert_eq!(key.verify(&expected[2..], time, None), Some(time / STEP_SECS));
        }
    }

    #[test]
    fn a_code_is_good_one_step_either_side_and_only_after_the_last_used_step() {
        let key = rfc_key();
        let now = 1_234_567_890;
        let step = now / STEP_SECS;
        let previous = key.code_at(now - STEP_SECS);
        let next = key.code_at(now + STEP_SECS);
        assert_eq!(key.verify(&previous, now, None), Some(step - 1));
        assert_eq!(key.verify(&next, now, None), Some(step + 1));
        assert_eq!(key.verify(&key.code_at(now - 2 * STEP_SECS), now, None), None, "two steps late");
        assert_eq!(key.verify(&key.code_at(now + 2 * STEP_SECS), now, None), None, "two steps early");
        // Used once: that step and every earlier one are spent.
        assert_eq!(key.verify(&key.code_at(now), now, Some(step)), None);
        assert_eq!(key.verify(&previous, now, Some(step - 1)), None);
        assert_eq!(key.verify(&next, now, Some(step)), Some(step + 1));
        for bad in ["", "12345", "1234567", "12345a", " 94287"] {
            assert_eq!(key.verify(bad, now, None), None, "{bad:?}");
        }
    }

    #[test]
    fn keys_are_random_160_bits_and_speak_otpauth() {
        let key = TotpKey::generate().unwrap();
        assert_eq!(key.expose_bytes().len(), 20);
        assert_ne!(key.expose_bytes(), TotpKey::generate().unwrap().expose_bytes());
        assert_eq!(key.base32().len(), 32, "160 bits are 32 base32 characters");
        assert_eq!(rfc_key().base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let typed = TotpKey::from_base32("gezdgnbvgy3tqojqgezdgnbvgy3tqojq").unwrap();
        assert_eq!(typed.expose_bytes(), b"12345678901234567890");
        assert!(TotpKey::from_base32("not base32!").is_none());
        let uri = rfc_key().otpauth_uri("jwt-auth", "alice@example.com");
        assert!(uri.starts_with("otpauth://totp/jwt-auth:alice%40example.com?"), "{uri}");
        for part in ["secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "issuer=jwt-auth"] {
            assert!(uri.contains(part), "{uri}");
        }
        let svg = rfc_key().qr_svg("jwt-auth", "alice@example.com").unwrap();
        assert!(svg.contains("<svg") && svg.contains("</svg>"), "{}", &svg[..80.min(svg.len())]);
    }
}
