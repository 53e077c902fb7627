//! `--redact`: replaces addresses, user and domain names, host and client
//! names and certificate names with stable pseudonyms (`ip-1`, `user-1`,
//! `domain-1`, `host-1`, `org-1`, `token-1`) and what identifies a
//! certificate (`serial-1`, `thumbprint-1`, `fingerprint-1`: internet
//! scanners index certificates by them), in the structured fields and
//! wherever the original strings appear inside free texts (evidence,
//! summaries, caveats, warnings).
//!
//! Two passes over the [`Document`] in output order: the first gives each
//! sensitive value a pseudonym at its first appearance (so numbering is
//! deterministic and the same in every format), the second rewrites.
//! Names are matched case-insensitively (Windows user and host names are)
//! and only as whole words; IP addresses are recognised in free text by
//! parsing, so an address is caught whatever field or sentence holds it.
//! Ports are kept. Country codes (`C=`) of certificate names are kept.

use super::model::*;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

/// What a string field holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Field {
    /// `ip:port` or `[v6]:port`.
    Endpoint,
    User,
    Domain,
    /// A host or client name.
    Host,
    RoutingToken,
    /// A certificate distinguished name (`CN=a, O=b`).
    Dn,
    /// A subject alternative name (`DNS:a`, `IP:1.2.3.4`, or bare).
    San,
    /// What identifies one certificate wherever it is indexed (internet
    /// scanners index certificates by these): its serial number, SHA-1
    /// thumbprint and SHA-256 fingerprint, each with its own prefix.
    CertSerial,
    CertSha1,
    CertSha256,
    /// Free text that may quote any of the above.
    Text,
    /// Anything else that came from the capture or the command line
    /// (not redacted; visited so display cleaning covers it).
    Plain,
}

#[derive(Default)]
struct Pseudonyms {
    ips: HashMap<IpAddr, String>,
    /// Lower-cased name -> pseudonym.
    names: HashMap<String, String>,
    /// Distinct lengths (bytes) of the keys of `names`, longest first.
    lengths: Vec<usize>,
    counters: HashMap<&'static str, u32>,
}

impl Pseudonyms {
    fn next(&mut self, prefix: &'static str) -> String {
        let n = self.counters.entry(prefix).or_insert(0);
        *n += 1;
        format!("{prefix}-{n}")
    }

    fn ip(&mut self, ip: IpAddr) -> String {
        if let Some(p) = self.ips.get(&ip) {
            return p.clone();
        }
        let p = self.next("ip");
        self.ips.insert(ip, p.clone());
        p
    }

    fn name(&mut self, value: &str, prefix: &'static str) {
        let v = value.trim();
        if v.is_empty() {
            return;
        }
        // An address written where a name is expected is an address.
        if let Ok(ip) = v.parse::<IpAddr>() {
            self.ip(ip);
            return;
        }
        let key = v.to_lowercase();
        if self.names.contains_key(&key) {
            return;
        }
        let p = self.next(prefix);
        if !self.lengths.contains(&key.len()) {
            self.lengths.push(key.len());
            self.lengths.sort_unstable_by(|a, b| b.cmp(a));
        }
        self.names.insert(key, p);
    }

    fn lookup_name(&self, value: &str) -> Option<&String> {
        self.names.get(&value.trim().to_lowercase())
    }

    // ---- pass 1

    fn register(&mut self, f: Field, s: &str) {
        match f {
            Field::Endpoint => match s.parse::<SocketAddr>() {
                Ok(a) => {
                    self.ip(a.ip());
                }
                Err(_) => self.scan_ips(s),
            },
            Field::User => {
                self.name(s, "user");
                // `DOMAIN\user` and `user@domain`: each part on its own too.
                if let Some((d, u)) = s.split_once('\\') {
                    self.name(d, "domain");
                    self.name(u, "user");
                } else if let Some((u, d)) = s.split_once('@') {
                    self.name(u, "user");
                    self.name(d, "domain");
                }
            }
            Field::Domain => self.name(s, "domain"),
            Field::Host => self.name(s, "host"),
            Field::RoutingToken => self.name(s, "token"),
            Field::CertSerial => self.name(s, "serial"),
            Field::CertSha1 => self.name(s, "thumbprint"),
            Field::CertSha256 => self.name(s, "fingerprint"),
            Field::Dn => {
                for p in dn_parts(s) {
                    let value = &s[p.value.clone()];
                    match dn_prefix(p.attr) {
                        Some(prefix) => self.name(value, prefix),
                        None => self.scan_ips(value),
                    }
                }
            }
            Field::San => {
                let (_, value) = san_parts(s);
                self.name(value, "host");
            }
            Field::Text => self.scan_ips(s),
            Field::Plain => {}
        }
    }

