//! `authctl import` and `authctl export` as an operator runs them, on DynamoDB Local: hashes
//! made by the systems they come from (Django itself, Python's bcrypt, hashlib) import and log
//! in, and hold Argon2id afterwards; a file with a refused record changes nothing; a rerun
//! skips what is there; an export imports into empty tables as the same accounts.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::{Value, json};
use shared::store::{FederationStore as _, TransferStore as _};

/// The repository's scripts/legacy_hashes.py on the venv scripts/test.sh makes (MIGRATION_PYTHON
/// names another interpreter with django, bcrypt and argon2-cffi).
fn legacy(args: &[&str]) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let python = std::env::var_os("MIGRATION_PYTHON").map_or_else(|| root.join(".venv/bin/python"), PathBuf::from);
    let output = std::process::Command::new(&python)
        .arg(root.join("scripts/legacy_hashes.py"))
        .args(args)
        .output()
        .unwrap_or_else(|error| panic!("{}: {error} (scripts/test.sh installs it)", python.display()));
    assert!(output.status.success(), "legacy_hashes.py: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

fn on(deployment: &Deployment, args: &[&str]) -> Output {
    authctl(
        args,
        None,
        &[("USERS_TABLE", &deployment.tables.users), ("REVOCATIONS_TABLE", &deployment.tables.revocations)],
    )
}

/// A fresh path in the temporary directory, removed (with its `.partial`) when dropped.
struct TempPath(PathBuf);

impl std::ops::Deref for TempPath {
    type Target = PathBuf;

    fn deref(&self) -> &PathBuf {
        &self.0
    }
}

impl AsRef<std::path::Path> for TempPath {
    fn as_ref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        let _ = std::fs::remove_file(self.0.with_extension("partial"));
    }
}

fn temp_path(name: &str) -> TempPath {
    TempPath(std::env::temp_dir().join(format!("authctl-{name}-{}", uuid::Uuid::new_v4().simple())))
}

fn file_with(lines: &[Value]) -> TempPath {
    let path = temp_path("import.jsonl");
    let text: String = lines.iter().map(|line| format!("{line}\n")).collect();
    std::fs::write(&path, text).unwrap();
    path
}

/// The verified claims of an access token the deployment's login issued.
fn claims(accounts: &Accounts, signed_in: &service::SignedIn) -> shared::tokens::AccessClaims {
    accounts.verifier.verify_access(&signed_in.access_token, UnixTime::now()).unwrap()
}

fn export(deployment: &Deployment) -> Vec<Value> {
    let path = temp_path("export.jsonl");
    succeeded(on(deployment, &["export", path.to_str().unwrap()]));
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "hashes and sealed keys: the owner's only");
    let mut lines: Vec<Value> =
        std::fs::read_to_string(&path).unwrap().lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    lines.sort_by(|a, b| a["email"].as_str().cmp(&b["email"].as_str()));
    lines
}

async fn stored_hash(deployment: &Deployment, email: &str) -> String {
    let user = deployment.store.user_by_email(&Email::parse(email).unwrap()).await.unwrap().expect("imported");
    user.password_hash.expect("a password")
}

#[tokio::test]
async fn every_hash_format_imports_logs_in_and_then_holds_argon2id() {
    let deployment = Deployment::new().await;
    let password = "imported pass phrase";
    let hashes: serde_json::Map<String, Value> = serde_json::from_str(&legacy(&["hashes", password])).unwrap();
    assert_eq!(hashes.len(), 7, "{hashes:?}");
    let lines: Vec<Value> = hashes
        .iter()
        .map(|(kind, hash)| json!({"email": format!("{kind}@import.test"), "password_hash": hash}))
        .collect();
    let out = succeeded(on(&deployment, &["import", file_with(&lines).to_str().unwrap()]));
    assert!(out.contains("imported 7, skipped 0 (already present), refused 0"), "{out}");

    let accounts = deployment.accounts();
    for (kind, hash) in &hashes {
        let email = format!("{kind}@import.test");
        assert_eq!(&stored_hash(&deployment, &email).await, hash.as_str().unwrap(), "{kind}: stored as given");
        let wrong = login(&accounts, &email, "imported pass phrasE").await;
        assert!(matches!(wrong, Err(ApiError::InvalidCredentials)), "{kind}: a wrong password is refused");
        login(&accounts, &email, password).await.unwrap_or_else(|error| panic!("{kind}: {error:?}"));
        let upgraded = stored_hash(&deployment, &email).await;
        assert!(upgraded.starts_with("$argon2id$v=19$m=256,t=1,p=1$"), "{kind}: now {upgraded}");
        login(&accounts, &email, password).await.unwrap_or_else(|error| panic!("{kind} after the upgrade: {error:?}"));
    }
}

