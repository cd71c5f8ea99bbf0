//! The TOTP key at rest: AES-256-GCM under the data key from `MFA_ENCRYPTION_KEY` (Secrets
//! Manager when deployed), with the account id as associated data, so that a sealed key copied
//! onto another account does not open. Stored as `v1.` + base64(nonce ‖ ciphertext ‖ tag); a
//! fresh random 96-bit nonce per seal.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::TotpKey;

const VERSION: &str = "v1.";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MfaKeyError {
    #[error("MFA_ENCRYPTION_KEY must be 32 bytes, base64-encoded")]
    BadKey,
    #[error("a sealed TOTP key did not open (another key, another account, or altered)")]
    Unopenable,
    #[error("no randomness for a nonce")]
    NoRandomness,
}

/// The data key that seals TOTP keys.
pub struct MfaSealingKey(LessSafeKey);

impl std::fmt::Debug for MfaSealingKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("MfaSealingKey(..)")
    }
}

impl MfaSealingKey {
    pub fn from_base64(encoded: &str) -> Result<Self, MfaKeyError> {
        let bytes = STANDARD.decode(encoded.trim()).map_err(|_| MfaKeyError::BadKey)?;
        if bytes.len() != 32 {
            return Err(MfaKeyError::BadKey);
        }
        let key = UnboundKey::new(&AES_256_GCM, &bytes).map_err(|_| MfaKeyError::BadKey)?;
        Ok(Self(LessSafeKey::new(key)))
    }

    /// A fresh random key (the local API's, when none is configured), and its base64 form.
    pub fn generate() -> Result<(Self, String), MfaKeyError> {
        let mut bytes = [0u8; 32];
        SystemRandom::new().fill(&mut bytes).map_err(|_| MfaKeyError::NoRandomness)?;
        let encoded = STANDARD.encode(bytes);
        Ok((Self::from_base64(&encoded)?, encoded))
    }

    pub fn seal(&self, key: &TotpKey, user_id: &str) -> Result<String, MfaKeyError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new().fill(&mut nonce).map_err(|_| MfaKeyError::NoRandomness)?;
        let mut sealed = key.expose_bytes().to_vec();
        self.0
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(user_id.as_bytes()), &mut sealed)
            .map_err(|_| MfaKeyError::Unopenable)?;
        let mut stored = nonce.to_vec();
        stored.extend_from_slice(&sealed);
        Ok(format!("{VERSION}{}", STANDARD.encode(stored)))
    }

    pub fn open(&self, stored: &str, user_id: &str) -> Result<TotpKey, MfaKeyError> {
        let encoded = stored.strip_prefix(VERSION).ok_or(MfaKeyError::Unopenable)?;
        let mut bytes = STANDARD.decode(encoded).map_err(|_| MfaKeyError::Unopenable)?;
        if bytes.len() < NONCE_LEN {
            return Err(MfaKeyError::Unopenable);
        }
        let mut sealed = bytes.split_off(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&bytes).map_err(|_| MfaKeyError::Unopenable)?;
        let opened = self
            .0
            .open_in_place(nonce, Aad::from(user_id.as_bytes()), &mut sealed)
            .map_err(|_| MfaKeyError::Unopenable)?;
        Ok(TotpKey::from_bytes(opened.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_key_opens_for_its_account_only_and_holds_no_plaintext() {
        let (sealing, _) = MfaSealingKey::generate().unwrap();
        let key = TotpKey::generate().unwrap();
        let stored = sealing.seal(&key, "user-1").unwrap();
        assert!(stored.starts_with("v1."));
        assert!(!stored.contains(&key.base32()) && !stored.contains(&STANDARD.encode(key.expose_bytes())));
        assert_ne!(stored, sealing.seal(&key, "user-1").unwrap(), "a fresh nonce each time");
        assert_eq!(sealing.open(&stored, "user-1").unwrap().expose_bytes(), key.expose_bytes());
        assert_eq!(sealing.open(&stored, "user-2").err(), Some(MfaKeyError::Unopenable));
        let (other, _) = MfaSealingKey::generate().unwrap();
        assert_eq!(other.open(&stored, "user-1").err(), Some(MfaKeyError::Unopenable));
        let mut altered = STANDARD.decode(&stored[3..]).unwrap();
        altered[NONCE_LEN] ^= 1;
        let altered = format!("v1.{}", STANDARD.encode(altered));
        assert_eq!(sealing.open(&altered, "user-1").err(), Some(MfaKeyError::Unopenable));
        for garbage in ["", "v1.", "v1.AAAA", "v2.abc", "not base64 at all"] {
            assert_eq!(sealing.open(garbage, "user-1").err(), Some(MfaKeyError::Unopenable), "{garbage:?}");
        }
    }

    #[test]
    fn the_data_key_must_be_32_bytes_of_base64() {
        assert_eq!(MfaSealingKey::from_base64("c2hvcnQ=").err(), Some(MfaKeyError::BadKey));
        assert_eq!(MfaSealingKey::from_base64("***").err(), Some(MfaKeyError::BadKey));
        let (_, encoded) = MfaSealingKey::generate().unwrap();
        assert!(MfaSealingKey::from_base64(&encoded).is_ok());
        assert!(!format!("{:?}", MfaSealingKey::from_base64(&encoded).unwrap()).contains(&encoded));
    }
}
