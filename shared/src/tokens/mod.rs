//! Access and refresh tokens: what they carry, how they are issued and how they are checked.

pub mod algorithm;
mod binding;
mod claims;
pub mod device;
pub mod jws;
pub mod keys;
pub mod signing;

pub use claims::{AccessClaims, RefreshClaims};

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::domain::{AuthMethods, Entitlements, User};
use crate::time::UnixTime;
pub use algorithm::Algorithm;
pub use binding::{CsrfBinding, CsrfMismatch, Rebinding};
pub use keys::{KeyError, VerifyingKeys, ephemeral_ed25519};
pub use signing::{SignError, SigningKey};

/// RFC 9068 §2.1: access tokens are typed so they cannot pass for another kind of JWT.
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";
/// Refresh tokens get their own type (and audience) so neither kind passes for the other.
pub const REFRESH_TOKEN_TYPE: &str = "rt+jwt";

/// What both signers and verifiers agree on.
#[derive(Clone, Debug)]
pub struct TokenSettings {
    pub issuer: String,
    pub audience: String,
    pub access_ttl_secs: u64,
    pub refresh_ttl_secs: u64,
    /// Absolute session lifetime from its login, whatever the rotations.
    pub session_max_age_secs: u64,
    pub leeway_secs: u64,
}

impl TokenSettings {
    /// The documented defaults (README's configuration table) for this issuer and audience.
    pub fn with_defaults(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            access_ttl_secs: 900,
            refresh_ttl_secs: 604_800,
            session_max_age_secs: 30 * 86_400,
            leeway_secs: 5,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token is invalid")]
    Invalid,
    #[error("token has expired")]
    Expired,
}

/// The refresh token a session is about to hold.
#[derive(Clone, Debug)]
pub struct RefreshGrant {
    pub session_id: String,
    pub jti: String,
    /// Epoch seconds.
    pub expires_at: u64,
    /// Epoch seconds of the login that started the session.
    pub auth_time: u64,
    /// What both tokens' `csrf` claim binds them to. Set only where cookies carry the tokens:
    /// with body transport no request is ever admitted by cookie, so no CSRF check would read
    /// the claim, and leaving it out keeps those tokens byte for byte what they were.
    pub csrf: Option<CsrfBinding>,
    /// How the session's sign-in proved who it was (the tokens' `amr`).
    pub methods: AuthMethods,
    /// The provider of a federated sign-in (the tokens' `idp`).
    pub idp: Option<String>,
}

impl RefreshGrant {
    /// The same grant, its tokens bound to `csrf`.
    pub fn bound_to(self, csrf: Option<CsrfBinding>) -> Self {
        Self { csrf, ..self }
    }

    /// The same grant, for a session whose sign-in used `methods`.
    pub fn with_methods(self, methods: AuthMethods) -> Self {
        Self { methods, ..self }
    }

    /// The same grant, for a session that signed in with provider `idp`.
    pub fn with_idp(self, idp: Option<String>) -> Self {
        Self { idp, ..self }
    }
}

/// A freshly signed access + refresh token pair.
pub struct IssuedTokens {
    pub access_token: String,
    pub access_claims: AccessClaims,
    pub refresh_token: String,
    pub refresh_claims: RefreshClaims,
}

pub struct TokenIssuer {
    settings: TokenSettings,
    key: SigningKey,
    /// The base64url JOSE header of each token kind, encoded once: it never changes.
    access_header: String,
    refresh_header: String,
}

impl TokenIssuer {
    pub fn new(settings: TokenSettings, key: SigningKey) -> Self {
        let access_header = encoded_header(&key, ACCESS_TOKEN_TYPE);
        let refresh_header = encoded_header(&key, REFRESH_TOKEN_TYPE);
        Self { settings, key, access_header, refresh_header }
    }

    pub fn settings(&self) -> &TokenSettings {
        &self.settings
    }

    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// The refresh token a new or rotated session will hold, chosen before signing so that the
    /// store write that creates or rotates the session can name it.
    pub fn next_refresh(&self, session_id: String, now: UnixTime) -> RefreshGrant {
        self.continue_session(session_id, now.secs(), now)
    }

    /// The next refresh token of a session that started at `auth_time`: it expires after the
    /// refresh lifetime, but never past the session's absolute lifetime.
    pub fn continue_session(&self, session_id: String, auth_time: u64, now: UnixTime) -> RefreshGrant {
        let settings = &self.settings;
        let expires_at = (now.secs() + settings.refresh_ttl_secs).min(auth_time + settings.session_max_age_secs);
        RefreshGrant {
            session_id,
            jti: new_token_id(),
            expires_at,
            auth_time,
            csrf: None,
            methods: AuthMethods::password(),
            idp: None,
        }
    }

