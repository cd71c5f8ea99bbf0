//! One account as a line of the import and export files (contract v3, "Import, migration,
//! export"): `email`, `email_verified`, `role`, `roles`, `claims`, `created_at`,
//! `password_hash`, and what an export adds so that nothing is lost on the way back in: `id`
//! (the `sub` of its tokens), `disabled`, `mfa` (the TOTP key still sealed), `identities` and
//! `passkeys`. Unknown fields are refused: a misspelt one would otherwise be lost silently.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::domain::{
    CustomClaims, Email, LinkedIdentity, MfaFactor, PasskeyId, PasskeyName, ProviderId, Role, RoleCatalog, StoredHash,
    StoredPasskey, User,
};
use crate::time::UnixTime;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountLine {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub email: String,
    #[serde(default)]
    pub email_verified: bool,
    #[serde(default = "user_role")]
    pub role: String,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub claims: Map<String, Value>,
    /// RFC 3339 in UTC (`…Z`), or epoch seconds; absent: the time of the import.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa: Option<MfaLine>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identities: Vec<IdentityLine>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub passkeys: Vec<PasskeyLine>,
}

/// The TOTP factor as the account holds it: the key sealed with the deployment's MFA sealing
/// key (it opens only where that key is), and the digests of the unused recovery codes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MfaLine {
    pub totp_sealed: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_step: Option<u64>,
    #[serde(default)]
    pub recovery_digests: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityLine {
    pub provider: String,
    pub subject: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub linked_at: u64,
}

/// A passkey: its public key and counter as webauthn-rs stores them (`credential`), bound to
/// the relying party (`WEBAUTHN_RP_ID`) it was made for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasskeyLine {
    pub id: String,
    pub name: String,
    pub created_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<u64>,
    pub credential: String,
}

fn user_role() -> String {
    Role::User.as_str().to_owned()
}

impl AccountLine {
    /// The line of an account, roles by name (a role since deleted grants nothing, and is left out).
    pub fn of(user: &User, catalog: &RoleCatalog) -> Self {
        let mfa = user.mfa.as_ref().map(|mfa| MfaLine {
            totp_sealed: mfa.sealed_key.clone(),
            last_used_step: mfa.last_used_step,
            recovery_digests: mfa.recovery_digests.clone(),
        });
        let identities = user
            .identities
            .iter()
            .map(|identity| IdentityLine {
                provider: identity.provider.clone(),
                subject: identity.subject.clone(),
                email: identity.email.clone(),
                linked_at: identity.linked_at,
            })
            .collect();
        let passkeys = user
            .passkeys
            .iter()
            .map(|passkey| PasskeyLine {
                id: passkey.id.as_str().to_owned(),
                name: passkey.name.clone(),
                created_at: passkey.created_at,
                last_used_at: passkey.last_used_at,
                credential: passkey.key_as_stored.clone(),
            })
            .collect();
        let instant = std::time::UNIX_EPOCH + std::time::Duration::from_secs(user.created_at);
        Self {
            id: Some(user.id.clone()),
            email: user.email.as_str().to_owned(),
            email_verified: user.email_verified,
            role: user.role.as_str().to_owned(),
            roles: catalog.entitlements(&user.roles).roles,
            claims: user.claims.as_map().clone(),
            created_at: Some(Value::String(humantime::format_rfc3339_seconds(instant).to_string())),
            password_hash: user.password_hash.clone(),
            disabled: user.disabled,
            mfa,
            identities,
            passkeys,
        }
    }

    /// The account this line describes, every field checked; the refusal names what is wrong.
    pub fn into_user(self, catalog: &RoleCatalog, now: UnixTime) -> Result<User, String> {
        let email = Email::parse(&self.email).map_err(|reason| format!("email {reason}"))?;
        let role = Role::parse(&self.role).ok_or("role must be \"user\" or \"admin\"")?;
        let roles = catalog.ids_of(&self.roles).map_err(|error| format!("roles: {error}"))?;
        let claims = CustomClaims::parse(Value::Object(self.claims)).map_err(|reason| format!("claims: {reason}"))?;
        catalog.entitlements(&roles).fit_with(&claims).map_err(|error| format!("roles and claims: {error}"))?;
        let created_at = match &self.created_at {
            None => now.secs(),
            Some(value) => created_at(value, now)?,
        };
        if let Some(hash) = &self.password_hash {
            let parsed = StoredHash::parse(hash).map_err(|error| format!("password_hash: {error}"))?;
            parsed.within_login_bounds().map_err(|error| format!("password_hash: {error}"))?;
        }
        let id = match &self.id {
            Some(raw) => uuid::Uuid::try_parse(raw).map_err(|_| "id must be a UUID")?,
            None => uuid::Uuid::new_v7(uuid::Timestamp::from_unix(uuid::NoContext, created_at, 0)),
        };
        let mut user = User::without_password(email, role, UnixTime::from_secs(created_at));
        user.id = id.hyphenated().to_string();
        user.password_hash = self.password_hash;
        user.email_verified = self.email_verified;
        user.disabled = self.disabled;
        user.roles = roles;
        user.claims = claims;
        user.mfa = self.mfa.map(MfaLine::into_factor).transpose()?;
        user.identities = self.identities.into_iter().map(IdentityLine::into_identity).collect::<Result<_, _>>()?;
        let mut providers: Vec<&str> = user.identities.iter().map(|identity| identity.provider.as_str()).collect();
        providers.sort_unstable();
        if providers.windows(2).any(|pair| pair[0] == pair[1]) {
            return Err("identities: at most one per provider".into());
        }
        if self.passkeys.len() > crate::domain::passkeys::MAX_PASSKEYS {
            return Err(format!("passkeys: at most {}", crate::domain::passkeys::MAX_PASSKEYS));
        }
        user.passkeys = self.passkeys.into_iter().map(PasskeyLine::into_passkey).collect::<Result<_, _>>()?;
        Ok(user)
    }
}

