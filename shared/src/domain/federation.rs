//! Signing in with another provider's account (OpenID Connect, GitHub, Apple): the identities an
//! account links, the short-lived state of an upstream login, the one-time login code the app
//! trades for tokens, and the rules that decide which account an upstream identity reaches.

use aws_lc_rs::constant_time::verify_slices_are_equal;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::{Email, User};

/// How long the browser has from `authorize` to the provider's callback.
pub const UPSTREAM_LOGIN_TTL_SECS: u64 = 600;
/// How long the app has to trade a login code for tokens.
pub const LOGIN_CODE_TTL_SECS: u64 = 60;

/// A configured provider's id, as it appears in paths and the `idp` claim.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ProviderId(String);

impl ProviderId {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let mut bytes = raw.bytes();
        let first_ok = bytes.next().is_some_and(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit());
        let rest_ok =
            bytes.all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-' || byte == b'_');
        if first_ok && rest_ok && raw.len() <= 32 {
            Ok(Self(raw.to_owned()))
        } else {
            Err("must match [a-z0-9][a-z0-9_-]{0,31}")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ProviderId {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// An upstream account linked to an account here: at most one per provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkedIdentity {
    pub provider: String,
    /// The provider's stable id of the user (`sub`; GitHub's numeric id).
    pub subject: String,
    /// The address the provider gave when it was linked, for the owner's list only.
    pub email: Option<String>,
    /// Epoch seconds.
    pub linked_at: u64,
}

/// Who the provider says signed in, after every check of its answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpstreamIdentity {
    pub provider: ProviderId,
    pub subject: String,
    pub email: Option<Email>,
    /// Only an explicit assertion counts: a provider that says nothing has not verified it.
    pub email_verified: bool,
}

impl UpstreamIdentity {
    pub fn linked(&self, now_secs: u64) -> LinkedIdentity {
        LinkedIdentity {
            provider: self.provider.as_str().to_owned(),
            subject: self.subject.clone(),
            email: self.email.as_ref().map(|email| email.as_str().to_owned()),
            linked_at: now_secs,
        }
    }
}

/// `OAUTH_AUTO_LINK`: whether an upstream identity may join an existing account with its address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AutoLink {
    /// Only when the provider asserts the address verified and the account proved it too.
    #[default]
    Verified,
    Never,
}

/// Why an upstream sign-in reaches no account; each is the `#error=` the app is sent back with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FederationRefusal {
    /// An account has the address, and linking it was not safe: sign in as before, then link.
    AccountExists,
    AccountDisabled,
    /// The provider gave no address to make an account with.
    AccessDenied,
}

impl FederationRefusal {
    pub fn code(self) -> &'static str {
        match self {
            FederationRefusal::AccountExists => "account_exists",
            FederationRefusal::AccountDisabled => "account_disabled",
            FederationRefusal::AccessDenied => "access_denied",
        }
    }
}

/// Which account an upstream sign-in reaches.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolution {
    /// The identity is linked to this account.
    SignIn(Box<User>),
    /// Nobody has the identity or the address: a new account, without a password.
    Create,
    /// The account with the address, which the identity joins (both sides verified it).
    Link(Box<User>),
    Refused(FederationRefusal),
}

/// The contract's account-resolution rules. `linked` is the account the identity is linked to;
/// `by_email` the account holding the provider's address. Pre-hijacking is why an address match
/// needs both sides verified: an unverified provider address (anyone can type one) must never
/// reach an account, and an account whose address was never proved may be someone else's
/// placeholder waiting for the real owner.
pub fn resolve(
    identity: &UpstreamIdentity,
    linked: Option<User>,
    by_email: Option<User>,
    auto_link: AutoLink,
) -> Resolution {
    if let Some(user) = linked {
        return if user.disabled {
            Resolution::Refused(FederationRefusal::AccountDisabled)
        } else {
            Resolution::SignIn(Box::new(user))
        };
    }
    if identity.email.is_none() {
        return Resolution::Refused(FederationRefusal::AccessDenied);
    }
    let Some(user) = by_email else { return Resolution::Create };
    let provider = identity.provider.as_str();
    let safe = auto_link == AutoLink::Verified
        && identity.email_verified
        && user.email_verified
        // One identity per provider: another of the same provider is not this person's to add.
        && !user.identities.iter().any(|linked| linked.provider == provider);
    match (safe, user.disabled) {
        (true, true) => Resolution::Refused(FederationRefusal::AccountDisabled),
        (true, false) => Resolution::Link(Box::new(user)),
        (false, _) => Resolution::Refused(FederationRefusal::AccountExists),
    }
}