#[tokio::test]
async fn a_django_dumpdata_imports_with_its_admins_inactive_users_and_ids() {
    let deployment = Deployment::new().await;
    let ada = unique_email("ada");
    let bob = unique_email("bob");
    let spec = json!([
        {"username": "ada", "email": ada, "password": "ada's django password", "superuser": true, "groups": ["editors"]},
        {"username": "bob", "email": bob, "password": "bob's django password", "active": false},
        {"username": "cy", "email": unique_email("cy"), "password": null},
        {"username": "noaddress", "email": "", "password": "whatever it is"},
    ]);
    let dump = temp_path("dump.json");
    std::fs::write(&dump, legacy(&["dump", &spec.to_string()])).unwrap();

    let refused = on(&deployment, &["import", "--format", "django", dump.to_str().unwrap()]);
    assert!(!refused.status.success());
    let out = stdout(&refused);
    assert!(out.contains("refused record 4: user noaddress has no email address"), "{out}");
    assert!(out.contains("imported 0, skipped 0 (already present), refused 1"), "{out}");
    assert!(export(&deployment).is_empty(), "a refused record: nothing written");

    // Without the record that has no address, as an operator would fix the dump.
    let mut records: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(&dump).unwrap()).unwrap();
    records.retain(|record| record["fields"]["username"] != "noaddress");
    std::fs::write(&dump, serde_json::to_string(&records).unwrap()).unwrap();
    let out = succeeded(on(&deployment, &["import", "--format", "django", dump.to_str().unwrap()]));
    assert!(out.contains("note record 1: 1 group(s) and 0 permission(s) not imported"), "{out}");
    assert!(out.contains("imported 3, skipped 0 (already present), refused 0"), "{out}");

    let accounts = deployment.accounts();
    let signed_in = login(&accounts, &ada, "ada's django password").await.expect("Django's own hash logs in");
    let claims = claims(&accounts, &signed_in);
    assert_eq!(claims.role, Role::Admin, "is_superuser");
    assert_eq!(claims.custom["django_user_id"], records[0]["pk"], "the Django id, for the API's own rows");
    assert!(matches!(login(&accounts, &bob, "bob's django password").await, Err(ApiError::AccountDisabled)));
    let exported = export(&deployment);
    let cy = exported.iter().find(|line| line["email"].as_str().unwrap().starts_with("cy-")).unwrap();
    assert_eq!(cy.get("password_hash"), None, "an unusable Django password: none (forgot password sets one)");
}

#[tokio::test]
async fn a_file_with_refused_records_changes_nothing_and_says_why_per_line() {
    let deployment = Deployment::new().await;
    let good = unique_email("good");
    let lines = [
        json!({"email": good, "password_hash": "$2b$04$9sicPNg48CFVDv7zObOSbe8UpPHPQTEYxkWqkMNhgO2ozkk5HdiRK"}),
        json!({"email": "not an address"}),
        json!({"email": good.to_uppercase()}),
        json!({"email": unique_email("md5"), "password_hash": "md5$salt$0123456789abcdef"}),
        json!({"email": unique_email("typo"), "emial_verified": true}),
        json!({"email": unique_email("role"), "roles": ["editor"]}),
        json!({"email": unique_email("id1"), "identities": [{"provider": "google", "subject": "g-1", "linked_at": 1}]}),
        json!({"email": unique_email("id2"), "identities": [{"provider": "google", "subject": "g-1", "linked_at": 1}]}),
    ];
    let file = file_with(&lines);
    std::fs::write(&file, format!("{}not json at all\n", std::fs::read_to_string(&file).unwrap())).unwrap();
    let output = on(&deployment, &["import", file.to_str().unwrap()]);
    assert!(!output.status.success());
    let out = stdout(&output);
    for expected in [
        "refused line 2: email ",
        "refused line 3: the same address as line 1",
        "refused line 4: password_hash: unknown password hash format",
        "refused line 5: not an account line: unknown field `emial_verified`",
        "refused line 6: roles: no role is named \"editor\"",
        "refused line 8: a linked identity of line 7",
        "refused line 9: not an account line: expected ident (column 2)",
        "imported 0, skipped 0 (already present), refused 7",
    ] {
        assert!(out.contains(expected), "{expected:?} in {out}");
    }
    assert!(!out.contains("0123456789abcdef"), "no hash in the report");
    assert!(stderr(&output).contains("nothing was imported"), "{}", stderr(&output));
    assert!(export(&deployment).is_empty());
}

