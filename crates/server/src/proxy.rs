//! Which address a request comes from when a reverse proxy stands in front of the server.
//!
//! Behind nginx every connection comes from the proxy's address, so the caps and rate limits
//! per address would count everyone as one client: one person could lock everyone out. The
//! operator names the proxies (`--trusted-proxy`, addresses or CIDR blocks); from those peers
//! only, the client's address is read from `X-Forwarded-For` (the rightmost address that is
//! not itself a trusted proxy: each proxy appends the address it saw, and anything to the left
//! of a trusted hop was written by the client, who may lie) or, failing that, from
//! `Forwarded` (RFC 7239, its `for=` parameters, read the same way). From anyone else the
//! headers are ignored: a client cannot choose its own address by sending them.

use std::net::IpAddr;
use std::str::FromStr;

use axum::http::HeaderMap;

/// An address, or a block of them (`10.0.0.0/8`, `fd00::/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressBlock {
    first: IpAddr,
    prefix: u8,
}

/// Why an address block was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an address or a CIDR block (like 127.0.0.1, 10.0.0.0/8 or fd00::/8)")]
pub struct BadBlock(String);

impl FromStr for AddressBlock {
    type Err = BadBlock;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || BadBlock(text.to_owned());
        let (address, prefix) = match text.trim().split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text.trim(), None),
        };
        let first: IpAddr = address.parse().map_err(|_| bad())?;
        let bits = if first.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(prefix) => prefix
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= bits)
                .ok_or_else(bad)?,
            None => bits,
        };
        Ok(Self { first, prefix })
    }
}

impl AddressBlock {
    /// Whether `address` is in the block (an IPv4 address mapped into IPv6 counts as itself).
    #[must_use]
    pub fn contains(&self, address: IpAddr) -> bool {
        match (self.first, canonical(address)) {
            (IpAddr::V4(first), IpAddr::V4(address)) => same_prefix(
                u128::from(u32::from(first)),
                u128::from(u32::from(address)),
                32,
                self.prefix,
            ),
            (IpAddr::V6(first), IpAddr::V6(address)) => {
                same_prefix(u128::from(first), u128::from(address), 128, self.prefix)
            }
            _ => false,
        }
    }
}

fn same_prefix(a: u128, b: u128, bits: u8, prefix: u8) -> bool {
    let shift = u32::from(bits - prefix);
    shift >= 128 || (a >> shift) == (b >> shift)
}

/// `::ffff:10.0.0.1` as `10.0.0.1`.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 @ IpAddr::V4(_) => v4,
    }
}

/// The proxies whose word about a client's address is taken.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<AddressBlock>);

impl TrustedProxies {
    /// These blocks.
    #[must_use]
    pub fn new(blocks: Vec<AddressBlock>) -> Self {
        Self(blocks)
    }

    /// Whether `address` is one of them.
    #[must_use]
    pub fn trusts(&self, address: IpAddr) -> bool {
        self.0.iter().any(|block| block.contains(address))
    }

    /// The address of the client behind a request that `peer` made: `peer` itself unless it
    /// is a trusted proxy that says who it forwards for.
    #[must_use]
    pub fn client_address(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        // `X-Forwarded-For` when the request has one, whatever it holds: the proxy appends to
        // it, and a client must not make the server read the `Forwarded` it wrote instead (by
        // sending an `X-Forwarded-For` that is not text, say). A value that is not text is a
        // hop that is not an address.
        let hops: Vec<Option<IpAddr>> = if headers.contains_key("x-forwarded-for") {
            headers
                .get_all("x-forwarded-for")
                .iter()
                .flat_map(|value| match value.to_str() {
                    Ok(text) => text.split(',').map(parse_node).collect::<Vec<_>>(),
                    Err(_) => vec![None],
                })
                .collect()
        } else {
            headers
                .get_all("forwarded")
                .iter()
                .flat_map(|value| match value.to_str() {
                    Ok(text) => text
                        .split(',')
                        .map(|element| {
                            forwarded_for_parameter(element).and_then(|n| parse_node(&n))
                        })
                        .collect::<Vec<_>>(),
                    Err(_) => vec![None],
                })
                .collect()
        };
        // From the right: the first hop that is not a trusted proxy is the client. A hop that
        // is not an address (`unknown`, an obfuscated name) ends the search: nothing to its
        // left can be believed, so the last trusted address stands.
        let mut client = peer;
        for hop in hops.into_iter().rev() {
            match hop {
                Some(address) if self.trusts(address) => client = address,
                Some(address) => return canonical(address),
                None => return client,
            }
        }
        client
    }
}

/// The `for=` value of one `Forwarded` element, unquoted.
fn forwarded_for_parameter(element: &str) -> Option<String> {
    element.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("for")
            .then(|| value.trim().trim_matches('"').to_owned())
    })
}

