//! RD Gateway connections: HTTPS from the client to the gateway, with the
//! RDP connection tunnelled inside ([MS-TSGU]). A TLS connection to 443
//! is not a gateway by itself; a connection is one when the user names
//! the gateway (`--gateway HOST[:PORT]`: its address, or a name its DNS
//! answer, SNI or certificate shows) or when its decrypted HTTP request
//! uses a gateway transport's method (`RDG_OUT_DATA`, `RDG_IN_DATA`,
//! `RPC_IN_DATA`, `RPC_OUT_DATA`).
//!
//! [`GatewayPart`] is what an attempt keeps of such a connection, read
//! once from its timeline: the TCP set-up, the TLS handshake as far as it
//! is in clear text, who closed, and the HTTP heads when decrypted.

use crate::common::{Dir, Timestamp};
use crate::flow::TcpEventKind;
use crate::proto::http::{HttpEvent, HttpMethod};
use crate::proto::tls::TlsEvent;
use crate::proto::ProtoEvent;
use crate::timeline::{EventKind, Timeline};
use std::net::{IpAddr, SocketAddr};

/// The port of an RD Gateway when the user gives none: HTTPS (Microsoft
/// Learn, "Remote Desktop Gateway": the gateway listens on TCP 443).
pub const GATEWAY_PORT: u16 = 443;

/// A gateway as the user names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GatewayHost {
    Addr(IpAddr),
    Name(String),
}

/// `--gateway HOST[:PORT]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewaySpec {
    pub host: GatewayHost,
    pub port: u16,
}

impl std::str::FromStr for GatewaySpec {
    type Err = String;

    /// `gw.example.com`, `gw.example.com:8443`, `192.0.2.1`, `[2001:db8::1]:443`
    /// or a bare IPv6 address.
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if let Ok(a) = s.parse::<IpAddr>() {
            return Ok(GatewaySpec {
                host: GatewayHost::Addr(a),
                port: GATEWAY_PORT,
            });
        }
        if let Ok(a) = s.parse::<SocketAddr>() {
            return Ok(GatewaySpec {
                host: GatewayHost::Addr(a.ip()),
                port: a.port(),
            });
        }
        let (name, port) = match s.rsplit_once(':') {
            Some((n, p)) => (
                n,
                p.parse::<u16>()
                    .ok()
                    .filter(|&p| p != 0)
                    .ok_or_else(|| format!("{s:?}: the port must be a number from 1 to 65535"))?,
            ),
            None => (s, GATEWAY_PORT),
        };
        let valid = !name.is_empty()
            && name.len() <= 253
            && name.split('.').all(|l| !l.is_empty() && l.len() <= 63)
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_');
        if !valid {
            return Err(format!(
                "{s:?}: not an address or host name (HOST[:PORT], e.g. gw.example.com or \
                 192.0.2.1:443)"
            ));
        }
        Ok(GatewaySpec {
            host: GatewayHost::Name(name.trim_end_matches('.').to_ascii_lowercase()),
            port,
        })
    }
}

impl std::fmt::Display for GatewaySpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.host {
            GatewayHost::Addr(IpAddr::V6(a)) => write!(f, "[{a}]:{}", self.port),
            GatewayHost::Addr(a) => write!(f, "{a}:{}", self.port),
            GatewayHost::Name(n) => write!(f, "{n}:{}", self.port),
        }
    }
}

/// Why a connection is taken for a gateway's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GatewayTie {
    /// The user named it (`--gateway`), as given.
    Named(String),
    /// Its decrypted HTTP request used a gateway transport's method.
    Method(HttpMethod),
}

/// One connection to a (possible) gateway, as the attempt keeps it.
#[derive(Clone, Debug, PartialEq)]
pub struct GatewayPart {
    pub stream: u64,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub first_frame: u64,
    pub first_ts: Timestamp,
    pub last_frame: u64,
    pub last_ts: Timestamp,
    /// The client's SYNs (first and retries).
    pub syns: Vec<u64>,
    pub synack: Option<u64>,
    /// The server's RST answering the SYN (no SYN+ACK before it).
    pub refused: Option<u64>,
    pub client_hello: Option<u64>,
    pub server_hello: Option<u64>,
    /// The client's encrypted Finished (the last record of its handshake).
    pub client_finished: Option<u64>,
    /// The first application data the client sent after its Finished.
    pub client_data: Option<u64>,
    /// The client's first alert record (clear or encrypted) and the first
    /// FIN or RST it sent.
    pub client_alert: Option<u64>,
    pub client_close: Option<u64>,
    /// The server's first alert record and first FIN or RST.
    pub server_alert: Option<u64>,
    pub server_close: Option<u64>,
    /// The SNI and the names of the leaf certificate (TLS 1.2 and older).
    pub names: Vec<String>,
    /// The first request and the last response read from the decrypted
    /// HTTP, at their frames.
    pub request: Option<(u64, HttpMethod, String)>,
    pub response: Option<(u64, u16, String)>,
    /// Set when the attempts are built: why this is a gateway connection.
    pub tie: Option<GatewayTie>,
}