    /// Signs a pair for `user`; the refresh token is the one `grant` describes.
    pub fn issue(
        &self,
        user: &User,
        entitlements: &Entitlements,
        grant: &RefreshGrant,
        now: UnixTime,
    ) -> Result<IssuedTokens, SignError> {
        let settings = &self.settings;
        let csrf = grant.csrf.as_ref().map(|binding| binding.as_str().to_owned());
        let access_claims = AccessClaims {
            iss: settings.issuer.clone(),
            sub: user.id.clone(),
            aud: settings.audience.clone(),
            exp: now.secs() + settings.access_ttl_secs,
            iat: now.secs(),
            jti: new_token_id(),
            client_id: settings.audience.clone(),
            sid: grant.session_id.clone(),
            email: user.email.as_str().to_owned(),
            email_verified: user.email_verified,
            role: user.role,
            amr: grant.methods.amr(),
            roles: entitlements.roles.clone(),
            permissions: entitlements.permissions.clone(),
            idp: grant.idp.clone(),
            csrf: csrf.clone(),
            custom: user.claims.as_map().clone(),
        };
        let refresh_claims = RefreshClaims {
            iss: settings.issuer.clone(),
            sub: user.id.clone(),
            aud: settings.issuer.clone(),
            exp: grant.expires_at,
            iat: now.secs(),
            jti: grant.jti.clone(),
            sid: grant.session_id.clone(),
            auth_time: grant.auth_time,
            amr: grant.methods.amr(),
            idp: grant.idp.clone(),
            csrf,
        };
        Ok(IssuedTokens {
            access_token: self.sign(&self.access_header, &access_claims)?,
            access_claims,
            refresh_token: self.sign(&self.refresh_header, &refresh_claims)?,
            refresh_claims,
        })
    }

    /// The compact JWS, built in one buffer with the key parsed at init. Its bytes are those
    /// `jsonwebtoken::encode` makes (the tests compare): clients and gateways have seen no change.
    fn sign<T: Serialize>(&self, encoded_header: &str, claims: &T) -> Result<String, SignError> {
        let claims_json = serde_json::to_vec(claims)?;
        // header . claims . signature (at most 64 bytes: 86 characters).
        let capacity = encoded_header.len() + 2 + (claims_json.len() * 4).div_ceil(3) + 86;
        let mut token = String::with_capacity(capacity);
        token.push_str(encoded_header);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&claims_json, &mut token);
        let signature = self.key.sign(token.as_bytes())?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut token);
        Ok(token)
    }
}

/// The JOSE header of issued tokens. Member order and omissions are those of
/// `jsonwebtoken::Header`, which signed the tokens before, so headers stay byte-identical.
#[derive(Serialize)]
struct IssuedHeader<'a> {
    typ: &'a str,
    alg: Algorithm,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<&'a str>,
}

/// The header for this key and token type, base64url.
fn encoded_header(key: &SigningKey, typ: &str) -> String {
    let header = IssuedHeader { typ, alg: key.algorithm, kid: key.kid.as_deref() };
    // A header of strings always serialises.
    let json = serde_json::to_vec(&header).expect("a JOSE header serialises to JSON");
    URL_SAFE_NO_PAD.encode(json)
}

pub fn new_token_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Checks tokens with pinned keys and validates every claim this service relies on.
pub struct TokenVerifier {
    settings: TokenSettings,
    keys: VerifyingKeys,
    verified_access: VerifiedAccessTokens,
}

/// The registered claims every token kind carries, checked before the kind's own claims.
#[derive(Deserialize)]
struct RegisteredClaims<'a> {
    /// Borrowed from the payload unless it holds escapes: no allocation on the common path.
    #[serde(borrow)]
    iss: Cow<'a, str>,
    /// Always one string here: this service issues exactly one audience per token kind.
    #[serde(borrow)]
    aud: Cow<'a, str>,
    exp: u64,
    iat: Option<u64>,
    nbf: Option<u64>,
}

/// The claims whose check depends on the time of use.
#[derive(Clone, Copy)]
struct TokenTimes {
    exp: u64,
    iat: Option<u64>,
    nbf: Option<u64>,
}

impl TokenVerifier {
    pub fn new(settings: TokenSettings, keys: VerifyingKeys) -> Self {
        Self { settings, keys, verified_access: VerifiedAccessTokens::default() }
    }

    /// The last instant (epoch seconds) at which a token expiring at `exp` still verifies: a
    /// revocation entry must last that long.
    pub fn accepted_until(&self, exp: u64) -> u64 {
        exp.saturating_add(self.settings.leeway_secs)
    }

