//! The MFA store operations, the same on both stores: each spend is one atomic write, so of
//! concurrent uses of one code, enrolment or challenge exactly one (or the budget) wins.

use std::sync::Arc;

use e2e::unique_email;

use super::by_password;
use futures::future::join_all;
use shared::domain::mfa::{CHALLENGE_ATTEMPTS, MfaChallenge, PendingEnrolment, SpentFactor};
use shared::domain::{AuthMethods, Email, MfaFactor, Role, Session, User};
use shared::store::{ChallengeDraw, LoginProof, MfaActivation, MfaRemoval, SessionRenewal, Store};
use shared::time::UnixTime;

const NOW: UnixTime = UnixTime::from_millis(1_800_000_000_000);
const SEALED: &str = "v1.c2VhbGVkLWtleQ";

async fn account(store: &Arc<dyn Store>) -> User {
    let hash = "$argon2id$v=19$m=256,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA".into();
    let user = User::new(Email::parse(&unique_email()).unwrap(), hash, Role::User, NOW);
    store.create_user(&user, Some(&first_session(&user))).await.unwrap();
    user
}

/// The session an account is created with: the one that confirms its enrolment.
fn first_session(user: &User) -> Session {
    Session::new(format!("first-{}", user.id), user.id.clone(), "first-jti".into(), NOW.millis(), NOW.secs() + 3600)
}

fn activation(user: &User, sealed_key: &str, now: UnixTime) -> MfaActivation {
    let session = first_session(user);
    MfaActivation {
        user_id: user.id.clone(),
        sealed_key: sealed_key.into(),
        step: 100,
        recovery_digests: vec!["aa11".into(), "bb22".into()],
        credential_epoch: user.credential_epoch,
        sessions_started: user.sessions_started,
        renewal: SessionRenewal {
            session_id: session.id,
            session_created_ms: session.created_ms,
            cutoff: now,
            next_jti: "renewed-jti".into(),
            expires_at: now.secs() + 3600,
            methods: AuthMethods::password_and_code(),
        },
    }
}

fn pending(user: &User) -> PendingEnrolment {
    PendingEnrolment {
        user_id: user.id.clone(),
        sealed_key: SEALED.into(),
        expires_at: NOW.secs() + 600,
        credential_epoch: user.credential_epoch,
    }
}

/// An account with MFA on (last step 100, recovery codes `aa11` and `bb22`).
async fn enrolled(store: &Arc<dyn Store>) -> User {
    let user = account(store).await;
    let pending = pending(&user);
    store.put_mfa_enrolment(&pending).await.unwrap();
    assert!(store.enable_mfa(&activation(&user, SEALED, NOW)).await.unwrap());
    store.user_by_id(&user.id).await.unwrap().unwrap()
}

fn challenge(user: &User) -> MfaChallenge {
    MfaChallenge {
        digest: uuid::Uuid::new_v4().simple().to_string(),
        user_id: user.id.clone(),
        client_digest: "cd".into(),
        attempts: 0,
        expires_at: NOW.secs() + 300,
        credential_epoch: user.credential_epoch,
        device_id: None,
        idp: None,
        passkey_state: None,
    }
}

/// A login's second step: its session and what it proves.
struct Completion {
    session: Session,
    proof: LoginProof,
}

/// Starts the completion's session: the store's second step.
async fn complete(store: &Arc<dyn Store>, completion: &Completion) -> Result<bool, shared::store::StoreError> {
    store.start_session(&completion.session, &completion.proof).await
}

fn completion(user: &User, challenge: &MfaChallenge, spent: SpentFactor) -> Completion {
    let session = Session::new(
        uuid::Uuid::new_v4().to_string(),
        user.id.clone(),
        uuid::Uuid::new_v4().to_string(),
        NOW.millis(),
        NOW.secs() + 3600,
    );
    let proof = LoginProof::SecondFactor {
        challenge_digest: challenge.digest.clone(),
        sealed_key: SEALED.into(),
        spent,
        credential_epoch: challenge.credential_epoch.max(user.credential_epoch),
    };
    Completion { session: Session { methods: AuthMethods::password_and_code(), ..session }, proof }
}

