//! A software passkey authenticator in the test process: it answers the service's options as a
//! browser with a platform authenticator would (`PublicKeyCredential.toJSON()`), with real CBOR
//! (ciborium) and real P-256 signatures (aws-lc-rs), following WebAuthn Level 3 §6.1 (the
//! authenticator data), §6.5.4 (attestation objects), §8.2 (`packed` self attestation) and
//! §8.7 (`none`). Each field the relying party checks can be made wrong, one at a time.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ciborium::Value as Cbor;
use serde_json::{Value, json};

/// How the attestation object vouches for the new key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attestation {
    None,
    /// `packed`, self attestation: signed with the credential's own key.
    PackedSelf,
}

/// What the authenticator and its browser say, each settable to test one refusal.
#[derive(Clone, Debug)]
pub struct Ceremony {
    pub origin: String,
    pub rp_id: String,
    pub user_verified: bool,
    pub attestation: Attestation,
}

impl Ceremony {
    pub fn at(origin: &str, rp_id: &str) -> Self {
        Self { origin: origin.into(), rp_id: rp_id.into(), user_verified: true, attestation: Attestation::None }
    }
}

/// One discoverable credential the authenticator holds.
pub struct SoftPasskey {
    key: EcdsaKeyPair,
    pub credential_id: Vec<u8>,
    pub user_handle: Vec<u8>,
    /// The sign counter of the last use (0: an authenticator without one).
    pub counter: u32,
    /// Backup eligible and backed up (a synced passkey).
    pub synced: bool,
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).expect("base64url from the service")
}

fn sha256(data: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data).as_ref().to_vec()
}

fn cbor(value: &Cbor) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).expect("CBOR encodes");
    out
}

fn client_data(kind: &str, challenge: &str, origin: &str) -> Vec<u8> {
    json!({ "type": kind, "challenge": challenge, "origin": origin, "crossOrigin": false }).to_string().into_bytes()
}

const UP: u8 = 0x01;
const UV: u8 = 0x04;
const BE: u8 = 0x08;
const BS: u8 = 0x10;
const AT: u8 = 0x40;

impl SoftPasskey {
    /// `navigator.credentials.create()` for the service's `{"publicKey": …}` options: the new
    /// passkey and the `RegistrationResponseJSON` to send back.
    pub fn create(options: &Value, ceremony: &Ceremony) -> (SoftPasskey, Value) {
        Self::create_as(options, ceremony, false, 1)
    }

    /// As [`SoftPasskey::create`], for a synced passkey (backup eligible and backed up) or a
    /// device-bound one, whose counter starts at `counter` (0: it never counts).
    pub fn create_as(options: &Value, ceremony: &Ceremony, synced: bool, counter: u32) -> (SoftPasskey, Value) {
        let public_key = &options["publicKey"];
        let challenge = public_key["challenge"].as_str().expect("a challenge");
        let user_handle = unb64(public_key["user"]["id"].as_str().expect("a user handle"));
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref()).unwrap();
        let credential_id = uuid::Uuid::new_v4().as_bytes().to_vec();
        let passkey = SoftPasskey { key, credential_id, user_handle, counter, synced };

        let point = passkey.key.public_key().as_ref();
        let cose_key = Cbor::Map(vec![
            (1.into(), 2.into()),    // kty: EC2
            (3.into(), (-7).into()), // alg: ES256
            ((-1).into(), 1.into()), // crv: P-256
            ((-2).into(), Cbor::Bytes(point[1..33].to_vec())),
            ((-3).into(), Cbor::Bytes(point[33..65].to_vec())),
        ]);
        let mut auth_data = passkey.auth_data_head(ceremony, AT);
        auth_data.extend_from_slice(&[0; 16]); // AAGUID: none
        auth_data.extend_from_slice(&(passkey.credential_id.len() as u16).to_be_bytes());
        auth_data.extend_from_slice(&passkey.credential_id);
        auth_data.extend_from_slice(&cbor(&cose_key));

        let client_data_json = client_data("webauthn.create", challenge, &ceremony.origin);
        let statement = match ceremony.attestation {
            Attestation::None => ("none", Cbor::Map(Vec::new())),
            Attestation::PackedSelf => {
                let signature = passkey.sign(&auth_data, &client_data_json);
                ("packed", Cbor::Map(vec![("alg".into(), (-7).into()), ("sig".into(), Cbor::Bytes(signature))]))
            }
        };
        let attestation_object = Cbor::Map(vec![
            ("fmt".into(), statement.0.into()),
            ("attStmt".into(), statement.1),
            ("authData".into(), Cbor::Bytes(auth_data)),
        ]);
        let response = json!({
            "id": b64(&passkey.credential_id),
            "rawId": b64(&passkey.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(&client_data_json),
                "attestationObject": b64(&cbor(&attestation_object)),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        });
        (passkey, response)
    }

    /// `navigator.credentials.get()` for `{"publicKey": …}` options: the
    /// `AuthenticationResponseJSON`, the counter moved on.
    pub fn assert(&mut self, options: &Value, ceremony: &Ceremony) -> Value {
        let challenge = options["publicKey"]["challenge"].as_str().expect("a challenge");
        // Moved on before each use, as CTAP2 authenticators do (one that never counts sends 0).
        if self.counter > 0 {
            self.counter += 1;
        }
        let auth_data = self.auth_data_head(ceremony, 0);
        let client_data_json = client_data("webauthn.get", challenge, &ceremony.origin);
        let signature = self.sign(&auth_data, &client_data_json);
        json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(&client_data_json),
                "authenticatorData": b64(&auth_data),
                "signature": b64(&signature),
                "userHandle": b64(&self.user_handle),
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        })
    }

    /// The RP ID hash, the flags and the sign counter (§6.1).
    fn auth_data_head(&self, ceremony: &Ceremony, extra_flags: u8) -> Vec<u8> {
        let mut flags = UP | extra_flags;
        if ceremony.user_verified {
            flags |= UV;
        }
        if self.synced {
            flags |= BE | BS;
        }
        let mut data = sha256(ceremony.rp_id.as_bytes());
        data.push(flags);
        data.extend_from_slice(&self.counter.to_be_bytes());
        data
    }

    /// ES256 over the authenticator data and the client data's hash.
    fn sign(&self, auth_data: &[u8], client_data_json: &[u8]) -> Vec<u8> {
        let mut signed = auth_data.to_vec();
        signed.extend_from_slice(&sha256(client_data_json));
        self.key.sign(&SystemRandom::new(), &signed).expect("signs").as_ref().to_vec()
    }
}