    fn scan_ips(&mut self, s: &str) {
        for (_, _, ip) in find_ips(s) {
            self.ip(ip);
        }
    }

    // ---- pass 2

    fn rewrite(&self, f: Field, s: &str) -> String {
        match f {
            Field::Endpoint => match s.parse::<SocketAddr>() {
                Ok(a) => match self.ips.get(&a.ip()) {
                    Some(p) => format!("{p}:{}", a.port()),
                    None => self.text(s),
                },
                Err(_) => self.text(s),
            },
            Field::User
            | Field::Domain
            | Field::Host
            | Field::RoutingToken
            | Field::CertSerial
            | Field::CertSha1
            | Field::CertSha256 => {
                if let Ok(ip) = s.trim().parse::<IpAddr>() {
                    if let Some(p) = self.ips.get(&ip) {
                        return p.clone();
                    }
                }
                match self.lookup_name(s) {
                    Some(p) => p.clone(),
                    None => self.text(s),
                }
            }
            Field::Dn => {
                // Replace each value in place: separators (`, `, ` + `)
                // and attribute names stay as they were.
                let mut out = String::with_capacity(s.len());
                let mut copied = 0;
                for p in dn_parts(s) {
                    let value = &s[p.value.clone()];
                    let v = if dn_prefix(p.attr).is_some() {
                        match self.lookup_name(value) {
                            Some(ps) => ps.clone(),
                            None => self.text(value),
                        }
                    } else {
                        self.text(value)
                    };
                    out.push_str(&s[copied..p.value.start]);
                    out.push_str(&v);
                    copied = p.value.end;
                }
                out.push_str(&s[copied..]);
                out
            }
            Field::San => {
                let (prefix, value) = san_parts(s);
                let v = self.rewrite(Field::Host, value);
                format!("{prefix}{v}")
            }
            Field::Text => self.text(s),
            Field::Plain => s.to_string(),
        }
    }

    /// Replace every known address and name inside a free text.
    fn text(&self, s: &str) -> String {
        // Only the addresses that have a pseudonym: an address-shaped run
        // that is not one (`::AAA` before a name) must not shield a name.
        let ips: Vec<_> = find_ips(s)
            .into_iter()
            .filter(|(_, _, ip)| self.ips.contains_key(ip))
            .collect();
        let mut out = String::with_capacity(s.len());
        let mut i = 0;
        let mut next_ip = ips.iter().peekable();
        let bytes = s.as_bytes();
        while i < s.len() {
            if let Some(&&(start, end, ip)) = next_ip.peek() {
                if start == i {
                    if let Some(p) = self.ips.get(&ip) {
                        out.push_str(p);
                    }
                    i = end;
                    next_ip.next();
                    continue;
                }
            }
            if at_word_start(bytes, i) {
                if let Some((len, p)) = self.name_at(s, i) {
                    // Never cut through an address found above.
                    let cut = next_ip.peek().is_some_and(|&&(st, _, _)| st < i + len);
                    if !cut {
                        out.push_str(p);
                        i += len;
                        continue;
                    }
                }
            }
            // Copy one character.
            let ch_len = s[i..].chars().next().map_or(1, char::len_utf8);
            out.push_str(&s[i..i + ch_len]);
            i += ch_len;
        }
        out
    }

    /// The longest registered name starting at byte `i`, ending at a word
    /// boundary.
    fn name_at(&self, s: &str, i: usize) -> Option<(usize, &String)> {
        let bytes = s.as_bytes();
        for &len in &self.lengths {
            let end = i + len;
            if end > s.len() || !s.is_char_boundary(end) || !at_word_end(bytes, end) {
                continue;
            }
            if let Some(p) = self.names.get(&s[i..end].to_lowercase()) {
                return Some((len, p));
            }
        }
        None
    }
}

/// Letters, digits, `_` and non-ASCII bytes make words. `-` and `.` do
/// not: a name is also replaced inside `alice-laptop` or a file name
/// (more redaction rather than less).
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

fn at_word_start(bytes: &[u8], i: usize) -> bool {
    i == 0 || bytes.get(i - 1).map_or(true, |b| !is_word_byte(*b))
}