impl GatewayPart {
    pub fn of(tl: &Timeline) -> Self {
        let mut g = GatewayPart {
            stream: tl.stream,
            client: tl.endpoints.client,
            server: tl.endpoints.server,
            first_frame: tl.first_frame,
            first_ts: tl.first_ts,
            last_frame: tl.last_frame,
            last_ts: tl.last_ts,
            syns: Vec::new(),
            synack: None,
            refused: None,
            client_hello: None,
            server_hello: None,
            client_finished: None,
            client_data: None,
            client_alert: None,
            client_close: None,
            server_alert: None,
            server_close: None,
            names: super::neighbours::tcp_names(tl),
            request: None,
            response: None,
            tie: None,
        };
        for e in &tl.events {
            let client = e.dir == Dir::ToServer;
            match &e.kind {
                EventKind::Tcp(t) => match t {
                    TcpEventKind::Syn { .. } if client => g.syns.push(e.frame),
                    TcpEventKind::SynAck { .. } if !client => {
                        g.synack.get_or_insert(e.frame);
                    }
                    TcpEventKind::Rst { .. }
                        if !client && g.synack.is_none() && !g.syns.is_empty() =>
                    {
                        g.refused.get_or_insert(e.frame);
                    }
                    TcpEventKind::Fin | TcpEventKind::Rst { .. } => {
                        let close = if client {
                            &mut g.client_close
                        } else {
                            &mut g.server_close
                        };
                        close.get_or_insert(e.frame);
                    }
                    _ => {}
                },
                EventKind::Proto(p) => g.on_proto(e.frame, client, p),
            }
        }
        g
    }

    fn on_proto(&mut self, frame: u64, client: bool, p: &ProtoEvent) {
        match p {
            ProtoEvent::Tls(t) => match t {
                TlsEvent::ClientHello(_) if client => {
                    self.client_hello.get_or_insert(frame);
                }
                TlsEvent::ServerHello(_) if !client => {
                    self.server_hello.get_or_insert(frame);
                }
                TlsEvent::EncryptedHandshake { .. } if client && self.server_hello.is_some() => {
                    self.client_finished.get_or_insert(frame);
                }
                TlsEvent::ApplicationData { .. } | TlsEvent::ApplicationDataSummary { .. }
                    if client && self.client_finished.is_some() =>
                {
                    self.client_data.get_or_insert(frame);
                }
                TlsEvent::Alert { .. }
                | TlsEvent::EncryptedAlert { .. }
                | TlsEvent::DecryptedAlert { .. } => {
                    let alert = if client {
                        &mut self.client_alert
                    } else {
                        &mut self.server_alert
                    };
                    alert.get_or_insert(frame);
                }
                _ => {}
            },
            ProtoEvent::Http(HttpEvent::Request { method, path, .. }) if client => {
                self.client_data.get_or_insert(frame);
                if self.request.is_none() {
                    self.request = Some((frame, method.clone(), path.clone()));
                }
            }
            ProtoEvent::Http(HttpEvent::Response { status, reason }) if !client => {
                self.response = Some((frame, *status, reason.clone()));
            }
            _ => {}
        }
    }

    /// Whether the connection matches the gateway the user named, by its
    /// address or the names it shows (DNS answers are matched by the
    /// attempts, which see them).
    pub fn matches(&self, spec: &GatewaySpec) -> bool {
        self.server.port() == spec.port
            && match &spec.host {
                GatewayHost::Addr(a) => *a == self.server.ip(),
                GatewayHost::Name(n) => self.names.iter().any(|m| m.eq_ignore_ascii_case(n)),
            }
    }

