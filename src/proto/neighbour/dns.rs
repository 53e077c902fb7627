//! DNS messages (RFC 1035 4.1), read with `simple-dns`: the header, the
//! first question and the addresses and aliases of the answer section.

use std::net::IpAddr;

/// Addresses kept per answer: a look-up answered with more is still one
/// look-up; the rest are counted in [`DnsMessage::more_addresses`].
const MAX_ADDRESSES: usize = 16;

/// A DNS response code (RFC 1035 4.1.1, RFC 6895 2.3): open, unknown
/// values survive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Rcode(pub u8);

impl Rcode {
    pub const NOERROR: Rcode = Rcode(0);
    pub const SERVFAIL: Rcode = Rcode(2);
    pub const NXDOMAIN: Rcode = Rcode(3);
    pub const REFUSED: Rcode = Rcode(5);
}

impl std::fmt::Display for Rcode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self.0 {
            0 => "NOERROR",
            1 => "FORMERR",
            2 => "SERVFAIL",
            3 => "NXDOMAIN",
            4 => "NOTIMP",
            5 => "REFUSED",
            n => return write!(f, "unknown ({n})"),
        };
        f.write_str(name)
    }
}

/// What a DNS message says about the name looked up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsMessage {
    pub id: u16,
    /// QR bit: a response.
    pub response: bool,
    /// Read from the header (4 bits; the EDNS extension is not needed for
    /// the codes the diagnosis reads).
    pub rcode: Rcode,
    /// The first question's name, lower case, without the final dot.
    pub name: Option<String>,
    /// The first question's type (1 A, 28 AAAA, 33 SRV, ...).
    pub qtype: u16,
    /// A and AAAA records of the answer section.
    pub addresses: Vec<IpAddr>,
    pub more_addresses: usize,
    /// CNAME targets of the answer section, in order.
    pub aliases: Vec<String>,
}

impl DnsMessage {
    /// The question asks for an address (A or AAAA).
    pub fn asks_address(&self) -> bool {
        matches!(self.qtype, 1 | 28)
    }
}

impl std::fmt::Display for DnsMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = self.name.as_deref().unwrap_or("?");
        let qtype = match self.qtype {
            1 => "A".to_string(),
            28 => "AAAA".to_string(),
            33 => "SRV".to_string(),
            n => format!("type {n}"),
        };
        if !self.response {
            return write!(f, "DNS query {qtype} {name}");
        }
        write!(f, "DNS answer {qtype} {name}: {}", self.rcode)?;
        if self.rcode == Rcode::NOERROR && self.addresses.is_empty() {
            f.write_str(", no address")?;
        }
        for a in &self.addresses {
            write!(f, " {a}")?;
        }
        Ok(())
    }
}