fn at_word_end(bytes: &[u8], end: usize) -> bool {
    bytes.get(end).map_or(true, |b| !is_word_byte(*b))
}

/// IP addresses in a text, as (start, end, address), in order. A candidate
/// is a run of hex digits, dots and colons starting at a word boundary; a
/// trailing `:port` or sentence punctuation is left out of the match.
fn find_ips(s: &str) -> Vec<(usize, usize, IpAddr)> {
    let bytes = s.as_bytes();
    let is_run = |b: u8| b.is_ascii_hexdigit() || b == b'.' || b == b':';
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !is_run(bytes[i]) || !at_word_start(bytes, i) || (i > 0 && is_run(bytes[i - 1])) {
            i += 1;
            continue;
        }
        let mut end = i;
        while end < bytes.len() && is_run(bytes[end]) {
            end += 1;
        }
        let mut cand = &s[i..end];
        let found = loop {
            let t = cand.trim_end_matches(['.', ':']);
            if let Ok(ip) = t.parse::<IpAddr>() {
                if !ip.is_unspecified() {
                    break Some((t.len(), ip));
                }
            }
            match t.rfind(':') {
                Some(p) if p > 0 => cand = &t[..p],
                _ => break None,
            }
        };
        // An address ends at a word boundary (`10.0.0.5.pcap` has one,
        // `10.0.0.5x` does not).
        if let Some((len, ip)) = found.filter(|(len, _)| at_word_end(bytes, i + len)) {
            out.push((i, i + len, ip));
        }
        i = end;
    }
    out
}

/// One `attr=value` piece of a distinguished name; `value` is the byte
/// range of the value (trimmed) in the original string.
struct DnPart<'a> {
    attr: &'a str,
    value: std::ops::Range<usize>,
}

/// Split a distinguished name (`CN=a, O=b c`, multi-valued `CN=a + L=b`)
/// into its pieces. Escaped separators (`\,`) stay inside their value.
fn dn_parts(s: &str) -> Vec<DnPart<'_>> {
    let mut parts = Vec::new();
    let bytes = s.as_bytes();
    let mut start = 0;
    for i in 0..=bytes.len() {
        let at_sep = match bytes.get(i) {
            None => true,
            Some(b',' | b';' | b'+') => i == 0 || bytes.get(i - 1) != Some(&b'\\'),
            Some(_) => false,
        };
        if !at_sep {
            continue;
        }
        let piece = &s[start..i];
        let (attr, vstart) = match piece.find('=') {
            Some(eq) => (piece[..eq].trim(), start + eq + 1),
            None => ("", start),
        };
        let raw = &s[vstart..i];
        let lead = raw.len() - raw.trim_start().len();
        let trimmed = raw.trim();
        if !trimmed.is_empty() {
            let a = vstart + lead;
            parts.push(DnPart {
                attr,
                value: a..a + trimmed.len(),
            });
        }
        start = i + 1;
    }
    parts
}

/// The pseudonym family for a DN attribute, or None to keep it (country).
fn dn_prefix(attr: &str) -> Option<&'static str> {
    match attr.to_ascii_uppercase().as_str() {
        "C" => None,
        "CN" | "" => Some("host"),
        "DC" => Some("host"),
        _ => Some("org"),
    }
}

/// `DNS:a` -> (`DNS:`, `a`); a bare value has an empty prefix.
fn san_parts(s: &str) -> (&str, &str) {
    for p in ["DNS:", "IP:", "IP Address:", "email:", "URI:"] {
        if let Some(rest) = s.strip_prefix(p) {
            return (p, rest);
        }
    }
    ("", s)
}

/// Visit every string of the document that holds data from the capture
/// or the command line, in output order.
pub(super) fn walk(doc: &mut Document, f: &mut dyn FnMut(Field, &mut String)) {
    for file in &mut doc.files {
        walk_file(file, f);
    }
    walk_totals(&mut doc.totals, f);
}

/// Visit the strings of the run's totals.
pub(super) fn walk_totals(totals: &mut Totals, f: &mut dyn FnMut(Field, &mut String)) {
    for s in &mut totals.failures_by_server {
        f(Field::Endpoint, &mut s.server);
    }
    for p in totals.problems.iter_mut().chain(totals.ignored.iter_mut()) {
        f(Field::Text, &mut p.path);
        f(Field::Text, &mut p.message);
    }
}