    /// How the gateway connection failed, when it shows it.
    pub fn failure(&self) -> Option<GatewayFailure> {
        if let Some((_, status, _)) = self.response {
            return (status >= 400).then_some(GatewayFailure::HttpStatus(status));
        }
        if self.refused.is_some() {
            return Some(GatewayFailure::Refused);
        }
        // A SYN sent again: the client waited its retransmission timeout
        // (RFC 6298 2.1: 1 s at first) and nothing came; one SYN alone may
        // be a capture that stopped too soon.
        if self.synack.is_none() && self.syns.len() >= 2 {
            return Some(GatewayFailure::Unanswered);
        }
        if self.client_finished.is_some()
            && self.client_data.is_none()
            && (self.client_alert.is_some() || self.client_close.is_some())
        {
            return Some(GatewayFailure::ClosedAfterHandshake);
        }
        None
    }
}

impl std::fmt::Display for GatewayPart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RD Gateway connection (tcp.stream {}) {} -> {}",
            self.stream, self.client, self.server
        )?;
        if let Some((_, m, p)) = &self.request {
            write!(f, ": {m} {p}")?;
        }
        if let Some((_, s, r)) = &self.response {
            write!(f, ", answered {s} {r}")?;
        }
        match self.failure() {
            Some(fail) if self.response.is_none() => write!(f, ": {fail}"),
            _ => Ok(()),
        }
    }
}

/// A frame of a gateway connection an evidence item points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GatewayStep {
    Syn,
    Refused,
    ClientHello,
    ServerHello,
    ClientFinished,
    ClientAlert,
    ClientClose,
    ServerAlert,
    ServerClose,
}

impl std::fmt::Display for GatewayStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            GatewayStep::Syn => "SYN from the client",
            GatewayStep::Refused => "RST from the gateway answering the SYN",
            GatewayStep::ClientHello => "TLS ClientHello from the client",
            GatewayStep::ServerHello => "TLS ServerHello from the gateway",
            GatewayStep::ClientFinished => {
                "the client's last handshake record (Finished): the TLS handshake is complete"
            }
            GatewayStep::ClientAlert => "a TLS alert record from the client",
            GatewayStep::ClientClose => "the client closes the connection (FIN or RST)",
            GatewayStep::ServerAlert => "a TLS alert record from the gateway",
            GatewayStep::ServerClose => "the gateway closes the connection (FIN or RST)",
        })
    }
}

/// How a gateway connection failed, as far as the capture shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GatewayFailure {
    /// A RST answered the SYN.
    Refused,
    /// No answer to the SYNs.
    Unanswered,
    /// The gateway's name did not resolve.
    NameNotFound,
    /// The TLS handshake completed and the client closed without sending
    /// a request.
    ClosedAfterHandshake,
    /// The gateway answered the request with an HTTP error status.
    HttpStatus(u16),
}

impl GatewayFailure {
    /// A stable identifier (JSON `gateway_failure`).
    pub fn id(self) -> &'static str {
        match self {
            GatewayFailure::Refused => "refused",
            GatewayFailure::Unanswered => "unanswered",
            GatewayFailure::NameNotFound => "name_not_found",
            GatewayFailure::ClosedAfterHandshake => "closed_after_tls_handshake",
            GatewayFailure::HttpStatus(401) => "http_401_authentication",
            GatewayFailure::HttpStatus(403) => "http_403_not_authorized",
            GatewayFailure::HttpStatus(404) => "http_404_not_a_gateway",
            GatewayFailure::HttpStatus(s) if s >= 500 => "http_5xx_gateway_error",
            GatewayFailure::HttpStatus(_) => "http_error",
        }
    }
}

