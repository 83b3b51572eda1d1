//! Who a request comes from, for the per-client rate limit: the TCP peer, or — when the
//! peer is a reverse proxy the operator trusts (`--trusted-proxies`) — the client that
//! proxy names in `X-Forwarded-For`. IPv6 clients are keyed by their /64, the block a
//! single subscriber usually gets, so rotating addresses inside it gains nothing.

use std::net::{IpAddr, Ipv6Addr};

/// An address or CIDR block, as `--trusted-proxies` lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpBlock {
    network: IpAddr,
    prefix: u8,
}

impl IpBlock {
    /// Parses `10.0.0.1`, `10.0.0.0/8`, `::1` or `fd00::/8`; `None` if malformed.
    pub fn parse(text: &str) -> Option<Self> {
        let (addr, prefix) = match text.trim().split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix.parse::<u8>().ok()?)),
            None => (text.trim(), None),
        };
        let network: IpAddr = addr.parse().ok()?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return None;
        }
        // An IPv4-mapped block (::ffff:10.0.0.0/104) is the IPv4 block it maps, as peers
        // are compared in their IPv4 form.
        match network {
            IpAddr::V6(v6) if prefix >= 96 => match v6.to_ipv4_mapped() {
                Some(v4) => Some(Self {
                    network: IpAddr::V4(v4),
                    prefix: prefix - 96,
                }),
                None => Some(Self { network, prefix }),
            },
            _ => Some(Self { network, prefix }),
        }
    }

    /// Whether `ip` lies in this block (an IPv4 address never in an IPv6 block).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                same_prefix(u32::from(net).into(), u32::from(ip).into(), self.prefix, 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                same_prefix(u128::from(net), u128::from(ip), self.prefix, 128)
            }
            _ => false,
        }
    }
}

fn same_prefix(a: u128, b: u128, prefix: u8, bits: u32) -> bool {
    let shift = bits - u32::from(prefix);
    shift >= bits || (a >> shift) == (b >> shift)
}

/// The rate-limit key of a request from `peer` carrying `forwarded_for` (the raw
/// `X-Forwarded-For` value, if any). The header counts only when `peer` is trusted; it
/// is read from the right, past every trusted hop, so a client cannot choose its key by
/// sending the header itself.
pub fn rate_key(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[IpBlock]) -> String {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|b| b.contains(ip));
    let mut client = canonical(peer);
    if is_trusted(client) {
        if let Some(chain) = forwarded_for {
            for hop in chain.rsplit(',') {
                let Ok(ip) = hop.trim().parse::<IpAddr>() else {
                    break;
                };
                let ip = canonical(ip);
                client = ip;
                if !is_trusted(ip) {
                    break;
                }
            }
        }
    }
    key_of(client)
}

/// An IPv4-mapped IPv6 address (a dual-stack listener's view of an IPv4 peer) as the
/// IPv4 address, so it matches IPv4 blocks and keys.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// IPv4 as is; IPv6 as its /64.
fn key_of(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let net = Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1));
            format!("{net}/64")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn blocks(list: &[&str]) -> Vec<IpBlock> {
        list.iter().map(|b| IpBlock::parse(b).unwrap()).collect()
    }

    #[test]
    fn blocks_parse_and_match() {
        let lan = IpBlock::parse("10.0.0.0/8").unwrap();
        assert!(lan.contains(ip("10.20.30.40")));
        assert!(!lan.contains(ip("11.0.0.1")));
        assert!(!lan.contains(ip("::1")));
        assert!(IpBlock::parse("127.0.0.1")
            .unwrap()
            .contains(ip("127.0.0.1")));
        assert!(IpBlock::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(IpBlock::parse("fd00::/8").unwrap().contains(ip("fd12::1")));
        // IPv4-mapped forms trust the IPv4 addresses they map.
        assert!(IpBlock::parse("::ffff:127.0.0.1")
            .unwrap()
            .contains(ip("127.0.0.1")));
        assert!(IpBlock::parse("::ffff:10.0.0.0/104")
            .unwrap()
            .contains(ip("10.9.8.7")));
        for bad in ["10.0.0.0/33", "nope", "::/129", "1.2.3.4/x", ""] {
            assert_eq!(IpBlock::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_header_counts_only_from_a_trusted_peer() {
        let trusted = blocks(&["127.0.0.1", "10.0.0.0/8"]);
        // Straight from the internet: the header is the client's own claim, ignored.
        assert_eq!(
            rate_key(ip("203.0.113.9"), Some("1.1.1.1"), &trusted),
            "203.0.113.9"
        );
        // Through our proxy: the client it names.
        assert_eq!(
            rate_key(ip("127.0.0.1"), Some("198.51.100.7"), &trusted),
            "198.51.100.7"
        );
        // A spoofed left part is skipped: the rightmost untrusted hop is the client.
        assert_eq!(
            rate_key(
                ip("127.0.0.1"),
                Some("1.1.1.1, 198.51.100.7, 10.1.2.3"),
                &trusted
            ),
            "198.51.100.7"
        );
        // Missing or garbage header: the peer.
        assert_eq!(rate_key(ip("127.0.0.1"), None, &trusted), "127.0.0.1");
        assert_eq!(
            rate_key(ip("127.0.0.1"), Some("garbage"), &trusted),
            "127.0.0.1"
        );
        // A dual-stack listener sees an IPv4 proxy as ::ffff:a.b.c.d: still trusted.
        assert_eq!(
            rate_key(ip("::ffff:127.0.0.1"), Some("198.51.100.7"), &trusted),
            "198.51.100.7"
        );
        // Nothing trusted: always the peer.
        assert_eq!(
            rate_key(ip("127.0.0.1"), Some("198.51.100.7"), &[]),
            "127.0.0.1"
        );
    }

    #[test]
    fn ipv6_clients_share_their_64() {
        let a = rate_key(ip("2001:db8:1:2:aaaa::1"), None, &[]);
        let b = rate_key(ip("2001:db8:1:2:bbbb::2"), None, &[]);
        let other = rate_key(ip("2001:db8:1:3::1"), None, &[]);
        assert_eq!(a, "2001:db8:1:2::/64");
        assert_eq!(a, b);
        assert_ne!(a, other);
        assert_eq!(rate_key(ip("::ffff:192.0.2.1"), None, &[]), "192.0.2.1");
    }
}
