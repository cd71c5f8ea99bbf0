//! Roles an administrator defines: a name, a description and the permissions they grant. Users
//! hold roles by id (a role's name can change without touching them); tokens carry the names
//! and the union of the permissions, resolved at login and refresh.

use std::collections::BTreeSet;

use super::{CustomClaims, Entitlements, MAX_CLAIMS_BYTES, Permission};

/// Per role, as the contract says.
pub const MAX_PERMISSIONS_PER_ROLE: usize = 100;
pub const MAX_DESCRIPTION_CHARS: usize = 500;
pub const MAX_ROLES_PER_USER: usize = 20;
/// Permissions one account's tokens may carry (the union of its roles'), and the bytes their
/// names and the roles' names may take together with the custom claims (a budget they share):
/// the access token stays well below the verifier's 4 KiB (`tokens::jws::MAX_TOKEN_BYTES`).
pub const MAX_TOKEN_PERMISSIONS: usize = 64;
pub const MAX_ENTITLEMENT_BYTES: usize = MAX_CLAIMS_BYTES;
/// Roles in one deployment: the catalog is read whole (one item), so it stays small.
pub const MAX_ROLES: usize = 200;

/// The built-in roles: not definable, always there (`Role`).
pub const BUILT_IN_ROLES: [&str; 2] = ["user", "admin"];

/// A role's name: `[a-z][a-z0-9_-]{0,63}`, not a built-in one.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RoleName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleError {
    #[error("a role name is a lowercase letter, then up to 63 of a-z, 0-9, _ and -")]
    BadName,
    #[error("user and admin are built in: they cannot be defined, assigned or deleted here")]
    BuiltIn,
    #[error("a description has at most {MAX_DESCRIPTION_CHARS} characters")]
    LongDescription,
    #[error("a role grants at most {MAX_PERMISSIONS_PER_ROLE} permissions")]
    TooManyPermissions,
    #[error("{0}")]
    BadPermission(String),
    #[error("an account holds at most {MAX_ROLES_PER_USER} roles")]
    TooManyRoles,
    #[error(
        "an account's roles may grant at most {MAX_TOKEN_PERMISSIONS} permissions, whose names with the roles' and the custom claims take at most {MAX_ENTITLEMENT_BYTES} bytes, so that its access tokens stay small"
    )]
    TokenLimit,
    #[error("no role is named {0:?}")]
    Unknown(String),
    #[error("at most {MAX_ROLES} roles")]
    CatalogFull,
}

impl RoleName {
    pub fn parse(raw: &str) -> Result<Self, RoleError> {
        let mut bytes = raw.bytes();
        let first_ok = bytes.next().is_some_and(|byte| byte.is_ascii_lowercase());
        let rest_ok =
            bytes.all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_' || byte == b'-');
        if !first_ok || !rest_ok || raw.len() > 64 {
            return Err(RoleError::BadName);
        }
        if BUILT_IN_ROLES.contains(&raw) {
            return Err(RoleError::BuiltIn);
        }
        Ok(Self(raw.to_owned()))
    }

    /// A name as stored: it was parsed when the role was defined.
    pub fn from_stored(raw: String) -> Self {
        Self(raw)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A role as an administrator defines it, and as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleDefinition {
    /// A UUIDv7, given when the role is first defined; never changes.
    pub id: String,
    pub name: RoleName,
    pub description: String,
    /// Sorted, without duplicates.
    pub permissions: Vec<Permission>,
    /// How many accounts hold the role: it is deleted only at zero.
    pub assigned: u64,
    /// Epoch milliseconds of the last definition.
    pub updated_ms: u64,
}

impl RoleDefinition {
    /// Checks a definition's parts; permissions come back sorted, each once.
    pub fn validate(description: &str, permissions: &[String]) -> Result<Vec<Permission>, RoleError> {
        if description.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(RoleError::LongDescription);
        }
        let permissions: BTreeSet<Permission> = permissions
            .iter()
            .map(|name| Permission::parse(name).map_err(|error| RoleError::BadPermission(error.to_string())))
            .collect::<Result<_, _>>()?;
        if permissions.len() > MAX_PERMISSIONS_PER_ROLE {
            return Err(RoleError::TooManyPermissions);
        }
        Ok(permissions.into_iter().collect())
    }
}

/// Every defined role, as read at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoleCatalog {
    /// Raised by every definition and deletion (not by assignments): the next write of the
    /// catalog is conditioned on it.
    pub revision: u64,
    pub roles: Vec<RoleDefinition>,
}

impl RoleCatalog {
    pub fn by_name(&self, name: &str) -> Option<&RoleDefinition> {
        self.roles.iter().find(|role| role.name.as_str() == name)
    }

    pub fn by_id(&self, id: &str) -> Option<&RoleDefinition> {
        self.roles.iter().find(|role| role.id == id)
    }

    /// The ids of the named roles, in the order given, each once; an unknown name is an error.
    pub fn ids_of(&self, names: &[String]) -> Result<Vec<String>, RoleError> {
        if names.len() > MAX_ROLES_PER_USER {
            return Err(RoleError::TooManyRoles);
        }
        let mut ids: Vec<String> = Vec::with_capacity(names.len());
        for name in names {
            let role = self.by_name(name).ok_or_else(|| match RoleName::parse(name) {
                Err(RoleError::BuiltIn) => RoleError::BuiltIn,
                _ => RoleError::Unknown(name.chars().take(64).collect()),
            })?;
            if !ids.contains(&role.id) {
                ids.push(role.id.clone());
            }
        }
        Ok(ids)
    }

