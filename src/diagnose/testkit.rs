//! A builder for hand-made timelines, so each diagnosis rule is tested on
//! a realistic frame sequence in a few lines:
//!
//! ```ignore
//! let tl = TlBuilder::new().syn(1, 0.0).syn_ack(2, 0.001).ack(3, 0.002)
//!     .cr(4, 0.003, SSL | HYBRID).cc(5, 0.010, SSL).build();
//! ```
//!
//! Times are seconds from the start of the capture (2024-03-01 12:00:00
//! UTC). Packet counts and TTLs per direction are derived from the frames
//! pushed (client TTL 128, server TTL 64 unless set; a RST carries its own
//! TTL), as the flow stage would count them.

use crate::common::{Dir, Duration, Endpoints, Timestamp};
use crate::flow::{Gap, GapKind, RoleSource, TcpEventKind};
use crate::packet::{IcmpError, QuotedTcp};
use crate::proto::cert::CertInfo;
use crate::proto::credssp::{CredsspEvent, CredsspLeg};
use crate::proto::mcs::{Licensing, McsEvent};
use crate::proto::ntlm::{NtlmAuthenticate, NtlmMessage};
use crate::proto::ntstatus::NtStatus;
use crate::proto::tls::{ClientHello, ServerHello, TlsEvent, TlsVersion};
use crate::proto::tsrequest::{Mechanism, NegoToken, TokenWrapping, TsRequest};
use crate::proto::x224::{
    ConnectionConfirm, ConnectionRequest, NegFailureCode, NegReq, Protocols, X224Event,
};
use crate::proto::{Certainty, NlaEvent, ProtoEvent};
use crate::timeline::{EventKind, Timeline};
use std::collections::BTreeMap;

pub const RDP: u32 = Protocols::RDP;
pub const SSL: u32 = Protocols::SSL;
pub const HYBRID: u32 = Protocols::HYBRID;
pub const HYBRID_EX: u32 = Protocols::HYBRID_EX;

/// 2024-03-01T12:00:00Z.
pub const T0: i64 = 1_709_294_400;
pub const DAY: i64 = 86_400;

pub fn at(t: f64) -> Timestamp {
    Timestamp(T0 * 1_000_000_000 + (t * 1e9).round() as i64)
}

pub struct TlBuilder {
    tl: Timeline,
    ttl: [u8; 2],
    packets: Option<[u64; 2]>,
    end: Option<f64>,
}

impl Default for TlBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl TlBuilder {
    pub fn new() -> Self {
        Self::between("10.0.0.5:50123", "10.0.0.9:3389")
    }

    pub fn between(client: &str, server: &str) -> Self {
        let endpoints = Endpoints {
            client: client.parse().expect("client address"),
            server: server.parse().expect("server address"),
        };
        let mut tl = Timeline::new(0, endpoints, at(0.0));
        tl.dirs[0].from_start = true;
        tl.dirs[1].from_start = true;
        TlBuilder {
            tl,
            ttl: [128, 64],
            packets: None,
            end: None,
        }
    }

    pub fn stream(mut self, n: u64) -> Self {
        self.tl.stream = n;
        self
    }

    /// Usual TTLs of client and server packets.
    pub fn ttls(mut self, client: u8, server: u8) -> Self {
        self.ttl = [client, server];
        self
    }

    /// The capture goes on until `t` (seconds).
    pub fn end(mut self, t: f64) -> Self {
        self.end = Some(t);
        self
    }

    /// Override the packet counts per direction.
    pub fn packets(mut self, to_server: u64, to_client: u64) -> Self {
        self.packets = Some([to_server, to_client]);
        self
    }

    pub fn mss(mut self, client: u16, server: u16) -> Self {
        self.tl.dirs[0].mss = Some(client);
        self.tl.dirs[1].mss = Some(server);
        self
    }

    pub fn payload(mut self, to_server: u64, to_client: u64) -> Self {
        self.tl.dirs[0].payload_bytes = to_server;
        self.tl.dirs[1].payload_bytes = to_client;
        self
    }

    /// The last frame carrying payload in a direction (for captures whose
    /// payload could not be decoded).
    pub fn last_payload(mut self, dir: Dir, frame: u64, t: f64) -> Self {
        self.tl.dirs[dir.index()].last_payload = Some((frame, at(t)));
        self
    }

