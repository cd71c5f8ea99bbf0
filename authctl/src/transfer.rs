//! `authctl import` and `authctl export`: accounts in and out as JSON Lines (contract v3,
//! "Import, migration, export"); docs/migration.md says how to move from Cognito, Django,
//! Auth0, and out again.
//!
//! An import checks every record before it writes one: a file with a refused record changes
//! nothing and says why for each. Then it writes accounts in transactions (each account with
//! its guards, only if none of it is there), several at once; a rerun skips every account
//! already present, so an interrupted import is finished by running it again.

use std::collections::HashMap;
use std::io::{IsTerminal as _, Write as _};
use std::path::Path;

use clap::ValueEnum;
use futures_util::{StreamExt as _, stream};
use shared::config::Env;
use shared::domain::User;
use shared::migration::{AccountLine, django};
use shared::store::{DynamoStore, Imported, RoleStore as _, TransferStore};
use shared::time::UnixTime;

use crate::describe;

/// Accounts per call of the store (it packs them into transactions of at most 100 items).
const ACCOUNTS_PER_WRITE: usize = 25;
const WRITES_IN_FLIGHT: usize = 8;

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    /// One account per line: {"email", "email_verified", "role", "roles", "claims", "created_at", "password_hash", …}.
    Jsonl,
    /// `python manage.py dumpdata auth.user` output (a JSON array).
    Django,
}

pub async fn import(path: &Path, format: Format) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|error| format!("{}: {error}", path.display()))?;
    let records = read_records(&text, format)?;
    let store = DynamoStore::from_env(&Env::from_process()).await.map_err(|error| error.to_string())?;
    let catalog = store.role_catalog().await.map_err(describe)?;
    let now = UnixTime::now();

    let mut accepted: Vec<(String, User)> = Vec::new();
    let mut refused: Vec<String> = Vec::new();
    let mut first_with_address: HashMap<String, String> = HashMap::new();
    let mut first_with_id: HashMap<String, String> = HashMap::new();
    let mut first_with_identity: HashMap<String, String> = HashMap::new();
    for (place, record) in records {
        let user = match record.and_then(|line| line.into_user(&catalog, now)) {
            Ok(user) => user,
            Err(reason) => {
                refused.push(format!("{place}: {reason}"));
                continue;
            }
        };
        if let Some(first) = first_with_address.get(user.email.as_str()) {
            refused.push(format!("{place}: the same address as {first}"));
            continue;
        }
        if let Some(first) = first_with_id.get(&user.id) {
            refused.push(format!("{place}: the same id as {first}"));
            continue;
        }
        let identities: Vec<String> =
            user.identities.iter().map(|identity| format!("{}#{}", identity.provider, identity.subject)).collect();
        if let Some(first) = identities.iter().find_map(|identity| first_with_identity.get(identity)) {
            refused.push(format!("{place}: a linked identity of {first}"));
            continue;
        }
        first_with_address.insert(user.email.as_str().to_owned(), place.clone());
        first_with_id.insert(user.id.clone(), place.clone());
        for identity in identities {
            first_with_identity.insert(identity, place.clone());
        }
        accepted.push((place, user));
    }
    if !refused.is_empty() {
        for line in &refused {
            println!("refused {line}");
        }
        println!("imported 0, skipped 0 (already present), refused {}", refused.len());
        return Err("nothing was imported: correct or remove the refused records and run it again".into());
    }

    let progress = progress_bar(accepted.len());
    let batches = accepted.chunks(ACCOUNTS_PER_WRITE).map(|batch| {
        let users: Vec<User> = batch.iter().map(|(_, user)| user.clone()).collect();
        let (store, progress) = (&store, &progress);
        async move {
            let written = store.import_users(&users).await;
            progress.inc(users.len() as u64);
            written
        }
    });
    let results: Vec<_> = stream::iter(batches).buffered(WRITES_IN_FLIGHT).collect().await;
    progress.finish_and_clear();

    let (mut imported, mut skipped, mut units) = (0, 0, 0.0);
    for (batch, result) in accepted.chunks(ACCOUNTS_PER_WRITE).zip(results) {
        let (outcomes, consumed) = result.map_err(|error| {
            format!("{} (the accounts written so far stay; run the import again to finish it)", describe(error))
        })?;
        units += consumed.unwrap_or(0.0);
        for ((place, _), outcome) in batch.iter().zip(outcomes) {
            match outcome {
                Imported::Created => imported += 1,
                Imported::AlreadyPresent => skipped += 1,
                Imported::IdTaken => refused.push(format!("{place}: another account has this id")),
                Imported::IdentityTaken => refused.push(format!("{place}: another account has one of its identities")),
            }
        }
    }
    for line in &refused {
        println!("refused {line}");
    }
    println!("imported {imported}, skipped {skipped} (already present), refused {}", refused.len());
    println!("DynamoDB write capacity units consumed: {units}");
    if !refused.is_empty() {
        return Err("some accounts conflict with accounts already there (above)".into());
    }
    Ok(())
}

type Record = (String, Result<AccountLine, String>);

fn read_records(text: &str, format: Format) -> Result<Vec<Record>, String> {
    Ok(match format {
        Format::Jsonl => text
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(index, line)| {
                let parsed = serde_json::from_str(line).map_err(|error: serde_json::Error| {
                    // serde_json's own position says "line 1": the line is the record's.
                    let message = error.to_string();
                    let message = message.rsplit_once(" at line ").map_or(message.as_str(), |(head, _)| head);
                    format!("not an account line: {message} (column {})", error.column())
                });
                (format!("line {}", index + 1), parsed)
            })
            .collect(),
        Format::Django => django::read_dump(text)?
            .into_iter()
            .enumerate()
            .map(|(index, record)| {
                let place = format!("record {}", index + 1);
                let line = record.map(|user| {
                    if let Some(note) = &user.not_carried {
                        println!("note {place}: {note}");
                    }
                    user.line
                });
                (place, line)
            })
            .collect(),
    })
}

fn progress_bar(total: usize) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} accounts, {per_sec}, {eta} left") {
        bar.set_style(style);
    }
    bar
}

pub async fn export(path: &Path) -> Result<(), String> {
    let store = DynamoStore::from_env(&Env::from_process()).await.map_err(|error| error.to_string())?;
    let catalog = store.role_catalog().await.map_err(describe)?;
    // Written beside the target and renamed at the end: an interrupted export leaves no
    // half-file that looks complete.
    let partial = path.with_extension("partial");
    // It holds password hashes and sealed keys: readable by its owner only.
    let file = {
        use std::os::unix::fs::OpenOptionsExt as _;
        std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&partial)
    }
    .map_err(|error| format!("{}: {error}", partial.display()))?;
    let mut out = std::io::BufWriter::new(file);
    let (mut count, mut units, mut from) = (0u64, 0.0, None);
    loop {
        let page = store.export_users(from).await.map_err(describe)?;
        units += page.read_units.unwrap_or(0.0);
        for user in &page.users {
            let line = serde_json::to_string(&AccountLine::of(user, &catalog)).map_err(|error| error.to_string())?;
            writeln!(out, "{line}").map_err(|error| format!("{}: {error}", partial.display()))?;
            count += 1;
        }
        match page.next {
            Some(next) => from = Some(next),
            None => break,
        }
    }
    out.flush().map_err(|error| format!("{}: {error}", partial.display()))?;
    std::fs::rename(&partial, path).map_err(|error| format!("{}: {error}", path.display()))?;
    println!("exported {count} accounts to {}", path.display());
    println!("DynamoDB read capacity units consumed: {units}");
    Ok(())
}
