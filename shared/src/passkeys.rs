//! The WebAuthn relying party, over `webauthn-rs` (kanidm's, pure Rust since 0.6): the options a
//! ceremony sends the browser, and the checks of what comes back — the challenge, the origin,
//! the RP ID hash, user verification, the signature, the sign counter. Configured by
//! `WEBAUTHN_RP_ID`, `WEBAUTHN_RP_NAME` and `WEBAUTHN_ORIGINS` (`config/passkeys.rs`).

use serde_json::Value;
pub use webauthn_rs::prelude::Url;
use webauthn_rs::prelude::{
    AuthenticationResult, DiscoverableAuthentication, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, Uuid, Webauthn, WebauthnBuilder, WebauthnError,
};
use webauthn_rs_proto::{ResidentKeyRequirement, UserVerificationPolicy};

use crate::domain::passkeys::{PasskeyUse, challenge_digest};
use crate::domain::{StoredPasskey, User};
use crate::error::ApiError;

/// Options for the browser, and the ceremony's state to keep until its answer comes.
pub struct CeremonyStart {
    /// `{"publicKey": …}`, as `PublicKeyCredential.parse*OptionsFromJSON` reads it.
    pub options: Value,
    /// `webauthn-rs`'s state as JSON.
    pub state: String,
    pub challenge_digest: String,
}

/// Why an answer was refused. Only the logs see the reason.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("{0}")]
    Invalid(WebauthnError),
    /// The sign counter did not move forward: the credential may have been cloned.
    #[error("the sign counter went backwards")]
    CounterWentBack,
    #[error("the ceremony state does not read back: {0}")]
    State(String),
}

impl From<WebauthnError> for Refusal {
    fn from(error: WebauthnError) -> Self {
        match error {
            WebauthnError::CredentialPossibleCompromise => Refusal::CounterWentBack,
            other => Refusal::Invalid(other),
        }
    }
}

/// The relying party, or none: passkeys are off when its configuration cannot work (the
/// defaults name an RP ID that the origin cannot use), and their routes answer `404`.
pub struct RelyingParty {
    webauthn: Option<Webauthn>,
}

impl RelyingParty {
    /// A relying party for `rp_id`, answering only `origins` (each the RP ID or a subdomain).
    pub fn new(rp_id: &str, rp_name: &str, origins: &[Url]) -> Result<Self, String> {
        let (first, rest) = origins.split_first().ok_or("no origin")?;
        let mut builder = WebauthnBuilder::new(rp_id, first)
            .map_err(|_| format!("{first} cannot use the RP ID {rp_id:?} (its host must be it or end in .{rp_id})"))?
            .rp_name(rp_name);
        for origin in rest {
            if !origin.domain().is_some_and(|host| host == rp_id || host.ends_with(&format!(".{rp_id}"))) {
                return Err(format!("{origin} cannot use the RP ID {rp_id:?}"));
            }
            builder = builder.append_allowed_origin(origin);
        }
        let webauthn = builder.build().map_err(|error| error.to_string())?;
        Ok(Self { webauthn: Some(webauthn) })
    }

    pub fn off() -> Self {
        Self { webauthn: None }
    }

    pub fn is_on(&self) -> bool {
        self.webauthn.is_some()
    }

    fn webauthn(&self) -> Result<&Webauthn, ApiError> {
        self.webauthn.as_ref().ok_or(ApiError::NotFound)
    }

    /// Adding a passkey to `user`: a discoverable credential (resident key required, so it
    /// signs in without an address), user verification required, the account's own passkeys
    /// excluded.
    pub fn registration_options(&self, user: &User) -> Result<CeremonyStart, ApiError> {
        let user_handle = Uuid::parse_str(&user.id).map_err(|_| ApiError::Internal)?;
        let exclude = user.passkeys.iter().map(|passkey| passkey.key.cred_id().clone()).collect();
        let email = user.email.as_str();
        let (mut options, state) =
            self.webauthn()?.start_passkey_registration(user_handle, email, email, Some(exclude)).map_err(internal)?;
        let selection = options.public_key.authenticator_selection.get_or_insert_with(Default::default);
        selection.resident_key = Some(ResidentKeyRequirement::Required);
        selection.require_resident_key = true;
        selection.user_verification = UserVerificationPolicy::Required;
        let challenge_digest = challenge_digest(&options.public_key.challenge);
        start(&options, &state, challenge_digest)
    }

    pub fn finish_registration(&self, response: &RegisterPublicKeyCredential, state: &str) -> Result<Passkey, Refusal> {
        let state: PasskeyRegistration = read_state(state)?;
        Ok(self.checker()?.finish_passkey_registration(response, &state)?)
    }

    /// The relying party for checking an answer (whose options it gave, so it is on).
    fn checker(&self) -> Result<&Webauthn, Refusal> {
        self.webauthn.as_ref().ok_or(Refusal::Invalid(WebauthnError::Configuration))
    }

