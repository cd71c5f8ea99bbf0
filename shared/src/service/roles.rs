//! Roles as data: administrators define them, assign them to accounts, and delete them once
//! nobody holds them; login and refresh resolve an account's roles into its tokens' `roles`
//! and `permissions` from a catalog each function caches for a bounded time.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::admin::Actor;
use crate::domain::{CustomClaims, Entitlements, MAX_ROLES, RoleCatalog, RoleDefinition, RoleError, RoleName, User};
use crate::error::ApiError;
use crate::events::{EventDetail, EventKind, Events};
use crate::store::{AccountStore, RevocationCheck, RoleStore};
use crate::time::UnixTime;

/// How long a function keeps the role catalog it read (`ROLE_CACHE_SECS`): a role's new
/// permissions reach a refresh within this, and its holders' tokens within this plus the
/// access-token lifetime.
pub const DEFAULT_ROLE_CACHE_SECS: u64 = 30;

/// The role catalog as a function last read it. Accounts without roles never need it.
pub struct RoleCache {
    ttl: Duration,
    cached: Mutex<Option<(Instant, Arc<RoleCatalog>)>>,
}

impl RoleCache {
    pub fn new(ttl_secs: u64) -> Self {
        Self { ttl: Duration::from_secs(ttl_secs), cached: Mutex::new(None) }
    }

    async fn catalog(&self, store: &dyn RoleStore) -> Result<Arc<RoleCatalog>, ApiError> {
        let fresh = |cached: &Option<(Instant, Arc<RoleCatalog>)>| {
            cached.as_ref().filter(|(read_at, _)| read_at.elapsed() < self.ttl).map(|(_, catalog)| catalog.clone())
        };
        if let Some(catalog) = self.cached.lock().ok().and_then(|cached| fresh(&cached)) {
            return Ok(catalog);
        }
        let catalog = Arc::new(store.role_catalog().await?);
        if let Ok(mut cached) = self.cached.lock() {
            *cached = Some((Instant::now(), catalog.clone()));
        }
        Ok(catalog)
    }

    /// What `user`'s tokens carry: its roles' names and permissions. Past the token limits
    /// (roles redefined after the assignment was checked) the permissions are cut, never
    /// widened, and the cut is logged.
    pub async fn entitlements(&self, store: &dyn RoleStore, user: &User) -> Result<Entitlements, ApiError> {
        if user.roles.is_empty() {
            return Ok(Entitlements::default());
        }
        let mut entitlements = self.catalog(store).await?.entitlements(&user.roles);
        if entitlements.fit_with(&user.claims).is_err() {
            tracing::warn!(user_id = %user.id, "the roles grant more than a token carries: permissions cut");
            while entitlements.fit_with(&user.claims).is_err() && entitlements.permissions.pop().is_some() {}
            if entitlements.fit_with(&user.claims).is_err() {
                entitlements.roles.clear();
            }
        }
        Ok(entitlements)
    }
}

impl Default for RoleCache {
    fn default() -> Self {
        Self::new(DEFAULT_ROLE_CACHE_SECS)
    }
}

/// A role as administrators see it.
pub type RoleView = RoleDefinition;

fn invalid(error: RoleError) -> ApiError {
    let field = match error {
        RoleError::BadName | RoleError::BuiltIn | RoleError::CatalogFull => "name",
        RoleError::LongDescription => "description",
        RoleError::TooManyPermissions | RoleError::BadPermission(_) => "permissions",
        RoleError::TooManyRoles | RoleError::TokenLimit | RoleError::Unknown(_) => "roles",
    };
    ApiError::validation(field, error.to_string())
}

/// Reads the catalog again when a write lost to a concurrent one, at most this often.
const ATTEMPTS: usize = 3;

