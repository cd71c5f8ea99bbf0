//! The messages, as plain text and HTML. Every link a message carries puts its token in the
//! URL fragment (mail scanners that open links spend nothing, and no server log sees it);
//! notices carry no link that logs in.

use super::Message;
use crate::domain::Email;

/// What a notice tells the account's owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    PasswordChanged,
    PasswordReset,
    /// Sent to the old address when a change to `new_email` is requested.
    EmailChangeRequested {
        new_email: String,
    },
    /// Sent to the old address once the new one is confirmed.
    EmailChanged {
        new_email: String,
    },
    RefreshTokenReused,
    MfaEnabled,
    /// The owner turned two-step sign-in off (`by_admin`: an administrator removed it).
    MfaDisabled {
        by_admin: bool,
    },
    /// A recovery code signed in; `remaining` are left.
    RecoveryCodeUsed {
        remaining: usize,
    },
    /// The address was proved for the first time, and that removed a second factor set up
    /// before (which whoever registered the address first may have planted).
    MfaRemovedByFirstProof,
    /// The account was deleted (`by_admin`: by an administrator).
    AccountDeleted {
        by_admin: bool,
    },
    /// Another provider's account can now sign in to this one.
    IdentityLinked {
        provider: String,
    },
    IdentityUnlinked {
        provider: String,
    },
    PasskeyAdded {
        name: String,
    },
    PasskeyRemoved {
        name: String,
        by_admin: bool,
    },
}

const IF_NOT_YOU: &str = "If this was not you, reset your password now and sign out of every device: \
                          someone else may know your password.";

pub fn verify_email(to: &Email, app_url: &str, token: &str, ttl_secs: u64) -> Message {
    compose(
        to.as_str(),
        "verify_email",
        "Confirm your email address",
        &[
            "Confirm that this address is yours by opening the link below.".into(),
            format!("The link works once, for {}.", lifetime(ttl_secs)),
            "If you did not create an account, ignore this email.".into(),
        ],
        Some(("Confirm my email", format!("{app_url}/verify-email#token={token}"))),
    )
}

pub fn reset_password(to: &Email, app_url: &str, token: &str, ttl_secs: u64) -> Message {
    compose(
        to.as_str(),
        "reset_password",
        "Reset your password",
        &[
            "Someone asked to reset the password of the account with this address.".into(),
            format!("The link works once, for {}; a newer request replaces it.", lifetime(ttl_secs)),
            "If it was not you, ignore this email: your password stays as it is.".into(),
        ],
        Some(("Choose a new password", format!("{app_url}/reset-password#token={token}"))),
    )
}

pub fn confirm_email_change(to: &Email, app_url: &str, token: &str, ttl_secs: u64) -> Message {
    compose(
        to.as_str(),
        "confirm_email_change",
        "Confirm your new email address",
        &[
            "Open the link below to make this address the one you sign in with.".into(),
            format!("The link works once, for {}.", lifetime(ttl_secs)),
            "If you did not ask for this, ignore this email.".into(),
        ],
        Some(("Confirm my new email", format!("{app_url}/verify-email#token={token}"))),
    )
}

