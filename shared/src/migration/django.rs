//! `python manage.py dumpdata auth.user` (a JSON array of `{"model", "pk", "fields"}`; a custom
//! user model's dump too, when it has `email` and `password` fields) read as account lines.
//! Django's fields map as: `password` → `password_hash` (an unusable `!…` one → none: the
//! account sets a password through "forgot password"); `is_superuser` → role `admin`;
//! `is_active: false` → disabled; `date_joined` → `created_at`; `pk` → the claim
//! `django_user_id`, so that the API behind the service can find its rows for a token. Django
//! has no verified flag: addresses import unverified. Groups and permissions are not mapped
//! (define roles and assign them); a user that has some is reported, not silently stripped.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::AccountLine;

#[derive(Deserialize)]
struct DumpRecord {
    model: String,
    pk: Value,
    fields: Map<String, Value>,
}

/// One account read from a dump, with what could not be carried over.
#[derive(Debug, PartialEq)]
pub struct DjangoUser {
    pub line: AccountLine,
    /// E.g. "2 groups, 1 permission not imported".
    pub not_carried: Option<String>,
}

/// The dump's records in order, each an account or the reason it is refused.
pub fn read_dump(text: &str) -> Result<Vec<Result<DjangoUser, String>>, String> {
    let records: Vec<Value> =
        serde_json::from_str(text).map_err(|error| format!("not a dumpdata JSON array: {error}"))?;
    Ok(records.into_iter().map(read_record).collect())
}

fn read_record(value: Value) -> Result<DjangoUser, String> {
    let record: DumpRecord = serde_json::from_value(value).map_err(|_| "not a dumpdata record")?;
    let has = |name: &str| record.fields.contains_key(name);
    if !has("password") || !has("email") {
        return Err(format!("model {} has no email and password fields", record.model));
    }
    let text = |name: &str| record.fields.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
    let flag = |name: &str, default: bool| record.fields.get(name).and_then(Value::as_bool).unwrap_or(default);
    let email = text("email");
    if email.is_empty() {
        return Err(format!("user {} has no email address", text("username")));
    }
    let password = text("password");
    let password_hash = (!password.is_empty() && !password.starts_with('!')).then_some(password);
    let mut claims = Map::new();
    claims.insert("django_user_id".into(), record.pk);
    let count = |name: &str| record.fields.get(name).and_then(Value::as_array).map_or(0, Vec::len);
    let (groups, permissions) = (count("groups"), count("user_permissions"));
    let not_carried = (groups + permissions > 0)
        .then(|| format!("{groups} group(s) and {permissions} permission(s) not imported (assign roles instead)"));
    let line = AccountLine {
        id: None,
        email,
        email_verified: false,
        role: if flag("is_superuser", false) { "admin" } else { "user" }.into(),
        roles: Vec::new(),
        claims,
        created_at: record.fields.get("date_joined").filter(|value| !value.is_null()).cloned(),
        password_hash,
        disabled: !flag("is_active", true),
        mfa: None,
        identities: Vec::new(),
        passkeys: Vec::new(),
    };
    Ok(DjangoUser { line, not_carried })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dump_maps_django_s_fields_and_refuses_what_it_cannot_place() {
        let dump = r#"[
          {"model": "auth.user", "pk": 7, "fields": {"password": "pbkdf2_sha256$1000$salt$AAAA", "last_login": null,
           "is_superuser": true, "username": "ada", "first_name": "", "last_name": "", "email": "ada@example.com",
           "is_staff": true, "is_active": true, "date_joined": "2023-04-05T06:07:08.123Z", "groups": [1], "user_permissions": []}},
          {"model": "auth.user", "pk": 8, "fields": {"password": "!unusable", "username": "bob", "email": "bob@example.com",
           "is_active": false, "date_joined": "2024-01-01T00:00:00Z", "groups": [], "user_permissions": []}},
          {"model": "auth.user", "pk": 9, "fields": {"password": "x", "username": "noaddress", "email": ""}},
          {"model": "auth.group", "pk": 1, "fields": {"name": "editors", "permissions": []}},
          {"model": "shop.customer", "pk": 3, "fields": {"email": "c@example.com", "name": "a customer"}},
          {"model": "auth.user", "pk": 10, "fields": {"password": "!x", "email": "d@example.com", "groups": [], "user_permissions": [5]}}
        ]"#;
        let read = read_dump(dump).unwrap();
        let ada = read[0].as_ref().unwrap();
        assert_eq!(ada.line.email, "ada@example.com");
        assert_eq!(ada.line.role, "admin");
        assert_eq!(ada.line.password_hash.as_deref(), Some("pbkdf2_sha256$1000$salt$AAAA"));
        assert_eq!(ada.line.claims["django_user_id"], 7);
        assert_eq!(ada.line.created_at, Some(Value::String("2023-04-05T06:07:08.123Z".into())));
        assert!(!ada.line.disabled && !ada.line.email_verified);
        assert_eq!(
            ada.not_carried.as_deref(),
            Some("1 group(s) and 0 permission(s) not imported (assign roles instead)")
        );
        let bob = read[1].as_ref().unwrap();
        assert_eq!((bob.line.role.as_str(), bob.line.password_hash.as_ref(), bob.line.disabled), ("user", None, true));
        assert_eq!(bob.not_carried, None);
        assert_eq!(read[2], Err("user noaddress has no email address".into()));
        assert_eq!(read[3], Err("model auth.group has no email and password fields".into()));
        assert_eq!(read[4], Err("model shop.customer has no email and password fields".into()), "an address alone");
        let permissions_only = read[5].as_ref().unwrap().not_carried.as_deref();
        assert_eq!(permissions_only, Some("0 group(s) and 1 permission(s) not imported (assign roles instead)"));
        assert!(read_dump("{}").unwrap_err().starts_with("not a dumpdata JSON array"));
    }
}