    pub fn max_idle(mut self, secs: f64, frame: u64) -> Self {
        self.tl.max_idle = Some((Duration((secs * 1e9) as i64), frame));
        self
    }

    pub fn roles(mut self, r: RoleSource) -> Self {
        self.tl.roles = r;
        self
    }

    pub fn push(mut self, frame: u64, t: f64, dir: Dir, kind: EventKind) -> Self {
        self.tl.push(frame, at(t), dir, kind);
        self
    }
    pub fn tcp(self, frame: u64, t: f64, dir: Dir, k: TcpEventKind) -> Self {
        self.push(frame, t, dir, EventKind::Tcp(k))
    }
    pub fn proto(self, frame: u64, t: f64, dir: Dir, p: ProtoEvent) -> Self {
        self.push(frame, t, dir, EventKind::Proto(p))
    }

    // ---- TCP ----
    pub fn syn(self, f: u64, t: f64) -> Self {
        let rtx = self
            .tl
            .events
            .iter()
            .any(|e| matches!(e.kind, EventKind::Tcp(TcpEventKind::Syn { .. })));
        self.tcp(
            f,
            t,
            Dir::ToServer,
            TcpEventKind::Syn {
                retransmission: rtx,
            },
        )
    }
    /// SYNs at each time, frames from `f`.
    pub fn syns(mut self, f: u64, times: &[f64]) -> Self {
        for (i, t) in times.iter().enumerate() {
            self = self.syn(f + i as u64, *t);
        }
        self
    }
    pub fn syn_ack(self, f: u64, t: f64) -> Self {
        let rtx = self
            .tl
            .events
            .iter()
            .any(|e| matches!(e.kind, EventKind::Tcp(TcpEventKind::SynAck { .. })));
        self.tcp(
            f,
            t,
            Dir::ToClient,
            TcpEventKind::SynAck {
                retransmission: rtx,
            },
        )
    }
    pub fn ack(self, f: u64, t: f64) -> Self {
        self.tcp(f, t, Dir::ToServer, TcpEventKind::HandshakeAck)
    }
    /// SYN, SYN/ACK, ACK at frames 1-3, 0.5 ms apart.
    pub fn handshake(self) -> Self {
        self.syn(1, 0.0).syn_ack(2, 0.0005).ack(3, 0.001)
    }
    pub fn rst(self, f: u64, t: f64, dir: Dir, ttl: u8) -> Self {
        self.tcp(
            f,
            t,
            dir,
            TcpEventKind::Rst {
                ttl,
                ip_id: None,
                window: 0,
                seq_in_window: true,
            },
        )
    }
    /// RST from the server with the server's usual TTL.
    pub fn rst_s(self, f: u64, t: f64) -> Self {
        let ttl = self.ttl[1];
        self.rst(f, t, Dir::ToClient, ttl)
    }
    pub fn rst_c(self, f: u64, t: f64) -> Self {
        let ttl = self.ttl[0];
        self.rst(f, t, Dir::ToServer, ttl)
    }
    pub fn fin_s(self, f: u64, t: f64) -> Self {
        self.tcp(f, t, Dir::ToClient, TcpEventKind::Fin)
    }
    pub fn fin_c(self, f: u64, t: f64) -> Self {
        self.tcp(f, t, Dir::ToServer, TcpEventKind::Fin)
    }
    pub fn rtx(self, f: u64, t: f64, dir: Dir, offset: u64, len: u32) -> Self {
        self.tcp(f, t, dir, TcpEventKind::Retransmission { offset, len })
    }
    pub fn keepalive(self, f: u64, t: f64) -> Self {
        self.tcp(f, t, Dir::ToServer, TcpEventKind::KeepAlive)
    }
    pub fn icmp(self, f: u64, t: f64, icmp_type: u8, code: u8, mtu: Option<u32>) -> Self {
        let ep = self.tl.endpoints;
        let quoted = QuotedTcp {
            src: ep.client.ip(),
            dst: ep.server.ip(),
            src_port: ep.client.port(),
            dst_port: ep.server.port(),
            seq: 1000,
        };
        self.tcp(
            f,
            t,
            Dir::ToServer,
            TcpEventKind::Icmp(IcmpError {
                v6: false,
                icmp_type,
                code,
                mtu,
                quoted: Some(quoted),
            }),
        )
    }
    pub fn gap(self, f: u64, t: f64, dir: Dir, kind: GapKind, offset: u64, len: u64) -> Self {
        self.tcp(
            f,
            t,
            dir,
            TcpEventKind::Gap(Gap {
                offset,
                len,
                kind,
                frame: f,
                ts: at(t),
            }),
        )
    }

