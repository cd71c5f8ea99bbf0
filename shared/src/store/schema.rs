//! The two tables as `template.yaml` declares them, created through the API: used by
//! `authctl create-tables`, the local API's `--store dynamodb` and the tests.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, CreateGlobalSecondaryIndexAction, GlobalSecondaryIndex,
    GlobalSecondaryIndexUpdate, KeySchemaElement, KeyType, Projection, ProjectionType, ScalarAttributeType,
    TimeToLiveSpecification,
};

use super::{StoreError, TableNames};

pub const USERS_BY_CREATED_INDEX: &str = "users_by_created";
/// A user's sessions, newest first: partition `live_user_id`, sort `created_ms`, keys only, so
/// that a refresh (which changes neither) writes nothing to it.
pub const SESSIONS_BY_USER_INDEX: &str = "sessions_by_user";
pub const TTL_ATTRIBUTE: &str = "expires_at";

fn build_error(error: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(error.to_string())
}

fn key(name: &str, key_type: KeyType) -> Result<KeySchemaElement, StoreError> {
    KeySchemaElement::builder().attribute_name(name).key_type(key_type).build().map_err(build_error)
}

fn attribute(name: &str, kind: ScalarAttributeType) -> Result<AttributeDefinition, StoreError> {
    AttributeDefinition::builder().attribute_name(name).attribute_type(kind).build().map_err(build_error)
}

fn string_attribute(name: &str) -> Result<AttributeDefinition, StoreError> {
    attribute(name, ScalarAttributeType::S)
}

fn sessions_by_user() -> Result<GlobalSecondaryIndex, StoreError> {
    GlobalSecondaryIndex::builder()
        .index_name(SESSIONS_BY_USER_INDEX)
        .key_schema(key("live_user_id", KeyType::Hash)?)
        .key_schema(key("created_ms", KeyType::Range)?)
        .projection(Projection::builder().projection_type(ProjectionType::KeysOnly).build())
        .build()
        .map_err(build_error)
}

/// A revocations table made before the session list gains its index (DynamoDB builds it in the
/// background; sessions started before the upgrade are listed from their next login on).
async fn add_sessions_index(client: &Client, table: &str) -> Result<(), StoreError> {
    let described = client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .map_err(|error| StoreError::Internal(format!("describing {table}: {}", DisplayErrorContext(&error))))?;
    let has_index = described
        .table()
        .map(|table| table.global_secondary_indexes())
        .is_some_and(|indexes| indexes.iter().any(|index| index.index_name() == Some(SESSIONS_BY_USER_INDEX)));
    if has_index {
        return Ok(());
    }
    let index = sessions_by_user()?;
    let create = CreateGlobalSecondaryIndexAction::builder()
        .index_name(SESSIONS_BY_USER_INDEX)
        .set_key_schema(Some(index.key_schema().to_vec()))
        .set_projection(index.projection().cloned())
        .build()
        .map_err(build_error)?;
    client
        .update_table()
        .table_name(table)
        .attribute_definitions(string_attribute("live_user_id")?)
        .attribute_definitions(attribute("created_ms", ScalarAttributeType::N)?)
        .global_secondary_index_updates(GlobalSecondaryIndexUpdate::builder().create(create).build())
        .send()
        .await
        .map_err(|error| StoreError::Internal(format!("indexing {table}: {}", DisplayErrorContext(&error))))?;
    Ok(())
}

/// Creates both tables (and TTL on the revocations table) unless they exist, and adds an index
/// a table made by an earlier version lacks. Idempotent.
pub async fn create_tables(client: &Client, tables: &TableNames) -> Result<Vec<String>, StoreError> {
    let mut created = Vec::new();
    // Every page: ListTables answers at most 100 names, and an account (or a long-running
    // DynamoDB Local) may hold more.
    let mut existing = Vec::new();
    let mut pages = client.list_tables().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| StoreError::Unavailable(DisplayErrorContext(&error).to_string()))?;
        existing.extend(page.table_names().iter().cloned());
    }
    let exists = |name: &str| existing.iter().any(|table| table == name);

    if !exists(&tables.users) {
        let by_created = GlobalSecondaryIndex::builder()
            .index_name(USERS_BY_CREATED_INDEX)
            .key_schema(key("entity", KeyType::Hash)?)
            .key_schema(key("id", KeyType::Range)?)
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::Include)
                    .set_non_key_attributes(Some(
                        ["email", "role", "disabled", "created_at", "email_verified"].map(String::from).to_vec(),
                    ))
                    .build(),
            )
            .build()
            .map_err(build_error)?;
        client
            .create_table()
            .table_name(&tables.users)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key("pk", KeyType::Hash)?)
            .attribute_definitions(string_attribute("pk")?)
            .attribute_definitions(string_attribute("entity")?)
            .attribute_definitions(string_attribute("id")?)
            .global_secondary_indexes(by_created)
            .send()
            .await
            .map_err(|error| {
                StoreError::Internal(format!("creating {}: {}", tables.users, DisplayErrorContext(&error)))
            })?;
        created.push(tables.users.clone());
    }

    if !exists(&tables.revocations) {
        client
            .create_table()
            .table_name(&tables.revocations)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key("pk", KeyType::Hash)?)
            .attribute_definitions(string_attribute("pk")?)
            .attribute_definitions(string_attribute("live_user_id")?)
            .attribute_definitions(attribute("created_ms", ScalarAttributeType::N)?)
            .global_secondary_indexes(sessions_by_user()?)
            .send()
            .await
            .map_err(|error| {
                StoreError::Internal(format!("creating {}: {}", tables.revocations, DisplayErrorContext(&error)))
            })?;
        created.push(tables.revocations.clone());
    } else {
        add_sessions_index(client, &tables.revocations).await?;
    }

    let ttl = client
        .describe_time_to_live()
        .table_name(&tables.revocations)
        .send()
        .await
        .map_err(|error| StoreError::Internal(DisplayErrorContext(&error).to_string()))?;
    let ttl_on = ttl
        .time_to_live_description()
        .and_then(|description| description.attribute_name())
        .is_some_and(|name| name == TTL_ATTRIBUTE);
    if !ttl_on {
        client
            .update_time_to_live()
            .table_name(&tables.revocations)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(TTL_ATTRIBUTE)
                    .enabled(true)
                    .build()
                    .map_err(build_error)?,
            )
            .send()
            .await
            .map_err(|error| StoreError::Internal(format!("enabling TTL: {}", DisplayErrorContext(&error))))?;
    }
    Ok(created)
}
