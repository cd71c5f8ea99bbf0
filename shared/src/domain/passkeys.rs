//! Passkeys (WebAuthn credentials) as an account holds them, and the ceremonies in flight. The
//! relying party's checks (signatures, origins, the RP ID, counters) are `crate::passkeys`'s,
//! over `webauthn-rs`; this is what the service and the store agree on around them.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use webauthn_rs::prelude::Passkey;

/// Passkeys one account may hold: each adds about half a KiB to the account's item.
pub const MAX_PASSKEYS: usize = 10;
/// How long a ceremony's challenge may wait for the authenticator's answer.
pub const CEREMONY_TTL_SECS: u64 = 300;
/// The longest name the owner may give a passkey, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// The id the API names a passkey by: its credential id's SHA-256, base64url, cut to 128 bits.
/// Credential ids are up to 1,023 bytes and chosen by the authenticator; this one is short,
/// URL-safe and the same for the same credential.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PasskeyId(String);

impl PasskeyId {
    const LEN: usize = 22;

    pub fn of_credential(credential_id: &[u8]) -> Self {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, credential_id);
        let mut encoded = URL_SAFE_NO_PAD.encode(digest.as_ref());
        encoded.truncate(Self::LEN);
        Self(encoded)
    }

    /// An id as a client presents it (a path segment): `None` unless it has the shape of one.
    pub fn parse(raw: &str) -> Option<Self> {
        let shaped = raw.len() == Self::LEN
            && raw.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
        shaped.then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A name for a passkey: trimmed, 1 to 64 characters, no control characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasskeyName(String);

impl PasskeyName {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let name = raw.trim();
        if name.is_empty() {
            return Err("must not be empty");
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err("must be at most 64 characters");
        }
        if name.chars().any(char::is_control) {
            return Err("must not contain control characters");
        }
        Ok(Self(name.to_owned()))
    }

    /// What a passkey added without a name is called.
    pub fn default_name() -> Self {
        Self("Passkey".to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One passkey of an account: the credential (public key, sign counter, backup flags) as
/// `webauthn-rs` keeps it, and the text it was stored as — a use rewrites it only if it is still
/// that text, so two sign-ins with one counter value cannot both pass.
#[derive(Clone, Debug)]
pub struct StoredPasskey {
    pub id: PasskeyId,
    pub name: String,
    /// Epoch seconds.
    pub created_at: u64,
    pub last_used_at: Option<u64>,
    pub key: Passkey,
    pub key_as_stored: String,
}

impl PartialEq for StoredPasskey {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
            && self.name == other.name
            && self.created_at == other.created_at
            && self.last_used_at == other.last_used_at
            && self.key_as_stored == other.key_as_stored
    }
}

impl Eq for StoredPasskey {}

impl StoredPasskey {
    /// A passkey as a registration made it, named and created `now`.
    pub fn new(key: Passkey, name: PasskeyName, created_at: u64) -> Result<Self, serde_json::Error> {
        let key_as_stored = serde_json::to_string(&key)?;
        Ok(Self {
            id: PasskeyId::of_credential(key.cred_id().as_ref()),
            name: name.0,
            created_at,
            last_used_at: None,
            key,
            key_as_stored,
        })
    }

    /// A passkey as stored: `None` when the credential text does not read back.
    pub fn from_stored(
        id: String,
        name: String,
        created_at: u64,
        last_used_at: Option<u64>,
        key_as_stored: String,
    ) -> Option<Self> {
        let key = serde_json::from_str(&key_as_stored).ok()?;
        Some(Self { id: PasskeyId(id), name, created_at, last_used_at, key, key_as_stored })
    }

    /// Whether the credential may live on more than one device (a synced passkey): its sign-in
    /// is a software-held key (`swk`), a device-bound one a hardware-held key (`hwk`).
    pub fn backup_eligible(&self) -> bool {
        credential_flags(&self.key_as_stored).0
    }

    /// Whether it is backed up (synced) now, as its last use said.
    pub fn backed_up(&self) -> bool {
        credential_flags(&self.key_as_stored).1
    }
}

/// The backup flags of a stored credential (its JSON): `webauthn-rs` keeps them but shows them
/// only with its `danger-credential-internals` feature.
fn credential_flags(stored: &str) -> (bool, bool) {
    #[derive(serde::Deserialize)]
    struct Flags {
        #[serde(default)]
        backup_eligible: bool,
        #[serde(default)]
        backup_state: bool,
    }
    #[derive(serde::Deserialize)]
    struct Stored {
        cred: Flags,
    }
    serde_json::from_str::<Stored>(stored)
        .map_or((false, false), |stored| (stored.cred.backup_eligible, stored.cred.backup_state))
}

/// A use of a passkey that checked out, as the write that starts the session spends it: the
/// credential rewritten (new counter, backup flags) only if still as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasskeyUse {
    pub passkey_id: PasskeyId,
    pub key_as_read: String,
    pub key_after: String,
    /// Epoch seconds.
    pub used_at: u64,
}

/// What a ceremony's challenge is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CeremonyPurpose {
    /// Adding a passkey to this account, started in this credential epoch (a credential event
    /// meanwhile voids it).
    Registration { user_id: String, credential_epoch: u64 },
    /// Signing in with any passkey (discoverable credentials).
    SignIn,
}

