//! The role store's contract, the same on both stores: the catalog's revisions, holder counts
//! kept with each assignment, and a role deleted only while nobody holds it.

use std::sync::Arc;

use e2e::unique_email;
use shared::domain::{Permission, RoleDefinition, RoleName};
use shared::store::{RoleAssignment, Store, StoreError, UserChanges};

use super::{NOW, session, user};

fn role(name: &str, permissions: &[&str]) -> RoleDefinition {
    RoleDefinition {
        id: uuid::Uuid::now_v7().to_string(),
        name: RoleName::parse(name).unwrap(),
        description: format!("the {name} role"),
        permissions: permissions.iter().map(|name| Permission::parse(name).unwrap()).collect(),
        assigned: 0,
        updated_ms: NOW.millis(),
    }
}

fn assign(previous: &[&RoleDefinition], new: &[&RoleDefinition]) -> UserChanges {
    let ids = |roles: &[&RoleDefinition]| roles.iter().map(|role| role.id.clone()).collect();
    UserChanges { roles: Some(RoleAssignment { previous: ids(previous), new: ids(new) }), ..UserChanges::default() }
}

async fn roles_are_defined_over_the_revision_they_read(store: Arc<dyn Store>) {
    assert_eq!(store.role_catalog().await.unwrap().revision, 0, "no catalog yet");
    let support = role("support", &["orders:read", "users:read"]);
    assert!(store.define_role(0, &support).await.unwrap());
    assert!(!store.define_role(0, &role("ops", &[])).await.unwrap(), "a definition over a stale revision");
    let ops = role("ops", &[]);
    assert!(store.define_role(1, &ops).await.unwrap(), "a role may grant nothing yet");
    let catalog = store.role_catalog().await.unwrap();
    assert_eq!(catalog.revision, 2);
    assert_eq!(catalog.roles, vec![ops.clone(), support.clone()], "every field kept, sorted by name");
    let changed = RoleDefinition { permissions: vec![Permission::parse("orders:*").unwrap()], ..support.clone() };
    assert!(store.define_role(2, &changed).await.unwrap());
    assert_eq!(store.role_catalog().await.unwrap().by_id(&support.id), Some(&changed));
}

async fn assignments_count_their_holders(store: Arc<dyn Store>) {
    let (support, ops) = (role("support", &["orders:read"]), role("ops", &["orders:write"]));
    assert!(store.define_role(0, &support).await.unwrap());
    assert!(store.define_role(1, &ops).await.unwrap());
    let (alice, bob) = (user(&unique_email()), user(&unique_email()));
    for account in [&alice, &bob] {
        store.create_user(account, Some(&session(account, NOW))).await.unwrap();
    }
    let updated = store.update_user(&alice.id, &assign(&[], &[&support, &ops]), None).await.unwrap().unwrap();
    let mut held = updated.roles.clone();
    held.sort();
    let mut both = vec![support.id.clone(), ops.id.clone()];
    both.sort();
    assert_eq!(held, both);
    store.update_user(&bob.id, &assign(&[], &[&support]), None).await.unwrap().unwrap();
    let counts = |catalog: &shared::domain::RoleCatalog| {
        (catalog.by_id(&support.id).unwrap().assigned, catalog.by_id(&ops.id).unwrap().assigned)
    };
    assert_eq!(counts(&store.role_catalog().await.unwrap()), (2, 1));
    // An assignment over roles the account no longer holds is refused, and writes nothing.
    let stale = store.update_user(&bob.id, &assign(&[], &[&ops]), None).await;
    assert!(matches!(stale, Err(StoreError::Conflict)), "{stale:?}");
    assert_eq!(counts(&store.role_catalog().await.unwrap()), (2, 1));
    store.update_user(&alice.id, &assign(&[&ops, &support], &[&ops]), None).await.unwrap().unwrap();
    assert_eq!(counts(&store.role_catalog().await.unwrap()), (1, 1));
    assert_eq!(store.user_by_id(&alice.id).await.unwrap().unwrap().roles, vec![ops.id.clone()]);
    store.update_user(&alice.id, &assign(&[&ops], &[]), None).await.unwrap().unwrap();
    assert_eq!(counts(&store.role_catalog().await.unwrap()), (1, 0));
    assert!(store.user_by_id(&alice.id).await.unwrap().unwrap().roles.is_empty());
    // No such account: nothing, and nothing counted.
    let ghost = store.update_user(&uuid::Uuid::now_v7().to_string(), &assign(&[], &[&ops]), None).await.unwrap();
    assert_eq!(ghost, None);
    assert_eq!(counts(&store.role_catalog().await.unwrap()), (1, 0));
}

async fn a_role_is_deleted_only_while_nobody_holds_it(store: Arc<dyn Store>) {
    let support = role("support", &["orders:read"]);
    assert!(store.define_role(0, &support).await.unwrap());
    let alice = user(&unique_email());
    store.create_user(&alice, Some(&session(&alice, NOW))).await.unwrap();
    store.update_user(&alice.id, &assign(&[], &[&support]), None).await.unwrap().unwrap();
    let revision = store.role_catalog().await.unwrap().revision;
    assert!(!store.delete_role(revision, &support.id).await.unwrap(), "held by alice");
    // A definition over the count as read keeps its holders: one over a stale count is refused.
    assert!(!store.define_role(revision, &support).await.unwrap(), "the count read before the assignment");
    let held = store.role_catalog().await.unwrap().by_id(&support.id).cloned().unwrap();
    assert!(store.define_role(revision, &held).await.unwrap());
    store.update_user(&alice.id, &assign(&[&support], &[]), None).await.unwrap().unwrap();
    let revision = store.role_catalog().await.unwrap().revision;
    assert!(!store.delete_role(revision - 1, &support.id).await.unwrap(), "a stale revision");
    assert!(store.delete_role(revision, &support.id).await.unwrap());
    assert!(store.role_catalog().await.unwrap().roles.is_empty());
    // Assigning a role deleted meanwhile is refused.
    let refused = store.update_user(&alice.id, &assign(&[], &[&support]), None).await;
    assert!(matches!(refused, Err(StoreError::Conflict)), "{refused:?}");
    assert!(store.user_by_id(&alice.id).await.unwrap().unwrap().roles.is_empty());
}

e2e::on_both_store_adapters!(
    roles_are_defined_over_the_revision_they_read,
    assignments_count_their_holders,
    a_role_is_deleted_only_while_nobody_holds_it,
);
