//! Administration: list, read, change and disable accounts. Every action writes an audit line.

use super::roles::{assignable, claims_fit};
use crate::domain::{Email, Entitlements, Principal, Role, User};
use crate::error::ApiError;
use crate::events::{EventDetail, EventKind, Events};
use crate::store::{
    AccessTokenRef, AccountStore, RevocationCheck, RoleAssignment, RoleStore, StoreError, UserChanges, UserPage,
    UserSummary,
};
use crate::time::UnixTime;

/// The authorizer already refused other roles by the token's claim; the actor is read again
/// here, so an admin demoted or disabled since the token was issued has no admin power left,
/// and a mistake in the route table or the template cannot open an admin route. The token
/// itself must still stand in the store, as for the caller's own routes: a logged-out session
/// or a revoked `jti` keeps no admin power for the rest of the token's life.
pub(super) async fn require_admin(
    store: &(impl AccountStore + RevocationCheck + ?Sized),
    principal: &Principal,
    action: &'static str,
) -> Result<(), ApiError> {
    if principal.role.satisfies(Role::Admin) {
        let token = AccessTokenRef {
            jti: principal.token_id.clone(),
            session_id: principal.session_id.clone(),
            user_id: principal.user_id.clone(),
        };
        let (actor, revoked) =
            tokio::join!(store.user_by_id(&principal.user_id), store.is_access_revoked(&token, UnixTime::now()));
        if actor?.is_some_and(|actor| !actor.disabled && actor.role.satisfies(Role::Admin)) {
            if revoked? {
                tracing::warn!(target: "audit", actor = %principal.user_id, action, outcome = "token_revoked", "admin action refused");
                return Err(ApiError::TokenRevoked);
            }
            return Ok(());
        }
    }
    tracing::warn!(target: "audit", actor = %principal.user_id, action, outcome = "forbidden", "admin action refused");
    Err(ApiError::Forbidden)
}

/// Who acts on accounts and roles: an administrator through the API (whose power is checked
/// again in the store, [`require_admin`]), or the operator, with the deployment's own AWS
/// credentials (`authctl`).
#[derive(Clone, Copy, Debug)]
pub enum Actor<'a> {
    Admin(&'a Principal),
    Operator,
}

impl Actor<'_> {
    pub(super) async fn check(
        self,
        store: &(impl AccountStore + RevocationCheck + ?Sized),
        action: &'static str,
    ) -> Result<(), ApiError> {
        match self {
            Actor::Admin(principal) => require_admin(store, principal, action).await,
            Actor::Operator => Ok(()),
        }
    }

    /// As audit lines and events name it.
    pub(super) fn id(&self) -> &str {
        match self {
            Actor::Admin(principal) => &principal.user_id,
            Actor::Operator => "operator",
        }
    }

    /// Whether the actor is the account `user_id` (an administrator acting on themself).
    pub(super) fn is(&self, user_id: &str) -> bool {
        matches!(self, Actor::Admin(principal) if principal.user_id == user_id)
    }
}

/// Account and session ids are UUIDs: anything else names nothing, and never reaches the store (where
/// an over-long key is a request error, not an absence).
pub(super) fn known_shape(id: &str) -> Result<(), ApiError> {
    uuid::Uuid::try_parse(id).map(drop).map_err(|_| ApiError::NotFound)
}

pub async fn list_users(
    store: &(impl AccountStore + RevocationCheck + ?Sized),
    actor: Actor<'_>,
    limit: u32,
    after: Option<String>,
) -> Result<UserPage, ApiError> {
    actor.check(store, "list_users").await?;
    let page = store.list_users(limit, after.as_deref()).await?;
    tracing::info!(target: "audit", actor = %actor.id(), action = "list_users", count = page.users.len(), outcome = "ok");
    Ok(page)
}

/// One account as administrators see it: with its roles' names and permissions where the
/// whole account was read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManagedUser {
    pub summary: UserSummary,
    pub entitlements: Option<Entitlements>,
}

impl ManagedUser {
    async fn of(store: &(impl RoleStore + ?Sized), user: &User) -> Result<Self, ApiError> {
        let entitlements = match user.roles.is_empty() {
            true => Entitlements::default(),
            false => store.role_catalog().await?.entitlements(&user.roles),
        };
        Ok(Self { summary: UserSummary::from(user), entitlements: Some(entitlements) })
    }
}

/// An administrator's change to an account.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AdminChange {
    pub changes: UserChanges,
    /// The names of the roles the account is to hold (all of them; empty: none).
    pub roles: Option<Vec<String>>,
    /// End every session now, so the change reaches the account's tokens at once.
    pub revoke_sessions: bool,
}

