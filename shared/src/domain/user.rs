use serde::{Deserialize, Serialize};

use super::{AuthMethods, CustomClaims, Email, LinkedIdentity, StoredPasskey};
use crate::time::UnixTime;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "user" => Some(Role::User),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// Whether a holder of this role may use a route that requires `required`.
    pub fn satisfies(self, required: Role) -> bool {
        self >= required
    }
}

/// An account as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// A UUIDv7: unique, and in creation order when sorted as text.
    pub id: String,
    pub email: Email,
    /// `None`: the account signs in another way (a linked identity, a passkey); no password
    /// proves anything for it.
    pub password_hash: Option<String>,
    pub role: Role,
    pub disabled: bool,
    /// Epoch seconds.
    pub created_at: u64,
    /// Every session created at or before this epoch-millisecond instant is revoked
    /// (global logout, and later password change, disable and role change).
    pub sessions_valid_after_ms: u64,
    /// How many sessions logins have started: a password change commits only if none started
    /// since it read the account, so no session from a stale credential check survives it.
    pub sessions_started: u64,
    /// Whether the owner proved the address (a verification link, or a reset mailed to it).
    pub email_verified: bool,
    /// When the newest password-reset token was issued (epoch ms): only that one works.
    pub latest_reset_ms: Option<u64>,
    /// The second factor, once an enrolment is confirmed.
    pub mfa: Option<MfaFactor>,
    /// What an administrator added to the account's access tokens.
    pub claims: CustomClaims,
    /// The roles an administrator defined and assigned (ids, see `RoleCatalog`).
    pub roles: Vec<String>,
    /// How many credential events the account has had (see [`User::credentials_changed`]).
    /// Every one-time token, pending MFA enrolment and `mfa_token` records the epoch it was
    /// issued in and is spent only while the account is still in it.
    pub credential_epoch: u64,
    /// The upstream accounts (one per provider) that sign in to this one.
    pub identities: Vec<LinkedIdentity>,
    /// The passkeys that sign in to it (at most `MAX_PASSKEYS`).
    pub passkeys: Vec<StoredPasskey>,
}

/// An account's TOTP factor as stored: the key sealed (never in the clear), the newest step a
/// code was accepted for (a code works once), and the digests of the unused recovery codes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MfaFactor {
    pub sealed_key: String,
    pub last_used_step: Option<u64>,
    pub recovery_digests: Vec<String>,
}

impl User {
    /// A new, enabled account with a password, created `now`, with a fresh UUIDv7 id.
    pub fn new(email: Email, password_hash: String, role: Role, now: UnixTime) -> Self {
        Self { password_hash: Some(password_hash), ..Self::without_password(email, role, now) }
    }

    /// A new, enabled account that has no password (it signs in another way).
    pub fn without_password(email: Email, role: Role, now: UnixTime) -> Self {
        Self {
            id: uuid::Uuid::now_v7().to_string(),
            email,
            password_hash: None,
            role,
            disabled: false,
            created_at: now.secs(),
            sessions_valid_after_ms: 0,
            sessions_started: 0,
            email_verified: false,
            latest_reset_ms: None,
            mfa: None,
            claims: CustomClaims::default(),
            roles: Vec::new(),
            credential_epoch: 0,
            identities: Vec::new(),
            passkeys: Vec::new(),
        }
    }

    /// How many ways in the account has: a password, each linked identity, each passkey. The
    /// last one may not be removed.
    pub fn ways_to_sign_in(&self) -> usize {
        usize::from(self.password_hash.is_some()) + self.identities.len() + self.passkeys.len()
    }

    pub fn passkey(&self, id: &super::PasskeyId) -> Option<&StoredPasskey> {
        self.passkeys.iter().find(|passkey| &passkey.id == id)
    }

    /// A credential event: a password change or reset, an email change, MFA turned on or off,
    /// the first proof of the address, a disable, a role change, a sign-out everywhere. It voids
    /// every grant issued before it that is not a session (one-time tokens, enrolments,
    /// challenges); the store makes the same step in the event's own write.
    pub fn credentials_changed(&mut self) {
        self.credential_epoch += 1;
    }

    /// Whether something issued in `epoch` may still be spent: no credential event since.
    pub fn unchanged_since(&self, epoch: u64) -> bool {
        self.credential_epoch == epoch
    }
}

/// One login's refresh-token family. Rotation replaces `current_jti`; any other token of the
/// family presented later is a replay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    pub user_id: String,
    pub current_jti: String,
    /// Epoch milliseconds; compared with [`User::sessions_valid_after_ms`].
    pub created_ms: u64,
    /// Epoch seconds at which the session's newest refresh token expires (the TTL attribute).
    pub expires_at: u64,
    /// Epoch seconds of the login that started the session.
    pub auth_time: u64,
    /// The token `current_jti` replaced, and when (epoch ms): within the reuse grace period it
    /// may be presented once more (two tabs, a retry after a lost response).
    pub previous_jti: Option<String>,
    pub rotated_ms: u64,
    /// Whether the grace presentation of `previous_jti` has been spent.
    pub grace_used: bool,
    /// Epoch milliseconds of the login or the latest refresh.
    pub last_used_ms: u64,
    /// The client as the login or the latest refresh saw it.
    pub seen_from: SeenFrom,
    /// How its sign-in proved who it was: every token of the session says so (`amr`).
    pub methods: AuthMethods,
    /// The provider, when the session signed in with another's account.
    pub idp: Option<String>,
}

