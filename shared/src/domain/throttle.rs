//! Brute-force protection for logins without lockout abuse (OWASP's authentication cheat sheet,
//! "device cookies"). Each login attempt draws, before any password work, one attempt from
//! several budgets at once, and is refused if any is spent:
//! - **(account, client)**: the client is the device a valid device cookie names (a client that
//!   logged in to this account before), else the client's IP. A small budget with exponential
//!   backoff: the guesses one client can make at one account.
//! - **per IP**, across accounts (untrusted clients only): password spraying from one address.
//! - **per account** (untrusted clients only): a ceiling high enough that it does not lock the
//!   user out by itself, against guesses spread over many addresses.
//!
//! A trusted device keeps its own budget whatever others do, so nobody can lock a user out of a
//! device they signed in on before; a password change with a live session draws only from its
//! session's own budget, so login failures of others never block it.

use std::net::IpAddr;

use super::Email;

/// One budget: `free` attempts within `window_secs`; past it each failure locks the bucket for
/// `base_lock_secs * 2^(attempts - free)`, capped at `max_lock_secs`. A success resets the
/// (account, client) budget and gives back its own attempt elsewhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    pub free: u32,
    pub base_lock_secs: u64,
    pub max_lock_secs: u64,
    pub window_secs: u64,
}

impl Budget {
    /// How long to lock after the `attempts`-th failed attempt in the window, if at all.
    pub fn lock_secs(&self, attempts: u32) -> Option<u64> {
        let beyond = attempts.checked_sub(self.free)?;
        let factor = 1u64.checked_shl(beyond.min(32)).unwrap_or(u64::MAX);
        Some(self.base_lock_secs.saturating_mul(factor).min(self.max_lock_secs))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoginThrottle {
    pub per_client: Budget,
    pub per_ip: Budget,
    pub per_account: Budget,
    /// Registrations from one IP: each costs an Argon2 hash and a mail.
    pub registrations_per_ip: Budget,
    /// Email-change requests of one account: each mails a third party.
    pub email_changes_per_account: Budget,
    /// `POST /auth/mfa/verify` requests from one IP whose `mfa_token` names nothing.
    pub unknown_mfa_tokens_per_ip: Budget,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        let per_client = Budget { free: 5, base_lock_secs: 1, max_lock_secs: 900, window_secs: 900 };
        let hourly = |free| Budget { free, base_lock_secs: 60, max_lock_secs: 3600, window_secs: 3600 };
        Self {
            per_client,
            per_ip: Budget { free: 100, ..per_client },
            per_account: Budget { free: 50, ..per_client },
            registrations_per_ip: hourly(20),
            email_changes_per_account: hourly(5),
            unknown_mfa_tokens_per_ip: Budget { free: 20, base_lock_secs: 60, max_lock_secs: 900, window_secs: 900 },
        }
    }
}

/// Mails to one address asked for by one client (a device cookie valid for that address, else
/// the IP): three an hour, then one per lock (a minute, doubling up to an hour).
pub const MAIL_PER_ADDRESS_CLIENT: Budget =
    Budget { free: 3, base_lock_secs: 60, max_lock_secs: 3600, window_secs: 3600 };
/// Mails to one address asked for by clients without a device cookie, together: a ceiling
/// above any one client's, which a device that signed in before never meets.
pub const MAIL_PER_ADDRESS: Budget = Budget { free: 10, base_lock_secs: 60, max_lock_secs: 3600, window_secs: 3600 };
/// Mail requests from one address, across accounts.
pub const MAIL_PER_IP: Budget = Budget { free: 30, base_lock_secs: 60, max_lock_secs: 3600, window_secs: 3600 };

/// Second-factor codes at one account's login from one client (a device that signed in
/// before, else an IP), across its `mfa_token`s: ten in 15 minutes, then a lock from 30 s
/// doubling up to 15 minutes. A new login (a new `mfa_token`) does not start a fresh budget.
pub const MFA_PER_CLIENT: Budget = Budget { free: 10, base_lock_secs: 30, max_lock_secs: 900, window_secs: 900 };
/// Second-factor codes at one account's login from clients without a device cookie, together;
/// and, each on its own, the codes of the owner's enrolment and of turning MFA off.
pub const MFA_PER_ACCOUNT: Budget = Budget { free: 10, base_lock_secs: 30, max_lock_secs: 900, window_secs: 900 };

/// Who is trying: a device that signed in to this account before, or an address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Client {
    /// The id a valid device cookie for this account carries.
    Device(String),
    /// No (valid) device cookie: the client's IP as API Gateway saw it, if known.
    Untrusted(Option<IpAddr>),
}

