//! One-time tokens in the revocations table (`otk#<digest>`, TTL on `expires_at`), and their
//! redemption: the token's deletion and its effect on the account in one transaction.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem, Update};

use super::DynamoStore;
use super::credentials::{CREDENTIAL_EVENT, one, unchanged_since};
use super::errors::{CONDITION_FAILED, cancellation_reasons, classify};
use super::items::{self, email_key, identity_key, n, one_time_key, s, user_key};
use super::transactions::{build_failed, put};
use crate::domain::{OneTimeToken, Purpose};
use crate::store::{Effect, OneTimeStore, Redeemed, Redemption, StoreError};

/// Where the new address's guard sits among an email change's writes.
const NEW_GUARD: usize = 1;

#[async_trait]
impl OneTimeStore for DynamoStore {
    async fn issue_one_time_token(&self, token: &OneTimeToken) -> Result<bool, StoreError> {
        let stored = put(&self.tables.revocations, items::one_time_token(token)?)?;
        if token.purpose != Purpose::ResetPassword {
            return self.all_or_nothing(vec![stored]).await;
        }
        // The newest reset token is the only one that works: the account names it.
        let account = Update::builder()
            .table_name(&self.tables.users)
            .key("pk", s(user_key(&token.user_id)))
            .update_expression("SET latest_reset_ms = :issued")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":issued", n(token.issued_ms))
            .build()
            .map_err(build_failed)?;
        self.all_or_nothing(vec![stored, TransactWriteItem::builder().update(account).build()]).await
    }

    async fn one_time_token(&self, digest: &str) -> Result<Option<OneTimeToken>, StoreError> {
        let item = self.get(&self.tables.revocations, one_time_key(digest), true).await?;
        item.map(|item| items::read_one_time_token(digest, item)).transpose()
    }

    async fn redeem(&self, redemption: &Redemption) -> Result<Redeemed, StoreError> {
        let token = &redemption.token;
        let spend = Delete::builder()
            .table_name(&self.tables.revocations)
            .key("pk", s(one_time_key(&token.digest)))
            .condition_expression("purpose = :purpose AND user_id = :user_id AND expires_at > :now")
            .expression_attribute_values(":purpose", s(token.purpose.as_str()))
            .expression_attribute_values(":user_id", s(&token.user_id))
            .expression_attribute_values(":now", n(redemption.now.secs()))
            .build()
            .map_err(build_failed)?;
        let mut writes = vec![TransactWriteItem::builder().delete(spend).build()];
        // Every redemption: no credential event since the token was issued, the account
        // enabled; and each is a credential event itself, except a verification that removes
        // nothing.
        let (unchanged, (epoch, epoch_value)) = unchanged_since(token.credential_epoch);
        let (one, one_value) = one();
        let guard = format!("{unchanged} AND (attribute_not_exists(disabled) OR disabled = :false)");
        let account = Update::builder()
            .table_name(&self.tables.users)
            .key("pk", s(user_key(&token.user_id)))
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .expression_attribute_values(epoch, epoch_value);
        let account = match &redemption.effect {
            Effect::VerifyEmail { remove_factor: false } => account
                .update_expression("SET email_verified = :true")
                .condition_expression(format!("email = :email AND {guard}"))
                .expression_attribute_values(":email", s(token.email.as_str())),
            // The first proof of an address also takes away a factor someone may have planted.
            Effect::VerifyEmail { remove_factor: true } => account
                .update_expression(format!(
                    "SET email_verified = :true ADD {CREDENTIAL_EVENT} REMOVE mfa_totp, mfa_last_step, mfa_recovery"
                ))
                .condition_expression(format!("email = :email AND {guard}"))
                .expression_attribute_values(":email", s(token.email.as_str()))
                .expression_attribute_values(one, one_value),
            Effect::ResetPassword {
                new_hash,
                sessions_started,
                cutoff,
                remove_factor,
                remove_identities,
                remove_passkeys,
            } => account
                .update_expression(format!(
                    "SET password_hash = :hash, sessions_valid_after_ms = :cutoff, email_verified = :true \
                     ADD {CREDENTIAL_EVENT} REMOVE latest_reset_ms{}{}{}",
                    if *remove_factor { ", mfa_totp, mfa_last_step, mfa_recovery" } else { "" },
                    if remove_identities.is_empty() { "" } else { ", identities" },
                    if *remove_passkeys { ", passkeys" } else { "" }
                ))
                // The newest reset token, mailed to the address the account still has, no
                // session started since the account was read (so the cutoff covers every login
                // that could have slipped in), the cutoff only rising.
                .condition_expression(format!(
                    "latest_reset_ms = :issued AND email = :email AND {guard} \
                     AND (attribute_not_exists(sessions_started) OR sessions_started = :started) \
                     AND (attribute_not_exists(sessions_valid_after_ms) OR sessions_valid_after_ms < :cutoff)"
                ))
                .expression_attribute_values(":hash", s(new_hash))
                .expression_attribute_values(":cutoff", n(cutoff.millis()))
                .expression_attribute_values(":issued", n(token.issued_ms))
                .expression_attribute_values(":email", s(token.email.as_str()))
                .expression_attribute_values(":started", n(*sessions_started))
                .expression_attribute_values(one, one_value),
            Effect::ChangeEmail { old_email } => {
                writes.push(put(&self.tables.users, items::email_guard(&token.email, &token.user_id)?)?);
                let old_guard = Delete::builder()
                    .table_name(&self.tables.users)
                    .key("pk", s(email_key(old_email)))
                    .condition_expression("user_id = :user_id")
                    .expression_attribute_values(":user_id", s(&token.user_id))
                    .build()
                    .map_err(build_failed)?;
                writes.push(TransactWriteItem::builder().delete(old_guard).build());
                account
                    .update_expression(format!("SET email = :new, email_verified = :true ADD {CREDENTIAL_EVENT}"))
                    .condition_expression(format!("email = :old AND {guard}"))
                    .expression_attribute_values(":new", s(token.email.as_str()))
                    .expression_attribute_values(":old", s(old_email.as_str()))
                    .expression_attribute_values(one, one_value)
            }
        };
        writes.push(TransactWriteItem::builder().update(account.build().map_err(build_failed)?).build());
        if let Effect::ResetPassword { remove_identities, .. } = &redemption.effect {
            for identity in remove_identities {
                let guard = Delete::builder()
                    .table_name(&self.tables.users)
                    .key("pk", s(identity_key(&identity.provider, &identity.subject)))
                    .condition_expression("user_id = :user_id")
                    .expression_attribute_values(":user_id", s(&token.user_id))
                    .build()
                    .map_err(build_failed)?;
                writes.push(TransactWriteItem::builder().delete(guard).build());
            }
        }
        let is_change = matches!(redemption.effect, Effect::ChangeEmail { .. });
        let error = match self.client.transact_write_items().set_transact_items(Some(writes)).send().await {
            Ok(_) => return Ok(Redeemed::Done),
            Err(error) => error,
        };
        let reasons = error.as_service_error().map(cancellation_reasons).unwrap_or_default();
        let failed = |index: usize| reasons.get(index).and_then(|reason| reason.code()) == Some(CONDITION_FAILED);
        // The token's own condition first: a spent token is invalid whatever else changed.
        if failed(0) {
            return Ok(Redeemed::Refused);
        }
        if is_change && failed(NEW_GUARD) {
            return Ok(Redeemed::EmailTaken);
        }
        if reasons.iter().any(|reason| reason.code() == Some(CONDITION_FAILED)) {
            return Ok(Redeemed::Refused);
        }
        Err(classify(error))
    }
}