    // ---- X.224 ----
    pub fn cr(self, f: u64, t: f64, requested: u32) -> Self {
        self.cr_with(
            f,
            t,
            ConnectionRequest {
                cookie: Some("alice".into()),
                routing_token: None,
                neg_req: Some(NegReq {
                    flags: 0,
                    requested: Protocols(requested),
                }),
                correlation_id: None,
            },
        )
    }
    pub fn cr_with(self, f: u64, t: f64, r: ConnectionRequest) -> Self {
        self.proto(
            f,
            t,
            Dir::ToServer,
            ProtoEvent::X224(X224Event::ConnectionRequest(r)),
        )
    }
    pub fn cc(self, f: u64, t: f64, selected: u32) -> Self {
        self.proto(
            f,
            t,
            Dir::ToClient,
            ProtoEvent::X224(X224Event::ConnectionConfirm(ConnectionConfirm::Selected {
                flags: 0x1f,
                selected: Protocols(selected),
            })),
        )
    }
    pub fn neg_failure(self, f: u64, t: f64, code: u32) -> Self {
        self.proto(
            f,
            t,
            Dir::ToClient,
            ProtoEvent::X224(X224Event::ConnectionConfirm(ConnectionConfirm::Failure {
                code: NegFailureCode(code),
            })),
        )
    }

    // ---- TLS ----
    pub fn client_hello(self, f: u64, t: f64) -> Self {
        self.client_hello_with(f, t, modern_hello(None))
    }
    pub fn client_hello_with(self, f: u64, t: f64, h: ClientHello) -> Self {
        self.proto(
            f,
            t,
            Dir::ToServer,
            ProtoEvent::Tls(TlsEvent::ClientHello(Box::new(h))),
        )
    }
    pub fn server_hello(self, f: u64, t: f64, version: u16) -> Self {
        self.proto(
            f,
            t,
            Dir::ToClient,
            ProtoEvent::Tls(TlsEvent::ServerHello(ServerHello {
                legacy_version: TlsVersion(0x0303),
                version: TlsVersion(version),
                cipher_suite: 0xc030,
                alpn: None,
            })),
        )
    }
    pub fn certificate(self, f: u64, t: f64, c: CertInfo) -> Self {
        self.proto(
            f,
            t,
            Dir::ToClient,
            ProtoEvent::Tls(TlsEvent::Certificate(vec![c])),
        )
    }
    pub fn tls(self, f: u64, t: f64, dir: Dir, e: TlsEvent) -> Self {
        self.proto(f, t, dir, ProtoEvent::Tls(e))
    }
    pub fn alert(self, f: u64, t: f64, dir: Dir, description: u8) -> Self {
        self.tls(
            f,
            t,
            dir,
            TlsEvent::Alert {
                level: 2,
                description,
            },
        )
    }
    /// A full TLS 1.2 handshake from `f` at `t`: ClientHello, ServerHello +
    /// Certificate + ServerHelloDone (one frame), ClientKeyExchange + CCS +
    /// Finished, server CCS + Finished. Uses frames f..f+3, 1 ms apart.
    pub fn tls12(self, f: u64, t: f64, c: CertInfo) -> Self {
        self.client_hello(f, t)
            .server_hello(f + 1, t + 0.001, 0x0303)
            .certificate(f + 1, t + 0.001, c)
            .tls(f + 1, t + 0.001, Dir::ToClient, TlsEvent::ServerHelloDone)
            .tls(f + 2, t + 0.002, Dir::ToServer, TlsEvent::ClientKeyExchange)
            .tls(f + 2, t + 0.002, Dir::ToServer, TlsEvent::ChangeCipherSpec)
            .tls(
                f + 2,
                t + 0.002,
                Dir::ToServer,
                TlsEvent::EncryptedHandshake { len: 40 },
            )
            .tls(f + 3, t + 0.003, Dir::ToClient, TlsEvent::ChangeCipherSpec)
            .tls(
                f + 3,
                t + 0.003,
                Dir::ToClient,
                TlsEvent::EncryptedHandshake { len: 40 },
            )
    }
    pub fn app(self, f: u64, t: f64, dir: Dir, len: u32) -> Self {
        self.tls(f, t, dir, TlsEvent::ApplicationData { len })
    }
    pub fn app_summary(self, f: u64, t: f64, dir: Dir, records: u64, bytes: u64) -> Self {
        self.tls(
            f,
            t,
            dir,
            TlsEvent::ApplicationDataSummary { records, bytes },
        )
    }