/// An address as proxies write it: `192.0.2.1`, `192.0.2.1:4711`, `[2001:db8::1]:4711`,
/// `2001:db8::1`; `None` for anything else.
fn parse_node(node: &str) -> Option<IpAddr> {
    let node = node.trim();
    if let Ok(address) = node.parse::<IpAddr>() {
        return Some(address);
    }
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    let (host, port) = node.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(blocks: &[&str]) -> TrustedProxies {
        TrustedProxies::new(blocks.iter().map(|b| b.parse().expect("a block")).collect())
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().expect("a header value"));
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn blocks_are_addresses_or_cidrs() {
        let block: AddressBlock = "10.0.0.0/8".parse().expect("a block");
        assert!(block.contains(ip("10.200.3.4")));
        assert!(!block.contains(ip("11.0.0.1")));
        assert!(block.contains(ip("::ffff:10.0.0.1")), "mapped IPv4");
        let one: AddressBlock = "127.0.0.1".parse().expect("an address");
        assert!(one.contains(ip("127.0.0.1")) && !one.contains(ip("127.0.0.2")));
        let v6: AddressBlock = "fd00::/8".parse().expect("a v6 block");
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        let everything: AddressBlock = "0.0.0.0/0".parse().expect("all of IPv4");
        assert!(everything.contains(ip("203.0.113.9")));
        for bad in ["", "10.0.0.0/33", "nginx", "10.0.0.0/x", "::/129"] {
            assert!(bad.parse::<AddressBlock>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn only_a_trusted_peer_is_believed() {
        let trusted = proxies(&["127.0.0.1"]);
        let said = headers(&[("x-forwarded-for", "203.0.113.7")]);
        assert_eq!(
            trusted.client_address(ip("127.0.0.1"), &said),
            ip("203.0.113.7")
        );
        assert_eq!(
            trusted.client_address(ip("127.0.0.4"), &said),
            ip("127.0.0.4"),
            "a client cannot pick its own address"
        );
        assert_eq!(
            TrustedProxies::default().client_address(ip("127.0.0.1"), &said),
            ip("127.0.0.1"),
            "no proxy trusted: headers ignored"
        );
        assert_eq!(
            trusted.client_address(ip("127.0.0.1"), &HeaderMap::new()),
            ip("127.0.0.1"),
            "a trusted peer that says nothing is itself"
        );
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let trusted = proxies(&["127.0.0.1", "10.0.0.0/8"]);
        // The client wrote 1.1.1.1 itself; 203.0.113.7 is what the outer proxy saw.
        let said = headers(&[("x-forwarded-for", "1.1.1.1, 203.0.113.7, 10.0.0.5")]);
        assert_eq!(
            trusted.client_address(ip("127.0.0.1"), &said),
            ip("203.0.113.7")
        );
        let split = headers(&[
            ("x-forwarded-for", "1.1.1.1"),
            ("x-forwarded-for", "198.51.100.2"),
        ]);
        assert_eq!(
            trusted.client_address(ip("127.0.0.1"), &split),
            ip("198.51.100.2")
        );
        let all_trusted = headers(&[("x-forwarded-for", "10.1.1.1, 10.0.0.5")]);
        assert_eq!(
            trusted.client_address(ip("127.0.0.1"), &all_trusted),
            ip("10.1.1.1")
        );
        let garbage = headers(&[("x-forwarded-for", "1.1.1.1, unknown, 10.0.0.5")]);
        assert_eq!(
            trusted.client_address(ip("127.0.0.1"), &garbage),
            ip("10.0.0.5"),
            "nothing left of a hop that is not an address is believed"
        );
    }

    #[test]
    fn a_header_that_is_not_text_believes_nothing_left_of_it() {
        let trusted = proxies(&["127.0.0.1"]);
        let mut said = HeaderMap::new();
        said.append(
            "x-forwarded-for",
            axum::http::HeaderValue::from_bytes(b"\xff").expect("a header value"),
        );
        said.append("forwarded", "for=1.2.3.4".parse().expect("a header value"));
        assert_eq!(
            trusted.client_address(ip("127.0.0.1"), &said),
            ip("127.0.0.1"),
            "neither the unreadable hop nor the client's own Forwarded is believed"
        );
        said.append(
            "x-forwarded-for",
            "203.0.113.7".parse().expect("a header value"),
        );
        assert_eq!(
            trusted.client_address(ip("127.0.0.1"), &said),
            ip("203.0.113.7"),
            "what the proxy appended after it stands"
        );
    }

    #[test]
    fn forwarded_is_read_when_x_forwarded_for_is_absent() {
        let trusted = proxies(&["127.0.0.1"]);
        let said = headers(&[(
            "forwarded",
            "for=192.0.2.60;proto=http;by=203.0.113.43, for=\"[2001:db8:cafe::17]:4711\"",
        )]);
        assert_eq!(
            trusted.client_address(ip("127.0.0.1"), &said),
            ip("2001:db8:cafe::17")
        );
        let with_port = headers(&[("forwarded", "For=\"198.51.100.9:1234\"")]);
        assert_eq!(
            trusted.client_address(ip("127.0.0.1"), &with_port),
            ip("198.51.100.9")
        );
        let hidden = headers(&[("forwarded", "for=_hidden")]);
        assert_eq!(
            trusted.client_address(ip("127.0.0.1"), &hidden),
            ip("127.0.0.1")
        );
    }
}
