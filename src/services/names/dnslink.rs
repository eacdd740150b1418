//! DNSLink (dnslink-std): static entries first, then `TXT _dnslink.<domain>` through
//! hickory-resolver with short timeouts, and the choice among several `dnslink=` entries
//! ([`pick_dnslink`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::NetError;
use hickory_resolver::proto::rr::RData;
use hickory_resolver::TokioResolver;

use super::config::{DnsServers, NameOptions};
use super::path::split_value;
use super::{NameError, Result};

/// Responses hickory keeps in its DNS cache.
const DNS_CACHE_ENTRIES: u64 = 1024;

/// DNSLink lookups: static entries first, then DNS.
pub(super) struct DnsLink {
    statics: HashMap<String, Arc<str>>,
    static_ttl: Duration,
    /// The resolver, or why there is none (reported on use, so a node without DNS still
    /// serves everything else).
    resolver: std::result::Result<TokioResolver, String>,
    timeout: Duration,
}

impl DnsLink {
    pub(super) fn new(options: &NameOptions) -> DnsLink {
        let statics = options
            .static_dnslinks
            .iter()
            .map(|(domain, value)| (domain.clone(), Arc::from(value.as_str())))
            .collect();
        let resolver = build_resolver(options.dns_servers, options.dns_timeout);
        if let Err(why) = &resolver {
            tracing::warn!(%why, "DNSLink lookups through DNS are unavailable");
        }
        DnsLink {
            statics,
            static_ttl: options.ttl,
            resolver,
            timeout: options.dns_timeout,
        }
    }

    /// The DNSLink value of `domain` (already normalized) and how long it may be cached.
    pub(super) async fn lookup(&self, domain: &str) -> Result<(Arc<str>, Duration)> {
        if let Some(value) = self.statics.get(domain) {
            return Ok((Arc::clone(value), self.static_ttl));
        }
        let resolver = self.resolver.as_ref().map_err(|why| {
            NameError::DnsFailure(format!("cannot look up the DNSLink of {domain}: {why}"))
        })?;
        // Fully qualified (trailing dot): no search-list expansion, one query.
        let query = format!("_dnslink.{domain}.");
        // hickory enforces the per-query timeout; this bounds the whole lookup as well.
        let outer = self.timeout + self.timeout / 2;
        let lookup = match tokio::time::timeout(outer, resolver.txt_lookup(query.as_str())).await {
            Err(_) => return Err(dns_timeout(domain, outer)),
            Ok(Err(e)) if e.is_nx_domain() || e.is_no_records_found() => {
                return Err(NameError::NoDnsLink(format!(
                    "{domain} has no DNSLink: no TXT record at _dnslink.{domain}"
                )))
            }
            Ok(Err(NetError::Timeout)) => return Err(dns_timeout(domain, self.timeout)),
            Ok(Err(e)) => {
                return Err(NameError::DnsFailure(format!(
                    "DNS lookup of _dnslink.{domain} failed: {e}"
                )))
            }
            Ok(Ok(lookup)) => lookup,
        };
        let ttl = lookup
            .valid_until()
            .saturating_duration_since(Instant::now());
        let texts = lookup
            .answers()
            .iter()
            .filter_map(|record| match &record.data {
                RData::TXT(txt) => Some(txt.txt_data.concat()),
                _ => None,
            });
        match pick_dnslink(texts) {
            Some(value) => Ok((Arc::from(value), ttl)),
            None => Err(NameError::NoDnsLink(format!(
                "{domain} has no DNSLink: no TXT record at _dnslink.{domain} is a valid \
                 dnslink=/ipfs/… or dnslink=/ipns/… entry"
            ))),
        }
    }
}

fn dns_timeout(domain: &str, after: Duration) -> NameError {
    NameError::DnsTimeout(format!(
        "DNS did not answer for _dnslink.{domain} within {} ms",
        after.as_millis()
    ))
}

fn build_resolver(
    servers: DnsServers,
    timeout: Duration,
) -> std::result::Result<TokioResolver, String> {
    let mut builder = match servers {
        DnsServers::System => TokioResolver::builder_tokio()
            .map_err(|e| format!("cannot read the system's DNS configuration: {e}"))?,
        DnsServers::One(addr) => {
            let mut server = NameServerConfig::udp_and_tcp(addr.ip());
            for connection in &mut server.connections {
                connection.port = addr.port();
            }
            TokioResolver::builder_with_config(
                ResolverConfig::from_name_servers(vec![server]),
                TokioRuntimeProvider::default(),
            )
        }
    };
    let options = builder.options_mut();
    options.timeout = timeout;
    // One try per server: a name that does not resolve must fail fast, not after retries.
    options.attempts = 1;
    options.cache_size = DNS_CACHE_ENTRIES;
    options.use_hosts_file = ResolveHosts::Never;
    builder
        .build()
        .map_err(|e| format!("cannot set up the DNS resolver: {e}"))
}

/// The DNSLink value among TXT record texts (DNSLink spec): texts starting with `dnslink=`
/// whose value is `/ipfs/<id>…` or `/ipns/<id>…`; of several, the lexicographically first.
pub fn pick_dnslink(texts: impl IntoIterator<Item = Vec<u8>>) -> Option<String> {
    texts
        .into_iter()
        .filter_map(|bytes| {
            let text = String::from_utf8(bytes).ok()?;
            let value = text.trim().strip_prefix("dnslink=")?.trim();
            split_value(value).ok()?;
            Some(value.to_owned())
        })
        .min()
}