/// What a bucket is keyed by; the store keeps one counter per bucket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bucket {
    pub key: String,
    pub budget: Budget,
    /// Whether a success wipes the bucket (its own failures are forgiven) rather than only
    /// giving back its own attempt (other clients' failures stand).
    pub reset_on_success: bool,
}

impl LoginThrottle {
    /// The buckets a login attempt for `email` (if the input was an address at all) from
    /// `client` draws from.
    pub fn login_buckets(&self, email: Option<&Email>, client: &Client) -> Vec<Bucket> {
        let ip = match client {
            Client::Untrusted(Some(ip)) => ip.to_string(),
            Client::Untrusted(None) => "unknown".to_owned(),
            Client::Device(_) => String::new(),
        };
        let mut buckets = Vec::with_capacity(3);
        if let Some(email) = email {
            let client_key = match client {
                Client::Device(device) => format!("device#{device}"),
                Client::Untrusted(_) => format!("ip#{ip}"),
            };
            buckets.push(self.bucket(format!("{email}#{client_key}"), self.per_client, true));
            if matches!(client, Client::Untrusted(_)) {
                buckets.push(self.bucket(email.to_string(), self.per_account, false));
            }
        }
        if matches!(client, Client::Untrusted(_)) {
            buckets.push(self.bucket(format!("ip#{ip}"), self.per_ip, false));
        }
        buckets
    }

    /// The one bucket a password change draws from: its own session's, so only the holder of
    /// that session can spend it.
    pub fn password_change_bucket(&self, email: &Email, session_id: &str) -> Bucket {
        self.bucket(format!("{email}#session#{session_id}"), self.per_client, true)
    }

    /// The buckets a request that mails an address (forgot password, resend verification)
    /// draws from: that address's from this client, the address's ceiling and the client IP's
    /// (those two only without a device cookie valid for the address). Every request spends its
    /// attempt, whatever the account: a mailbox cannot be flooded, nor many addresses probed
    /// from one client, and strangers cannot use up the owner's own device's budget.
    pub fn mail_buckets(&self, email: Option<&Email>, client: &Client) -> Vec<Bucket> {
        let ip_key = |ip: &Option<IpAddr>| ip.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
        let mut buckets = Vec::with_capacity(3);
        if let Some(email) = email {
            let client_key = match client {
                Client::Device(device) => format!("device#{device}"),
                Client::Untrusted(ip) => format!("ip#{}", ip_key(ip)),
            };
            buckets.push(self.bucket(format!("mail#{email}#{client_key}"), MAIL_PER_ADDRESS_CLIENT, false));
            if matches!(client, Client::Untrusted(_)) {
                buckets.push(self.bucket(format!("mail#{email}"), MAIL_PER_ADDRESS, false));
            }
        }
        if let Client::Untrusted(ip) = client {
            buckets.push(self.bucket(format!("mail#ip#{}", ip_key(ip)), MAIL_PER_IP, false));
        }
        buckets
    }