#[tokio::test]
async fn a_rerun_skips_every_account_there_and_writes_the_rest() {
    let deployment = Deployment::new().await;
    let emails: Vec<String> = (0..60).map(|index| unique_email(&format!("rerun{index}"))).collect();
    let line = |email: &String| json!({"email": email, "claims": {"n": 1}});
    // An interrupted first run: every other account written.
    let half: Vec<Value> = emails.iter().step_by(2).map(line).collect();
    succeeded(on(&deployment, &["import", file_with(&half).to_str().unwrap()]));
    let before = export(&deployment);

    let all: Vec<Value> = emails.iter().map(line).collect();
    let out = succeeded(on(&deployment, &["import", file_with(&all).to_str().unwrap()]));
    assert!(out.contains("imported 30, skipped 30 (already present), refused 0"), "{out}");
    let after = export(&deployment);
    assert_eq!(after.len(), 60);
    for account in &before {
        assert!(after.contains(account), "an account already there is left exactly as it was");
    }
    let out = succeeded(on(&deployment, &["import", file_with(&all).to_str().unwrap()]));
    assert!(out.contains("imported 0, skipped 60 (already present), refused 0"), "{out}");
    assert_eq!(export(&deployment), after, "a third run changes nothing");
}

#[tokio::test]
async fn an_id_another_account_holds_is_refused_at_the_write_and_the_rest_is_written() {
    let deployment = Deployment::new().await;
    let first = unique_email("first");
    succeeded(on(&deployment, &["import", file_with(&[json!({"email": first})]).to_str().unwrap()]));
    let taken_id = export(&deployment)[0]["id"].clone();
    let other = unique_email("other");
    let lines = [json!({"email": unique_email("clash"), "id": taken_id}), json!({"email": other})];
    let output = on(&deployment, &["import", file_with(&lines).to_str().unwrap()]);
    assert!(!output.status.success());
    let out = stdout(&output);
    assert!(out.contains("refused line 1: another account has this id"), "{out}");
    assert!(out.contains("imported 1, skipped 0 (already present), refused 1"), "{out}");
    let emails: Vec<Value> = export(&deployment).into_iter().map(|line| line["email"].clone()).collect();
    assert_eq!(emails.len(), 2);
    assert!(emails.contains(&json!(other)));
}

#[tokio::test]
async fn an_export_imports_into_empty_tables_as_the_same_accounts() {
    let source = Deployment::new().await;
    let (ada, bob) = (unique_email("ada"), unique_email("bob"));
    succeeded(source.create_admin(&ada, Some("admin pass phrase\n")));
    let bcrypt = "$2b$04$9sicPNg48CFVDv7zObOSbe8UpPHPQTEYxkWqkMNhgO2ozkk5HdiRK";
    let bob_line = json!({
        "email": bob, "email_verified": true, "claims": {"tenant": "t-7"}, "created_at": "2023-03-03T03:03:03Z",
        "password_hash": bcrypt, "identities": [{"provider": "google", "subject": "g-123", "linked_at": 1_700_000_000}]
    });
    succeeded(on(&source, &["import", file_with(&[bob_line]).to_str().unwrap()]));
    let exported = export(&source);
    assert_eq!(exported.len(), 2);

    let target = Deployment::new().await;
    let path = temp_path("moved.jsonl");
    succeeded(on(&source, &["export", path.to_str().unwrap()]));
    let out = succeeded(on(&target, &["import", path.to_str().unwrap()]));
    assert!(out.contains("imported 2, skipped 0 (already present), refused 0"), "{out}");
    assert_eq!(export(&target), exported, "the same accounts, ids and all");

    let accounts = target.accounts();
    let admin = login(&accounts, &ada, "admin pass phrase").await.expect("the admin logs in on the target");
    let source_ada = source.store.user_by_email(&Email::parse(&ada).unwrap()).await.unwrap().unwrap();
    let claims = claims(&accounts, &admin);
    assert_eq!((claims.role, claims.sub), (Role::Admin, source_ada.id), "the same sub as before the move");
    let identity =
        target.store.user_by_identity("google", "g-123").await.unwrap().expect("the identity's guard came along");
    assert_eq!(identity.email.as_str(), bob);
    let page = target.store.export_users(None).await.unwrap();
    assert_eq!(page.users.len(), 2);
}
