//! One-time tokens (mailed links), the same on both stores: a token is spent only as it was
//! issued — its purpose, its account, before its expiry — on an account that is not disabled and
//! had no credential event since; a refusal writes nothing.

use std::sync::Arc;

use e2e::unique_email;

use super::{NOW, user};
use shared::domain::{OneTimeToken, Purpose, User};
use shared::store::{Effect, Redeemed, Redemption, Store, UserChanges};
use shared::time::UnixTime;

async fn account(store: &Arc<dyn Store>) -> User {
    let user = user(&unique_email());
    store.create_user(&user, None).await.unwrap();
    user
}

fn verification(user: &User) -> OneTimeToken {
    OneTimeToken {
        digest: uuid::Uuid::new_v4().simple().to_string(),
        purpose: Purpose::VerifyEmail,
        user_id: user.id.clone(),
        email: user.email.clone(),
        issued_ms: NOW.millis(),
        expires_at: NOW.secs() + 600,
        credential_epoch: user.credential_epoch,
    }
}

fn redeeming(token: OneTimeToken, now: UnixTime) -> Redemption {
    Redemption { token, effect: Effect::VerifyEmail { remove_factor: false }, now }
}

async fn a_link_is_spent_only_as_issued(store: Arc<dyn Store>) {
    let owner = account(&store).await;
    let stranger = account(&store).await;
    let token = verification(&owner);
    assert!(store.issue_one_time_token(&token).await.unwrap());
    let refused = [
        ("another purpose", redeeming(OneTimeToken { purpose: Purpose::ResetPassword, ..token.clone() }, NOW)),
        ("another account", redeeming(OneTimeToken { user_id: stranger.id.clone(), ..token.clone() }, NOW)),
        ("at its expiry", redeeming(token.clone(), UnixTime::from_millis(token.expires_at * 1000))),
    ];
    for (case, redemption) in refused {
        assert!(matches!(store.redeem(&redemption).await.unwrap(), Redeemed::Refused), "{case}");
    }
    for id in [&owner.id, &stranger.id] {
        assert!(!store.user_by_id(id).await.unwrap().unwrap().email_verified, "nothing written");
    }
    let just_before = UnixTime::from_millis(token.expires_at * 1000 - 1000);
    assert!(matches!(store.redeem(&redeeming(token.clone(), just_before)).await.unwrap(), Redeemed::Done));
    assert!(store.user_by_id(&owner.id).await.unwrap().unwrap().email_verified);
    assert!(matches!(store.redeem(&redeeming(token, NOW)).await.unwrap(), Redeemed::Refused), "spent");
}

async fn a_disabled_account_spends_no_link(store: Arc<dyn Store>) {
    let owner = account(&store).await;
    let token = verification(&owner);
    assert!(store.issue_one_time_token(&token).await.unwrap());
    let disable = UserChanges { role: None, disabled: Some(true), claims: None, roles: None };
    store.update_user(&owner.id, &disable, None).await.unwrap();
    assert!(matches!(store.redeem(&redeeming(token, NOW)).await.unwrap(), Redeemed::Refused));
    assert!(!store.user_by_id(&owner.id).await.unwrap().unwrap().email_verified);
}

async fn a_credential_event_since_issue_voids_a_link(store: Arc<dyn Store>) {
    let owner = account(&store).await;
    let token = verification(&owner);
    assert!(store.issue_one_time_token(&token).await.unwrap());
    let promote = UserChanges { role: Some(shared::domain::Role::Admin), disabled: None, claims: None, roles: None };
    store.update_user(&owner.id, &promote, Some(NOW)).await.unwrap();
    assert!(matches!(store.redeem(&redeeming(token, NOW)).await.unwrap(), Redeemed::Refused));
    assert!(!store.user_by_id(&owner.id).await.unwrap().unwrap().email_verified);
}