    /// The buckets a code at a login's second step draws from: the account's from this client
    /// (a right code forgives its failures), and the account's ceiling for clients without a
    /// device cookie, so that guesses spread over many addresses stay few. A device that signed
    /// in before keeps its own budget whatever others do.
    pub fn mfa_login_buckets(&self, user_id: &str, client: &Client) -> Vec<Bucket> {
        match client {
            Client::Device(device) => vec![self.bucket(format!("mfa#{user_id}#device#{device}"), MFA_PER_CLIENT, true)],
            Client::Untrusted(ip) => {
                let ip = ip.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
                vec![
                    self.bucket(format!("mfa#{user_id}#ip#{ip}"), MFA_PER_CLIENT, true),
                    self.bucket(format!("mfa#{user_id}"), MFA_PER_ACCOUNT, false),
                ]
            }
        }
    }

    /// The bucket of the codes that confirm an enrolment: only the account's own sessions draw
    /// from it.
    pub fn mfa_enrolment_bucket(&self, user_id: &str) -> Bucket {
        self.bucket(format!("mfa_enrol#{user_id}"), MFA_PER_ACCOUNT, false)
    }

    /// The bucket of the codes that turn MFA off: the account's own sessions only, and apart
    /// from the login's, so a session cannot use up the owner's sign-in.
    pub fn mfa_disable_bucket(&self, user_id: &str) -> Bucket {
        self.bucket(format!("mfa_disable#{user_id}"), MFA_PER_ACCOUNT, false)
    }

    /// The bucket every registration from `ip` draws from, whatever its outcome.
    pub fn registration_bucket(&self, ip: Option<IpAddr>) -> Bucket {
        let ip = ip.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
        self.bucket(format!("register#ip#{ip}"), self.registrations_per_ip, false)
    }

    /// The bucket every email-change request of an account draws from, whatever its outcome.
    pub fn email_change_bucket(&self, user_id: &str) -> Bucket {
        self.bucket(format!("email_change#{user_id}"), self.email_changes_per_account, false)
    }

    /// The bucket an `mfa_token` that names nothing counts against: the client's IP's.
    pub fn unknown_mfa_token_bucket(&self, ip: Option<IpAddr>) -> Bucket {
        let ip = ip.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
        self.bucket(format!("mfa_verify#ip#{ip}"), self.unknown_mfa_tokens_per_ip, false)
    }

    fn bucket(&self, key: String, budget: Budget, reset_on_success: bool) -> Bucket {
        Bucket { key, budget, reset_on_success }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_first_attempt_past_the_allowance_and_is_capped() {
        let budget = LoginThrottle::default().per_client;
        let locks: Vec<_> = (1..=8).map(|attempts| budget.lock_secs(attempts)).collect();
        assert_eq!(locks, [None, None, None, None, Some(1), Some(2), Some(4), Some(8)]);
        assert_eq!(budget.lock_secs(20), Some(900));
        assert_eq!(budget.lock_secs(u32::MAX), Some(900));
    }

    #[test]
    fn trusted_devices_draw_only_from_their_own_budget() {
        let throttle = LoginThrottle::default();
        let email = Email::parse("alice@example.com").unwrap();
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let untrusted: Vec<_> = throttle
            .login_buckets(Some(&email), &Client::Untrusted(Some(ip)))
            .into_iter()
            .map(|bucket| bucket.key)
            .collect();
        assert_eq!(untrusted, ["alice@example.com#ip#192.0.2.7", "alice@example.com", "ip#192.0.2.7"]);
        let trusted = throttle.login_buckets(Some(&email), &Client::Device("d1".into()));
        assert_eq!(
            trusted.iter().map(|bucket| bucket.key.as_str()).collect::<Vec<_>>(),
            ["alice@example.com#device#d1"]
        );
        assert!(trusted[0].reset_on_success);
        // Input that is no address at all still counts against the client's IP.
        let nobody = throttle.login_buckets(None, &Client::Untrusted(Some(ip)));
        assert_eq!(nobody.iter().map(|bucket| bucket.key.as_str()).collect::<Vec<_>>(), ["ip#192.0.2.7"]);
    }
}