/// What an upstream login started: signing in, or linking the provider to a signed-in account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FlowMode {
    SignIn,
    /// The account as it was when the owner asked: a credential event since voids the link.
    Link {
        user_id: String,
        credential_epoch: u64,
    },
}

/// An upstream login in flight, stored under the digest of its `state` until the callback (or
/// its TTL) ends it. It holds what must not travel through the browser.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpstreamLogin {
    pub state_digest: String,
    pub provider: String,
    /// The digest of the `__Host-` cookie set with the redirect: the callback must come from
    /// the browser that started.
    pub browser_digest: String,
    pub nonce: String,
    /// Our PKCE verifier towards the provider.
    pub upstream_verifier: String,
    /// Where the app is sent back to (on the allowlist).
    pub redirect_uri: String,
    /// The app's PKCE challenge (S256) for the login code, in link mode absent.
    pub code_challenge: Option<String>,
    pub mode: FlowMode,
    /// Epoch seconds.
    pub expires_at: u64,
}

/// A one-time login code: what the app trades, with its PKCE verifier, for the session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginCode {
    pub digest: String,
    pub user_id: String,
    pub provider: String,
    pub code_challenge: String,
    /// The account as resolved: a credential event before the trade voids the code.
    pub credential_epoch: u64,
    /// Epoch seconds.
    pub expires_at: u64,
}

/// RFC 7636 S256: whether `verifier` (43–128 unreserved characters) hashes to `challenge`.
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let shaped = (43..=128).contains(&verifier.len())
        && verifier.bytes().all(|byte| byte.is_ascii_alphanumeric() || b"-._~".contains(&byte));
    shaped && verify_slices_are_equal(pkce_challenge(verifier).as_bytes(), challenge.as_bytes()).is_ok()
}

/// The S256 challenge of a verifier.
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes()))
}

/// Whether `challenge` can be an S256 challenge: 43 base64url characters.
pub fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43 && challenge.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

/// `OAUTH_REDIRECT_URIS`: the app URIs a sign-in may end at, compared exactly (no prefix, no
/// pattern: an open redirect would hand login codes to anyone).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RedirectAllowlist(Vec<String>);

