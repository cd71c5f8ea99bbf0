//! Recovery codes: ten, shown once at enrolment, each 80 random bits written as four groups of
//! base32 (`abcd-efgh-ijkl-mnop`). High-entropy, so a SHA-256 digest is enough at rest (as for
//! the one-time tokens); a code is spent by removing its digest in a conditional write.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use secrecy::{ExposeSecret, SecretString};

use crate::domain::one_time::sha256_hex;

pub const RECOVERY_CODE_COUNT: usize = 10;
const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// A fresh set of codes: the plaintext for the user, once, and their digests for the store.
pub struct RecoveryCodes {
    codes: Vec<SecretString>,
}

impl RecoveryCodes {
    pub fn generate() -> Result<Self, aws_lc_rs::error::Unspecified> {
        let random = SystemRandom::new();
        let mut codes = Vec::with_capacity(RECOVERY_CODE_COUNT);
        for _ in 0..RECOVERY_CODE_COUNT {
            // 16 characters of 5 bits each; a byte's top 3 bits are dropped.
            let mut bytes = [0u8; 16];
            random.fill(&mut bytes)?;
            let characters: Vec<char> =
                bytes.iter().map(|byte| char::from(ALPHABET[usize::from(byte & 0x1f)])).collect();
            let groups: Vec<String> = characters.chunks(4).map(|group| group.iter().collect()).collect();
            codes.push(SecretString::from(groups.join("-")));
        }
        Ok(Self { codes })
    }

    /// The codes, to show the user once.
    pub fn expose(&self) -> Vec<String> {
        self.codes.iter().map(|code| code.expose_secret().to_owned()).collect()
    }

    pub fn digests(&self) -> Vec<String> {
        self.codes.iter().filter_map(|code| recovery_code_digest(code.expose_secret())).collect()
    }
}

/// The stored digest of a presented code, case, spaces and dashes aside; `None` when it cannot
/// be one (so garbage costs nothing further).
pub fn recovery_code_digest(presented: &str) -> Option<String> {
    let normalised: String = presented
        .chars()
        .filter(|character| !character.is_whitespace() && *character != '-')
        .map(|character| character.to_ascii_lowercase())
        .collect();
    let shaped = normalised.len() == 16 && normalised.bytes().all(|byte| ALPHABET.contains(&byte));
    shaped.then(|| sha256_hex(&normalised))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_distinct_codes_whose_digests_match_however_they_are_typed() {
        let codes = RecoveryCodes::generate().unwrap();
        let shown = codes.expose();
        let digests = codes.digests();
        assert_eq!((shown.len(), digests.len()), (10, 10));
        let mut unique = shown.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 10);
        for (code, digest) in shown.iter().zip(&digests) {
            assert_eq!(code.len(), 19, "{code}");
            assert!(!digest.contains(code.as_str()));
            assert_eq!(recovery_code_digest(code).as_ref(), Some(digest));
            let typed = format!(" {} ", code.to_uppercase().replace('-', " "));
            assert_eq!(recovery_code_digest(&typed).as_ref(), Some(digest), "{typed:?}");
        }
        for garbage in ["", "abcd-efgh", "abcd-efgh-ijkl-mnop-qrst", "abcd-efgh-ijkl-mno1", "ünïc-ödee-ünïc-ödee"]
        {
            assert_eq!(recovery_code_digest(garbage), None, "{garbage:?}");
        }
    }
}
