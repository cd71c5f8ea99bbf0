//! The stored format pinned attribute by attribute: stored data, the `users_by_created` index
//! and the TTL depend on it, so a record's change must show here and not in production.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::items::{self, AccessTokenItem, EmailGuardItem, Item, SessionItem, ThrottleItem, UserItem};
use crate::domain::{AuthMethods, Email, LinkedIdentity, MfaFactor, OneTimeToken, Purpose, Role, Session, User};
use crate::store::ThrottleRecord;

fn item(attributes: &[(&str, AttributeValue)]) -> Item {
    attributes.iter().map(|(name, value)| ((*name).to_owned(), value.clone())).collect()
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn n(value: &str) -> AttributeValue {
    AttributeValue::N(value.to_owned())
}

fn alice() -> User {
    User {
        id: "0190c3e4".into(),
        email: Email::parse("Alice@Example.com").unwrap(),
        password_hash: Some("$argon2id$hash".into()),
        role: Role::Admin,
        disabled: true,
        created_at: 1_800_000_000,
        sessions_valid_after_ms: 1_800_000_000_123,
        sessions_started: 0,
        email_verified: true,
        latest_reset_ms: Some(1_800_000_000_900),
        mfa: None,
        claims: Default::default(),
        roles: vec!["0190f000-role".into()],
        credential_epoch: 3,
        identities: vec![LinkedIdentity {
            provider: "google".into(),
            subject: "10769150350006150715113082367".into(),
            email: Some("alice@example.com".into()),
            linked_at: 1_800_000_100,
        }],
        passkeys: Vec::new(),
    }
}

fn new_session() -> Session {
    Session::new("s1".into(), "0190c3e4".into(), "j1".into(), 1_800_000_000_500, 1_800_003_600)
}

#[test]
fn a_user_is_stored_as_before_and_reads_back() {
    let stored = items::user(&alice()).unwrap();
    assert_eq!(
        stored,
        item(&[
            ("pk", s("user#0190c3e4")),
            ("entity", s("user")),
            ("id", s("0190c3e4")),
            ("email", s("alice@example.com")),
            ("password_hash", s("$argon2id$hash")),
            ("role", s("admin")),
            ("disabled", AttributeValue::Bool(true)),
            ("created_at", n("1800000000")),
            ("sessions_valid_after_ms", n("1800000000123")),
            ("sessions_started", n("0")),
            ("email_verified", AttributeValue::Bool(true)),
            ("latest_reset_ms", n("1800000000900")),
            ("roles", AttributeValue::Ss(vec!["0190f000-role".into()])),
            ("credential_epoch", n("3")),
            (
                "identities",
                AttributeValue::M(HashMap::from([(
                    "google".to_owned(),
                    AttributeValue::M(HashMap::from([
                        ("subject".to_owned(), s("10769150350006150715113082367")),
                        ("email".to_owned(), s("alice@example.com")),
                        ("linked_at".to_owned(), n("1800000100")),
                    ])),
                )])),
            ),
        ])
    );
    assert_eq!(items::read::<UserItem, User>(stored).unwrap(), alice());
    let without_roles = User { roles: Vec::new(), ..alice() };
    assert!(
        !items::user(&without_roles).unwrap().contains_key("roles"),
        "no roles, no attribute (a set is never empty)"
    );
    let without_identities = User { identities: Vec::new(), ..alice() };
    assert!(!items::user(&without_identities).unwrap().contains_key("identities"));
}

#[test]
fn an_account_without_a_password_stores_no_hash_and_reads_back() {
    let passwordless = User { password_hash: None, ..alice() };
    let stored = items::user(&passwordless).unwrap();
    assert!(!stored.contains_key("password_hash"));
    assert_eq!(items::read::<UserItem, User>(stored).unwrap(), passwordless);
}

#[test]
fn a_users_factor_is_stored_sealed_with_its_codes_as_a_string_set() {
    let factor = MfaFactor {
        sealed_key: "v1.c2VhbGVk".into(),
        last_used_step: Some(60_000_001),
        recovery_digests: vec!["aa11".into(), "bb22".into()],
    };
    let with_mfa = User { mfa: Some(factor), ..alice() };
    let stored = items::user(&with_mfa).unwrap();
    assert_eq!(stored["mfa_totp"], s("v1.c2VhbGVk"));
    assert_eq!(stored["mfa_last_step"], n("60000001"));
    assert_eq!(stored["mfa_recovery"], AttributeValue::Ss(vec!["aa11".into(), "bb22".into()]));
    assert_eq!(items::read::<UserItem, User>(stored.clone()).unwrap(), with_mfa);
    // The last recovery code spent: DynamoDB drops the empty set, and the factor stays.
    let mut spent = stored;
    spent.remove("mfa_recovery");
    let read: User = items::read::<UserItem, _>(spent).unwrap();
    assert_eq!(read.mfa.map(|factor| factor.recovery_digests), Some(vec![]));
    assert!(!items::user(&alice()).unwrap().keys().any(|name| name.starts_with("mfa")));
}

#[test]
fn a_user_written_before_the_cutoff_existed_reads_with_none() {
    let mut stored = items::user(&alice()).unwrap();
    stored.remove("sessions_valid_after_ms");
    stored.remove("disabled");
    stored.remove("sessions_started");
    stored.remove("email_verified");
    stored.remove("latest_reset_ms");
    let user: User = items::read::<UserItem, _>(stored).unwrap();
    assert_eq!((user.sessions_valid_after_ms, user.disabled, user.sessions_started), (0, false, 0));
    assert_eq!((user.email_verified, user.latest_reset_ms), (false, None));
}

#[test]
fn an_unknown_role_is_a_stored_item_this_code_cannot_read() {
    let mut stored = items::user(&alice()).unwrap();
    stored.insert("role".into(), s("root"));
    assert!(items::read::<UserItem, User>(stored).is_err());
}

#[test]
fn the_email_guard_access_token_and_throttle_items_are_stored_as_expected() {
    assert_eq!(
        items::email_guard(&alice().email, &alice().id).unwrap(),
        item(&[("pk", s("email#alice@example.com")), ("entity", s("email")), ("user_id", s("0190c3e4"))])
    );
    assert_eq!(
        items::revoked_access_token("j9", 1_800_000_900).unwrap(),
        item(&[("pk", s("jti#j9")), ("entity", s("access_token")), ("expires_at", n("1800000900"))])
    );
    assert_eq!(
        items::first_attempt("alice@example.com#ip#192.0.2.1", 1_800_000_900).unwrap(),
        item(&[
            ("pk", s("throttle#alice@example.com#ip#192.0.2.1")),
            ("entity", s("throttle")),
            ("attempts", n("1")),
            ("expires_at", n("1800000900")),
        ])
    );
    let guard: EmailGuardItem =
        items::read::<EmailGuardItem, _>(items::email_guard(&alice().email, &alice().id).unwrap()).unwrap();
    assert_eq!(guard.user_id, "0190c3e4");
    let token = OneTimeToken {
        digest: "ab12".into(),
        purpose: Purpose::ChangeEmail,
        user_id: "0190c3e4".into(),
        email: Email::parse("new@example.com").unwrap(),
        issued_ms: 1_800_000_000_001,
        expires_at: 1_800_086_400,
        credential_epoch: 3,
    };
    let stored = items::one_time_token(&token).unwrap();
    assert_eq!(
        stored,
        item(&[
            ("pk", s("otk#ab12")),
            ("entity", s("one_time_token")),
            ("purpose", s("change_email")),
            ("user_id", s("0190c3e4")),
            ("email", s("new@example.com")),
            ("issued_ms", n("1800000000001")),
            ("expires_at", n("1800086400")),
            ("credential_epoch", n("3")),
        ])
    );
    assert_eq!(items::read_one_time_token("ab12", stored).unwrap(), token);
    let revoked: AccessTokenItem = items::read::<AccessTokenItem, _>(item(&[("expires_at", n("7"))])).unwrap();
    assert_eq!(revoked.expires_at, 7);
}

#[test]
fn a_throttle_item_an_update_created_has_no_entity_and_reads() {
    let counted = item(&[("pk", s("throttle#a@b.c")), ("attempts", n("3")), ("expires_at", n("9"))]);
    let record: ThrottleRecord = items::read::<ThrottleItem, _>(counted).unwrap();
    assert_eq!(record, ThrottleRecord { attempts: 3, expires_at: 9, locked_until_ms: None });
}

#[test]
fn a_new_session_is_stored_live_without_rotation_attributes() {
    let stored = items::session(&new_session()).unwrap();
    assert_eq!(
        stored,
        item(&[
            ("pk", s("session#s1")),
            ("entity", s("session")),
            ("session_id", s("s1")),
            ("user_id", s("0190c3e4")),
            ("current_jti", s("j1")),
            ("created_ms", n("1800000000500")),
            ("expires_at", n("1800003600")),
            ("auth_time", n(&new_session().auth_time.to_string())),
            ("revoked", AttributeValue::Bool(false)),
            ("last_used_ms", n("1800000000500")),
            ("live_user_id", s("0190c3e4")),
            ("amr", AttributeValue::L(vec![s("pwd")])),
        ])
    );
    assert_eq!(items::read::<SessionItem, (Session, bool)>(stored).unwrap(), (new_session(), false));
}

#[test]
fn a_session_written_before_its_methods_were_reads_them_from_its_mfa_flag() {
    for (mfa, methods) in [(true, AuthMethods::password_and_code()), (false, AuthMethods::password())] {
        let mut stored = items::session(&new_session()).unwrap();
        stored.remove("amr");
        stored.insert("mfa".to_owned(), AttributeValue::Bool(mfa));
        let (session, _): (Session, bool) = items::read::<SessionItem, _>(stored).unwrap();
        assert_eq!(session.methods, methods);
    }
}

#[test]
fn a_rotated_revoked_session_reads_back() {
    let mut stored = items::session(&new_session()).unwrap();
    let rotation = HashMap::from([
        ("previous_jti".to_owned(), s("j0")),
        ("rotated_ms".to_owned(), n("1800000000700")),
        ("grace_used".to_owned(), AttributeValue::Bool(true)),
        ("revoked".to_owned(), AttributeValue::Bool(true)),
    ]);
    stored.extend(rotation);
    let (session, revoked): (Session, bool) = items::read::<SessionItem, _>(stored).unwrap();
    let expected =
        Session { previous_jti: Some("j0".into()), rotated_ms: 1_800_000_000_700, grace_used: true, ..new_session() };
    assert_eq!((session, revoked), (expected, true));
}