/// Visit the strings of one connection, in output order.
pub(super) fn walk_connection(c: &mut ConnectionReport, f: &mut dyn FnMut(Field, &mut String)) {
    let opt = |f: &mut dyn FnMut(Field, &mut String), k: Field, s: &mut Option<String>| {
        if let Some(s) = s {
            f(k, s);
        }
    };
    f(Field::Endpoint, &mut c.client);
    f(Field::Endpoint, &mut c.server);
    f(Field::Text, &mut c.what_happened);
    text(f, Field::Text, &mut c.ended_by.text);
    if let Some(cause) = &mut c.cause {
        text(f, Field::Text, &mut cause.summary);
        text(f, Field::Text, &mut cause.remediation);
    }
    for e in &mut c.evidence {
        f(Field::Text, &mut e.text);
    }
    for cv in &mut c.caveats {
        f(Field::Text, cv);
    }
    if let Some(n) = &mut c.negotiation {
        opt(f, Field::User, &mut n.cookie);
        opt(f, Field::RoutingToken, &mut n.routing_token);
        opt(f, Field::Text, &mut n.sentence);
    }
    if let Some(t) = &mut c.tls {
        opt(f, Field::Host, &mut t.sni);
    }
    for cert in c
        .certificates
        .iter_mut()
        .chain(c.client_certificates.iter_mut())
    {
        f(Field::Dn, &mut cert.subject);
        f(Field::Dn, &mut cert.issuer);
        for s in &mut cert.sans {
            f(Field::San, s);
        }
        f(Field::CertSerial, &mut cert.serial);
        f(Field::CertSha1, &mut cert.sha1);
        f(Field::CertSha256, &mut cert.sha256);
        f(Field::Plain, &mut cert.key);
        f(Field::Plain, &mut cert.signature_algorithm);
        f(Field::Plain, &mut cert.key_algorithm);
        for e in &mut cert.extended_key_usage {
            f(Field::Plain, e);
        }
        for a in &mut cert.anomalies {
            f(Field::Text, a);
        }
    }
    if let Some(d) = &mut c.client_data {
        opt(f, Field::Host, &mut d.client_name);
        opt(f, Field::User, &mut d.user);
        opt(f, Field::Domain, &mut d.domain);
        for ch in &mut d.channels {
            f(Field::Plain, ch);
        }
        // Identifies the client's Windows installation.
        opt(f, Field::Host, &mut d.client_dig_product_id);
        opt(f, Field::Plain, &mut d.keyboard_layout_name);
        opt(f, Field::Plain, &mut d.keyboard_language);
        for m in d.encryption_methods.iter_mut().flatten() {
            f(Field::Plain, m);
        }
    }
    for n in &mut c.nla {
        opt(f, Field::User, &mut n.ntlm_user);
        opt(f, Field::Domain, &mut n.ntlm_domain);
        opt(f, Field::Host, &mut n.ntlm_workstation);
        opt(f, Field::Host, &mut n.server_name);
    }
    for m in &mut c.rdp_messages {
        opt(f, Field::Host, &mut m.target);
        opt(f, Field::RoutingToken, &mut m.load_balance_info);
    }
    for e in &mut c.events {
        text(f, Field::Text, &mut e.text);
    }
}

/// Visit a text the record may borrow from the program (see
/// [`super::model::Text`]): the visitor gets its own copy of a borrowed
/// one, kept only if the visitor changed it.
fn text(f: &mut dyn FnMut(Field, &mut String), k: Field, s: &mut super::model::Text) {
    if let Some(owned) = s.owned_mut() {
        return f(k, owned);
    }
    let mut copy = s.to_string();
    f(k, &mut copy);
    if copy != s.as_str() {
        *s = copy.into();
    }
}

/// Visit every data string of one file, in output order.
pub(super) fn walk_file(file: &mut FileReport, f: &mut dyn FnMut(Field, &mut String)) {
    walk_file_head(file, f);
    for c in &mut file.connections {
        walk_connection(c, f);
    }
    walk_file_tail(file, f);
}

/// Visit the strings of a file that come before its connections.
pub(super) fn walk_file_head(file: &mut FileReport, f: &mut dyn FnMut(Field, &mut String)) {
    // Paths are not pseudonymised, but a name or address inside one is.
    f(Field::Text, &mut file.path);
    if let Some(e) = &mut file.error {
        f(Field::Text, &mut e.message);
    }
    if let Some(e) = &mut file.ignored {
        f(Field::Text, &mut e.message);
    }
    for w in &mut file.warnings {
        f(Field::Text, &mut w.message);
    }
}