pub fn notice(to: &Email, notice: &Notice) -> Message {
    let (kind, subject, what) = match notice {
        Notice::PasswordChanged => {
            ("notice_password_changed", "Your password was changed", "The password of your account was changed.".into())
        }
        Notice::PasswordReset => (
            "notice_password_reset",
            "Your password was reset",
            "The password of your account was reset with a link sent to this address; every device was signed out."
                .into(),
        ),
        Notice::EmailChangeRequested { new_email } => (
            "notice_email_change_requested",
            "A change of your email address was requested",
            format!("Someone signed in to your account asked to change its address to {new_email}."),
        ),
        Notice::EmailChanged { new_email } => (
            "notice_email_changed",
            "Your email address was changed",
            format!("Your account now signs in with {new_email}; this address no longer does."),
        ),
        Notice::RefreshTokenReused => (
            "notice_refresh_token_reused",
            "A sign-in of yours was used twice",
            "A refresh token of one of your sessions was presented after it had been used: it may have been \
             copied. That session was signed out."
                .into(),
        ),
        Notice::MfaEnabled => (
            "notice_mfa_enabled",
            "Two-step sign-in is on",
            "Signing in to your account now takes a code from your authenticator app (or a recovery code) \
             after the password."
                .into(),
        ),
        Notice::MfaDisabled { by_admin } => (
            "notice_mfa_disabled",
            "Two-step sign-in is off",
            if *by_admin {
                "An administrator removed two-step sign-in from your account and signed out every device.".into()
            } else {
                "Two-step sign-in was turned off for your account: the password alone signs in now.".into()
            },
        ),
        Notice::RecoveryCodeUsed { remaining } => (
            "notice_recovery_code_used",
            "A recovery code was used to sign in",
            format!(
                "Someone signed in to your account with one of its recovery codes; {remaining} unused codes are \
                 left. Each works once."
            ),
        ),
        Notice::AccountDeleted { by_admin } => (
            "notice_account_deleted",
            "Your account was deleted",
            if *by_admin {
                "An administrator deleted your account: it no longer exists, and every device was signed out.".into()
            } else {
                "Your account was deleted at your request: it no longer exists, and every device was signed out.".into()
            },
        ),
        Notice::IdentityLinked { provider } => (
            "notice_identity_linked",
            "A sign-in method was added",
            format!("Your {provider} account was linked: it can now sign in to this account."),
        ),
        Notice::IdentityUnlinked { provider } => (
            "notice_identity_unlinked",
            "A sign-in method was removed",
            format!("Your {provider} account was unlinked: it can no longer sign in to this account."),
        ),
        Notice::PasskeyAdded { name } => (
            "notice_passkey_added",
            "A passkey was added",
            format!("A passkey named \"{name}\" was added to your account: it can now sign in to it."),
        ),
        Notice::PasskeyRemoved { name, by_admin } => (
            "notice_passkey_removed",
            "A passkey was removed",
            if *by_admin {
                format!(
                    "An administrator removed the passkey named \"{name}\": it can no longer sign in to your account."
                )
            } else {
                format!("The passkey named \"{name}\" was removed: it can no longer sign in to your account.")
            },
        ),
        Notice::MfaRemovedByFirstProof => (
            "notice_mfa_removed_first_proof",
            "Two-step sign-in was removed",
            "Your email address was confirmed for the first time. Two-step sign-in had been set up on the \
             account before that, possibly by someone else who registered your address, so it was removed. \
             Set it up again from your account if you want it."
                .into(),
        ),
    };
    // A deleted account has no password left to reset.
    let trailer = match notice {
        Notice::AccountDeleted { .. } => "If you did not ask for this, contact the service's support.",
        _ => IF_NOT_YOU,
    };
    compose(to.as_str(), kind, subject, &[what, trailer.into()], None)
}

fn lifetime(secs: u64) -> String {
    match secs {
        s if s % 86_400 == 0 => plural(s / 86_400, "day"),
        s if s % 3_600 == 0 => plural(s / 3_600, "hour"),
        s => plural(s.div_ceil(60), "minute"),
    }
}

fn plural(count: u64, unit: &str) -> String {
    if count == 1 { format!("1 {unit}") } else { format!("{count} {unit}s") }
}

fn compose(
    to: &str,
    kind: &'static str,
    subject: &str,
    paragraphs: &[String],
    action: Option<(&str, String)>,
) -> Message {
    let mut text = paragraphs.join("\n\n");
    let mut html = String::from("<!doctype html><html><body style=\"font-family:sans-serif;line-height:1.5\">");
    for paragraph in paragraphs {
        html.push_str(&format!("<p>{}</p>", escape(paragraph)));
    }
    if let Some((label, url)) = action {
        text.push_str(&format!("\n\n{label}: {url}\n"));
        let url = escape(&url);
        html.push_str(&format!("<p><a href=\"{url}\">{}</a></p><p>{url}</p>", escape(label)));
    }
    html.push_str("</body></html>");
    Message { to: to.to_owned(), subject: subject.to_owned(), text, html, kind }
}

fn escape(raw: &str) -> String {
    let mut escaped = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> Email {
        Email::parse("alice@example.com").unwrap()
    }

    #[test]
    fn links_carry_the_token_in_the_fragment_of_both_bodies() {
        let message = reset_password(&alice(), "https://app.example.com", "tok_EN-123", 1800);
        assert!(message.text.contains("https://app.example.com/reset-password#token=tok_EN-123"), "{}", message.text);
        assert!(message.html.contains("href=\"https://app.example.com/reset-password#token=tok_EN-123\""));
        assert!(message.text.contains("30 minutes"));
        assert_eq!(message.to, "alice@example.com");
        let verify = verify_email(&alice(), "https://app.example.com", "abc", 86_400);
        assert!(verify.text.contains("/verify-email#token=abc") && verify.text.contains("1 day"));
    }

    #[test]
    fn notices_hold_no_link_and_escape_what_they_quote() {
        let message = notice(&alice(), &Notice::EmailChanged { new_email: "a<b>@example.com".into() });
        assert!(!message.text.contains("token=") && !message.html.contains("href"));
        assert!(message.html.contains("a&lt;b&gt;@example.com") && !message.html.contains("a<b>"));
    }
}
