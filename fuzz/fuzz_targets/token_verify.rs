//! Token verification on arbitrary input: `verify_compact`, `verify_access` and
//! `verify_refresh`, against asymmetric (EdDSA + ES256, by kid) and HS256 key sets.
//! Must never panic, and no input can verify: nobody fuzzing holds these keys' private halves
//! for a token that also carries this service's claims.
#![no_main]

use jwt_auth_fuzz::{asymmetric_verifier, hs256_verifier};
use libfuzzer_sys::fuzz_target;
use shared::time::UnixTime;
use shared::tokens::jws::verify_compact;

fuzz_target!(|data: &[u8]| {
    // Lossy, so that invalid UTF-8 still reaches the parser (as replacement characters).
    let token = String::from_utf8_lossy(data);
    let now = UnixTime::from_secs(1_800_000_000);
    for verifier in [asymmetric_verifier(), hs256_verifier()] {
        let _ = verify_compact(&token, verifier.keys());
        assert!(verifier.verify_access(&token, now).is_err(), "forged access token accepted: {token:?}");
        assert!(verifier.verify_refresh(&token, now).is_err(), "forged refresh token accepted: {token:?}");
    }
});
