//! The operator's commands on accounts and roles: the same use cases the admin routes call,
//! acting as the operator (the deployment's own AWS credentials), so the same rules, audit lines
//! and events apply.

use clap::Subcommand;
use shared::config::Env;
use shared::domain::{Email, User};
use shared::error::ApiError;
use shared::events::{EventDetail, EventKind, Events};
use shared::service::{self, Actor, AdminChange};
use shared::store::{AccountStore, DynamoStore, SessionStore, UserChanges};
use shared::time::UnixTime;

use crate::describe;

/// A refusal as the operator reads it: for invalid input, each field and what is wrong with it.
fn explain(error: ApiError) -> String {
    match error {
        ApiError::Validation(fields) => {
            fields.iter().map(|field| format!("{}: {}", field.field, field.message)).collect::<Vec<_>>().join("; ")
        }
        other => other.to_string(),
    }
}

#[derive(Subcommand)]
pub enum Users {
    /// The newest accounts first.
    List {
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// One account, with its roles and permissions.
    Show {
        #[arg(long)]
        email: String,
    },
    /// Disable the account: every session ends; it cannot sign in until enabled.
    Disable {
        #[arg(long)]
        email: String,
    },
    Enable {
        #[arg(long)]
        email: String,
    },
    /// Delete the account and everything of it (as DELETE /admin/users/{id} does, without mail).
    Delete {
        #[arg(long)]
        email: String,
        /// Required: deletion cannot be undone.
        #[arg(long)]
        yes: bool,
    },
    /// End every session of the account now.
    RevokeSessions {
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
pub enum Roles {
    /// Define a role, or replace its description and permissions.
    Put {
        name: String,
        /// A permission it grants (repeatable), e.g. orders:read.
        #[arg(long = "permission")]
        permissions: Vec<String>,
        #[arg(long, default_value = "")]
        description: String,
    },
    List,
    /// Delete a role nobody holds.
    Delete {
        name: String,
    },
}

struct Operator {
    store: DynamoStore,
    events: Events,
}

impl Operator {
    async fn from_env() -> Result<Self, String> {
        let env = Env::from_process();
        let store = DynamoStore::from_env(&env).await.map_err(|error| error.to_string())?;
        let events = Events::from_env(&env).await.map_err(|error| error.to_string())?;
        Ok(Self { store, events })
    }

    async fn user(&self, raw_email: &str) -> Result<User, String> {
        let email = Email::parse(raw_email).map_err(|reason| format!("--email {reason}"))?;
        self.store.user_by_email(&email).await.map_err(describe)?.ok_or_else(|| format!("no user {email}"))
    }

    async fn change(&self, user: &User, change: AdminChange) -> Result<(), String> {
        service::update_user(&self.store, &self.events, Actor::Operator, &user.id, change, UnixTime::now())
            .await
            .map(drop)
            .map_err(explain)
    }
}

pub async fn users(command: Users) -> Result<(), String> {
    let operator = Operator::from_env().await?;
    match command {
        Users::List { limit } => {
            let page = operator.store.list_users(limit.clamp(1, 100), None).await.map_err(describe)?;
            for user in page.users {
                let disabled = if user.disabled { " disabled" } else { "" };
                println!("{}  {}  {}{disabled}", user.id, user.email, user.role.as_str());
            }
        }
        Users::Show { email } => {
            let user = operator.user(&email).await?;
            let shown = service::get_user(&operator.store, Actor::Operator, &user.id).await.map_err(explain)?;
            let view = shared::http::views::AdminUserView::from(shown);
            println!("{}", serde_json::to_string_pretty(&view).map_err(|error| error.to_string())?);
        }
        Users::Disable { email } => {
            let user = operator.user(&email).await?;
            let changes = UserChanges { disabled: Some(true), ..UserChanges::default() };
            operator.change(&user, AdminChange { changes, ..AdminChange::default() }).await?;
            println!("disabled {email}; its sessions ended");
        }
        Users::Enable { email } => {
            let user = operator.user(&email).await?;
            let changes = UserChanges { disabled: Some(false), ..UserChanges::default() };
            operator.change(&user, AdminChange { changes, ..AdminChange::default() }).await?;
            println!("enabled {email}");
        }
        Users::Delete { email, yes } => {
            if !yes {
                return Err("deleting cannot be undone: add --yes".into());
            }
            let user = operator.user(&email).await?;
            service::erase_account(&operator.store, user.clone()).await.map_err(explain)?;
            let detail = EventDetail { actor: Some("operator".into()), ..EventDetail::ok(&user.id).method("admin") };
            operator.events.emit(EventKind::UserDeleted, detail, UnixTime::now()).await;
            println!("deleted {email} (id {})", user.id);
        }
        Users::RevokeSessions { email } => {
            let user = operator.user(&email).await?;
            operator.store.revoke_user_sessions(&user.id, UnixTime::now()).await.map_err(describe)?;
            println!("ended every session of {email}");
        }
    }
    Ok(())
}

pub async fn roles(command: Roles) -> Result<(), String> {
    let operator = Operator::from_env().await?;
    let (store, events, now) = (&operator.store, &operator.events, UnixTime::now());
    match command {
        Roles::Put { name, permissions, description } => {
            let role = service::define_role(store, events, Actor::Operator, &name, &description, &permissions, now)
                .await
                .map_err(explain)?;
            let names: Vec<&str> = role.permissions.iter().map(|permission| permission.as_str()).collect();
            println!("{}: {}", role.name.as_str(), names.join(" "));
        }
        Roles::List => {
            for role in service::list_roles(store, Actor::Operator).await.map_err(explain)? {
                let names: Vec<&str> = role.permissions.iter().map(|permission| permission.as_str()).collect();
                println!("{}  ({} holders)  {}", role.name.as_str(), role.assigned, names.join(" "));
            }
        }
        Roles::Delete { name } => {
            service::delete_role(store, events, Actor::Operator, &name, now).await.map_err(explain)?;
            println!("deleted role {name}");
        }
    }
    Ok(())
}

/// Gives an account exactly these roles (none: `--role` not given).
pub async fn assign(email: &str, roles: Vec<String>, revoke_sessions: bool) -> Result<(), String> {
    let operator = Operator::from_env().await?;
    let user = operator.user(email).await?;
    let change = AdminChange { roles: Some(roles.clone()), revoke_sessions, ..AdminChange::default() };
    operator.change(&user, change).await?;
    println!("{email} holds: {}", if roles.is_empty() { "no role".into() } else { roles.join(" ") });
    Ok(())
}