impl std::fmt::Display for GatewayFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GatewayFailure::Refused => f.write_str("refused (RST to SYN)"),
            GatewayFailure::Unanswered => f.write_str("SYN not answered"),
            GatewayFailure::NameNotFound => f.write_str("the gateway's name does not resolve"),
            GatewayFailure::ClosedAfterHandshake => {
                f.write_str("TLS handshake completed, the client closed without a request")
            }
            GatewayFailure::HttpStatus(s) => write!(f, "HTTP {s}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part() -> GatewayPart {
        let t = |ms: i64| Timestamp::from_secs_nanos(1_700_000_000, ms as u32 * 1_000_000);
        GatewayPart {
            stream: 0,
            client: "192.0.2.10:50000".parse().unwrap(),
            server: "198.51.100.30:443".parse().unwrap(),
            first_frame: 1,
            first_ts: t(0),
            last_frame: 9,
            last_ts: t(90),
            syns: vec![1],
            synack: Some(2),
            refused: None,
            client_hello: Some(4),
            server_hello: Some(5),
            client_finished: Some(6),
            client_data: Some(7),
            client_alert: None,
            client_close: None,
            server_alert: None,
            server_close: None,
            names: vec!["gw.example.test".into()],
            request: Some((7, HttpMethod::RdgOutData, "/remoteDesktopGateway/".into())),
            response: None,
            tie: None,
        }
    }

    fn cause_of(g: GatewayPart, spec: &str) -> Option<super::super::neighbours::SideCause> {
        let specs = [spec.parse::<GatewaySpec>().unwrap()];
        let a = super::super::neighbours::cross_attempts_of(
            &Default::default(),
            Vec::new(),
            vec![g],
            &specs,
        );
        assert_eq!(a.len(), 1, "{a:?}");
        a[0].cause.clone()
    }

    /// Each HTTP error status is a seen, explicit failure naming the
    /// request and the status at their frames; a 401 the client answered
    /// (200 after it, NTLM's second round) is none.
    #[test]
    fn http_statuses_of_the_gateway() {
        use super::super::neighbours::SideClue;
        use super::super::{CauseId, Confidence};
        for (status, id) in [
            (401, "http_401_authentication"),
            (403, "http_403_not_authorized"),
            (404, "http_404_not_a_gateway"),
            (502, "http_5xx_gateway_error"),
        ] {
            let mut g = part();
            g.response = Some((8, status, "Reason".into()));
            assert_eq!(g.failure().map(|f| f.id()), Some(id));
            let c = cause_of(g, "gw.example.test").expect("a cause");
            assert_eq!(c.id, CauseId::GatewayFailed);
            assert_eq!(c.confidence, Confidence::High);
            assert!(c.summary.contains(&status.to_string()), "{}", c.summary);
            let frames: Vec<(u64, &str)> = c
                .evidence
                .iter()
                .map(|e| (e.frame, e.clue.kind()))
                .collect();
            assert_eq!(frames, [(7, "http.request"), (8, "http.status")]);
            assert!(matches!(
                &c.evidence[1].clue,
                SideClue::HttpStatus { status: s, .. } if *s == status
            ));
        }
        let mut g = part();
        g.response = Some((8, 200, "OK".into()));
        assert_eq!(g.failure(), None);
        assert_eq!(cause_of(g, "gw.example.test"), None);
    }

    /// SYNs nobody answered are a silence: medium at most. A gateway the
    /// user named by another address or port claims nothing.
    #[test]
    fn an_unanswered_gateway_is_a_silence() {
        use super::super::{Confidence, Grounds};
        let mut g = part();
        g.syns = vec![1, 2, 3];
        g.synack = None;
        for f in [
            &mut g.client_hello,
            &mut g.server_hello,
            &mut g.client_finished,
            &mut g.client_data,
        ] {
            *f = None;
        }
        g.request = None;
        assert_eq!(g.failure(), Some(GatewayFailure::Unanswered));
        let c = cause_of(g.clone(), "198.51.100.30").expect("a cause");
        assert_eq!(c.grounds, Grounds::Silence);
        assert!(c.confidence <= Confidence::Medium);
        let frames: Vec<u64> = c.evidence.iter().map(|e| e.frame).collect();
        assert_eq!(frames, [1, 2, 3]);
        for other in [
            "198.51.100.31",
            "198.51.100.30:8443",
            "othergw.example.test",
        ] {
            let specs = [other.parse::<GatewaySpec>().unwrap()];
            let a = super::super::neighbours::cross_attempts_of(
                &Default::default(),
                Vec::new(),
                vec![g.clone()],
                &specs,
            );
            assert!(a.is_empty(), "{other}: {a:?}");
        }
    }

    #[test]
    fn gateway_specs_parse_as_users_write_them() {
        let p = |s: &str| s.parse::<GatewaySpec>();
        assert_eq!(
            p("GW.Example.com").unwrap(),
            GatewaySpec {
                host: GatewayHost::Name("gw.example.com".into()),
                port: 443
            }
        );
        assert_eq!(p("gw:8443").unwrap().port, 8443);
        assert_eq!(
            p("192.0.2.1").unwrap().host,
            GatewayHost::Addr("192.0.2.1".parse().unwrap())
        );
        assert_eq!(p("[2001:db8::1]:444").unwrap().port, 444);
        assert_eq!(p("2001:db8::1").unwrap().port, 443);
        for bad in ["", "gw:0", "gw:x", "a b", "gw:70000", ".."] {
            assert!(p(bad).is_err(), "{bad}");
        }
    }
}