    // ---- CredSSP ----
    pub fn leg(self, f: u64, t: f64, leg: CredsspLeg) -> Self {
        let dir = match leg {
            CredsspLeg::Negotiate | CredsspLeg::Authenticate | CredsspLeg::Credentials => {
                Dir::ToServer
            }
            _ => Dir::ToClient,
        };
        self.proto(
            f,
            t,
            dir,
            ProtoEvent::Credssp(CredsspEvent::Leg {
                leg,
                record_len: 100,
                certainty: Certainty::High,
            }),
        )
    }

    // ---- Decrypted NLA ----
    /// A decrypted TSRequest (MS-CSSP 2.2.1).
    pub fn ts_request(self, f: u64, t: f64, dir: Dir, r: TsRequest) -> Self {
        self.proto(f, t, dir, ProtoEvent::Nla(NlaEvent::TsRequest(Box::new(r))))
    }
    /// The textbook NTLM exchange, decrypted: NEGOTIATE, CHALLENGE,
    /// AUTHENTICATE with pubKeyAuth (client `user`), from frame `f` on.
    pub fn ntlm_exchange(self, f: u64, t: f64, user: &str) -> Self {
        let tok = |m: NtlmMessage| {
            Some(NegoToken {
                wrapping: TokenWrapping::Raw,
                mech: Mechanism::Ntlm(m),
            })
        };
        let req = |token, pub_key_auth| TsRequest {
            version: 6,
            token,
            pub_key_auth,
            ..TsRequest::default()
        };
        let auth = NtlmAuthenticate {
            user: Some(user.to_string()),
            domain: Some("CORP".to_string()),
            ..NtlmAuthenticate::default()
        };
        let negotiate = NtlmMessage::Negotiate {
            flags: 0xe208_82b7,
            version: None,
        };
        let challenge = NtlmMessage::Challenge(Box::default());
        self.ts_request(f, t, Dir::ToServer, req(tok(negotiate), false))
            .ts_request(f + 1, t + 0.001, Dir::ToClient, req(tok(challenge), false))
            .ts_request(
                f + 2,
                t + 0.01,
                Dir::ToServer,
                req(tok(NtlmMessage::Authenticate(Box::new(auth))), true),
            )
    }
    /// The server's TSRequest with an errorCode.
    pub fn nla_error(self, f: u64, t: f64, code: u32) -> Self {
        let r = TsRequest {
            version: 6,
            error_code: Some(NtStatus(code)),
            ..TsRequest::default()
        };
        self.ts_request(f, t, Dir::ToClient, r)
    }
    /// The server's pubKeyAuth, then the client's credentials.
    pub fn nla_finish(self, f: u64, t: f64) -> Self {
        let (pk, creds) = (
            TsRequest {
                version: 6,
                pub_key_auth: true,
                ..TsRequest::default()
            },
            TsRequest {
                version: 6,
                credentials: true,
                ..TsRequest::default()
            },
        );
        self.ts_request(f, t, Dir::ToClient, pk)
            .ts_request(f + 1, t + 0.001, Dir::ToServer, creds)
    }
    /// HYBRID_EX: the Early User Authorization Result.
    pub fn early_result(self, f: u64, t: f64, result: u32) -> Self {
        self.proto(
            f,
            t,
            Dir::ToClient,
            ProtoEvent::Nla(NlaEvent::EarlyUserAuthResult { result }),
        )
    }

    // ---- MCS ----
    pub fn mcs(self, f: u64, t: f64, dir: Dir, m: McsEvent) -> Self {
        self.proto(f, t, dir, ProtoEvent::Mcs(m))
    }
    pub fn licensing_error(self, f: u64, t: f64, code: u32) -> Self {
        self.mcs(
            f,
            t,
            Dir::ToClient,
            McsEvent::Licensing(Licensing {
                msg_type: 0xff,
                error_code: Some(code),
                state_transition: Some(1),
            }),
        )
    }

