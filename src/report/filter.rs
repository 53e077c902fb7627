//! Which connections a report shows: `--only OUTCOME`, `--server ADDR`,
//! `--client ADDR` and `--stream N`. Applied once, to each connection's
//! report record as it is made (before any format renders it and before
//! redaction, so addresses are matched as captured), so every format
//! shows the same connections.
//!
//! What a filter means for the rest of the report:
//! - verdicts are made from every connection (attempt grouping and the
//!   corrections it brings see the hidden ones too): a filter only hides;
//! - counts, totals, exit code and the summary line count the connections
//!   shown; each file says how many the filters hid (`filtered_out`);
//! - an attempt (retries) or an attempt across protocols is listed when
//!   it holds a connection shown, whole (its hidden retries still named).
//!
//! Criteria of one kind are alternatives (`--only failed --only
//! incomplete`: either); kinds together must all hold.

use super::model::{Attempt, ConnectionReport};
use super::neighbours::NeighbourAttempt;
use crate::diagnose::Outcome;
use ipnet::IpNet;
use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// Every outcome, in the order the reports count them.
pub const OUTCOMES: [Outcome; 5] = [
    Outcome::Failed,
    Outcome::Incomplete,
    Outcome::Established,
    Outcome::Benign,
    Outcome::NotRdp,
];

/// An outcome by the name the reports print (`failed`, `not_rdp`, ...).
pub fn parse_outcome(s: &str) -> Result<Outcome, String> {
    let t = s.trim();
    OUTCOMES
        .into_iter()
        .find(|o| o.name() == t || o.name().replace('_', "-") == t)
        .ok_or_else(|| {
            let names: Vec<&str> = OUTCOMES.iter().map(|o| o.name()).collect();
            format!("`{s}` is not an outcome (one of {})", names.join(", "))
        })
}

/// An endpoint to match: an address (any port), an address and port, or
/// a CIDR prefix (any port).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddrMatch {
    Socket(SocketAddr),
    Net(IpNet),
}

impl AddrMatch {
    pub fn matches(&self, a: SocketAddr) -> bool {
        match self {
            AddrMatch::Socket(s) => *s == a,
            AddrMatch::Net(n) => n.contains(&a.ip()),
        }
    }
}

impl fmt::Display for AddrMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddrMatch::Socket(s) => write!(f, "{s}"),
            AddrMatch::Net(n) => write!(f, "{n}"),
        }
    }
}

/// `192.0.2.10`, `192.0.2.10:3389`, `192.0.2.0/24`, `2001:db8::1`,
/// `[2001:db8::1]:3389`, `2001:db8::/32`.
pub fn parse_addr(s: &str) -> Result<AddrMatch, String> {
    let t = s.trim();
    if let Ok(a) = t.parse::<SocketAddr>() {
        return Ok(AddrMatch::Socket(a));
    }
    if let Ok(ip) = t.parse::<IpAddr>() {
        return Ok(AddrMatch::Net(IpNet::from(ip)));
    }
    if let Ok(n) = t.parse::<IpNet>() {
        return Ok(AddrMatch::Net(n));
    }
    Err(format!(
        "`{s}` is not an address (192.0.2.10, 192.0.2.10:3389, 192.0.2.0/24, [2001:db8::1]:3389, 2001:db8::/32)"
    ))
}

/// The connections to show.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    pub outcomes: Vec<Outcome>,
    pub servers: Vec<AddrMatch>,
    pub clients: Vec<AddrMatch>,
    pub streams: Vec<u64>,
}

impl Filter {
    /// No criterion: everything is shown.
    pub fn is_empty(&self) -> bool {
        self.outcomes.is_empty()
            && self.servers.is_empty()
            && self.clients.is_empty()
            && self.streams.is_empty()
    }

    /// Whether connection `c` is shown.
    pub fn shows(&self, c: &ConnectionReport) -> bool {
        let addr = |m: &[AddrMatch], e: &str| {
            m.is_empty()
                || e.parse::<SocketAddr>()
                    .is_ok_and(|a| m.iter().any(|m| m.matches(a)))
        };
        (self.outcomes.is_empty() || self.outcomes.iter().any(|o| o.name() == c.outcome))
            && (self.streams.is_empty() || self.streams.contains(&c.stream))
            && addr(&self.servers, &c.server)
            && addr(&self.clients, &c.client)
    }

    /// Keep the attempts that hold a connection of `shown` (stream numbers).
    pub fn attempts(&self, attempts: &mut Vec<Attempt>, shown: &[u64]) {
        if !self.is_empty() {
            attempts.retain(|a| a.streams.iter().any(|s| shown.contains(s)));
        }
    }

    /// Keep the attempts across protocols that hold a TCP connection of
    /// `shown`.
    pub fn neighbour_attempts(&self, attempts: &mut Vec<NeighbourAttempt>, shown: &[u64]) {
        if !self.is_empty() {
            attempts.retain(|a| {
                a.parts
                    .iter()
                    .any(|p| p.kind == "tcp" && p.stream.is_some_and(|s| shown.contains(&s)))
            });
        }
    }
}

/// A file's line of counts in the text formats, saying what the filters
/// hid: `line` counts the `shown` connections, `hidden` were filtered out.
pub fn counts_line(line: String, shown: u64, hidden: u64) -> String {
    let s = |n: u64| if n == 1 { "" } else { "s" };
    match (shown, hidden) {
        (_, 0) => line,
        (0, h) => format!(
            "no connection shown: {h} connection{} hidden by the filters",
            s(h)
        ),
        (_, h) => format!("{line} ({h} more hidden by the filters)"),
    }
}

impl fmt::Display for Filter {
    /// The filters as given on the command line, e.g. `--only failed --server 192.0.2.0/24`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        parts.extend(self.outcomes.iter().map(|o| format!("--only {}", o.name())));
        parts.extend(self.servers.iter().map(|a| format!("--server {a}")));
        parts.extend(self.clients.iter().map(|a| format!("--client {a}")));
        parts.extend(self.streams.iter().map(|s| format!("--stream {s}")));
        f.write_str(&parts.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        let v4: SocketAddr = "192.0.2.10:37072".parse().unwrap();
        let v6: SocketAddr = "[2001:db8::10]:50000".parse().unwrap();
        for (arg, a, want) in [
            ("192.0.2.10", v4, true),
            ("192.0.2.10:37072", v4, true),
            ("192.0.2.10:3389", v4, false),
            ("192.0.2.0/24", v4, true),
            ("192.0.3.0/24", v4, false),
            ("192.0.2.10", v6, false),
            ("2001:db8::10", v6, true),
            ("[2001:db8::10]:50000", v6, true),
            ("[2001:db8::10]:50001", v6, false),
            ("2001:db8::/32", v6, true),
            ("2001:db9::/32", v6, false),
        ] {
            assert_eq!(parse_addr(arg).unwrap().matches(a), want, "{arg} {a}");
        }
        for bad in ["", "host.example", "192.0.2.300", "192.0.2.0/33", "[::1]"] {
            assert!(parse_addr(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn outcomes() {
        assert_eq!(parse_outcome("failed"), Ok(Outcome::Failed));
        assert_eq!(parse_outcome("not-rdp"), Ok(Outcome::NotRdp));
        assert!(parse_outcome("broken").unwrap_err().contains("failed"));
    }
}