/// A ceremony in flight: `webauthn-rs`'s state for its challenge, stored server-side (never in
/// a cookie) under the challenge's digest, single use, for five minutes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ceremony {
    pub challenge_digest: String,
    pub purpose: CeremonyPurpose,
    /// The state as JSON.
    pub state: String,
    /// Epoch seconds; the TTL.
    pub expires_at: u64,
}

/// The store key of a challenge: its bytes' SHA-256, hex.
pub fn challenge_digest(challenge: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, challenge);
    digest.as_ref().iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A passkey over webauthn-rs's own test credential, for other modules' tests.
#[cfg(test)]
pub(crate) fn test_passkey(id: &str, name: &str) -> StoredPasskey {
    StoredPasskey::from_stored(id.into(), name.into(), 10, None, tests::CREDENTIAL.into())
        .expect("the credential reads back")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passkey_id_is_the_same_for_the_same_credential_and_parses_only_in_shape() {
        let id = PasskeyId::of_credential(b"credential-1");
        assert_eq!(id, PasskeyId::of_credential(b"credential-1"));
        assert_ne!(id, PasskeyId::of_credential(b"credential-2"));
        assert_eq!(id.as_str().len(), 22);
        assert_eq!(PasskeyId::parse(id.as_str()), Some(id.clone()));
        assert_eq!(PasskeyId::parse(&id.as_str()[1..]), None);
        assert_eq!(PasskeyId::parse("aaaaaaaaaaaaaaaaaaaa/a"), None);
    }

    #[test]
    fn names_are_trimmed_bounded_and_printable() {
        assert_eq!(PasskeyName::parse("  Laptop  ").unwrap().as_str(), "Laptop");
        assert!(PasskeyName::parse("   ").is_err());
        assert!(PasskeyName::parse(&"é".repeat(64)).is_ok());
        assert!(PasskeyName::parse(&"é".repeat(65)).is_err());
        assert!(PasskeyName::parse("a\nb").is_err());
    }

    #[test]
    fn a_challenge_is_keyed_by_its_sha256_so_two_never_share_a_key() {
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(challenge_digest(b"abc"), abc);
        assert_ne!(challenge_digest(b"challenge-1"), challenge_digest(b"challenge-2"));
    }

    /// A credential as webauthn-rs 0.6 stores it (the P-256 key of its own `core.rs` tests).
    pub(super) const CREDENTIAL: &str = r#"{"cred":{"cred_id":"uZcVDBVS68E_MtAgeQpElJxldF_6cY9sSvbWqx_qRh8wiu42lyRBRmh5yFeD_r9k130dMbFHBHI9RTFgdJQIzQ","cred":{"type_":"ES256","key":{"EC_EC2":{"curve":"SECP256R1","x":[194,126,127,109,252,23,131,21,252,6,223,99,44,254,140,27,230,17,94,5,133,28,104,41,144,69,171,149,161,26,200,243],"y":[143,123,183,156,24,178,21,248,117,159,162,69,171,52,188,252,26,59,6,47,103,92,19,58,117,103,249,0,219,8,95,196]}}},"counter":2,"user_verified":false,"backup_eligible":false,"backup_state":false,"registration_policy":"preferred","extensions":{"cred_protect":"NotRequested","hmac_create_secret":"NotRequested"},"attestation":{"data":"None","metadata":"None"},"attestation_format":"None"}}"#;

    fn stored(name: &str, last_used_at: Option<u64>) -> StoredPasskey {
        StoredPasskey::from_stored("id-1".into(), name.into(), 10, last_used_at, CREDENTIAL.into())
            .expect("the credential reads back")
    }

    #[test]
    fn a_stored_passkey_reads_back_only_from_a_credential_and_equals_only_itself() {
        let passkey = stored("Laptop", Some(20));
        assert_eq!(passkey, stored("Laptop", Some(20)));
        assert_eq!(passkey.key_as_stored, CREDENTIAL);
        assert_eq!(passkey.id, PasskeyId("id-1".into()), "the id as stored, not recomputed");
        assert!(StoredPasskey::from_stored("id".into(), "n".into(), 1, None, "{}".into()).is_none());
        let differing = [
            StoredPasskey { id: PasskeyId("id-2".into()), ..passkey.clone() },
            StoredPasskey { name: "Phone".into(), ..passkey.clone() },
            StoredPasskey { created_at: 11, ..passkey.clone() },
            StoredPasskey { last_used_at: None, ..passkey.clone() },
            StoredPasskey { key_as_stored: format!("{} ", passkey.key_as_stored), ..passkey.clone() },
        ];
        for other in differing {
            assert_ne!(passkey, other);
        }
    }

    #[test]
    fn backup_flags_read_from_the_stored_credential() {
        let stored = r#"{"cred":{"backup_eligible":true,"backup_state":false}}"#;
        assert_eq!(credential_flags(stored), (true, false));
        assert_eq!(credential_flags("{}"), (false, false));
    }
}