/// Defines a role (new, or its description and permissions replaced), audited, as a
/// `role.updated` event. Holders' tokens carry the change from their next refresh on.
pub async fn define_role(
    store: &(impl AccountStore + RevocationCheck + RoleStore + ?Sized),
    events: &Events,
    actor: Actor<'_>,
    name: &str,
    description: &str,
    permissions: &[String],
    now: UnixTime,
) -> Result<RoleView, ApiError> {
    actor.check(store, "define_role").await?;
    let name = RoleName::parse(name).map_err(invalid)?;
    let permissions = RoleDefinition::validate(description, permissions).map_err(invalid)?;
    for _ in 0..ATTEMPTS {
        let catalog = store.role_catalog().await?;
        let existing = catalog.by_name(name.as_str());
        if existing.is_none() && catalog.roles.len() >= MAX_ROLES {
            return Err(invalid(RoleError::CatalogFull));
        }
        let role = RoleDefinition {
            id: existing.map_or_else(|| uuid::Uuid::now_v7().to_string(), |role| role.id.clone()),
            name: name.clone(),
            description: description.to_owned(),
            permissions: permissions.clone(),
            assigned: existing.map_or(0, |role| role.assigned),
            updated_ms: now.millis(),
        };
        if store.define_role(catalog.revision, &role).await? {
            tracing::info!(target: "audit", actor = %actor.id(), action = "define_role", role = %name.as_str(), permissions = role.permissions.len(), outcome = "ok");
            let changed = vec![if existing.is_some() { "permissions" } else { "created" }];
            let detail = EventDetail {
                actor: Some(actor.id().to_owned()),
                role: Some(name.as_str().to_owned()),
                changed,
                ..EventDetail::default()
            };
            events.emit(EventKind::RoleUpdated, EventDetail { outcome: "ok", ..detail }, now).await;
            return Ok(role);
        }
    }
    Err(ApiError::Conflict)
}

pub async fn list_roles(
    store: &(impl AccountStore + RevocationCheck + RoleStore + ?Sized),
    actor: Actor<'_>,
) -> Result<Vec<RoleView>, ApiError> {
    actor.check(store, "list_roles").await?;
    Ok(store.role_catalog().await?.roles)
}

pub async fn get_role(
    store: &(impl AccountStore + RevocationCheck + RoleStore + ?Sized),
    actor: Actor<'_>,
    name: &str,
) -> Result<RoleView, ApiError> {
    actor.check(store, "get_role").await?;
    store.role_catalog().await?.by_name(name).cloned().ok_or(ApiError::NotFound)
}

/// Deletes a role nobody holds (`409 conflict` while anyone does), audited, as a
/// `role.updated` event.
pub async fn delete_role(
    store: &(impl AccountStore + RevocationCheck + RoleStore + ?Sized),
    events: &Events,
    actor: Actor<'_>,
    name: &str,
    now: UnixTime,
) -> Result<(), ApiError> {
    actor.check(store, "delete_role").await?;
    let audit = |outcome: &str| {
        tracing::info!(target: "audit", actor = %actor.id(), action = "delete_role", role = %name, outcome);
    };
    for _ in 0..ATTEMPTS {
        let catalog = store.role_catalog().await?;
        let Some(role) = catalog.by_name(name) else {
            audit("not_found");
            return Err(ApiError::NotFound);
        };
        if role.assigned > 0 {
            audit("conflict_assigned");
            return Err(ApiError::Conflict);
        }
        if store.delete_role(catalog.revision, &role.id).await? {
            audit("ok");
            let detail = EventDetail {
                actor: Some(actor.id().to_owned()),
                role: Some(name.to_owned()),
                changed: vec!["deleted"],
                ..EventDetail::default()
            };
            events.emit(EventKind::RoleUpdated, EventDetail { outcome: "ok", ..detail }, now).await;
            return Ok(());
        }
    }
    Err(ApiError::Conflict)
}

/// The ids of the named roles, checked with the account's custom claims against the token limits.
pub(super) fn assignable(
    catalog: &RoleCatalog,
    names: &[String],
    claims: &CustomClaims,
) -> Result<Vec<String>, ApiError> {
    let ids = catalog.ids_of(names).map_err(invalid)?;
    catalog.entitlements(&ids).fit_with(claims).map_err(invalid)?;
    Ok(ids)
}

/// Whether new custom claims still fit beside the roles `user` holds.
pub(super) async fn claims_fit(
    store: &(impl RoleStore + ?Sized),
    user: &User,
    claims: &CustomClaims,
) -> Result<(), ApiError> {
    if user.roles.is_empty() {
        return Ok(());
    }
    let entitlements = store.role_catalog().await?.entitlements(&user.roles);
    entitlements.fit_with(claims).map_err(|_| ApiError::validation("claims", RoleError::TokenLimit.to_string()))
}
