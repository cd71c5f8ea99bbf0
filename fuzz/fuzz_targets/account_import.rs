//! What `authctl import` reads: a stored hash (by prefix: argon2, scrypt, PBKDF2, bcrypt,
//! Django's), an account line, a Django dump. Must never panic; every account line accepted
//! must come back unchanged through its export line (what `authctl export` writes).
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::domain::{PasswordParams, RoleCatalog, StoredHash};
use shared::migration::{AccountLine, django};
use shared::time::UnixTime;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(hash) = StoredHash::parse(text) {
        // Parsed once, the same answer every time; never more than the bounds allow.
        assert_eq!(StoredHash::parse(text).as_ref(), Ok(&hash));
        let _ = (hash.kind(), hash.requires_upgrade(PasswordParams::default()), hash.within_login_bounds());
    }
    let catalog = RoleCatalog::default();
    let now = UnixTime::from_secs(1_800_000_000);
    if let Ok(line) = serde_json::from_str::<AccountLine>(text) {
        if let Ok(user) = line.into_user(&catalog, now) {
            let exported = serde_json::to_string(&AccountLine::of(&user, &catalog)).unwrap();
            let again: AccountLine = serde_json::from_str(&exported).unwrap();
            let back = again.into_user(&catalog, now).expect("an exported line imports");
            assert_eq!(back, user, "export, then import, changed the account");
        }
    }
    let _ = django::read_dump(text);
});