/// The client a session was last used from, as the owner sees it in the session list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeenFrom {
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

impl SeenFrom {
    /// Stored at most this many bytes of a `User-Agent`: the session item stays within one
    /// DynamoDB write unit (1 KiB), so a refresh costs one.
    pub const MAX_USER_AGENT_BYTES: usize = 256;

    /// The header as given, without control characters, cut on a character boundary.
    pub fn new(user_agent: Option<&str>, ip: Option<std::net::IpAddr>) -> Self {
        let user_agent = user_agent
            .map(|raw| {
                let mut kept = String::new();
                for character in raw.trim().chars().filter(|character| !character.is_control()) {
                    if kept.len() + character.len_utf8() > Self::MAX_USER_AGENT_BYTES {
                        break;
                    }
                    kept.push(character);
                }
                kept
            })
            .filter(|kept| !kept.is_empty());
        Self { user_agent, ip: ip.map(|ip| ip.to_string()) }
    }
}

impl Session {
    /// A session as a login starts it.
    pub fn new(id: String, user_id: String, current_jti: String, created_ms: u64, expires_at: u64) -> Self {
        Self {
            id,
            user_id,
            current_jti,
            created_ms,
            expires_at,
            auth_time: created_ms / 1000,
            previous_jti: None,
            rotated_ms: 0,
            grace_used: false,
            last_used_ms: created_ms,
            seen_from: SeenFrom::default(),
            methods: AuthMethods::password(),
            idp: None,
        }
    }
}

/// How long sessions live and how forgiving rotation is.
#[cfg(test)]
mod tests {
    use super::SeenFrom;
    use super::{Role, User};
    use crate::domain::{Email, LinkedIdentity, PasskeyId, test_passkey};
    use crate::time::UnixTime;

    #[test]
    fn an_admin_may_use_a_users_route_and_not_the_other_way_round() {
        assert!(Role::User.satisfies(Role::User));
        assert!(!Role::User.satisfies(Role::Admin));
        assert!(Role::Admin.satisfies(Role::Admin));
        assert!(Role::Admin.satisfies(Role::User));
    }

    #[test]
    fn ways_in_count_the_password_each_identity_and_each_passkey() {
        let identity = |provider: &str| LinkedIdentity {
            provider: provider.into(),
            subject: "s".into(),
            email: None,
            linked_at: 1,
        };
        let mut user = User::new(Email::parse("a@example.com").unwrap(), "hash".into(), Role::User, UnixTime::now());
        assert_eq!(user.ways_to_sign_in(), 1);
        user.identities = vec![identity("op"), identity("github")];
        let ids = [b"k1", b"k2", b"k3", b"k4"].map(|credential| PasskeyId::of_credential(credential));
        user.passkeys = vec![
            test_passkey(ids[0].as_str(), "Laptop"),
            test_passkey(ids[1].as_str(), "Phone"),
            test_passkey(ids[2].as_str(), "Key"),
        ];
        assert_eq!(user.ways_to_sign_in(), 6);
        user.password_hash = None;
        assert_eq!(user.ways_to_sign_in(), 5);
        assert_eq!(user.passkey(&ids[1]).map(|passkey| passkey.name.as_str()), Some("Phone"));
        assert!(user.passkey(&ids[3]).is_none());
    }

    #[test]
    fn a_user_agent_is_cut_on_a_character_boundary_without_control_characters() {
        let long = "é".repeat(200);
        let seen = SeenFrom::new(Some(&long), None);
        assert_eq!(seen.user_agent.as_deref(), Some("é".repeat(128).as_str()));
        let seen = SeenFrom::new(Some(" curl/8\u{1b}[31m\n "), "192.0.2.7".parse().ok());
        assert_eq!(seen.user_agent.as_deref(), Some("curl/8[31m"));
        assert_eq!(seen.ip.as_deref(), Some("192.0.2.7"));
        assert_eq!(SeenFrom::new(Some(" \t"), None).user_agent, None);
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionPolicy {
    /// How long after a rotation the just-spent refresh token is accepted once more, answering
    /// with the session's current token instead of treating it as reuse. 0 disables.
    pub reuse_grace_secs: u64,
}

impl SessionPolicy {
    /// Two tabs or a retried request present the same token within moments of each other.
    pub const DEFAULT_REUSE_GRACE_SECS: u64 = 10;
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self { reuse_grace_secs: Self::DEFAULT_REUSE_GRACE_SECS }
    }
}