async fn an_enrolment_turns_mfa_on_once_and_only_as_read(store: Arc<dyn Store>) {
    let user = account(&store).await;
    assert!(!store.enable_mfa(&activation(&user, SEALED, NOW)).await.unwrap(), "nothing pending");
    let pending = pending(&user);
    store.put_mfa_enrolment(&pending).await.unwrap();
    assert_eq!(store.mfa_enrolment(&user.id).await.unwrap(), Some(pending.clone()));
    assert!(!store.enable_mfa(&activation(&user, "v1.another", NOW)).await.unwrap(), "replaced since read");
    assert!(!store.enable_mfa(&activation(&user, SEALED, NOW.plus_secs(600))).await.unwrap(), "expired");
    assert_eq!(store.user_by_id(&user.id).await.unwrap().unwrap().mfa, None, "nothing written");
    // Two confirmations at once: one wins; the enrolment is spent with it.
    let confirming = activation(&user, SEALED, NOW);
    let both = join_all((0..2).map(|_| store.enable_mfa(&confirming))).await;
    assert_eq!(both.into_iter().filter(|won| *won.as_ref().unwrap()).count(), 1);
    assert_eq!(store.mfa_enrolment(&user.id).await.unwrap(), None);
    let factor = store.user_by_id(&user.id).await.unwrap().unwrap().mfa.unwrap();
    let expected = MfaFactor { sealed_key: SEALED.into(), last_used_step: Some(100), recovery_digests: vec![] };
    assert_eq!((factor.sealed_key.as_str(), factor.last_used_step), (expected.sealed_key.as_str(), Some(100)));
    let mut digests = factor.recovery_digests;
    digests.sort();
    assert_eq!(digests, ["aa11", "bb22"]);
    // On already: a new enrolment cannot replace the factor.
    store.put_mfa_enrolment(&pending).await.unwrap();
    assert!(!store.enable_mfa(&activation(&user, SEALED, NOW)).await.unwrap());
}

/// An enrolment confirmed against an account that changed since it was read turns nothing on:
/// disabled, a credential event (a role change), or a session started since (a login that
/// checked the password before the factor existed).
async fn an_enrolment_is_refused_on_an_account_changed_since_read(store: Arc<dyn Store>) {
    use shared::store::UserChanges;
    let changes = |role, disabled| UserChanges { role, disabled, claims: None, roles: None };
    for change in ["disabled", "role changed", "session started"] {
        let user = account(&store).await;
        store.put_mfa_enrolment(&pending(&user)).await.unwrap();
        match change {
            "disabled" => {
                store.update_user(&user.id, &changes(None, Some(true)), None).await.unwrap();
            }
            "role changed" => {
                // A credential event whose cutoff spares the confirming session (created at NOW).
                let before = UnixTime::from_millis(NOW.millis() - 1000);
                store.update_user(&user.id, &changes(Some(Role::Admin), None), Some(before)).await.unwrap();
            }
            _ => {
                let session = Session::new(
                    format!("later-{}", user.id),
                    user.id.clone(),
                    "later-jti".into(),
                    NOW.millis(),
                    NOW.secs() + 3600,
                );
                assert!(store.start_session(&session, &by_password(&user)).await.unwrap());
            }
        }
        assert!(!store.enable_mfa(&activation(&user, SEALED, NOW)).await.unwrap(), "{change}");
        assert_eq!(store.user_by_id(&user.id).await.unwrap().unwrap().mfa, None, "{change}: nothing written");
    }
}