    /// What holding the roles `ids` gives: their names and the union of their permissions,
    /// both sorted. A role id the catalog no longer has grants nothing.
    pub fn entitlements(&self, ids: &[String]) -> Entitlements {
        let held: Vec<&RoleDefinition> = ids.iter().filter_map(|id| self.by_id(id)).collect();
        let mut roles: Vec<String> = held.iter().map(|role| role.name.as_str().to_owned()).collect();
        roles.sort();
        let permissions: BTreeSet<&Permission> = held.iter().flat_map(|role| &role.permissions).collect();
        Entitlements { roles, permissions: permissions.into_iter().cloned().collect() }
    }
}

impl Entitlements {
    /// Whether tokens carrying these and `claims` stay within [`MAX_TOKEN_PERMISSIONS`] and the
    /// [`MAX_ENTITLEMENT_BYTES`] they share.
    pub fn fit_with(&self, claims: &CustomClaims) -> Result<(), RoleError> {
        // Each name as a JSON string with its separator: `"name",`.
        let bytes: usize = self.roles.iter().map(|role| role.len() + 3).sum::<usize>()
            + self.permissions.iter().map(|permission| permission.as_str().len() + 3).sum::<usize>();
        let claims_bytes = if claims.is_empty() { 0 } else { claims.to_json().len() };
        if self.permissions.len() > MAX_TOKEN_PERMISSIONS || bytes + claims_bytes > MAX_ENTITLEMENT_BYTES {
            return Err(RoleError::TokenLimit);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(id: &str, name: &str, permissions: &[&str]) -> RoleDefinition {
        RoleDefinition {
            id: id.into(),
            name: RoleName::parse(name).unwrap(),
            description: String::new(),
            permissions: permissions.iter().map(|name| Permission::parse(name).unwrap()).collect(),
            assigned: 0,
            updated_ms: 0,
        }
    }

    #[test]
    fn names_follow_the_grammar_and_built_ins_are_not_definable() {
        for good in ["support", "a", "billing-admin", "tier_2", &format!("a{}", "b".repeat(63))] {
            assert!(RoleName::parse(good).is_ok(), "{good}");
        }
        for bad in ["", "Support", "1st", "-x", "a b", "é", &format!("a{}", "b".repeat(64))] {
            assert_eq!(RoleName::parse(bad), Err(RoleError::BadName), "{bad:?}");
        }
        assert_eq!(RoleName::parse("admin"), Err(RoleError::BuiltIn));
        assert_eq!(RoleName::parse("user"), Err(RoleError::BuiltIn));
    }

    #[test]
    fn a_definition_is_checked_and_its_permissions_sorted_once() {
        let permissions = RoleDefinition::validate("x", &["b:read".into(), "a:read".into(), "b:read".into()]).unwrap();
        assert_eq!(permissions.iter().map(Permission::as_str).collect::<Vec<_>>(), ["a:read", "b:read"]);
        assert!(matches!(RoleDefinition::validate("", &["Bad".into()]), Err(RoleError::BadPermission(_))));
        let many: Vec<String> = (0..=MAX_PERMISSIONS_PER_ROLE).map(|n| format!("p{n}")).collect();
        assert_eq!(RoleDefinition::validate("", &many), Err(RoleError::TooManyPermissions));
        assert!(RoleDefinition::validate("", &many[..MAX_PERMISSIONS_PER_ROLE]).is_ok());
        let long = "x".repeat(MAX_DESCRIPTION_CHARS + 1);
        assert_eq!(RoleDefinition::validate(&long, &[]), Err(RoleError::LongDescription));
    }

    #[test]
    fn entitlements_are_the_union_of_the_roles_held() {
        let catalog = RoleCatalog {
            revision: 3,
            roles: vec![
                role("1", "support", &["orders:read", "users:read"]),
                role("2", "ops", &["orders:read", "orders:write"]),
            ],
        };
        let entitlements = catalog.entitlements(&["2".into(), "1".into(), "gone".into()]);
        assert_eq!(entitlements.roles, ["ops", "support"]);
        let names: Vec<&str> = entitlements.permissions.iter().map(Permission::as_str).collect();
        assert_eq!(names, ["orders:read", "orders:write", "users:read"]);
        assert_eq!(catalog.ids_of(&["ops".into(), "ops".into()]), Ok(vec!["2".into()]));
        assert_eq!(catalog.ids_of(&["nope".into()]), Err(RoleError::Unknown("nope".into())));
        assert_eq!(catalog.ids_of(&["admin".into()]), Err(RoleError::BuiltIn));
        assert_eq!(catalog.entitlements(&[]), Entitlements::default());
    }

    #[test]
    fn token_sized_entitlements_only() {
        let names = |count: usize, len: usize| -> Vec<Permission> {
            (0..count).map(|n| Permission::parse(&format!("{n:0>len$}")).unwrap()).collect()
        };
        let none = CustomClaims::default();
        let fits = Entitlements { roles: vec!["r".into()], permissions: names(MAX_TOKEN_PERMISSIONS, 4) };
        assert_eq!(fits.fit_with(&none), Ok(()));
        let too_many = Entitlements { roles: vec![], permissions: names(MAX_TOKEN_PERMISSIONS + 1, 3) };
        assert_eq!(too_many.fit_with(&none), Err(RoleError::TokenLimit));
        let too_long = Entitlements { roles: vec![], permissions: names(40, 60) };
        assert_eq!(too_long.fit_with(&none), Err(RoleError::TokenLimit));
        let filler = "x".repeat(MAX_CLAIMS_BYTES - 300);
        let big = CustomClaims::parse(serde_json::json!({ "note": filler })).unwrap();
        assert_eq!(fits.fit_with(&big), Err(RoleError::TokenLimit), "claims and permissions share a budget");
        assert_eq!(Entitlements::default().fit_with(&big), Ok(()));
    }
}