impl RedirectAllowlist {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let uris: Vec<String> =
            raw.split(',').map(str::trim).filter(|uri| !uri.is_empty()).map(str::to_owned).collect();
        for uri in &uris {
            let absolute = uri.starts_with("https://") || uri.starts_with("http://");
            if !absolute || uri.contains('#') {
                return Err(format!("{uri:?} must be an absolute http(s) URI without a fragment"));
            }
        }
        Ok(Self(uris))
    }

    /// The first registered URI: where a link started from the page returns by default.
    pub fn first(&self) -> Option<&str> {
        self.0.first().map(String::as_str)
    }

    pub fn allows(&self, uri: &str) -> bool {
        self.0.iter().any(|allowed| allowed == uri)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Role;
    use crate::time::UnixTime;

    fn user(verified: bool) -> User {
        let user = User::without_password(Email::parse("ada@example.com").unwrap(), Role::User, UnixTime::now());
        User { email_verified: verified, ..user }
    }

    fn identity(email: Option<&str>, verified: bool) -> UpstreamIdentity {
        UpstreamIdentity {
            provider: ProviderId::parse("google").unwrap(),
            subject: "1234".into(),
            email: email.map(|email| Email::parse(email).unwrap()),
            email_verified: verified,
        }
    }

    #[test]
    fn an_address_match_links_only_when_both_sides_verified_it() {
        let verified = identity(Some("ada@example.com"), true);
        assert!(matches!(resolve(&verified, None, Some(user(true)), AutoLink::Verified), Resolution::Link(_)));
        for (identity, account) in
            [(identity(Some("ada@example.com"), false), user(true)), (verified.clone(), user(false))]
        {
            let resolution = resolve(&identity, None, Some(account), AutoLink::Verified);
            assert_eq!(resolution, Resolution::Refused(FederationRefusal::AccountExists));
        }
        let never = resolve(&verified, None, Some(user(true)), AutoLink::Never);
        assert_eq!(never, Resolution::Refused(FederationRefusal::AccountExists));
        let disabled = User { disabled: true, ..user(true) };
        assert_eq!(
            resolve(&verified, None, Some(disabled), AutoLink::Verified),
            Resolution::Refused(FederationRefusal::AccountDisabled)
        );
        let other_google = User { identities: vec![verified.linked(1)], ..user(true) };
        let another = UpstreamIdentity { subject: "999".into(), ..verified.clone() };
        assert_eq!(
            resolve(&another, None, Some(other_google), AutoLink::Verified),
            Resolution::Refused(FederationRefusal::AccountExists)
        );
    }

    #[test]
    fn a_linked_identity_signs_in_and_an_unknown_one_makes_an_account_when_it_has_an_address() {
        let known = identity(Some("other@example.com"), false);
        assert!(matches!(resolve(&known, Some(user(false)), None, AutoLink::Never), Resolution::SignIn(_)));
        let disabled = User { disabled: true, ..user(true) };
        assert_eq!(
            resolve(&known, Some(disabled), None, AutoLink::Verified),
            Resolution::Refused(FederationRefusal::AccountDisabled)
        );
        assert_eq!(resolve(&known, None, None, AutoLink::Verified), Resolution::Create);
        assert_eq!(
            resolve(&identity(None, true), None, None, AutoLink::Verified),
            Resolution::Refused(FederationRefusal::AccessDenied)
        );
    }

    #[test]
    fn pkce_is_s256_over_a_well_formed_verifier() {
        // RFC 7636 appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert_eq!(pkce_challenge(verifier), challenge);
        assert!(pkce_matches(verifier, challenge) && is_s256_challenge(challenge));
        assert!(!pkce_matches("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK", challenge));
        assert!(!pkce_matches("short", &pkce_challenge("short")));
        assert!(!is_s256_challenge("plain-challenge"));
    }

    #[test]
    fn redirect_uris_match_exactly() {
        let list = RedirectAllowlist::parse("https://app.example.com/cb, http://localhost:3000/").unwrap();
        assert!(list.allows("https://app.example.com/cb") && list.allows("http://localhost:3000/"));
        for uri in [
            "https://app.example.com/cb/",
            "https://app.example.com/cb?x=1",
            "https://app.example.com",
            "https://evil.example/cb",
        ] {
            assert!(!list.allows(uri), "{uri}");
        }
        assert!(RedirectAllowlist::parse("javascript:alert(1)").is_err());
        assert!(RedirectAllowlist::parse("https://a.example/#frag").is_err());
        assert!(
            ProviderId::parse("google").is_ok()
                && ProviderId::parse("Google").is_err()
                && ProviderId::parse("").is_err()
        );
        assert_eq!(list.first(), Some("https://app.example.com/cb"));
        assert_eq!(RedirectAllowlist::default().first(), None);
    }

    #[test]
    fn provider_ids_are_path_safe_and_print_as_given() {
        let longest = "x".repeat(32);
        for good in ["a", "9", "entra-id", "google_workspace", "a-b_c9", longest.as_str()] {
            let id = ProviderId::parse(good).unwrap_or_else(|reason| panic!("{good}: {reason}"));
            assert_eq!((id.as_str(), id.to_string().as_str()), (good, good));
        }
        let too_long = "x".repeat(33);
        for bad in ["-a", "_a", "a.b", "a b", "a/b", "é", too_long.as_str()] {
            assert!(ProviderId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn refusals_are_the_contracts_fragment_codes() {
        let codes =
            [FederationRefusal::AccountExists, FederationRefusal::AccountDisabled, FederationRefusal::AccessDenied]
                .map(FederationRefusal::code);
        assert_eq!(codes, ["account_exists", "account_disabled", "access_denied"]);
    }

    #[test]
    fn an_s256_challenge_is_43_base64url_characters() {
        assert!(is_s256_challenge(&format!("{}-_", "A".repeat(41))));
        assert!(!is_s256_challenge(&format!("{}+/", "A".repeat(41))), "base64, not base64url");
        assert!(!is_s256_challenge(&"A".repeat(42)) && !is_s256_challenge(&"A".repeat(44)));
    }
}
