//! A DNS server on loopback for DNSLink tests: authoritative for `example.test.`, serving
//! the TXT records a test gives it (none: every `_dnslink` lookup under it is NXDOMAIN and
//! any other name is refused, at once), so no lookup ever leaves the machine.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use hickory_server::net::runtime::TokioRuntimeProvider;
use hickory_server::proto::rr::rdata::{SOA, TXT};
use hickory_server::proto::rr::{LowerName, Name, RData, Record};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneType};

/// An authoritative DNS server for `example.test.` on a loopback UDP port, serving the
/// given TXT records (name, TTL, texts) until the test process ends.
pub fn start(records: &[(&str, u32, &[&str])]) -> SocketAddr {
    let origin = Name::from_ascii("example.test.").unwrap();
    let mut zone = InMemoryZoneHandler::<TokioRuntimeProvider>::empty(
        origin.clone(),
        ZoneType::Primary,
        AxfrPolicy::Deny,
    );
    let soa = SOA::new(
        Name::from_ascii("ns.example.test.").unwrap(),
        Name::from_ascii("hostmaster.example.test.").unwrap(),
        1,
        3600,
        600,
        86400,
        5,
    );
    assert!(zone.upsert_mut(Record::from_rdata(origin.clone(), 5, RData::SOA(soa)), 1));
    for (name, ttl, texts) in records {
        let name = Name::from_ascii(format!("{name}.")).unwrap();
        for text in *texts {
            let txt = TXT::new(vec![(*text).to_owned()]);
            assert!(zone.upsert_mut(Record::from_rdata(name.clone(), *ttl, RData::TXT(txt)), 1));
        }
    }
    let mut catalog = Catalog::new();
    catalog.upsert(LowerName::new(&origin), vec![Arc::new(zone)]);
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    socket.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let mut server = hickory_server::Server::new(catalog);
            server.register_socket(tokio::net::UdpSocket::from_std(socket).unwrap());
            let _ = server.block_until_done().await;
        });
    });
    addr
}