/// A reset is refused for any but the newest link, and when a login started a session since
/// the account was read: that login checked the old password, and its session would outlive the
/// reset's cutoff.
async fn a_reset_is_refused_for_an_older_link_or_after_a_login_since_read(store: Arc<dyn Store>) {
    let owner = account(&store).await;
    let older = OneTimeToken { purpose: Purpose::ResetPassword, ..verification(&owner) };
    let newest = OneTimeToken {
        digest: uuid::Uuid::new_v4().simple().to_string(),
        issued_ms: older.issued_ms + 1,
        ..older.clone()
    };
    let reset = |token: &OneTimeToken, sessions_started| Redemption {
        token: token.clone(),
        effect: Effect::ResetPassword {
            new_hash: "$argon2id$v=19$m=256,t=1,p=1$bmV3c2FsdA$bmV3aGFzaG5ld2hhc2g".into(),
            sessions_started,
            cutoff: NOW.plus_secs(1),
            remove_factor: false,
            remove_identities: Vec::new(),
            remove_passkeys: false,
        },
        now: NOW,
    };
    assert!(store.issue_one_time_token(&older).await.unwrap());
    assert!(store.issue_one_time_token(&newest).await.unwrap());
    assert!(matches!(store.redeem(&reset(&older, owner.sessions_started)).await.unwrap(), Redeemed::Refused), "older");
    let login = super::session(&owner, NOW);
    assert!(store.start_session(&login, &super::by_password(&owner)).await.unwrap());
    let stale = reset(&newest, owner.sessions_started);
    assert!(matches!(store.redeem(&stale).await.unwrap(), Redeemed::Refused), "a login since read");
    assert_eq!(store.user_by_id(&owner.id).await.unwrap().unwrap().password_hash, owner.password_hash);
    let read_again = store.user_by_id(&owner.id).await.unwrap().unwrap();
    assert!(matches!(store.redeem(&reset(&newest, read_again.sessions_started)).await.unwrap(), Redeemed::Done));

    // The sessions' cutoff only rises: a second reset at the same cutoff is refused.
    let after = store.user_by_id(&owner.id).await.unwrap().unwrap();
    let again = OneTimeToken {
        digest: uuid::Uuid::new_v4().simple().to_string(),
        issued_ms: newest.issued_ms + 1,
        credential_epoch: after.credential_epoch,
        ..newest.clone()
    };
    assert!(store.issue_one_time_token(&again).await.unwrap());
    assert!(
        matches!(store.redeem(&reset(&again, after.sessions_started)).await.unwrap(), Redeemed::Refused),
        "same cutoff"
    );
}

/// A first reset unlinks the identities it read — all of them: one linked since would be a
/// credential event, which refuses the reset — and no other account's.
async fn a_first_reset_unlinks_the_identities_it_read(store: Arc<dyn Store>) {
    use shared::domain::LinkedIdentity;
    let identity = |provider: &str| LinkedIdentity {
        provider: provider.into(),
        subject: format!("{provider}-{}", uuid::Uuid::new_v4().simple()),
        email: None,
        linked_at: NOW.secs(),
    };
    let mut owner = user(&unique_email());
    owner.identities = vec![identity("planted"), identity("another")];
    store.create_user(&owner, None).await.unwrap();
    let mut bystander = user(&unique_email());
    bystander.identities = vec![identity("planted")];
    store.create_user(&bystander, None).await.unwrap();
    let token = OneTimeToken { purpose: Purpose::ResetPassword, ..verification(&owner) };
    assert!(store.issue_one_time_token(&token).await.unwrap());
    let redemption = Redemption {
        token,
        effect: Effect::ResetPassword {
            new_hash: "$argon2id$v=19$m=256,t=1,p=1$bmV3c2FsdA$bmV3aGFzaG5ld2hhc2g".into(),
            sessions_started: owner.sessions_started,
            cutoff: NOW.plus_secs(1),
            remove_factor: false,
            remove_identities: owner.identities.clone(),
            remove_passkeys: false,
        },
        now: NOW,
    };
    assert!(matches!(store.redeem(&redemption).await.unwrap(), Redeemed::Done));
    assert_eq!(store.user_by_id(&owner.id).await.unwrap().unwrap().identities, vec![]);
    assert_eq!(store.user_by_id(&bystander.id).await.unwrap().unwrap().identities, bystander.identities);
    for identity in &owner.identities {
        assert_eq!(store.user_by_identity(&identity.provider, &identity.subject).await.unwrap(), None, "its guard too");
    }
}

e2e::on_both_store_adapters!(
    a_reset_is_refused_for_an_older_link_or_after_a_login_since_read,
    a_first_reset_unlinks_the_identities_it_read,
    a_link_is_spent_only_as_issued,
    a_disabled_account_spends_no_link,
    a_credential_event_since_issue_voids_a_link
);