fn created_at(value: &Value, now: UnixTime) -> Result<u64, String> {
    const MESSAGE: &str = "created_at must be RFC 3339 in UTC (2024-05-01T12:00:00Z) or epoch seconds";
    let secs = match value {
        Value::Number(number) => number.as_u64().ok_or(MESSAGE)?,
        Value::String(text) => humantime::parse_rfc3339(text)
            .ok()
            .and_then(|instant| instant.duration_since(std::time::UNIX_EPOCH).ok())
            .ok_or(MESSAGE)?
            .as_secs(),
        _ => return Err(MESSAGE.into()),
    };
    if secs > now.secs() + 86_400 {
        return Err("created_at is in the future".into());
    }
    Ok(secs)
}

impl MfaLine {
    fn into_factor(self) -> Result<MfaFactor, String> {
        let digest_shaped = |digest: &String| digest.len() == 64 && digest.bytes().all(|byte| byte.is_ascii_hexdigit());
        if self.totp_sealed.is_empty() || self.totp_sealed.len() > 1024 {
            return Err("mfa.totp_sealed must be the sealed key an export wrote".into());
        }
        if !self.recovery_digests.iter().all(digest_shaped) {
            return Err("mfa.recovery_digests must be SHA-256 digests in hex".into());
        }
        Ok(MfaFactor {
            sealed_key: self.totp_sealed,
            last_used_step: self.last_used_step,
            recovery_digests: self.recovery_digests,
        })
    }
}

impl IdentityLine {
    fn into_identity(self) -> Result<LinkedIdentity, String> {
        ProviderId::parse(&self.provider).map_err(|reason| format!("identities.provider {reason}"))?;
        if self.subject.is_empty() || self.subject.len() > 255 {
            return Err("identities.subject must be 1 to 255 bytes".into());
        }
        Ok(LinkedIdentity {
            provider: self.provider,
            subject: self.subject,
            email: self.email,
            linked_at: self.linked_at,
        })
    }
}