/// Visit the strings of a file that come after its connections: its
/// attempts and its attempts across protocols.
pub(super) fn walk_file_tail(file: &mut FileReport, f: &mut dyn FnMut(Field, &mut String)) {
    let opt = |f: &mut dyn FnMut(Field, &mut String), k: Field, s: &mut Option<String>| {
        if let Some(s) = s {
            f(k, s);
        }
    };
    {
        if let Some(attempts) = &mut file.attempts {
            for a in attempts {
                // A bare address: rewritten like a host name that is one.
                f(Field::Host, &mut a.client);
                f(Field::Endpoint, &mut a.server);
                f(Field::Text, &mut a.summary);
                for r in &mut a.relabelled {
                    f(Field::Text, &mut r.note);
                }
            }
        }
        for a in &mut file.neighbour_attempts {
            f(Field::Host, &mut a.client);
            opt(f, Field::Host, &mut a.server);
            for n in &mut a.names {
                f(Field::Host, n);
            }
            for p in &mut a.parts {
                opt(f, Field::Domain, &mut p.realm);
                opt(f, Field::User, &mut p.client_principal);
                for ad in &mut p.addresses {
                    f(Field::Host, ad);
                }
                opt(f, Field::Text, &mut p.service);
                opt(f, Field::RoutingToken, &mut p.routing_token);
                f(Field::Text, &mut p.text);
            }
            if let Some(cause) = &mut a.cause {
                text(f, Field::Text, &mut cause.summary);
                text(f, Field::Text, &mut cause.remediation);
            }
            opt(f, Field::Text, &mut a.relation);
            for e in &mut a.evidence {
                f(Field::Text, &mut e.text);
            }
        }
    }
}

/// Redact the document in place.
pub fn redact(doc: &mut Document) {
    let mut ps = Pseudonyms::default();
    walk(doc, &mut |k, s| ps.register(k, s));
    walk(doc, &mut |k, s| *s = ps.rewrite(k, s));
}

/// Redaction for output printed file by file (JSON Lines, CSV): the
/// pseudonyms live as long as the run, so a value keeps its pseudonym in
/// every file; each file is redacted when it is printed.
///
/// Numbering is by first appearance in output order, as in [`redact`].
/// One difference, since earlier files are already printed: a name is
/// recognised in free text (paths, sentences) from the file where it
/// first appears in a field that holds names, not in the files before.
#[derive(Default)]
pub struct Redactor {
    ps: Pseudonyms,
}

impl Redactor {
    pub fn new() -> Self {
        Redactor::default()
    }

    /// Redact one file's report in place.
    pub fn file(&mut self, file: &mut FileReport) {
        walk_file(file, &mut |k, s| self.ps.register(k, s));
        walk_file(file, &mut |k, s| *s = self.ps.rewrite(k, s));
    }

    // The two passes apart, for a file whose connections are not in its
    // report (read back from a spill): register the head, every
    // connection and the tail, in that order, then rewrite them in the
    // same order; the result is that of [`Redactor::file`].

    /// First pass: name the values of what comes before the connections.
    pub fn register_head(&mut self, file: &mut FileReport) {
        walk_file_head(file, &mut |k, s| self.ps.register(k, s));
    }

    /// First pass: name the values of one connection.
    pub fn register_connection(&mut self, c: &mut ConnectionReport) {
        walk_connection(c, &mut |k, s| self.ps.register(k, s));
    }

    /// First pass: name the values of what comes after the connections.
    pub fn register_tail(&mut self, file: &mut FileReport) {
        walk_file_tail(file, &mut |k, s| self.ps.register(k, s));
    }

    /// First pass: name the values of the run's totals.
    pub fn register_totals(&mut self, totals: &mut Totals) {
        walk_totals(totals, &mut |k, s| self.ps.register(k, s));
    }

    /// Second pass: rewrite what comes before the connections.
    pub fn rewrite_head(&self, file: &mut FileReport) {
        walk_file_head(file, &mut |k, s| *s = self.ps.rewrite(k, s));
    }

    /// Second pass: rewrite one connection.
    pub fn rewrite_connection(&self, c: &mut ConnectionReport) {
        walk_connection(c, &mut |k, s| *s = self.ps.rewrite(k, s));
    }