/// Decode one DNS message. The header alone (12 bytes) is enough for an
/// answer: a message whose sections do not parse keeps its id, QR bit and
/// rcode, and loses its name and records.
pub fn decode(b: &[u8]) -> Result<DnsMessage, String> {
    let Some(h) = b.get(..12) else {
        return Err(format!("{} bytes, shorter than a DNS header (12)", b.len()));
    };
    let mut m = DnsMessage {
        id: u16::from_be_bytes([h[0], h[1]]),
        response: h[2] & 0x80 != 0,
        // simple-dns folds the codes it does not name into one: read the
        // 4 bits of RFC 1035 4.1.1 ourselves.
        rcode: Rcode(h[3] & 0x0f),
        name: None,
        qtype: 0,
        addresses: Vec::new(),
        more_addresses: 0,
        aliases: Vec::new(),
    };
    let Ok(p) = simple_dns::Packet::parse(b) else {
        return Ok(m);
    };
    if let Some(q) = p.questions.first() {
        m.name = Some(q.qname.to_string().to_ascii_lowercase());
        m.qtype = u16::from(q.qtype);
    }
    for rr in &p.answers {
        let addr = match &rr.rdata {
            simple_dns::rdata::RData::A(a) => IpAddr::from(a.address.to_be_bytes()),
            simple_dns::rdata::RData::AAAA(a) => IpAddr::from(a.address.to_be_bytes()),
            simple_dns::rdata::RData::CNAME(c) => {
                m.aliases.push(c.0.to_string().to_ascii_lowercase());
                continue;
            }
            _ => continue,
        };
        if m.addresses.len() < MAX_ADDRESSES {
            m.addresses.push(addr);
        } else {
            m.more_addresses += 1;
        }
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A query for rdp.lab.test, type A, id 0x1234 (RFC 1035 4.1 layout).
    fn query() -> Vec<u8> {
        let mut v = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        for l in ["rdp", "lab", "test"] {
            v.push(l.len() as u8);
            v.extend_from_slice(l.as_bytes());
        }
        v.extend_from_slice(&[0, 0, 1, 0, 1]);
        v
    }

    #[test]
    fn a_query_names_what_it_asks() {
        let m = decode(&query()).unwrap();
        assert_eq!(m.id, 0x1234);
        assert!(!m.response);
        assert_eq!(m.name.as_deref(), Some("rdp.lab.test"));
        assert!(m.asks_address());
    }

    #[test]
    fn an_answer_keeps_its_addresses_and_aliases() {
        let mut v = query();
        v[2] = 0x81;
        v[3] = 0x80;
        v[7] = 2; // two answers
                  // CNAME rdp.lab.test -> host.lab.test (pointer to offset 12).
        v.extend_from_slice(&[0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 7]);
        v.extend_from_slice(&[4, b'h', b'o', b's', b't', 0xc0, 16]);
        // A host.lab.test 10.0.0.7: the CNAME's target is at 42 (header
        // 12, question 18, CNAME record header 12).
        let host = 12 + 18 + 12;
        v.extend_from_slice(&[0xc0, host as u8, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 7]);
        let m = decode(&v).unwrap();
        assert!(m.response);
        assert_eq!(m.rcode, Rcode::NOERROR);
        assert_eq!(m.aliases, vec!["host.lab.test".to_string()]);
        assert_eq!(m.addresses, vec!["10.0.0.7".parse::<IpAddr>().unwrap()]);
        assert_eq!(m.to_string(), "DNS answer A rdp.lab.test: NOERROR 10.0.0.7");
    }

    /// Frames 6 and 8 of testdata/captures/neighbours/
    /// n01-kerberos-password-wrong.pcap, which tshark reads as: id 0x88db,
    /// rcode 0, A rdp.lab.test 198.51.100.20; id 0x57d9, rcode 3 (dnsmasq's
    /// answer to AAAA for a name it knows only an IPv4 address of).
    #[test]
    fn answers_as_tshark_reads_them() {
        let hex = |s: &str| -> Vec<u8> {
            (0..s.len() / 2)
                .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
                .collect()
        };
        let a = decode(&hex(concat!(
            "88db8580000100010000000003726470036c616204746573740000010001",
            "c00c00010001000000000004c6336414"
        )))
        .unwrap();
        assert_eq!(
            (a.id, a.response, a.rcode, a.qtype),
            (0x88db, true, Rcode(0), 1)
        );
        assert_eq!(
            a.addresses,
            vec!["198.51.100.20".parse::<IpAddr>().unwrap()]
        );
        let aaaa = decode(&hex(
            "57d98183000100000000000003726470036c6162047465737400001c0001",
        ))
        .unwrap();
        assert_eq!(
            (aaaa.id, aaaa.rcode, aaaa.qtype),
            (0x57d9, Rcode::NXDOMAIN, 28)
        );
        assert_eq!(aaaa.name.as_deref(), Some("rdp.lab.test"));
        assert!(aaaa.addresses.is_empty());
    }

    #[test]
    fn an_unparsable_body_keeps_the_header() {
        let mut v = query();
        v[2] = 0x81;
        v[3] = 0x83;
        v[5] = 9; // nine questions announced, one present
        let m = decode(&v).unwrap();
        assert_eq!((m.response, m.rcode, m.name), (true, Rcode::NXDOMAIN, None));
        assert!(decode(&v[..5]).is_err());
        assert_eq!(Rcode(11).to_string(), "unknown (11)");
    }
}