impl PasskeyLine {
    fn into_passkey(self) -> Result<StoredPasskey, String> {
        PasskeyId::parse(&self.id).ok_or("passkeys.id must be the id an export wrote")?;
        PasskeyName::parse(&self.name).map_err(|reason| format!("passkeys.name {reason}"))?;
        StoredPasskey::from_stored(self.id, self.name, self.created_at, self.last_used_at, self.credential)
            .ok_or_else(|| "passkeys: a credential does not read as a webauthn-rs passkey".into())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn read(line: Value) -> Result<User, String> {
        let line: AccountLine = serde_json::from_value(line).map_err(|error| error.to_string())?;
        line.into_user(&RoleCatalog::default(), UnixTime::from_secs(1_800_000_000))
    }

    #[test]
    fn a_minimal_line_is_an_unverified_user_created_now_with_a_time_ordered_id() {
        let user = read(json!({"email": "Ada@Example.com"})).unwrap();
        assert_eq!(user.email.as_str(), "ada@example.com");
        assert_eq!(
            (user.role, user.email_verified, user.disabled, user.created_at),
            (Role::User, false, false, 1_800_000_000)
        );
        assert_eq!(user.password_hash, None);
        let older = read(json!({"email": "old@example.com", "created_at": "2020-01-01T00:00:00Z"})).unwrap();
        assert_eq!(older.created_at, 1_577_836_800);
        assert!(older.id < user.id, "UUIDv7 from created_at: ids sort as the accounts were made");
        assert_eq!(
            read(json!({"email": "n@example.com", "created_at": 1_600_000_000})).unwrap().created_at,
            1_600_000_000
        );
    }

    #[test]
    fn every_field_is_checked_and_the_refusal_names_it() {
        let refusals = [
            (json!({"email": "not an address"}), "email "),
            (json!({"email": "a@example.com", "role": "root"}), "role must be"),
            (json!({"email": "a@example.com", "roles": ["editor"]}), "roles: no role is named \"editor\""),
            (json!({"email": "a@example.com", "claims": {"sub": "x"}}), "claims: key \"sub\" is reserved"),
            (json!({"email": "a@example.com", "created_at": "yesterday"}), "created_at must be RFC 3339"),
            (
                json!({"email": "a@example.com", "created_at": "2024-01-01T00:00:00+02:00"}),
                "created_at must be RFC 3339",
            ),
            (json!({"email": "a@example.com", "created_at": 1_900_000_000}), "created_at is in the future"),
            (
                json!({"email": "a@example.com", "password_hash": "md5$abc"}),
                "password_hash: unknown password hash format",
            ),
            (json!({"email": "a@example.com", "id": "42"}), "id must be a UUID"),
            (json!({"email": "a@example.com", "mfa": {"totp_sealed": "", "recovery_digests": []}}), "mfa.totp_sealed"),
            (
                json!({"email": "a@example.com", "mfa": {"totp_sealed": "k", "recovery_digests": ["nothex"]}}),
                "mfa.recovery_digests",
            ),
            (
                json!({"email": "a@example.com", "identities": [{"provider": "Google!", "subject": "1", "linked_at": 1}]}),
                "identities.provider",
            ),
            (
                json!({"email": "a@example.com", "identities": [
                    {"provider": "google", "subject": "1", "linked_at": 1}, {"provider": "google", "subject": "2", "linked_at": 1}]}),
                "identities: at most one per provider",
            ),
            (
                json!({"email": "a@example.com", "passkeys": [{"id": "x", "name": "n", "created_at": 1, "credential": "{}"}]}),
                "passkeys.id",
            ),
            (json!({"email": "a@example.com", "emailverified": true}), "unknown field `emailverified`"),
        ];
        for (line, expected) in refusals {
            let refusal = read(line.clone()).unwrap_err();
            assert!(refusal.contains(expected), "{line}: {refusal}");
            assert!(!refusal.contains("md5$abc"), "a refusal never repeats the hash");
        }
    }

    #[test]
    fn the_bounds_hold_at_their_edges() {
        let base = |extra: Value| {
            let mut line = json!({"email": "a@example.com"});
            line.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            read(line)
        };
        let now = 1_800_000_000u64;
        assert!(base(json!({"created_at": now + 86_400})).is_ok(), "a day ahead: clocks differ");
        assert!(base(json!({"created_at": now + 86_401})).unwrap_err().contains("future"));
        let mfa =
            |sealed: String, digest: String| json!({"mfa": {"totp_sealed": sealed, "recovery_digests": [digest]}});
        let digest = "ab".repeat(32);
        assert!(base(mfa("k".repeat(1024), digest.clone())).is_ok());
        assert!(base(mfa("k".repeat(1025), digest.clone())).unwrap_err().contains("totp_sealed"));
        assert!(
            base(mfa("k".into(), "ab".repeat(31) + "a")).unwrap_err().contains("recovery_digests"),
            "63 characters"
        );
        assert!(base(mfa("k".into(), "zz".repeat(32))).unwrap_err().contains("recovery_digests"), "64, not hex");
        let identity =
            |subject: String| json!({"identities": [{"provider": "google", "subject": subject, "linked_at": 1}]});
        assert!(base(identity("s".repeat(255))).is_ok());
        assert!(base(identity("s".repeat(256))).unwrap_err().contains("subject"));
        assert!(base(identity(String::new())).unwrap_err().contains("subject"));
        let passkeys = |count: usize| {
            let one = json!({"id": "x", "name": "n", "created_at": 1, "credential": "{}"});
            json!({"passkeys": vec![one; count]})
        };
        assert_eq!(base(passkeys(11)).unwrap_err(), "passkeys: at most 10");
        assert!(base(passkeys(10)).unwrap_err().contains("passkeys.id"), "ten are allowed: each is then checked");
    }

    #[test]
    fn an_account_s_line_reads_back_as_the_same_account() {
        let mut user = read(json!({
            "email": "ada@example.com", "email_verified": true, "role": "admin", "claims": {"tenant": "t-1"},
            "created_at": "2024-05-01T12:00:00Z", "password_hash": "$2b$04$9sicPNg48CFVDv7zObOSbe8UpPHPQTEYxkWqkMNhgO2ozkk5HdiRK",
            "disabled": true, "mfa": {"totp_sealed": "sealed-key", "last_used_step": 5, "recovery_digests": ["ab".repeat(32)]},
            "identities": [{"provider": "google", "subject": "1234", "email": "ada@gmail.com", "linked_at": 1_700_000_000}]
        }))
        .unwrap();
        user.sessions_valid_after_ms = 0;
        let line = AccountLine::of(&user, &RoleCatalog::default());
        assert_eq!(line.id.as_deref(), Some(user.id.as_str()));
        assert_eq!(line.created_at, Some(json!("2024-05-01T12:00:00Z")));
        let again = serde_json::to_value(&line).unwrap();
        assert_eq!(read(again).unwrap(), user);
    }
}