    pub fn keys(&self) -> &VerifyingKeys {
        &self.keys
    }

    pub fn settings(&self) -> &TokenSettings {
        &self.settings
    }

    /// An access token is typically presented many times in its life (every API call), so the
    /// part of its check that cannot change (signature, type, issuer, audience, claim shapes) is
    /// remembered for the tokens that passed it; the times are checked on every call, in the
    /// same order, so the answer is always the one a full check would give.
    pub fn verify_access(&self, token: &str, now: UnixTime) -> Result<AccessClaims, TokenError> {
        let digest = (token.len() <= jws::MAX_TOKEN_BYTES).then(|| VerifiedAccessTokens::digest(token));
        if let Some((times, claims)) = digest.as_ref().and_then(|digest| self.verified_access.get(digest)) {
            self.check_times(times, now)?;
            return Ok(claims);
        }
        let (claims, times) = self.verify(token, ACCESS_TOKEN_TYPE, &self.settings.audience, now)?;
        if let Some(digest) = digest {
            self.verified_access.insert(digest, times, &claims, now, self.settings.leeway_secs);
        }
        Ok(claims)
    }

    /// Refresh tokens are spent once: nothing is remembered.
    pub fn verify_refresh(&self, token: &str, now: UnixTime) -> Result<RefreshClaims, TokenError> {
        self.verify(token, REFRESH_TOKEN_TYPE, &self.settings.issuer, now).map(|(claims, _)| claims)
    }

    fn verify<T: serde::de::DeserializeOwned>(
        &self,
        token: &str,
        typ: &str,
        audience: &str,
        now: UnixTime,
    ) -> Result<(T, TokenTimes), TokenError> {
        let jws = jws::verify_compact(token, &self.keys).map_err(|_| TokenError::Invalid)?;
        if !jws.header.typ.as_deref().is_some_and(|found| found.eq_ignore_ascii_case(typ)) {
            return Err(TokenError::Invalid);
        }
        let registered: RegisteredClaims = serde_json::from_slice(&jws.payload).map_err(|_| TokenError::Invalid)?;
        if registered.iss != self.settings.issuer || registered.aud != audience {
            return Err(TokenError::Invalid);
        }
        let times = TokenTimes { exp: registered.exp, iat: registered.iat, nbf: registered.nbf };
        self.check_times(times, now)?;
        let claims = serde_json::from_slice(&jws.payload).map_err(|_| TokenError::Invalid)?;
        Ok((claims, times))
    }

    fn check_times(&self, times: TokenTimes, now: UnixTime) -> Result<(), TokenError> {
        let now = now.secs();
        let leeway = self.settings.leeway_secs;
        if times.iat.is_some_and(|iat| iat > now.saturating_add(leeway))
            || times.nbf.is_some_and(|nbf| nbf > now.saturating_add(leeway))
        {
            return Err(TokenError::Invalid);
        }
        if times.exp.saturating_add(leeway) <= now {
            return Err(TokenError::Expired);
        }
        Ok(())
    }
}

/// Access tokens that passed the time-independent checks, by SHA-256 of the token (so a lookup
/// compares digests, never token bytes), at most [`VerifiedAccessTokens::CAPACITY`] of them.
/// Only tokens this verifier's keys signed get in: garbage cannot fill it.
#[derive(Default)]
struct VerifiedAccessTokens {
    entries: Mutex<HashMap<[u8; 32], (TokenTimes, AccessClaims)>>,
}

impl VerifiedAccessTokens {
    /// About 0.5 KiB each: a few hundred KiB at most.
    const CAPACITY: usize = 1024;

    fn digest(token: &str) -> [u8; 32] {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
        let mut bytes = [0; 32];
        bytes.copy_from_slice(digest.as_ref());
        bytes
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], (TokenTimes, AccessClaims)>> {
        // Nothing panics while the lock is held; if something did, the map is still consistent.
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn get(&self, digest: &[u8; 32]) -> Option<(TokenTimes, AccessClaims)> {
        self.lock().get(digest).cloned()
    }

    fn insert(&self, digest: [u8; 32], times: TokenTimes, claims: &AccessClaims, now: UnixTime, leeway: u64) {
        let mut entries = self.lock();
        if entries.len() >= Self::CAPACITY {
            entries.retain(|_, (times, _)| times.exp.saturating_add(leeway) > now.secs());
            if entries.len() >= Self::CAPACITY {
                entries.clear();
            }
        }
        entries.insert(digest, (times, claims.clone()));
    }
}

#[cfg(test)]
mod attack_tests;
#[cfg(test)]
mod edge_tests;
#[cfg(test)]
pub(crate) mod tests;