/// The account with this address, as a page of one (or none): the search by email.
pub async fn find_user(
    store: &(impl AccountStore + RevocationCheck + ?Sized),
    actor: Actor<'_>,
    email: &Email,
) -> Result<UserPage, ApiError> {
    actor.check(store, "find_user").await?;
    let user = store.user_by_email(email).await?;
    tracing::info!(target: "audit", actor = %actor.id(), action = "find_user", found = user.is_some(), outcome = "ok");
    Ok(UserPage { users: user.iter().map(UserSummary::from).collect(), next_after: None })
}

pub async fn get_user(
    store: &(impl AccountStore + RevocationCheck + RoleStore + ?Sized),
    actor: Actor<'_>,
    user_id: &str,
) -> Result<ManagedUser, ApiError> {
    actor.check(store, "get_user").await?;
    known_shape(user_id)?;
    let user = store.user_by_id(user_id).await?;
    let outcome = if user.is_some() { "ok" } else { "not_found" };
    tracing::info!(target: "audit", actor = %actor.id(), action = "get_user", target_user = %user_id, outcome);
    let user = user.ok_or(ApiError::NotFound)?;
    ManagedUser::of(store, &user).await
}

pub async fn update_user(
    store: &(impl AccountStore + RevocationCheck + RoleStore + ?Sized),
    events: &Events,
    actor: Actor<'_>,
    user_id: &str,
    change: AdminChange,
    now: UnixTime,
) -> Result<ManagedUser, ApiError> {
    actor.check(store, "update_user").await?;
    known_shape(user_id)?;
    let changes = &change.changes;
    let audit = |outcome: &str| {
        tracing::info!(
            target: "audit",
            actor = %actor.id(),
            action = "update_user",
            target_user = %user_id,
            role = ?changes.role.map(Role::as_str),
            disabled = ?changes.disabled,
            claims = ?changes.claims.as_ref().map(|claims| claims.as_map().keys().cloned().collect::<Vec<_>>()),
            roles = ?change.roles,
            revoke_sessions = change.revoke_sessions,
            outcome,
        );
    };
    let demotes_or_disables = changes.role.is_some_and(|role| role != Role::Admin) || changes.disabled == Some(true);
    // Nobody changes their own roles: an administrator's power comes from another one.
    if actor.is(user_id) && (demotes_or_disables || change.roles.is_some()) {
        audit("conflict_self");
        return Err(ApiError::Conflict);
    }
    // A role change or a disable ends every session: the next refresh fails, and the next
    // login carries the new role (or is refused). Assigned roles reach the next refresh, or
    // every token at once with `revoke_sessions`.
    let revoke = (changes.role.is_some() || changes.disabled == Some(true) || change.revoke_sessions).then_some(now);
    let mut attempts = 0;
    let user = loop {
        attempts += 1;
        let mut changes = change.changes.clone();
        if change.roles.is_some() || changes.claims.is_some() {
            // Roles and custom claims share the token's budget: checked against the account as read.
            let Some(user) = store.user_by_id(user_id).await? else { break None };
            let claims = changes.claims.as_ref().unwrap_or(&user.claims);
            match &change.roles {
                Some(names) => {
                    let catalog = store.role_catalog().await?;
                    let ids = assignable(&catalog, names, claims).inspect_err(|_| audit("invalid_roles"))?;
                    changes.roles = Some(RoleAssignment { previous: user.roles.clone(), new: ids });
                }
                None => claims_fit(store, &user, claims).await.inspect_err(|_| audit("invalid_claims"))?,
            }
        }
        match store.update_user(user_id, &changes, revoke).await {
            // The account's roles or the catalog changed since the read: read them again.
            Err(StoreError::Conflict) if attempts < 3 => continue,
            result => break result?,
        }
    };
    let Some(user) = user else {
        audit("not_found");
        return Err(ApiError::NotFound);
    };
    audit("ok");
    let changed = [
        ("role", changes.role.is_some()),
        ("disabled", changes.disabled.is_some()),
        ("claims", changes.claims.is_some()),
        ("roles", change.roles.is_some()),
    ];
    let changed = changed.into_iter().filter_map(|(name, given)| given.then_some(name)).collect();
    let detail =
        EventDetail { actor: Some(actor.id().to_owned()), changed, ..EventDetail::ok(&user.id).method("admin") };
    events.emit(EventKind::UserUpdated, detail, now).await;
    ManagedUser::of(store, &user).await
}