    pub fn build(mut self) -> Timeline {
        // Distinct frames per direction, and the TTL each carried.
        let mut frames: [BTreeMap<u64, u8>; 2] = [BTreeMap::new(), BTreeMap::new()];
        for e in &self.tl.events {
            let i = e.dir.index();
            let ttl = match &e.kind {
                EventKind::Tcp(TcpEventKind::Rst { ttl, .. }) => *ttl,
                EventKind::Tcp(TcpEventKind::Icmp(_)) => continue,
                _ => self.ttl[i],
            };
            let slot = frames[i].entry(e.frame).or_insert(ttl);
            if matches!(e.kind, EventKind::Tcp(TcpEventKind::Rst { .. })) {
                *slot = ttl;
            }
        }
        for i in 0..2 {
            let mut counts: BTreeMap<u8, u64> = BTreeMap::new();
            for ttl in frames[i].values() {
                *counts.entry(*ttl).or_default() += 1;
            }
            self.tl.dirs[i].ttls = counts.into_iter().collect();
            self.tl.dirs[i].packets = match self.packets {
                Some(p) => p[i],
                None => frames[i].len() as u64,
            };
            if self.tl.dirs[i].payload_bytes == 0 {
                let proto = self
                    .tl
                    .events
                    .iter()
                    .filter(|e| e.dir.index() == i && matches!(e.kind, EventKind::Proto(_)))
                    .count() as u64;
                self.tl.dirs[i].payload_bytes = proto * 200;
            }
            // The last decoded event carried data, unless a test said
            // where the last data was (data the decoders did not list).
            let last = self
                .tl
                .events
                .iter()
                .rev()
                .find(|e| e.dir.index() == i && matches!(e.kind, EventKind::Proto(_)))
                .map(|e| (e.frame, e.ts));
            let said = self.tl.dirs[i].last_payload;
            self.tl.dirs[i].last_payload = match (said, last) {
                (Some(s), Some(l)) if s.0 >= l.0 => Some(s),
                (Some(s), None) => Some(s),
                (_, l) => l,
            };
        }
        if let Some(t) = self.end {
            self.tl.capture_end = self.tl.capture_end.max(at(t));
        }
        self.tl
    }
}

/// A ClientHello as mstsc and FreeRDP send it: TLS 1.0 to 1.2, modern
/// suites.
pub fn modern_hello(sni: Option<&str>) -> ClientHello {
    ClientHello {
        record_version: TlsVersion(0x0301),
        legacy_version: TlsVersion(0x0303),
        supported_versions: vec![],
        cipher_suites: vec![
            0xc02c, 0xc02b, 0xc030, 0xc02f, 0x009f, 0x009e, 0xc024, 0xc023,
        ],
        sni: sni.map(str::to_string),
        signature_algorithms: vec![0x0401, 0x0501],
        alpn: vec![],
        sslv2: false,
    }
}

/// An old client: TLS 1.0 only, CBC and RC4 suites.
pub fn old_hello() -> ClientHello {
    ClientHello {
        record_version: TlsVersion(0x0301),
        legacy_version: TlsVersion(0x0301),
        supported_versions: vec![],
        cipher_suites: vec![0x002f, 0x0035, 0x0005, 0x000a],
        sni: None,
        signature_algorithms: vec![],
        alpn: vec![],
        sslv2: false,
    }
}

/// A server certificate for `cn`, valid from `from_days` to `to_days`
/// relative to T0 (negative = before the capture).
pub fn cert(cn: &str, from_days: i64, to_days: i64, self_signed: bool) -> CertInfo {
    CertInfo {
        subject: format!("CN={cn}"),
        issuer: if self_signed {
            format!("CN={cn}")
        } else {
            "CN=Corp Issuing CA, DC=corp, DC=example".into()
        },
        sans: vec![],
        serial: "1a2b3c".into(),
        not_before: T0 + from_days * DAY,
        not_after: T0 + to_days * DAY,
        self_signed,
        key_algorithm: "RSA".into(),
        key_bits: Some(2048),
        version: 3,
        key_algorithm_oid: "rsaEncryption".into(),
        key_exponent: Some(65537),
        basic_constraints: None,
        signature_algorithm: "sha256WithRSAEncryption".into(),
        extended_key_usage: vec!["serverAuth".into()],
        sha1: "00".repeat(20),
        sha256: "00".repeat(32),
        anomalies: vec![],
    }
}

/// A good certificate: CA-issued, valid a year around the capture.
pub fn good_cert(cn: &str) -> CertInfo {
    cert(cn, -180, 180, false)
}
