//! The credential-event rule in DynamoDB, in one place. Every credential event's write on the
//! user item adds [`CREDENTIAL_EVENT`] to its `ADD` clause; every grant it voids (a one-time
//! token, a pending enrolment, an `mfa_token`) is spent only in a write conditioned on
//! [`unchanged_since`] the epoch it was issued in. So the check and the event are each one
//! attribute in a write that happens anyway: no extra request, no extra write unit.

use aws_sdk_dynamodb::types::AttributeValue;

use super::items::n;

/// The `ADD` action of a credential event; `:one` is [`one`].
pub(super) const CREDENTIAL_EVENT: &str = "credential_epoch :one";

/// The name and value of `:one`, which `ADD` clauses share.
pub(super) fn one() -> (&'static str, AttributeValue) {
    (":one", n(1))
}

/// The condition that no credential event happened since `epoch` (`:epoch`), and its value. An
/// account written before credential epochs existed has no attribute at all.
pub(super) fn unchanged_since(epoch: u64) -> (&'static str, (&'static str, AttributeValue)) {
    let condition = match epoch {
        0 => "(attribute_not_exists(credential_epoch) OR credential_epoch = :epoch)",
        _ => "credential_epoch = :epoch",
    };
    (condition, (":epoch", n(epoch)))
}