/// A login that checked the password before MFA was turned on cannot start a session on the
/// password alone after it.
async fn no_password_only_session_once_mfa_is_on(store: Arc<dyn Store>) {
    let user = enrolled(&store).await;
    let session = completion(&user, &challenge(&user), SpentFactor::TotpStep(101)).session;
    let plain = Session { methods: AuthMethods::password(), ..session };
    // The check saw the account as it was before MFA was turned on (its credential epoch then).
    let before_mfa = LoginProof::Password { credential_epoch: user.credential_epoch - 1 };
    assert!(!store.start_session(&plain, &before_mfa).await.unwrap());
    assert_eq!(store.session(&plain.id).await.unwrap(), None);
    let without = account(&store).await;
    let session = Session {
        user_id: without.id.clone(),
        ..completion(&without, &challenge(&without), SpentFactor::TotpStep(1)).session
    };
    assert!(
        store
            .start_session(&Session { methods: AuthMethods::password(), ..session }, &by_password(&without))
            .await
            .unwrap()
    );
}

async fn a_challenge_grants_its_attempts_and_no_more_even_when_raced(store: Arc<dyn Store>) {
    let user = enrolled(&store).await;
    let challenge = challenge(&user);
    store.put_mfa_challenge(&challenge).await.unwrap();
    let draws = join_all((0..8).map(|_| store.draw_mfa_challenge(&challenge.digest, NOW))).await;
    let drawn: Vec<_> = draws.into_iter().map(Result::unwrap).collect();
    let granted = drawn.iter().filter(|draw| matches!(draw, ChallengeDraw::Drawn(_))).count();
    assert_eq!(granted, CHALLENGE_ATTEMPTS as usize, "{drawn:?}");
    assert!(drawn.iter().all(|draw| matches!(draw, ChallengeDraw::Drawn(_) | ChallengeDraw::Exhausted)));
    assert_eq!(store.draw_mfa_challenge("no-such-digest", NOW).await.unwrap(), ChallengeDraw::Unknown);
    let other = self::challenge(&user);
    store.put_mfa_challenge(&other).await.unwrap();
    assert_eq!(store.draw_mfa_challenge(&other.digest, NOW.plus_secs(300)).await.unwrap(), ChallengeDraw::Unknown);
    let ChallengeDraw::Drawn(counted) = store.draw_mfa_challenge(&other.digest, NOW).await.unwrap() else {
        panic!("a fresh challenge draws")
    };
    assert_eq!((counted.attempts, counted.user_id), (1, user.id.clone()));
}

async fn of_two_uses_of_one_code_one_wins_and_spent_codes_stay_spent(store: Arc<dyn Store>) {
    let user = enrolled(&store).await;
    let [first, second, third] = [(); 3].map(|()| challenge(&user));
    for challenge in [&first, &second, &third] {
        store.put_mfa_challenge(challenge).await.unwrap();
    }
    let step = SpentFactor::TotpStep(101);
    let (to_first, to_second) = (completion(&user, &first, step.clone()), completion(&user, &second, step.clone()));
    let (a, b) = tokio::join!(complete(&store, &to_first), complete(&store, &to_second));
    assert_eq!([a.unwrap(), b.unwrap()].iter().filter(|won| **won).count(), 1, "one code, one session");
    let stored = store.user_by_id(&user.id).await.unwrap().unwrap();
    assert_eq!((stored.mfa.unwrap().last_used_step, stored.sessions_started), (Some(101), 1));
    assert!(!complete(&store, &completion(&user, &third, SpentFactor::TotpStep(100))).await.unwrap(), "an older step");
    // A recovery code: once; the challenge it came with is spent too.
    let code = SpentFactor::RecoveryCode("aa11".into());
    let used = completion(&user, &third, code.clone());
    assert!(complete(&store, &used).await.unwrap());
    assert!(
        store
            .session(&used.session.id)
            .await
            .unwrap()
            .is_some_and(|(session, revoked)| session.methods.multi_factor() && !revoked)
    );
    assert_eq!(store.draw_mfa_challenge(&third.digest, NOW).await.unwrap(), ChallengeDraw::Unknown);
    let again = self::challenge(&user);
    store.put_mfa_challenge(&again).await.unwrap();
    assert!(!complete(&store, &completion(&user, &again, code)).await.unwrap(), "a spent recovery code");
    let left = store.user_by_id(&user.id).await.unwrap().unwrap().mfa.unwrap().recovery_digests;
    assert_eq!(left, ["bb22"]);
    // An account disabled since the login was checked: nothing written, the challenge stands.
    let disable = shared::store::UserChanges { role: None, disabled: Some(true), claims: None, roles: None };
    store.update_user(&user.id, &disable, None).await.unwrap();
    assert!(!complete(&store, &completion(&user, &again, SpentFactor::TotpStep(102))).await.unwrap());
    let enable = shared::store::UserChanges { role: None, disabled: Some(false), claims: None, roles: None };
    store.update_user(&user.id, &enable, None).await.unwrap();
    // A credential event since the login was checked: nothing written.
    let mut stale = completion(&user, &again, SpentFactor::TotpStep(102));
    stale.proof = LoginProof::SecondFactor {
        challenge_digest: again.digest.clone(),
        sealed_key: SEALED.into(),
        spent: SpentFactor::TotpStep(102),
        credential_epoch: user.credential_epoch - 1,
    };
    assert!(!complete(&store, &stale).await.unwrap());
    assert!(complete(&store, &completion(&user, &again, SpentFactor::TotpStep(102))).await.unwrap());
}

