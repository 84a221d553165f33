//! The SSRF guard: webhook targets may not be internal addresses. The check runs on the
//! addresses a connection is actually made to (a DNS resolver that drops forbidden ones), so a
//! name that resolves differently later (DNS rebinding) cannot get around it; literal IPs in the
//! URL, which skip DNS, are checked before sending.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // includes 169.254.169.254, the cloud metadata service
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64.0.0/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || a >= 240 // reserved
}

/// The IPv4 address in the last 32 bits of `segments`.
fn low_v4(segments: &[u16; 8]) -> Ipv4Addr {
    let [a, b] = segments[6].to_be_bytes();
    let [c, d] = segments[7].to_be_bytes();
    Ipv4Addr::new(a, b, c, d)
}

fn forbidden_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return forbidden_v4(v4);
    }
    let segments = ip.segments();
    // Forms that carry an IPv4 address, each refused if that address is: IPv4-compatible
    // (::a.b.c.d, which also covers :: and ::1), NAT64 (64:ff9b::/96 and the local-use
    // 64:ff9b:1::/48), 6to4 (2002:AABB:CCDD::/48), Teredo (2001:0::/32: the server in bits
    // 32-63, the client inverted in the last 32) and ISATAP (an interface id of 0:5efe or
    // 200:5efe before the address).
    let ipv4_compatible = segments[..6] == [0; 6];
    let nat64 = segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] || segments[..3] == [0x64, 0xff9b, 1];
    let embedded: Vec<Ipv4Addr> = if ipv4_compatible || nat64 {
        vec![low_v4(&segments)]
    } else if segments[0] == 0x2002 {
        let [a, b] = segments[1].to_be_bytes();
        let [c, d] = segments[2].to_be_bytes();
        vec![Ipv4Addr::new(a, b, c, d)]
    } else if segments[..2] == [0x2001, 0] {
        let [a, b] = segments[2].to_be_bytes();
        let [c, d] = segments[3].to_be_bytes();
        let client = !u32::from(low_v4(&segments));
        vec![Ipv4Addr::new(a, b, c, d), Ipv4Addr::from(client)]
    } else if segments[4] & 0xfdff == 0 && segments[5] == 0x5efe {
        vec![low_v4(&segments)]
    } else {
        Vec::new()
    };
    if embedded.into_iter().any(forbidden_v4) {
        return true;
    }
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (segments[0] & 0xfe00) == 0xfc00 // unique local, includes fd00:ec2::254
        || (segments[0] & 0xffc0) == 0xfe80 // link local
        || (segments[0] & 0xffc0) == 0xfec0 // site local (deprecated, still routed inside some networks)
        || (segments[0] == 0x2001 && segments[1] == 0x0db8) // documentation
        || (segments[0] == 0x3fff && segments[1] < 0x1000) // documentation (3fff::/20)
        || segments[0] == 0x0100 && segments[1..4] == [0, 0, 0] // discard
}

/// Whether a webhook may not be sent to `ip`.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

/// What every refusal says, whatever its cause: a literal internal address, a name that
/// resolves only to internal addresses, or a name that does not resolve. One wording for all,
/// so the delivery log, which the tenant reads, cannot be used to probe internal names.
pub const REFUSED: &str =
    "refused by the SSRF guard: the target does not resolve to a public address";

/// The resolver's refusal, found again in the error chain of a failed request.
#[derive(Debug)]
pub struct Refused;

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(REFUSED)
    }
}

impl std::error::Error for Refused {}

/// Whether `url` may not be called: its host is a literal forbidden address.
pub fn refuse_literal(url: &reqwest::Url) -> bool {
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
        Some(url::Host::Domain(_)) => return false,
        None => return true,
    };
    is_forbidden(ip)
}

/// Whether `error`, or one of its causes, is the guard's refusal.
pub fn is_refusal(error: &(dyn std::error::Error + 'static)) -> bool {
    std::iter::successors(Some(error), |e| e.source()).any(|e| e.is::<Refused>())
}

/// Resolves with the system resolver and keeps only allowed addresses.
#[derive(Debug, Default)]
pub struct GuardedResolver;

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            // What was resolved, and why it was refused, stay in the server's log.
            let resolved: Vec<SocketAddr> = match tokio::net::lookup_host((host.as_str(), 0)).await
            {
                Ok(addresses) => addresses.collect(),
                Err(error) => {
                    tracing::info!(%host, %error, "webhook target refused: it does not resolve");
                    return Err(Box::new(Refused) as Box<_>);
                }
            };
            let allowed: Vec<SocketAddr> = resolved
                .iter()
                .copied()
                .filter(|address| !is_forbidden(address.ip()))
                .collect();
            if allowed.is_empty() {
                let shown: Vec<String> = resolved.iter().map(|a| a.ip().to_string()).collect();
                tracing::info!(%host, addresses = %shown.join(", "), "webhook target refused by the SSRF guard");
                return Err(Box::new(Refused) as Box<_>);
            }
            let addresses: Addrs = Box::new(allowed.into_iter());
            Ok(addresses)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forbidden(text: &str) -> bool {
        is_forbidden(text.parse().unwrap())
    }

    #[test]
    fn internal_addresses_are_forbidden() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "240.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd00:ec2::254",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "64:ff9b:1::7f00:1",
            // 6to4 of 127.0.0.1, 10.0.0.1, 192.168.1.1 and 169.254.169.254.
            "2002:7f00:1::",
            "2002:a00:1::1",
            "2002:c0a8:101:1::5",
            "2002:a9fe:a9fe::",
            // Teredo: server 10.0.0.1; client 127.0.0.1 (stored inverted).
            "2001:0:a00:1::1",
            "2001:0:808:808:0:0:80ff:fffe",
            // IPv4-compatible and ISATAP forms of 10.0.0.1.
            "::a00:1",
            "::7f00:1",
            "2001:470:1:1:0:5efe:a00:1",
            "fec0::1",
        ] {
            assert!(forbidden(ip), "{ip} must be refused");
        }
    }

    #[test]
    fn public_addresses_are_allowed() {
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            "2002:808:808::1",
            "2001:0:808:808:0:0:f7f7:f7f7",
            "2001:470:1:1:0:5efe:808:808",
        ] {
            assert!(!forbidden(ip), "{ip} must be allowed");
        }
    }

    #[test]
    fn literal_urls_are_checked() {
        let refused = |url: &str| refuse_literal(&url.parse().unwrap());
        assert!(refused("http://127.0.0.1:8080/hook"));
        assert!(refused("http://[::ffff:127.0.0.1]/hook"));
        assert!(refused("http://[2002:7f00:1::1]/hook"));
        assert!(!refused("https://example.com/hook"));
        assert!(!refused("http://8.8.8.8/hook"));
    }
}
