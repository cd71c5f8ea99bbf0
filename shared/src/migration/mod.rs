//! Moving accounts in and out of the service: one JSON object per line and account, read
//! ([`AccountLine::into_user`]) and written ([`AccountLine::of`]) in one format, so that an
//! export imports again; Django's `manage.py dumpdata auth.user` read into the same lines
//! (`django`). Every refusal names the field and never repeats a hash or a key.

pub mod django;
mod line;

pub use line::{AccountLine, IdentityLine, MfaLine, PasskeyLine};