    /// Signing in with any of the browser's passkeys for this site (autofill included).
    pub fn sign_in_options(&self) -> Result<CeremonyStart, ApiError> {
        let (mut options, state) = self.webauthn()?.start_discoverable_authentication().map_err(internal)?;
        // The page chooses autofill (conditional mediation) or a button; the options fit both.
        options.mediation = None;
        let challenge_digest = challenge_digest(&options.public_key.challenge);
        start(&options, &state, challenge_digest)
    }

    /// A login's second step with one of the account's passkeys.
    pub fn second_factor_options(&self, passkeys: &[StoredPasskey]) -> Result<CeremonyStart, ApiError> {
        let keys: Vec<Passkey> = passkeys.iter().map(|passkey| passkey.key.clone()).collect();
        let (options, state) = self.webauthn()?.start_passkey_authentication(&keys).map_err(internal)?;
        let challenge_digest = challenge_digest(&options.public_key.challenge);
        start(&options, &state, challenge_digest)
    }

    /// Checks a sign-in's assertion with the passkey it names; the use to store on success.
    pub fn finish_sign_in(
        &self,
        response: &PublicKeyCredential,
        state: &str,
        passkey: &StoredPasskey,
        now_secs: u64,
    ) -> Result<PasskeyUse, Refusal> {
        let state: DiscoverableAuthentication = read_state(state)?;
        let result = self.checker()?.finish_discoverable_authentication_v2(response, state, &passkey.key)?;
        used(passkey, &result, now_secs)
    }

    /// Checks a second step's assertion with the passkey it names.
    pub fn finish_second_factor(
        &self,
        response: &PublicKeyCredential,
        state: &str,
        passkey: &StoredPasskey,
        now_secs: u64,
    ) -> Result<PasskeyUse, Refusal> {
        let state: PasskeyAuthentication = read_state(state)?;
        let result = self.checker()?.finish_passkey_authentication(response, &state)?;
        if result.cred_id() != passkey.key.cred_id() {
            return Err(Refusal::Invalid(WebauthnError::CredentialNotFound));
        }
        used(passkey, &result, now_secs)
    }
}

fn start<O: serde::Serialize, S: serde::Serialize>(
    options: &O,
    state: &S,
    challenge_digest: String,
) -> Result<CeremonyStart, ApiError> {
    Ok(CeremonyStart {
        options: serde_json::to_value(options).map_err(internal)?,
        state: serde_json::to_string(state).map_err(internal)?,
        challenge_digest,
    })
}

fn read_state<S: serde::de::DeserializeOwned>(state: &str) -> Result<S, Refusal> {
    serde_json::from_str(state).map_err(|error| Refusal::State(error.to_string()))
}

fn used(passkey: &StoredPasskey, result: &AuthenticationResult, now_secs: u64) -> Result<PasskeyUse, Refusal> {
    let mut key = passkey.key.clone();
    key.update_credential(result);
    let key_after = serde_json::to_string(&key).map_err(|error| Refusal::State(error.to_string()))?;
    Ok(PasskeyUse {
        passkey_id: passkey.id.clone(),
        key_as_read: passkey.key_as_stored.clone(),
        key_after,
        used_at: now_secs,
    })
}

/// The store key of the challenge an answer signed, read from its client data: where its
/// ceremony's state is. `None` when the client data is not JSON with a base64url challenge.
pub fn answered_challenge(client_data_json: &[u8]) -> Option<String> {
    use base64::Engine;
    #[derive(serde::Deserialize)]
    struct ClientData {
        challenge: String,
    }
    let data: ClientData = serde_json::from_slice(client_data_json).ok()?;
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(data.challenge).ok()?;
    Some(challenge_digest(&challenge))
}

/// The account an assertion's user handle names (the account id the registration gave).
pub fn user_handle(response: &PublicKeyCredential) -> Option<String> {
    let handle = response.get_user_unique_id()?;
    Uuid::from_slice(handle).ok().map(|id| id.to_string())
}

fn internal(error: impl std::fmt::Display) -> ApiError {
    tracing::error!(reason = %error, "passkey ceremony failed to start");
    ApiError::Internal
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(raw: &str) -> Url {
        Url::parse(raw).unwrap()
    }

    #[test]
    fn the_origins_must_be_able_to_use_the_rp_id() {
        assert!(RelyingParty::new("example.com", "Example", &[url("https://app.example.com")]).is_ok());
        assert!(RelyingParty::new("localhost", "Local", &[url("http://localhost:8080")]).is_ok());
        let foreign = RelyingParty::new("auth.example.com", "Example", &[url("https://app.example.com")]);
        assert!(foreign.err().unwrap().contains("auth.example.com"));
        let second = [url("https://example.com"), url("https://evil-example.com")];
        assert!(RelyingParty::new("example.com", "Example", &second).is_err());
        assert!(RelyingParty::new("example.com", "Example", &[]).is_err());
    }

    #[test]
    fn the_answered_challenge_is_read_from_the_client_data() {
        let data = br#"{"type":"webauthn.get","challenge":"AAEC","origin":"https://example.com"}"#;
        assert_eq!(answered_challenge(data), Some(challenge_digest(&[0, 1, 2])));
        assert_eq!(answered_challenge(b"{\"challenge\":\"*\"}"), None);
        assert_eq!(answered_challenge(b"not json"), None);
    }
}
