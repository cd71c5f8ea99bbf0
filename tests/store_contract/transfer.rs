//! The import and export contract, the same on both stores: a batch creates every account
//! that is not there, says for each one what happened, and writes nothing of the others — even
//! when the accounts that are there sit among new ones in one transaction.

use shared::domain::{LinkedIdentity, User};
use shared::store::{AccountStore, FederationStore, Imported, MemoryStore, TransferStore};

use super::user;
use e2e::unique_email;

fn with_identity(mut account: User, subject: &str) -> User {
    let identity = LinkedIdentity { provider: "google".into(), subject: subject.into(), email: None, linked_at: 1 };
    account.identities = vec![identity];
    account
}

async fn a_batch_creates_what_is_not_there_and_says_why_for_the_rest<S>(store: &S)
where
    S: TransferStore + AccountStore + FederationStore,
{
    let present = user(&unique_email());
    let holder = with_identity(user(&unique_email()), &format!("g-{}", uuid::Uuid::new_v4()));
    let (created, _) = store.import_users(&[present.clone(), holder.clone()]).await.unwrap();
    assert_eq!(created, [Imported::Created, Imported::Created]);

    // 60 accounts (more than one transaction's worth), the conflicting ones spread among them.
    let mut batch: Vec<User> = (0..60).map(|_| user(&unique_email())).collect();
    batch[3] = User { id: uuid::Uuid::new_v4().to_string(), ..present.clone() };
    batch[30] = User { id: present.id.clone(), ..user(&unique_email()) };
    batch[41] = with_identity(user(&unique_email()), &holder.identities[0].subject);
    let (outcomes, _) = store.import_users(&batch).await.unwrap();
    for (index, outcome) in outcomes.iter().enumerate() {
        let expected = match index {
            3 => Imported::AlreadyPresent,
            30 => Imported::IdTaken,
            41 => Imported::IdentityTaken,
            _ => Imported::Created,
        };
        assert_eq!(*outcome, expected, "account {index}");
    }
    for (index, account) in batch.iter().enumerate() {
        let stored = store.user_by_email(&account.email).await.unwrap();
        match index {
            3 => assert_eq!(stored.as_ref(), Some(&present), "left exactly as it was"),
            30 | 41 => assert_eq!(stored, None, "nothing of a refused account"),
            _ => assert_eq!(stored.as_ref(), Some(account)),
        }
    }
    let owner = store.user_by_identity("google", &holder.identities[0].subject).await.unwrap();
    assert_eq!(owner.map(|owner| owner.id), Some(holder.id.clone()), "the identity stays its holder's");

    let (again, _) = store.import_users(&batch).await.unwrap();
    assert!(again.iter().enumerate().all(|(index, outcome)| match index {
        30 => *outcome == Imported::IdTaken,
        41 => *outcome == Imported::IdentityTaken,
        _ => *outcome == Imported::AlreadyPresent,
    }));

    let mut exported = Vec::new();
    let mut from = None;
    loop {
        let page = store.export_users(from).await.unwrap();
        exported.extend(page.users);
        match page.next {
            Some(next) => from = Some(next),
            None => break,
        }
    }
    for account in batch.iter().enumerate().filter(|(index, _)| ![3, 30, 41].contains(index)).map(|(_, a)| a) {
        assert!(exported.contains(account), "the export has every account");
    }
    assert!(exported.contains(&present) && exported.contains(&holder));
}

mod embedded {
    #[tokio::test]
    async fn a_batch_creates_what_is_not_there_and_says_why_for_the_rest() {
        super::a_batch_creates_what_is_not_there_and_says_why_for_the_rest(&super::MemoryStore::new()).await;
    }
}

mod dynamodb {
    #[tokio::test]
    async fn a_batch_creates_what_is_not_there_and_says_why_for_the_rest() {
        let store = e2e::dynamo_store().await;
        super::a_batch_creates_what_is_not_there_and_says_why_for_the_rest(store.as_ref()).await;
    }
}
