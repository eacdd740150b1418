//! Host classification for subdomain and DNSLink gateways on arbitrary Host values: never
//! panics, and a subdomain's parts are slices of the host it came from.
#![no_main]

use cairn::gateway::host::{self, GatewayHosts, HostKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    let hosts = GatewayHosts::new(&["example.com".to_owned(), "localhost".to_owned()]);
    match hosts.classify(text) {
        HostKind::Subdomain { root, gateway, .. } => {
            assert!(!root.is_empty());
            assert!(text.ends_with(gateway), "{text:?} / {gateway:?}");
            assert!(text.contains(root));
        }
        HostKind::SubdomainParent { host } => assert_eq!(host, text),
        HostKind::MaybeDnsLink { name, host } => {
            assert_eq!(host, text);
            assert!(name.contains('.'));
        }
        HostKind::Path => {}
    }
    if let Some(label) = host::inline_dnslink(text) {
        assert!(label.len() <= host::DNS_LABEL_MAX);
        assert!(!label.contains('.'));
    }
    let _ = host::uninline_dnslink(text);
    let _ = host::ipns_name_label(text);
    let _ = host::strip_port(text);
});