async fn removal_needs_its_proof_and_the_administrators_revokes_sessions(store: Arc<dyn Store>) {
    let user = enrolled(&store).await;
    let removal = |proof| MfaRemoval { user_id: user.id.clone(), proof, revoke_sessions_at: None };
    let wrong_key = removal(Some(("v1.other".to_owned(), SpentFactor::TotpStep(101))));
    assert_eq!(store.remove_mfa(&wrong_key).await.unwrap(), None);
    let spent_step = removal(Some((SEALED.to_owned(), SpentFactor::TotpStep(100))));
    assert_eq!(store.remove_mfa(&spent_step).await.unwrap(), None, "the confirming code's step is spent");
    let unknown_code = removal(Some((SEALED.to_owned(), SpentFactor::RecoveryCode("zz99".into()))));
    assert_eq!(store.remove_mfa(&unknown_code).await.unwrap(), None);
    assert!(store.user_by_id(&user.id).await.unwrap().unwrap().mfa.is_some(), "nothing written");
    let with_code = removal(Some((SEALED.to_owned(), SpentFactor::RecoveryCode("bb22".into()))));
    let removed = store.remove_mfa(&with_code).await.unwrap().expect("the owner's proof holds");
    // Only turning MFA on ended sessions (its renewal's cutoff): the owner's removal ends none.
    assert_eq!((removed.mfa, removed.sessions_valid_after_ms), (None, NOW.millis()));

    let other = enrolled(&store).await;
    let by_admin = MfaRemoval { user_id: other.id.clone(), proof: None, revoke_sessions_at: Some(NOW.plus_secs(5)) };
    let removed = store.remove_mfa(&by_admin).await.unwrap().unwrap();
    assert_eq!((removed.mfa, removed.sessions_valid_after_ms), (None, NOW.plus_secs(5).millis()));
    // A later cutoff standing is kept (it only rises), and the factor still goes.
    let earlier = MfaRemoval { revoke_sessions_at: Some(NOW), ..by_admin.clone() };
    assert_eq!(store.remove_mfa(&earlier).await.unwrap().unwrap().sessions_valid_after_ms, NOW.plus_secs(5).millis());
    let nobody = MfaRemoval { user_id: uuid::Uuid::now_v7().to_string(), ..by_admin };
    assert_eq!(store.remove_mfa(&nobody).await.unwrap(), None);
}

e2e::on_both_store_adapters!(
    an_enrolment_turns_mfa_on_once_and_only_as_read,
    an_enrolment_is_refused_on_an_account_changed_since_read,
    no_password_only_session_once_mfa_is_on,
    a_challenge_grants_its_attempts_and_no_more_even_when_raced,
    of_two_uses_of_one_code_one_wins_and_spent_codes_stay_spent,
    removal_needs_its_proof_and_the_administrators_revokes_sessions,
);