    /// Second pass: rewrite what comes after the connections.
    pub fn rewrite_tail(&self, file: &mut FileReport) {
        walk_file_tail(file, &mut |k, s| *s = self.ps.rewrite(k, s));
    }

    /// Second pass: rewrite the run's totals.
    pub fn rewrite_totals(&self, totals: &mut Totals) {
        walk_totals(totals, &mut |k, s| *s = self.ps.rewrite(k, s));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The passes apart (head, connections, tail; then the same order
    /// rewritten) give what one call on the whole file gives, on files
    /// whose values first appear in connections, attempts and attempts
    /// across protocols.
    #[test]
    fn passes_apart_redact_as_the_whole_file() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/captures/");
        let mut whole = Redactor::new();
        let mut apart = Redactor::new();
        for name in [
            "05-nla-wrong-password.pcap",
            "neighbours/n01-kerberos-password-wrong.pcap",
            "13-cert-expired.pcap",
        ] {
            let bytes = std::fs::read(format!("{dir}{name}")).unwrap();
            let r = crate::analyze::analyze_reader(name, &bytes[..], &Default::default());
            let mut want = file_report(&Input::new(&r));
            assert!(!want.connections.is_empty());
            let mut got = want.clone();
            whole.file(&mut want);
            let mut conns = std::mem::take(&mut got.connections);
            apart.register_head(&mut got);
            conns.iter_mut().for_each(|c| apart.register_connection(c));
            apart.register_tail(&mut got);
            apart.rewrite_head(&mut got);
            conns.iter_mut().for_each(|c| apart.rewrite_connection(c));
            apart.rewrite_tail(&mut got);
            got.connections = conns;
            assert_eq!(got, want, "{name}");
            assert_ne!(
                got.connections[0].client,
                file_report(&Input::new(&r)).connections[0].client
            );
        }
    }

    fn ps(values: &[(Field, &str)]) -> Pseudonyms {
        let mut p = Pseudonyms::default();
        for (k, v) in values {
            p.register(*k, v);
        }
        p
    }

    #[test]
    fn finds_addresses_in_text() {
        let s = "RST from 10.0.0.1:3389 and [fe80::1]:50000, then 10.0.0.12. Time 15:47:34.1 frame 17: 3389";
        let ips: Vec<String> = find_ips(s)
            .iter()
            .map(|(a, b, _)| s[*a..*b].to_string())
            .collect();
        assert_eq!(ips, ["10.0.0.1", "fe80::1", "10.0.0.12"]);
        assert!(find_ips("deadbeef cafe 0x904 1.2.3 ::").is_empty());
        assert!(find_ips("110.0.0.1x").is_empty());
        let s = "cap-10.0.0.5-fail.pcap";
        let (a, b, _) = find_ips(s)[0];
        assert_eq!(&s[a..b], "10.0.0.5");
    }

    #[test]
    fn endpoints_keep_ports() {
        let p = ps(&[
            (Field::Endpoint, "10.0.0.5:50123"),
            (Field::Endpoint, "[2001:db8::7]:3389"),
        ]);
        assert_eq!(p.rewrite(Field::Endpoint, "10.0.0.5:50123"), "ip-1:50123");
        assert_eq!(
            p.rewrite(Field::Endpoint, "[2001:db8::7]:3389"),
            "ip-2:3389"
        );
        assert_eq!(
            p.text("from 2001:db8::7 to 10.0.0.5; not 10.0.0.50"),
            "from ip-2 to ip-1; not 10.0.0.50"
        );
    }

    #[test]
    fn names_are_whole_words_case_insensitive() {
        let p = ps(&[
            (Field::User, "Alice"),
            (Field::Host, "srv01.corp.example"),
            (Field::Host, "srv01"),
        ]);
        assert_eq!(
            p.text("user alice on SRV01.corp.example (srv01), not alicesmith; srv01-b"),
            "user user-1 on host-1 (host-2), not alicesmith; host-2-b"
        );
        assert_eq!(p.rewrite(Field::User, "ALICE"), "user-1");
    }

    #[test]
    fn distinguished_names_keep_attributes_and_country() {
        let p = ps(&[(Field::Dn, "CN=srv01.corp.example, O=Example\\, Inc., C=US")]);
        assert_eq!(
            p.rewrite(Field::Dn, "CN=srv01.corp.example, O=Example\\, Inc., C=US"),
            "CN=host-1, O=org-1, C=US"
        );
        assert_eq!(
            p.rewrite(Field::San, "DNS:srv01.corp.example"),
            "DNS:host-1"
        );
    }

    #[test]
    fn multi_valued_names_keep_their_separators() {
        let dn = "CN=ncalrpc:SERVR + L=ncalrpc:SERVR + serialNumber=1BcK=\r\n";
        let p = ps(&[(Field::Dn, dn), (Field::Dn, "CN=SERVR + L=TURNBKL")]);
        assert_eq!(
            p.rewrite(Field::Dn, dn),
            "CN=host-1 + L=host-1 + serialNumber=org-1\r\n",
            "the same value gets the same pseudonym"
        );
        assert_eq!(
            p.rewrite(Field::Dn, "CN=SERVR + L=TURNBKL"),
            "CN=host-2 + L=org-2"
        );
    }

    #[test]
    fn domain_and_user_of_a_cookie_are_redacted_apart() {
        let p = ps(&[
            (Field::User, "FTBCO\\A70"),
            (Field::User, "bob@corp.example"),
        ]);
        assert_eq!(p.rewrite(Field::User, "FTBCO\\A70"), "user-1");
        assert_eq!(p.text("user A70 of ftbco"), "user user-2 of domain-1");
        assert_eq!(p.text("bob, corp.example"), "user-4, domain-2");
    }

    #[test]
    fn an_address_shaped_run_does_not_shield_a_name() {
        // `::AAA` parses as an IPv6 address; it is no address of the
        // report, so the name in it is still found.
        let p = ps(&[(Field::User, "AAa")]);
        assert_eq!(p.text("x(::AAA y"), "x(::user-1 y");
        // A registered address there is replaced whole.
        let p = ps(&[(Field::User, "AAa"), (Field::Text, "at ::aaa")]);
        assert_eq!(p.text("x(::AAA y"), "x(ip-1 y");
    }

    #[test]
    fn numbering_follows_first_appearance() {
        let p = ps(&[
            (Field::Text, "10.9.9.9 said"),
            (Field::Endpoint, "10.0.0.1:1"),
            (Field::Endpoint, "10.9.9.9:2"),
        ]);
        assert_eq!(p.rewrite(Field::Endpoint, "10.9.9.9:2"), "ip-1:2");
        assert_eq!(p.rewrite(Field::Endpoint, "10.0.0.1:1"), "ip-2:1");
    }

    proptest::proptest! {
        #[test]
        fn any_strings_are_handled(
            dn in "\\PC{0,40}",
            user in "\\PC{0,12}",
            text in "\\PC{0,80}",
        ) {
            let p = ps(&[(Field::Dn, &dn), (Field::User, &user), (Field::Text, &text)]);
            for k in [Field::Endpoint, Field::User, Field::Host, Field::Dn, Field::San, Field::Text] {
                let _ = p.rewrite(k, &dn);
                let _ = p.rewrite(k, &text);
            }
        }

        #[test]
        fn a_registered_name_never_survives_in_text(
            name in "[a-zA-Z][a-zA-Z0-9]{2,10}",
            before in "[ ,;:()-]{1,3}",
            after in "[ ,;:().-]{1,3}",
        ) {
            let p = ps(&[(Field::User, &name)]);
            let text = format!("x{before}{}{after}y", name.to_uppercase());
            proptest::prop_assert_eq!(p.text(&text), format!("x{before}user-1{after}y"));
        }

        #[test]
        fn any_ipv4_in_text_is_replaced(a: u8, b: u8, c: u8, d: u8, port: u16) {
            let ip = std::net::Ipv4Addr::new(a, b, c, d);
            proptest::prop_assume!(!ip.is_unspecified());
            let p = ps(&[(Field::Endpoint, &format!("{ip}:{port}"))]);
            let out = p.text(&format!("from {ip}:{port}, then ({ip})."));
            proptest::prop_assert_eq!(out, format!("from ip-1:{port}, then (ip-1)."));
        }
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        let p = ps(&[(Field::Host, "é"), (Field::Dn, ",,=,\\"), (Field::User, "")]);
        for s in [
            "", "é", "éé:é", "::::", "1.2.3.4:", ":1.2.3.4", "\\,", "a=b,",
        ] {
            let _ = p.text(s);
            let _ = p.rewrite(Field::Dn, s);
            let _ = p.rewrite(Field::Endpoint, s);
        }
        assert_eq!(p.text("x é y"), "x host-1 y");
    }
}
