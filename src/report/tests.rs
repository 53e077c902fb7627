//! Snapshot and behaviour tests of the report, over results built by hand
//! (a timeline of events and a diagnosis literal per connection).

use super::model::*;
use super::*;
use crate::analyze::{ConnectionResult, FileResult, SkipCounts};
use crate::capture::{
    CaptureFormat, CaptureWarning, Compression, LinkType, OpenError, ReadSummary, WarningKind,
};
use crate::common::{Dir, Duration, Endpoints, KeepLimit, Timestamp};
use crate::diagnose::evidence::{
    EndNote, Named, NegotiationClue, NotRdpClue, Offered, Since, TcpClue, TlsClue,
};
use crate::diagnose::{
    Benign, Cause, CauseId, Certainty as StepCertainty, Clue, Confidence, Diagnosis, Ending,
    Evidence, Grounds, Outcome, Party, Phase, Step, Term, TermKind,
};
use crate::flow::{FlowStats, TcpEventKind};
use crate::proto::cert::CertInfo;
use crate::proto::credssp::{CredsspEvent, CredsspLeg};
use crate::proto::mcs::{ClientCore, ClientGcc, ClientInfo, McsEvent};
use crate::proto::tls::{ClientHello, ServerHello, TlsEvent, TlsVersion};
use crate::proto::x224::{
    ConnectionConfirm, ConnectionRequest, NegFailureCode, NegReq, Protocols, X224Event,
};
use crate::proto::{Certainty, ProtoEvent};
use crate::timeline::{EventKind, Timeline};

/// 2023-11-14T22:13:20Z
const T0: i64 = 1_700_000_000;

fn at(ms: i64) -> Timestamp {
    Timestamp::from_nanos(T0 * 1_000_000_000 + ms * 1_000_000)
}

fn ep(client: &str, server: &str) -> Endpoints {
    Endpoints {
        client: client.parse().unwrap(),
        server: server.parse().unwrap(),
    }
}

/// A timeline builder: (frame, ms, dir, event).
struct Tl(Timeline);

impl Tl {
    fn new(stream: u64, e: Endpoints) -> Self {
        Tl(Timeline::new(stream, e, at(0)))
    }
    fn tcp(mut self, frame: u64, ms: i64, dir: Dir, k: TcpEventKind) -> Self {
        self.0.push(frame, at(ms), dir, EventKind::Tcp(k));
        self
    }
    fn ev(mut self, frame: u64, ms: i64, dir: Dir, p: ProtoEvent) -> Self {
        self.0.push(frame, at(ms), dir, EventKind::Proto(p));
        self
    }
    fn handshake(self, f: u64, ms: i64) -> Self {
        self.tcp(
            f,
            ms,
            Dir::ToServer,
            TcpEventKind::Syn {
                retransmission: false,
            },
        )
        .tcp(
            f + 1,
            ms + 1,
            Dir::ToClient,
            TcpEventKind::SynAck {
                retransmission: false,
            },
        )
        .tcp(f + 2, ms + 2, Dir::ToServer, TcpEventKind::HandshakeAck)
    }
    fn counts(mut self, to_server: (u64, u64), to_client: (u64, u64)) -> Self {
        self.0.dirs[0].packets = to_server.0;
        self.0.dirs[0].frame_bytes = to_server.1;
        self.0.dirs[1].packets = to_client.0;
        self.0.dirs[1].frame_bytes = to_client.1;
        self
    }
}

fn rst() -> TcpEventKind {
    TcpEventKind::Rst {
        ttl: 128,
        ip_id: Some(0x1234),
        window: 0,
        seq_in_window: true,
    }
}

fn request(cookie: Option<&str>, requested: Option<u32>) -> ProtoEvent {
    ProtoEvent::X224(X224Event::ConnectionRequest(ConnectionRequest {
        cookie: cookie.map(str::to_string),
        routing_token: None,
        neg_req: requested.map(|r| NegReq {
            flags: 0,
            requested: Protocols(r),
        }),
        correlation_id: None,
    }))
}

fn confirm(c: ConnectionConfirm) -> ProtoEvent {
    ProtoEvent::X224(X224Event::ConnectionConfirm(c))
}

fn client_hello(sni: &str) -> ProtoEvent {
    ProtoEvent::Tls(TlsEvent::ClientHello(Box::new(ClientHello {
        record_version: TlsVersion(0x0301),
        legacy_version: TlsVersion(0x0303),
        supported_versions: vec![TlsVersion(0x3a3a), TlsVersion(0x0304), TlsVersion(0x0303)],
        cipher_suites: vec![0x1301, 0x1302, 0xc02f, 0xc030],
        sni: Some(sni.to_string()),
        signature_algorithms: vec![],
        alpn: vec![],
        sslv2: false,
    })))
}

fn server_hello() -> ProtoEvent {
    ProtoEvent::Tls(TlsEvent::ServerHello(ServerHello {
        legacy_version: TlsVersion(0x0303),
        version: TlsVersion(0x0303),
        cipher_suite: 0xc030,
        alpn: None,
    }))
}

fn cert(subject: &str, sans: &[&str], not_before: i64, not_after: i64) -> CertInfo {
    CertInfo {
        subject: subject.to_string(),
        issuer: subject.to_string(),
        sans: sans.iter().map(|s| s.to_string()).collect(),
        serial: "1f3a5c".to_string(),
        not_before,
        not_after,
        self_signed: true,
        key_algorithm: "RSA".to_string(),
        key_bits: Some(2048),
        version: 3,
        key_algorithm_oid: "rsaEncryption".into(),
        key_exponent: Some(65537),
        basic_constraints: None,
        signature_algorithm: "sha256WithRSAEncryption".to_string(),
        extended_key_usage: vec!["serverAuth".to_string()],
        sha1: "A1B2C3D4E5F60718293A4B5C6D7E8F9011223344".to_string(),
        sha256: "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff".to_string(),
        anomalies: vec![],
    }
}

fn leg(l: CredsspLeg, len: u32) -> ProtoEvent {
    ProtoEvent::Credssp(CredsspEvent::Leg {
        leg: l,
        record_len: len,
        certainty: Certainty::Medium,
    })
}

fn diag(outcome: Outcome, phase: Phase, last: Option<Step>, failed: Option<Step>) -> Diagnosis {
    Diagnosis {
        outcome,
        phase,
        last_step: last,
        last_step_certainty: last.map(|_| StepCertainty::Seen),
        failed_step: failed,
        ending: Ending::CaptureEnded,
        ending_frame: None,
        cause: None,
        benign: None,
        evidence: Vec::new(),
        caveats: Vec::new(),
        negotiation: None,
        ladder: Default::default(),
    }
}

/// A diagnosis made by hand, with the ladder marks the analysis would
/// have it keep.
fn with_steps(tl: &Timeline, mut d: Diagnosis) -> Diagnosis {
    d.ladder = crate::diagnose::ladder::Ladder::build(tl).into_marks();
    d
}

fn cause(
    id: CauseId,
    confidence: Confidence,
    summary: &str,
    remediation: &'static str,
) -> Option<Cause> {
    Some(Cause {
        id,
        confidence,
        summary: summary.to_string(),
        remediation,
        basis: StepCertainty::Seen,
        grounds: match id {
            CauseId::Filtered | CauseId::ServiceUnresponsive | CauseId::PathLost => {
                Grounds::Silence
            }
            _ => Grounds::Explicit,
        },
    })
}

fn evidence(items: Vec<(u64, Clue)>) -> Vec<Evidence> {
    items
        .into_iter()
        .map(|(frame, clue)| Evidence { frame, clue })
        .collect()
}

/// The packet `dir` sent at `frame` that ended the connection.
fn ended(
    frame: u64,
    ms: i64,
    dir: Dir,
    kind: TermKind,
    since: Option<Since>,
    note: EndNote,
) -> Clue {
    Clue::End {
        term: Term {
            frame,
            ts: at(ms),
            dir,
            kind,
        },
        since,
        note,
    }
}

fn since(ms: f64, step: Step, frame: u64) -> Option<Since> {
    Some(Since {
        elapsed: Duration((ms * 1e6) as i64),
        step,
        frame,
    })
}

/// Stream 0: NLA (HYBRID_EX) connection that reached the session.
fn established() -> ConnectionResult {
    let tl = Tl::new(0, ep("10.0.0.5:50123", "10.0.0.9:3389"))
        .handshake(1, 0)
        .ev(4, 3, Dir::ToServer, request(Some("alice"), Some(0xb)))
        .ev(
            5,
            5,
            Dir::ToClient,
            confirm(ConnectionConfirm::Selected {
                flags: 0x1f,
                selected: Protocols(8),
            }),
        )
        .ev(6, 6, Dir::ToServer, client_hello("srv01.corp.example"))
        .ev(7, 8, Dir::ToClient, server_hello())
        .ev(
            8,
            8,
            Dir::ToClient,
            ProtoEvent::Tls(TlsEvent::Certificate(vec![cert(
                "CN=srv01.corp.example",
                &[],
                T0 - 86_400,
                T0 + 180 * 86_400,
            )])),
        )
        .ev(12, 20, Dir::ToServer, leg(CredsspLeg::Negotiate, 72))
        .ev(13, 22, Dir::ToClient, leg(CredsspLeg::Challenge, 250))
        .ev(14, 24, Dir::ToServer, leg(CredsspLeg::Authenticate, 600))
        .ev(
            15,
            26,
            Dir::ToClient,
            leg(CredsspLeg::ServerPubKeyAuth, 330),
        )
        .ev(16, 28, Dir::ToServer, leg(CredsspLeg::Credentials, 120))
        .ev(
            17,
            30,
            Dir::ToClient,
            leg(CredsspLeg::EarlyUserAuthResult, 4),
        )
        .ev(
            40,
            900,
            Dir::ToClient,
            ProtoEvent::FastPath {
                len: 1200,
                encrypted: true,
            },
        )
        .counts((120, 20_000), (200, 250_000))
        .0;
    let mut d = diag(
        Outcome::Established,
        Phase::Session,
        Some(Step::SessionData),
        None,
    );
    d.negotiation = Some("client offered SSL|HYBRID|HYBRID_EX, server chose HYBRID_EX".into());
    ConnectionResult {
        diagnosis: with_steps(&tl, d),
        timeline: tl,
        decryption: None,
    }
}

/// Stream 1: the server requires NLA, the client offered TLS only.
fn nla_required() -> ConnectionResult {
    let tl = Tl::new(1, ep("10.0.0.6:50200", "10.0.0.9:3389"))
        .handshake(50, 1000)
        .ev(53, 1003, Dir::ToServer, request(Some("bob"), Some(0x1)))
        .ev(
            54,
            1004,
            Dir::ToClient,
            confirm(ConnectionConfirm::Failure {
                code: NegFailureCode(5),
            }),
        )
        .tcp(55, 1005, Dir::ToClient, TcpEventKind::Fin)
        .counts((4, 300), (4, 280))
        .0;
    let mut d = diag(
        Outcome::Failed,
        Phase::X224,
        Some(Step::ConnectionRequest),
        Some(Step::ConnectionConfirm),
    );
    d.ending = Ending::NegotiationFailure { code: 5 };
    d.ending_frame = Some(54);
    d.cause = cause(
        CauseId::NlaRequired,
        Confidence::High,
        "The server 10.0.0.9 requires Network Level Authentication and the client did not offer CredSSP.",
        "Enable CredSSP/NLA on the client, or (less safe) untick \"Allow connections only from computers running Remote Desktop with Network Level Authentication\" on the server.",
    );
    d.evidence = evidence(vec![
        (
            53,
            NegotiationClue::Request {
                offered: Offered::Requested(Protocols(0x1)),
                named: Some(Named::Cookie("bob".into())),
            }
            .into(),
        ),
        (
            54,
            NegotiationClue::Failure {
                code: NegFailureCode(5),
                since: since(1.0, Step::ConnectionRequest, 53),
            }
            .into(),
        ),
    ]);
    d.negotiation = Some("client offered SSL, server requires HYBRID".into());
    ConnectionResult {
        diagnosis: with_steps(&tl, d),
        timeline: tl,
        decryption: None,
    }
}

/// Stream 2: the server resets right after the ClientHello.
fn tls_reset() -> ConnectionResult {
    let tl = Tl::new(2, ep("10.0.0.5:50124", "10.0.0.9:3389"))
        .handshake(60, 2000)
        .ev(63, 2003, Dir::ToServer, request(Some("alice"), Some(0x3)))
        .ev(
            64,
            2004,
            Dir::ToClient,
            confirm(ConnectionConfirm::Selected {
                flags: 0,
                selected: Protocols(2),
            }),
        )
        .ev(65, 2005, Dir::ToServer, client_hello("srv01.corp.example"))
        .tcp(66, 2005, Dir::ToClient, rst())
        .counts((5, 700), (4, 260))
        .0;
    let mut d = diag(
        Outcome::Failed,
        Phase::Tls,
        Some(Step::ClientHello),
        Some(Step::ServerHello),
    );
    d.ending = Ending::ResetBy(Party::Server);
    d.ending_frame = Some(66);
    d.cause = cause(
        CauseId::ServerCertUnusable,
        Confidence::High,
        "The server could not build its side of TLS: its certificate's private key is most likely unusable.",
        "From a console, rename C:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys to MachineKeys_old, recreate it with Full Control for Administrators and SYSTEM, delete the Remote Desktop certificate and restart TermService.",
    );
    d.evidence = evidence(vec![
        (
            65,
            TlsClue::ClientHello(tl.client_hello().map(|(_, h)| Box::new(h.clone()))).into(),
        ),
        (
            66,
            ended(
                66,
                2005,
                Dir::ToClient,
                TermKind::Rst {
                    ttl: 128,
                    ip_id: Some(0x1234),
                    forged: None,
                },
                since(0.4, Step::ClientHello, 65),
                EndNote::NoServerHello,
            ),
        ),
    ]);
    ConnectionResult {
        diagnosis: with_steps(&tl, d),
        timeline: tl,
        decryption: None,
    }
}

/// Stream 3 (IPv6): the client rejects an expired certificate.
fn cert_expired() -> ConnectionResult {
    let tl = Tl::new(3, ep("[2001:db8::5]:50300", "[2001:db8::9]:3389"))
        .handshake(70, 3000)
        .ev(73, 3003, Dir::ToServer, request(Some("alice"), Some(0x3)))
        .ev(
            74,
            3004,
            Dir::ToClient,
            confirm(ConnectionConfirm::Selected {
                flags: 0,
                selected: Protocols(1),
            }),
        )
        .ev(75, 3005, Dir::ToServer, client_hello("rdp.corp.example"))
        .ev(76, 3007, Dir::ToClient, server_hello())
        .ev(
            77,
            3007,
            Dir::ToClient,
            ProtoEvent::Tls(TlsEvent::Certificate(vec![cert(
                "CN=srv01.corp.example, O=Example Corp, C=US",
                &["DNS:srv01.corp.example", "IP:2001:db8::9"],
                T0 - 400 * 86_400,
                T0 - 35 * 86_400,
            )])),
        )
        .ev(
            78,
            3010,
            Dir::ToServer,
            ProtoEvent::Tls(TlsEvent::Alert {
                level: 2,
                description: 45,
            }),
        )
        .tcp(79, 3010, Dir::ToServer, rst())
        .counts((6, 900), (5, 2400))
        .0;
    let mut d = diag(
        Outcome::Failed,
        Phase::Tls,
        Some(Step::ServerHelloDone),
        Some(Step::ClientKeyExchange),
    );
    d.ending = Ending::TlsAlert {
        from: Party::Client,
        description: Some(45),
    };
    d.ending_frame = Some(78);
    d.cause = cause(
        CauseId::CertRejectedExpired,
        Confidence::High,
        "The client rejected the server's certificate CN=srv01.corp.example, O=Example Corp, C=US: it expired 35 days before the capture.",
        "Renew or regenerate the Remote Desktop certificate on the server, or deploy one from a trusted CA.",
    );
    d.evidence = evidence(vec![
        (
            77,
            TlsClue::Certificate {
                cert: Box::new(
                    tl.certificates()
                        .and_then(|(_, c)| c.first().cloned())
                        .expect("the fixture carries a certificate"),
                ),
                at: at(3010),
            }
            .into(),
        ),
        (
            78,
            ended(
                78,
                3010,
                Dir::ToServer,
                TermKind::Alert {
                    level: 2,
                    description: 45,
                },
                None,
                EndNote::None,
            ),
        ),
    ]);
    d.caveats = vec![
        "The client dialled rdp.corp.example, the certificate names srv01.corp.example only."
            .into(),
    ];
    ConnectionResult {
        diagnosis: with_steps(&tl, d),
        timeline: tl,
        decryption: None,
    }
}

/// Stream 4: the Windows client's credential pre-check.
fn precheck() -> ConnectionResult {
    let tl = Tl::new(4, ep("10.0.0.5:50125", "10.0.0.9:3389"))
        .handshake(80, 4000)
        .tcp(90, 4100, Dir::ToServer, TcpEventKind::Fin)
        .counts((10, 2000), (9, 3000))
        .0;
    let mut d = diag(
        Outcome::Benign,
        Phase::Credssp,
        Some(Step::CredsspCredentials),
        None,
    );
    d.benign = Some(Benign::CredentialPrecheck);
    d.ending = Ending::ClosedBy(Party::Client);
    d.ending_frame = Some(90);
    ConnectionResult {
        diagnosis: with_steps(&tl, d),
        timeline: tl,
        decryption: None,
    }
}

/// Stream 5: SYNs never answered.
fn timeout() -> ConnectionResult {
    let tl = Tl::new(5, ep("10.0.0.7:50500", "10.0.0.10:3389"))
        .tcp(
            100,
            5000,
            Dir::ToServer,
            TcpEventKind::Syn {
                retransmission: false,
            },
        )
        .tcp(
            101,
            26000,
            Dir::ToServer,
            TcpEventKind::Syn {
                retransmission: true,
            },
        )
        .counts((4, 264), (0, 0))
        .0;
    let mut d = diag(Outcome::Failed, Phase::Tcp, None, Some(Step::SynAck));
    d.ending = Ending::Timeout {
        waited: Duration::from_secs(21),
        retransmissions: 3,
    };
    d.ending_frame = Some(101);
    d.cause = cause(
        CauseId::Filtered,
        Confidence::Medium,
        "Nothing answered the SYNs to 10.0.0.10: a firewall or security group drops them, or the host is down.",
        "Check firewalls and security groups on the path to port 3389, and that the host is up.",
    );
    d.evidence = evidence(vec![
        (
            100,
            TcpClue::Syn {
                server: "10.0.0.10:3389".parse().unwrap(),
            }
            .into(),
        ),
        (
            101,
            TcpClue::SynUnanswered {
                frames: vec![100, 101],
                intervals: vec![Duration::from_secs(21)],
            }
            .into(),
        ),
    ]);
    ConnectionResult {
        diagnosis: with_steps(&tl, d),
        timeline: tl,
        decryption: None,
    }
}

/// A Standard RDP Security connection with clear-text client data.
fn standard_security() -> ConnectionResult {
    let gcc = ClientGcc {
        core: Some(ClientCore {
            version: 0x0008_0004,
            desktop_width: 1920,
            desktop_height: 1080,
            color_depth: Some(32),
            keyboard_layout: 0x409,
            client_build: 2600,
            client_name: "WS-ALICE".to_string(),
            ..ClientCore::default()
        }),
        channels: vec!["rdpdr".into(), "cliprdr".into()],
        ..ClientGcc::default()
    };
    let tl = Tl::new(0, ep("192.168.1.20:1042", "192.168.1.2:3389"))
        .handshake(1, 0)
        .ev(4, 3, Dir::ToServer, request(Some("alice"), None))
        .ev(
            5,
            4,
            Dir::ToClient,
            confirm(ConnectionConfirm::NoNegotiation),
        )
        .ev(
            6,
            5,
            Dir::ToServer,
            ProtoEvent::Mcs(McsEvent::ConnectInitial(Box::new(gcc))),
        )
        .ev(
            12,
            40,
            Dir::ToServer,
            ProtoEvent::Mcs(McsEvent::ClientInfo(ClientInfo {
                domain: "CORP".into(),
                user: "alice".into(),
                flags: 0,
            })),
        )
        .counts((30, 5000), (40, 60_000))
        .0;
    let d = diag(
        Outcome::Established,
        Phase::Session,
        Some(Step::SessionData),
        None,
    );
    ConnectionResult {
        diagnosis: with_steps(&tl, d),
        timeline: tl,
        decryption: None,
    }
}

fn summary(format: CaptureFormat, packets: u64, first: i64, last: i64) -> ReadSummary {
    ReadSummary {
        format,
        compression: Compression::None,
        packets,
        bytes: packets * 120 + 24,
        first_ts: Some(at(first)),
        last_ts: Some(at(last)),
        warnings: Vec::new(),
        warnings_total: 0,
        link_types: vec![(LinkType::ETHERNET, packets)],
        interfaces: Vec::new(),
        incomplete: None,
    }
}

fn main_file() -> FileResult {
    let mut s = summary(
        CaptureFormat::PcapNg {
            sections: 1,
            interfaces: 1,
        },
        120,
        0,
        26_000,
    );
    s.compression = Compression::Gzip;
    s.warnings.push(CaptureWarning {
        offset: 4096,
        frame: Some(33),
        kind: WarningKind::TimeWentBackwards,
        message: "timestamp earlier than frame 32's".into(),
    });
    s.warnings_total = 1;
    FileResult {
        capture_key_logs: Vec::new(),
        path: "lab/failures.pcapng.gz".into(),
        read: Ok(s),
        skipped: SkipCounts {
            not_ip: 3,
            ..SkipCounts::default()
        },
        flow: FlowStats {
            tcp_packets: 110,
            tcp_streams: 6,
            analysed_streams: 6,
            icmp_errors: 0,
            evicted: 0,
            after_close: 0,
            states_peak: 0,
            over_budget: 0,
            depth_capped: 0,
            hole_limited: 0,
            vantage_copies: 0,
            udp_on_ports: 0,
            udp_datagrams: 0,
        },
        connections: vec![
            established(),
            nla_required(),
            tls_reset(),
            cert_expired(),
            precheck(),
            timeout(),
        ],
        side: Default::default(),
    }
}

fn unreadable_file() -> FileResult {
    FileResult {
        capture_key_logs: Vec::new(),
        path: "notes.txt".into(),
        read: Err(OpenError::NotACapture("47 45 54 20".into())),
        skipped: SkipCounts::default(),
        flow: FlowStats::default(),
        connections: Vec::new(),
        side: Default::default(),
    }
}

fn truncated_file() -> FileResult {
    let mut s = summary(
        CaptureFormat::Pcap {
            nanosecond: false,
            big_endian: false,
            modified: false,
        },
        70,
        0,
        900,
    );
    let w = CaptureWarning {
        offset: 8424,
        frame: Some(71),
        kind: WarningKind::Truncated,
        message: "file ends inside a packet record".into(),
    };
    s.warnings.push(w.clone());
    s.warnings_total = 1;
    s.incomplete = Some(w);
    FileResult {
        capture_key_logs: Vec::new(),
        path: "cut.pcap".into(),
        read: Ok(s),
        skipped: SkipCounts::default(),
        flow: FlowStats {
            tcp_packets: 70,
            tcp_streams: 1,
            analysed_streams: 1,
            ..FlowStats::default()
        },
        connections: vec![standard_security()],
        side: Default::default(),
    }
}

fn inputs<'a>(files: &'a [FileResult], sha: Option<&'a str>) -> Vec<Input<'a>> {
    files
        .iter()
        .map(|f| Input {
            sha256: sha,
            ..Input::new(f)
        })
        .collect()
}

/// The attempts of a file, grouped by the diagnosis stage.
fn attempts_of(f: &FileResult) -> Vec<crate::diagnose::Attempt> {
    let items: Vec<_> = f
        .connections
        .iter()
        .map(|c| (&c.timeline, &c.diagnosis))
        .collect();
    crate::diagnose::group_attempts(&items)
}

fn opts(format: Format, redact: bool) -> ReportOptions {
    ReportOptions {
        format,
        style: TermStyle::default(),
        redact,
    }
}

const SHA: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

/// Render as the command line does: with the attempts grouped.
fn run(files: &[FileResult], format: Format, redact: bool) -> String {
    let attempts: Vec<_> = files.iter().map(attempts_of).collect();
    render(&cli_inputs(files, &attempts), &opts(format, redact))
}

/// The inputs as the command line gives them: hashed, attempts grouped.
fn cli_inputs<'a>(
    files: &'a [FileResult],
    attempts: &'a [Vec<crate::diagnose::Attempt>],
) -> Vec<Input<'a>> {
    files
        .iter()
        .zip(attempts)
        .map(|(f, a)| Input {
            sha256: Some(SHA),
            attempts: Some(a),
            ..Input::new(f)
        })
        .collect()
}

#[test]
fn terminal_single_file() {
    let out = run(&[main_file()], Format::Table, false);
    insta::assert_snapshot!(out);
}

#[test]
fn terminal_several_files_with_totals() {
    let out = run(
        &[main_file(), unreadable_file(), truncated_file()],
        Format::Table,
        false,
    );
    insta::assert_snapshot!(out);
}

#[test]
fn terminal_quiet_lists_failures_only() {
    let files = [main_file(), truncated_file()];
    let mut o = opts(Format::Table, false);
    o.style.quiet = true;
    let out = render(&inputs(&files, None), &o);
    assert!(out.contains("stream 1:"));
    assert!(!out.contains("established"), "{out}");
    assert!(!out.contains("stream 4:"), "benign left out: {out}");
    // The truncated file is reported even in quiet mode.
    assert!(out.contains("cut.pcap"));
    assert!(out.contains("file ends inside a packet record (byte offset 8424, frame 71)"));
}

#[test]
fn terminal_colours_only_when_asked() {
    let files = [main_file()];
    let plain = run(&files, Format::Table, false);
    assert!(!plain.contains('\x1b'));
    let mut o = opts(Format::Table, false);
    o.style.color = true;
    let coloured = render(&inputs(&files, None), &o);
    assert!(coloured.contains("\x1b["));
}

#[test]
fn json_document() {
    let out = run(
        &[main_file(), unreadable_file(), truncated_file()],
        Format::Json,
        false,
    );
    insta::assert_snapshot!(out);
}

#[test]
fn markdown_report() {
    let out = run(
        &[main_file(), unreadable_file(), truncated_file()],
        Format::Markdown,
        false,
    );
    insta::assert_snapshot!(out);
}

#[test]
fn redacted_outputs() {
    let files = [main_file(), unreadable_file(), truncated_file()];
    insta::assert_snapshot!("redacted_terminal", run(&files, Format::Table, true));
    insta::assert_snapshot!("redacted_markdown", run(&files, Format::Markdown, true));
}

#[test]
fn json_values() {
    let files = [main_file(), unreadable_file(), truncated_file()];
    let v: serde_json::Value = serde_json::from_str(&run(&files, Format::Json, false)).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["tool"]["name"], "rdptriage");
    let f = &v["files"][0];
    assert_eq!(f["compression"], "gzip");
    assert_eq!(f["format"], "pcapng");
    assert_eq!(f["first_ts"], "2023-11-14T22:13:20.000000Z");
    let c = &f["connections"];
    assert_eq!(c[0]["outcome"], "established");
    assert_eq!(
        c[0]["tls"]["client_versions"],
        serde_json::json!(["TLS 1.3", "TLS 1.2"])
    );
    assert_eq!(c[0]["tls"]["client_max_version"], "TLS 1.3");
    assert_eq!(
        c[0]["tls"]["cipher"],
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"
    );
    assert_eq!(
        c[0]["negotiation"]["requested"],
        serde_json::json!(["SSL", "HYBRID", "HYBRID_EX"])
    );
    assert_eq!(c[0]["negotiation"]["selected"], "HYBRID_EX");
    assert_eq!(c[0]["credssp"].as_array().unwrap().len(), 6);
    assert_eq!(c[0]["certificates"][0]["expired_at_capture_time"], false);
    assert_eq!(
        c[1]["negotiation"]["failure"]["name"],
        "HYBRID_REQUIRED_BY_SERVER"
    );
    assert_eq!(c[1]["ended_by"]["id"], "negotiation_failure");
    assert_eq!(c[1]["ended_by"]["code"], 5);
    assert_eq!(c[1]["evidence_filter"], "frame.number in {53 54}");
    assert_eq!(c[1]["display_filter"], "tcp.stream eq 1");
    assert_eq!(c[2]["ended_by"]["id"], "reset_by_server");
    assert_eq!(c[3]["client"], "[2001:db8::5]:50300");
    assert_eq!(c[3]["certificates"][0]["expired_at_capture_time"], true);
    assert_eq!(
        c[3]["certificates"][0]["not_yet_valid_at_capture_time"],
        false
    );
    assert_eq!(c[3]["ended_by"]["alert"], 45);
    assert_eq!(c[3]["ended_by"]["alert_name"], "certificate_expired");
    assert_eq!(c[4]["benign"], "credential_precheck");
    assert_eq!(c[4]["cause"], serde_json::Value::Null);
    assert_eq!(c[5]["ended_by"]["waited_s"], 21.0);
    assert_eq!(c[5]["ended_by"]["retransmissions"], 3);
    assert_eq!(c[5]["last_step"], serde_json::Value::Null);
    assert_eq!(c[5]["failed_step"], "tcp_syn_ack");

    let bad = &v["files"][1];
    assert_eq!(bad["complete"], false);
    assert_eq!(bad["format"], serde_json::Value::Null);
    assert_eq!(bad["error"]["kind"], "not_a_capture");
    let cut = &v["files"][2];
    assert_eq!(cut["error"]["kind"], "truncated");
    assert_eq!(cut["error"]["frame"], 71);
    let cd = &cut["connections"][0]["client_data"];
    assert_eq!(cd["client_name"], "WS-ALICE");
    assert_eq!(cd["keyboard_layout"], "0x00000409");
    assert_eq!(cd["desktop"], "1920x1080");
    assert_eq!(cd["user"], "alice");
    assert_eq!(cut["connections"][0]["negotiation"]["legacy"], true);

    let t = &v["totals"];
    assert_eq!(t["files"], 3);
    assert_eq!(t["files_unreadable"], 1);
    assert_eq!(t["files_incomplete"], 1);
    assert_eq!(t["connections"], 7);
    assert_eq!(t["outcomes"]["failed"], 4);
    assert_eq!(t["outcomes"]["established"], 2);
    assert_eq!(t["outcomes"]["benign"], 1);
    assert_eq!(
        t["failures_by_phase"],
        serde_json::json!([{"id": "tcp", "count": 1}, {"id": "x224", "count": 1}, {"id": "tls", "count": 2}])
    );
    assert_eq!(t["failures_by_cause"].as_array().unwrap().len(), 4);
    assert_eq!(t["problems"].as_array().unwrap().len(), 2);
}

/// Every original address, user, host and certificate name of the
/// fixtures, in the spellings they appear in.
const SECRETS: &[&str] = &[
    "10.0.0.5",
    "10.0.0.6",
    "10.0.0.7",
    "10.0.0.9",
    "10.0.0.10",
    "2001:db8::5",
    "2001:db8::9",
    "192.168.1.20",
    "192.168.1.2",
    "alice",
    "bob",
    "corp",
    "srv01",
    "ws-alice",
    "example",
    // The certificate's serial, SHA-1 thumbprint and SHA-256
    // fingerprint: internet scanners find the server by them.
    "1f3a5c",
    "a1b2c3d4e5f60718293a4b5c6d7e8f9011223344",
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
];

#[test]
fn redaction_removes_every_original_string() {
    let files = [main_file(), unreadable_file(), truncated_file()];
    for format in [
        Format::Table,
        Format::Json,
        Format::Markdown,
        Format::Jsonl,
        Format::Csv,
        Format::Html,
    ] {
        let plain = run(&files, format, false).to_lowercase();
        let out = run(&files, format, true).to_lowercase();
        for s in SECRETS {
            if format == Format::Json {
                assert!(plain.contains(s), "fixture lacks {s}");
            }
            assert!(
                !out.contains(s),
                "{format:?}: {s} survived redaction:\n{out}"
            );
        }
        // Ports survive.
        assert!(out.contains(":50123") && out.contains(":3389"));
    }
}

#[test]
fn redaction_is_stable_and_the_same_in_every_format() {
    let files = [main_file(), unreadable_file(), truncated_file()];
    let json: serde_json::Value = serde_json::from_str(&run(&files, Format::Json, true)).unwrap();
    let c = &json["files"][0]["connections"];
    // First appearance in output order: client of stream 0, then its server.
    assert_eq!(c[0]["client"], "ip-1:50123");
    assert_eq!(c[0]["server"], "ip-2:3389");
    assert_eq!(c[1]["server"], "ip-2:3389");
    assert_eq!(c[2]["client"], "ip-1:50124");
    assert_eq!(c[0]["negotiation"]["cookie"], "user-1");
    assert_eq!(c[1]["negotiation"]["cookie"], "user-2");
    assert_eq!(c[2]["negotiation"]["cookie"], "user-1");
    assert_eq!(c[0]["tls"]["sni"], "host-1");
    assert_eq!(
        c[3]["certificates"][0]["subject"],
        "CN=host-1, O=org-1, C=US"
    );
    assert_eq!(
        c[3]["certificates"][0]["sans"],
        serde_json::json!([
            "DNS:host-1",
            format!(
                "IP:{}",
                c[3]["server"].as_str().unwrap().trim_end_matches(":3389")
            )
        ])
    );
    // The address inside a cause's summary is the server's pseudonym.
    assert_eq!(
        c[1]["cause"]["summary"],
        "The server ip-2 requires Network Level Authentication and the client did not offer CredSSP."
    );
    // The same pseudonyms in the terminal report.
    let table = run(&files, Format::Table, true);
    assert!(table.contains("ip-1:50123"));
    assert!(table.contains("cookie mstshash=user-1"));
    // Deterministic.
    assert_eq!(
        run(&files, Format::Json, true),
        run(&files, Format::Json, true)
    );
}

#[test]
fn frames_filter_sorts_and_dedups() {
    assert_eq!(
        frames_filter([17, 15, 17]).as_deref(),
        Some("frame.number in {15 17}")
    );
    assert_eq!(frames_filter([]), None);
    // Numbers of every length, as Display writes them.
    let frames = [0, 7, 10, 99, 100, 12_345, 1 << 40, u64::MAX];
    let want: Vec<String> = frames.iter().map(u64::to_string).collect();
    assert_eq!(
        frames_filter(frames),
        Some(format!("frame.number in {{{}}}", want.join(" ")))
    );
}

#[test]
fn capture_data_cannot_drive_the_terminal() {
    let mut f = main_file();
    let tl = &mut f.connections[1].timeline;
    let cookie = "bob\x1b[2J\r\nforged line\u{202e}";
    for e in &mut tl.events {
        if let EventKind::Proto(ProtoEvent::X224(X224Event::ConnectionRequest(r))) = &mut e.kind {
            r.cookie = Some(cookie.to_string());
        }
    }
    let files = [f];
    for format in [Format::Table, Format::Markdown] {
        let out = run(&files, format, false);
        assert!(!out.contains('\x1b') && !out.contains('\r') && !out.contains('\u{202e}'));
        // Markdown escapes the `[` (a backslash before a letter is no
        // escape in CommonMark: it renders as written).
        let want = match format {
            Format::Markdown => "bob\\u{1b}\\[2J\\r\\nforged line\\u{202e}",
            _ => "bob\\u{1b}[2J\\r\\nforged line\\u{202e}",
        };
        assert!(out.contains(want), "{format:?}: {out}");
        assert!(!out.lines().any(|l| l.starts_with("forged line")));
    }
    let v: serde_json::Value = serde_json::from_str(&run(&files, Format::Json, false)).unwrap();
    assert_eq!(
        v["files"][0]["connections"][1]["negotiation"]["cookie"],
        cookie
    );
}

#[test]
fn finished_sessions_get_no_paragraph() {
    let mut c = established();
    c.diagnosis.outcome = Outcome::Benign;
    c.diagnosis.benign = Some(Benign::SessionEnd);
    c.diagnosis.ending = Ending::ClosedBy(Party::Client);
    let mut f = main_file();
    f.connections = vec![c, precheck()];
    let files = [f];
    for format in [Format::Table, Format::Markdown] {
        let out = run(&files, format, false).to_lowercase();
        assert!(out.contains("benign: session_end"), "listed in the table");
        assert!(!out.contains("stream 0:"), "{format:?}: {out}");
        assert!(out.contains("stream 4:"), "{format:?}: {out}");
    }
}

/// Retries: three connections from one client to one server within
/// seconds, all refused.
fn retries_file() -> FileResult {
    let mut conns = Vec::new();
    for k in 0..3u64 {
        let ms = k as i64 * 3000;
        let tl = Tl::new(k, ep(&format!("10.1.0.5:{}", 50000 + k), "10.1.0.9:3389"))
            .tcp(
                10 * k + 1,
                ms,
                Dir::ToServer,
                TcpEventKind::Syn {
                    retransmission: false,
                },
            )
            .tcp(10 * k + 2, ms + 1, Dir::ToClient, rst())
            .counts((1, 66), (1, 54))
            .0;
        let mut d = diag(
            Outcome::Failed,
            Phase::Tcp,
            Some(Step::Syn),
            Some(Step::SynAck),
        );
        d.ending = Ending::Refused;
        d.ending_frame = Some(10 * k + 2);
        d.cause = cause(
            CauseId::PortClosed,
            Confidence::High,
            "Nothing listens on 10.1.0.9:3389: a RST answered the SYN.",
            "Enable Remote Desktop and check that TermService runs.",
        );
        d.evidence = evidence(vec![(
            10 * k + 2,
            ended(
                10 * k + 2,
                ms + 1,
                Dir::ToClient,
                TermKind::Rst {
                    ttl: 128,
                    ip_id: Some(0x1234),
                    forged: None,
                },
                since(1.0, Step::Syn, 10 * k + 1),
                EndNote::None,
            ),
        )]);
        conns.push(ConnectionResult {
            diagnosis: with_steps(&tl, d),
            timeline: tl,
            decryption: None,
        });
    }
    FileResult {
        capture_key_logs: Vec::new(),
        path: "retries.pcap".into(),
        read: Ok(summary(
            CaptureFormat::Pcap {
                nanosecond: false,
                big_endian: false,
                modified: false,
            },
            6,
            0,
            6001,
        )),
        skipped: SkipCounts::default(),
        flow: FlowStats::default(),
        connections: conns,
        side: Default::default(),
    }
}

#[test]
fn attempts_are_reported_in_every_format() {
    let f = retries_file();
    let attempts = attempts_of(&f);
    assert_eq!(attempts.len(), 1, "one attempt of three connections");
    let input = [Input {
        attempts: Some(&attempts),
        ..Input::new(&f)
    }];
    let table = render(&input, &opts(Format::Table, false));
    insta::assert_snapshot!("attempts_terminal", table);
    let md = render(&input, &opts(Format::Markdown, false));
    assert!(md.contains("### Attempts"), "{md}");
    assert!(md.contains("(streams 0, 1, 2)"), "{md}");
    let json: serde_json::Value =
        serde_json::from_str(&render(&input, &opts(Format::Json, false))).unwrap();
    let a = &json["files"][0]["attempts"][0];
    assert_eq!(a["streams"], serde_json::json!([0, 1, 2]));
    assert_eq!(a["client"], "10.1.0.5");
    assert_eq!(a["server"], "10.1.0.9:3389");
    assert_eq!(a["failed"], 3);
    assert_eq!(a["all_failed_same_step"], true);
    assert_eq!(a["failed_step"], "tcp_syn_ack");
    // Redacted: the bare client address and the addresses in the summary.
    let red = render(&input, &opts(Format::Json, true));
    assert!(!red.contains("10.1.0."), "{red}");
    let json: serde_json::Value = serde_json::from_str(&red).unwrap();
    assert_eq!(json["files"][0]["attempts"][0]["client"], "ip-1");
    assert_eq!(json["files"][0]["attempts"][0]["server"], "ip-2:3389");
    // Without grouping, no `attempts` key at all.
    let plain = render(
        &inputs(std::slice::from_ref(&f), None),
        &opts(Format::Json, false),
    );
    let json: serde_json::Value = serde_json::from_str(&plain).unwrap();
    assert!(json["files"][0].get("attempts").is_none());
}

/// docs/json-schema.md is the contract: every key the document can hold
/// and every identifier value must be documented there.
#[test]
fn schema_doc_covers_every_key_and_identifier() {
    let doc = include_str!("../../docs/json-schema.md");
    let files = [
        main_file(),
        unreadable_file(),
        truncated_file(),
        retries_file(),
    ];
    let v: serde_json::Value = serde_json::from_str(&run(&files, Format::Json, false)).unwrap();
    fn keys(v: &serde_json::Value, out: &mut std::collections::BTreeSet<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    out.insert(k.clone());
                    keys(x, out);
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| keys(x, out)),
            _ => {}
        }
    }
    let mut all = std::collections::BTreeSet::new();
    keys(&v, &mut all);
    for k in &all {
        assert!(doc.contains(&format!("`{k}`")), "key `{k}` not documented");
    }
    for k in crate::diagnose::Clue::KINDS {
        assert!(
            doc.contains(&format!("`{k}`")),
            "evidence kind {k} not documented"
        );
    }
    for c in CauseId::ALL {
        assert!(
            doc.contains(&format!("`{}`", c.id())),
            "cause {} not documented",
            c.id()
        );
    }
    let steps: Vec<Step> = Step::all().collect();
    for s in steps {
        assert!(
            doc.contains(&format!("`{}`", s.id())),
            "step {} not documented",
            s.id()
        );
    }
    for b in [
        Benign::CredentialPrecheck,
        Benign::HealthCheck,
        Benign::Scanner,
        Benign::SessionEnd,
    ] {
        assert!(doc.contains(&format!("`{}`", b.id())));
    }
    for e in [
        Ending::Refused,
        Ending::Timeout {
            waited: Duration(0),
            retransmissions: 0,
        },
        Ending::ResetBy(Party::Middlebox),
        Ending::ClosedBy(Party::Client),
        Ending::NegotiationFailure { code: 1 },
        Ending::TlsAlert {
            from: Party::Server,
            description: None,
        },
        Ending::IcmpError {
            icmp_type: 3,
            code: 3,
        },
        Ending::CaptureEnded,
    ] {
        assert!(
            doc.contains(&format!("`{}`", e.id())),
            "ending {} not documented",
            e.id()
        );
    }
}

#[test]
fn places_are_not_said_twice() {
    use super::text::with_place;
    assert_eq!(
        with_place("cut", Some(10), Some(2)),
        "cut (byte offset 10, frame 2)"
    );
    assert_eq!(
        with_place("cut at frame 2 (byte offset 10): short", Some(10), Some(2)),
        "cut at frame 2 (byte offset 10): short"
    );
    assert_eq!(with_place("gone", None, None), "gone");
}

#[test]
fn names_inside_paths_are_redacted() {
    let mut f = truncated_file();
    f.path = "captures/alice-on-192.168.1.2.pcap".into();
    let files = [f];
    for format in [Format::Table, Format::Json, Format::Markdown] {
        let out = run(&files, format, true);
        assert!(
            out.contains("captures/user-1-on-ip-1.pcap"),
            "{format:?}: {out}"
        );
        assert!(!out.contains("alice") && !out.contains("192.168"), "{out}");
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    /// Whatever a capture holds, every format renders without panicking,
    /// JSON stays valid, and the human formats carry no control character
    /// from the data.
    #[test]
    fn any_capture_strings_render(
        cookie in "\\PC{0,24}",
        subject in "\\PC{0,40}",
        evidence in "\\PC{0,60}",
        redact: bool,
    ) {
        let mut f = main_file();
        for c in &mut f.connections {
            for e in &mut c.timeline.events {
                match &mut e.kind {
                    EventKind::Proto(ProtoEvent::X224(X224Event::ConnectionRequest(r))) => {
                        r.cookie = Some(cookie.clone());
                    }
                    EventKind::Proto(ProtoEvent::Tls(TlsEvent::Certificate(chain))) => {
                        for ci in chain {
                            ci.subject = subject.clone();
                            ci.sans = vec![subject.clone()];
                        }
                    }
                    _ => {}
                }
            }
            // Text from the capture reaches the evidence (what a non-RDP
            // answer held).
            for ev in &mut c.diagnosis.evidence {
                ev.clue = NotRdpClue::Data {
                    dir: Dir::ToClient,
                    why: evidence.clone(),
                }
                .into();
            }
        }
        let files = [f];
        let json = run(&files, Format::Json, redact);
        proptest::prop_assert!(serde_json::from_str::<serde_json::Value>(&json).is_ok());
        for format in [Format::Table, Format::Markdown] {
            let out = run(&files, format, redact);
            proptest::prop_assert!(
                !out.chars().any(|c| c.is_control() && c != '\n'),
                "control character in {:?}", format
            );
        }
    }
}

#[test]
fn bounded_and_evicted_counts_are_told() {
    let mut f = main_file();
    f.flow.evicted = 2;
    f.flow.over_budget = 1;
    f.flow.icmp_errors = 1;
    f.connections[1].timeline.events_dropped = 7;
    f.flow.depth_capped = 3;
    f.flow.hole_limited = 1;
    f.connections[0].timeline.dirs[1].limit = Some(KeepLimit::HoleBytes { max: 256 << 10 });
    let files = [f];
    let out = run(&files, Format::Table, false);
    assert!(
        out.contains("6 TCP streams, 6 analysed; 1 ICMP error; 2 connections evicted"),
        "{out}"
    );
    assert!(
        out.contains("1 connection not reassembled past the memory budget"),
        "{out}"
    );
    assert!(
        out.contains("7 TCP events past the per-connection bound"),
        "{out}"
    );
    let v: serde_json::Value = serde_json::from_str(&run(&files, Format::Json, false)).unwrap();
    assert_eq!(v["files"][0]["flow"]["evicted"], 2);
    assert_eq!(v["files"][0]["connections"][1]["events_dropped"], 7);
    assert_eq!(v["files"][0]["connections"][0]["events_dropped"], 0);
    assert!(
        out.contains(
            "; 1 direction with bytes lost to the hole limit; 3 directions past the depth cap"
        ),
        "{out}"
    );
    assert_eq!(v["files"][0]["flow"]["depth_capped"], 3);
    assert_eq!(v["files"][0]["flow"]["hole_limited"], 1);
    let conn = &v["files"][0]["connections"][0];
    assert_eq!(conn["to_client"]["keep_limit"], "hole_bytes");
    assert_eq!(conn["to_server"]["keep_limit"], serde_json::Value::Null);
}

// ------------------------------------------------------- batch and records

/// Reports of files as the command line builds them, the last ones met
/// while walking a directory.
fn batch_reports(files: &[FileResult], in_directory: &[bool]) -> Vec<FileReport> {
    files
        .iter()
        .zip(in_directory)
        .map(|(f, d)| {
            let attempts = attempts_of(f);
            file_report(&Input {
                attempts: Some(&attempts),
                found: *d,
                ..Input::new(f)
            })
        })
        .collect()
}

fn empty_file(path: &str) -> FileResult {
    FileResult {
        capture_key_logs: Vec::new(),
        path: path.into(),
        read: Err(OpenError::Empty),
        skipped: SkipCounts::default(),
        flow: FlowStats::default(),
        connections: Vec::new(),
        side: Default::default(),
    }
}

fn named(mut f: FileResult, path: &str) -> FileResult {
    f.path = path.into();
    f
}

#[test]
fn names_that_say_capture() {
    for yes in [
        "a.pcap",
        "dir/A.PCAPNG",
        "x.cap",
        "x.pcap.gz",
        "x.pcapng.zst",
        "x.ntar",
        "d.pcap/y.pcap",
    ] {
        assert!(name_says_capture(yes), "{yes}");
    }
    for no in [
        "README.txt",
        "x.pcap.txt",
        ".pcap",
        "dir.pcap/notes",
        "sums.sha256",
        "x.gz",
        "",
    ] {
        assert!(!name_says_capture(no), "{no}");
    }
}

/// Only a file met in a directory, not a capture (or empty), and not named
/// like one is skipped; everything else that cannot be read is an error.
#[test]
fn files_in_directories_that_are_not_captures_are_skipped() {
    let files = [
        named(unreadable_file(), "archive/README.txt"),
        empty_file("archive/empty"),
        named(unreadable_file(), "archive/broken.pcap"),
        named(unreadable_file(), "named.txt"),
        named(truncated_file(), "archive/cut.txt"),
    ];
    let reports = batch_reports(&files, &[true, true, true, false, true]);
    let ignored: Vec<bool> = reports.iter().map(|f| f.ignored.is_some()).collect();
    assert_eq!(ignored, [true, true, false, false, false]);
    let errors: Vec<bool> = reports.iter().map(|f| f.error.is_some()).collect();
    assert_eq!(errors, [false, false, true, true, true]);
    assert_eq!(reports[0].ignored.as_ref().unwrap().kind, "not_a_capture");
    assert_eq!(reports[1].ignored.as_ref().unwrap().kind, "empty");
    let doc = document(reports);
    let t = &doc.totals;
    assert_eq!(
        (
            t.files,
            t.files_ignored,
            t.files_unreadable,
            t.files_incomplete
        ),
        (5, 2, 2, 1)
    );
    let paths: Vec<&str> = t.ignored.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["archive/README.txt", "archive/empty"]);
    assert_eq!(t.problems.len(), 3);
    // Every human format says it, without calling it an error.
    let table = render_document(&doc, &opts(Format::Table, false));
    assert!(
        table.contains("skipped, not an error (found, not named): empty file"),
        "{table}"
    );
    assert!(
        table.contains("2 skipped (not captures)")
            && table.contains(
                "Skipped, not captures (found, not named): archive/README.txt, archive/empty"
            ),
        "{table}"
    );
    let md = render_document(&doc, &opts(Format::Markdown, false));
    assert!(md.contains("skipped, not an error"), "{md}");
    // --quiet leaves them out of the table.
    let quiet = render_document(
        &doc,
        &ReportOptions {
            style: TermStyle {
                quiet: true,
                ..TermStyle::default()
            },
            ..opts(Format::Table, false)
        },
    );
    assert!(!quiet.contains("archive/README.txt"), "{quiet}");
    assert!(quiet.contains("archive/broken.pcap"), "{quiet}");
}

#[test]
fn servers_with_the_most_failures() {
    let files = [main_file(), truncated_file(), retries_file()];
    let doc = document(batch_reports(&files, &[false; 3]));
    let s = &doc.totals.failures_by_server;
    // Counted from the connections themselves.
    let mut want: Vec<(String, u64, u64)> = Vec::new();
    for f in &doc.files {
        for c in &f.connections {
            match want.iter_mut().find(|w| w.0 == c.server) {
                Some(w) => {
                    w.2 += 1;
                    w.1 += u64::from(c.outcome == "failed");
                }
                None => want.push((c.server.clone(), u64::from(c.outcome == "failed"), 1)),
            }
        }
    }
    want.retain(|w| w.1 > 0);
    want.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let got: Vec<(String, u64, u64)> = s
        .iter()
        .map(|x| (x.server.clone(), x.failed, x.connections))
        .collect();
    assert_eq!(got, want);
    assert!(!got.is_empty());
    for x in s {
        assert_eq!(x.causes.iter().map(|c| c.count).sum::<u64>(), x.failed);
    }
    let total: u64 = s.iter().map(|x| x.failed).sum();
    assert_eq!(total, doc.totals.outcomes.failed);
}

/// The servers' counts of `TotalsAcc` (the last server remembered, the
/// others found by hashing, the counts of a second accumulator merged)
/// against counts made directly, over connections that go to their
/// servers in runs, in turns among a few, and to many.
#[test]
fn server_counts_in_runs_and_turns_as_counted_directly() {
    use std::collections::BTreeMap;
    let lab = crate::report::lab_reports();
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut conns = Vec::new();
    for i in 0..3000usize {
        let r = crate::common::xorshift(&mut seed);
        let mut c = lab[i % lab.len()].clone();
        c.server = match i / 500 {
            0 | 3 => format!("10.0.0.{}:3389", i / 50),
            1 | 4 => format!("10.0.0.{}:3389", r % 4),
            _ => format!("10.1.{}.{}:3389", r % 20, i % 2),
        };
        conns.push(c);
    }
    type Counted = (u64, u64, BTreeMap<String, u64>);
    let mut direct: BTreeMap<String, Counted> = BTreeMap::new();
    for c in &conns {
        let e = direct.entry(c.server.clone()).or_default();
        e.1 += 1;
        if c.outcome == "failed" {
            e.0 += 1;
            let cause = c.cause.as_ref().map_or("none", |c| &c.id);
            *e.2.entry(cause.to_string()).or_default() += 1;
        }
    }
    type Server = (String, u64, u64, Vec<(String, u64)>);
    let mut want: Vec<Server> = direct
        .into_iter()
        .filter(|(_, (failed, _, _))| *failed > 0)
        .map(|(server, (failed, connections, causes))| {
            let mut causes: Vec<(String, u64)> = causes.into_iter().collect();
            causes.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            (server, failed, connections, causes)
        })
        .collect();
    want.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    want.truncate(TOP_SERVERS);
    assert_eq!(want.len(), TOP_SERVERS);
    for split in [0, 1, 777, 1234, conns.len()] {
        let (mut a, mut b) = (TotalsAcc::default(), TotalsAcc::default());
        for c in &conns[..split] {
            a.connection(c);
        }
        for c in &conns[split..] {
            b.connection(c);
        }
        a.merge_connections(b);
        let got: Vec<Server> = a
            .finish()
            .failures_by_server
            .into_iter()
            .map(|s| {
                let causes = s.causes.into_iter().map(|c| (c.id, c.count)).collect();
                (s.server, s.failed, s.connections, causes)
            })
            .collect();
        assert_eq!(got, want, "split at {split}");
    }
}

#[test]
fn at_most_ten_servers_are_listed() {
    let base = main_file();
    let failed = base
        .connections
        .iter()
        .find(|c| c.diagnosis.outcome == Outcome::Failed)
        .unwrap()
        .clone();
    let mut f = main_file();
    f.connections.clear();
    for i in 0..13u8 {
        for _ in 0..=(i % 3) {
            let mut c = failed.clone();
            c.timeline.endpoints.server = format!("10.9.0.{i}:3389").parse().unwrap();
            f.connections.push(c);
        }
    }
    let doc = document(batch_reports(std::slice::from_ref(&f), &[false]));
    let s = &doc.totals.failures_by_server;
    assert_eq!(s.len(), TOP_SERVERS);
    assert!(s.windows(2).all(|w| w[0].failed >= w[1].failed));
    assert_eq!(s[0].failed, 3);
}

/// One JSON Lines record per connection, error and skipped file; every
/// key documented in docs/json-schema.md.
#[test]
fn jsonl_records() {
    let files = [
        main_file(),
        unreadable_file(),
        truncated_file(),
        empty_file("archive/empty"),
    ];
    let doc = document(batch_reports(&files, &[false, false, false, true]));
    let out = render_document(&doc, &opts(Format::Jsonl, false));
    let recs: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let kinds: Vec<(&str, &str)> = recs
        .iter()
        .map(|r| (r["record"].as_str().unwrap(), r["file"].as_str().unwrap()))
        .collect();
    let mut want = vec![("connection", "lab/failures.pcapng.gz"); 6];
    want.push(("file", "lab/failures.pcapng.gz"));
    want.push(("error", "notes.txt"));
    // A file read part-way: its connections, then its error (known only
    // at the end), then its file record.
    want.push(("connection", "cut.pcap"));
    want.push(("error", "cut.pcap"));
    want.push(("file", "cut.pcap"));
    want.push(("ignored", "archive/empty"));
    assert_eq!(kinds, want);
    // The file record closes a file that was read, with its counts.
    let main = &recs[6];
    assert_eq!(main["connections"], 6);
    assert_eq!(main["complete"], true);
    assert_eq!(main["packets"], doc.files[0].packets.unwrap());
    assert_eq!(main["skipped"]["not_ip"], 3);
    assert_eq!(main["flow"]["tcp_streams"], 6);
    let failed = doc.files[0]
        .connections
        .iter()
        .filter(|c| c.outcome == "failed")
        .count();
    assert!(failed > 0);
    assert_eq!(main["outcomes"]["failed"], failed);
    assert_eq!(recs[10]["complete"], false);
    assert_eq!(recs[10]["connections"], 1);
    assert!(recs.iter().all(|r| r["schema_version"] == 1));
    assert_eq!(recs[1]["stream"], doc.files[0].connections[1].stream);
    assert_eq!(recs[1]["ended_by"]["id"], "negotiation_failure");
    assert_eq!(recs[7]["partial"], false);
    assert_eq!(recs[7]["error"]["kind"], "not_a_capture");
    assert_eq!(recs[9]["partial"], true);
    assert_eq!(recs[9]["connections"], 1);
    assert_eq!(recs[9]["error"]["offset"], 8424);
    assert_eq!(recs[11]["ignored"]["kind"], "empty");
    // The connection record is the document's connection plus three keys.
    let whole: serde_json::Value = serde_json::from_str(&to_json(&doc)).unwrap();
    let mut c = recs[3].clone();
    for k in ["record", "schema_version", "file"] {
        c.as_object_mut().unwrap().remove(k);
    }
    assert_eq!(c, whole["files"][0]["connections"][3]);

    let schema = include_str!("../../docs/json-schema.md");
    for r in &recs {
        for k in r.as_object().unwrap().keys() {
            assert!(
                schema.contains(&format!("`{k}`")),
                "key `{k}` not documented"
            );
        }
        let kind = r["record"].as_str().unwrap();
        assert!(schema.contains(&format!("`record: \"{kind}\"`")), "{kind}");
    }
}

/// Split CSV text into rows of fields (RFC 4180, CRLF rows).
fn parse_csv(s: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for line in s.split_terminator("\r\n") {
        let mut fields = Vec::new();
        let mut cur = String::new();
        let mut quoted = false;
        let mut chars = line.chars().peekable();
        while let Some(ch) = chars.next() {
            match (ch, quoted) {
                ('"', true) if chars.peek() == Some(&'"') => {
                    cur.push('"');
                    chars.next();
                }
                ('"', _) => quoted = !quoted,
                (',', false) => fields.push(std::mem::take(&mut cur)),
                (c, _) => cur.push(c),
            }
        }
        fields.push(cur);
        rows.push(fields);
    }
    rows
}

#[test]
fn csv_rows() {
    let mut f = main_file();
    // A cookie that needs quoting and escaping.
    for e in &mut f.connections[1].timeline.events {
        if let EventKind::Proto(ProtoEvent::X224(X224Event::ConnectionRequest(r))) = &mut e.kind {
            r.cookie = Some("bob, \"the\"\r\nadmin".into());
        }
    }
    let files = [f, unreadable_file(), truncated_file()];
    let doc = document(batch_reports(&files, &[false; 3]));
    let out = render_document(&doc, &opts(Format::Csv, false));
    assert!(!out.replace("\r\n", "").contains(['\n', '\r']), "{out}");
    let rows = parse_csv(&out);
    assert_eq!(rows[0], records::CSV_COLUMNS);
    assert_eq!(rows.len(), 1 + 7, "one row per connection");
    assert!(rows.iter().all(|r| r.len() == 26), "{rows:?}");
    let col = |name: &str| {
        records::CSV_COLUMNS
            .iter()
            .position(|c| *c == name)
            .unwrap()
    };
    let r1 = &rows[2];
    assert_eq!(r1[col("file")], "lab/failures.pcapng.gz");
    assert_eq!(r1[col("cookie")], "bob, \"the\"\\r\\nadmin");
    assert_eq!(r1[col("ended_by")], "negotiation_failure");
    assert_eq!(r1[col("requested")], "SSL");
    let r0 = &rows[1];
    assert_eq!(r0[col("requested")], "SSL|HYBRID|HYBRID_EX");
    assert_eq!(r0[col("selected")], "HYBRID_EX");
    assert_eq!(r0[col("tls_version")], "TLS 1.2");
    assert_eq!(r0[col("cert_subject")], "CN=srv01.corp.example");
    assert_eq!(r0[col("outcome")], "established");
    assert_eq!(r0[col("cause")], "");
    assert_eq!(r0[col("client_message")], "");
    // A failed connection says what the client most likely showed.
    assert!(r1[col("client_message")].contains('['), "{r1:?}");
    assert_eq!(rows[7][col("file")], "cut.pcap");
    // Every column documented.
    let doc_md = include_str!("../../docs/csv-columns.md");
    for (i, c) in records::CSV_COLUMNS.iter().enumerate() {
        assert!(
            doc_md.contains(&format!("| {} | `{c}` |", i + 1)),
            "column {c} not documented at {}",
            i + 1
        );
    }
}

/// Streamed redaction (file by file) gives the same pseudonyms as
/// redacting the whole document when no name crosses files, and leaves
/// no original value in any streamed format.
#[test]
fn streamed_redaction() {
    let files = [main_file(), unreadable_file(), truncated_file()];
    let reports = batch_reports(&files, &[false; 3]);
    let mut whole = document(reports.clone());
    redact::redact(&mut whole);
    for format in [Format::Jsonl, Format::Csv] {
        let mut r = redact::Redactor::new();
        let mut streamed = header(format);
        for f in &reports {
            let mut f = f.clone();
            r.file(&mut f);
            streamed.push_str(&render_file(&f, format));
        }
        assert_eq!(
            streamed,
            render_document(&whole, &opts(format, false)),
            "{format:?}"
        );
        let low = streamed.to_lowercase();
        for s in SECRETS {
            assert!(!low.contains(s), "{format:?}: {s} survived:\n{streamed}");
        }
    }
}

/// The client's own Certificate message (a server that asked for one) is
/// reported as the client's, never as the server's chain, and redacted.
#[test]
fn client_certificate_is_not_the_servers() {
    let mut c = established();
    let client_cert = ProtoEvent::Tls(TlsEvent::Certificate(vec![cert(
        "CN=alice, O=Client Corp",
        &[],
        T0 - 86_400,
        T0 + 180 * 86_400,
    )]));
    let at = c.timeline.events.iter().position(|e| e.frame > 8).unwrap();
    let mut tl = Tl(c.timeline).ev(10, 12, Dir::ToServer, client_cert).0;
    tl.events.sort_by_key(|e| e.frame);
    assert_eq!(tl.events[at].frame, 10);
    c.timeline = tl;
    let r = connection_report(&c);
    assert_eq!(r.certificates.len(), 1);
    assert_eq!(r.certificates[0].subject, "CN=srv01.corp.example");
    assert_eq!(r.client_certificates.len(), 1);
    assert_eq!(r.client_certificates[0].subject, "CN=alice, O=Client Corp");
    assert_eq!(r.client_certificates[0].frame, 10);
    // ClientHello, ServerHello, Certificate, then the client's
    // Certificate (upper case: the client sent it).
    assert_eq!(r.tls.as_ref().unwrap().history, "CsxX");
    let mut doc = document(vec![FileReport {
        connections: vec![r],
        ..batch_reports(&[main_file()], &[false])[0].clone()
    }]);
    redact::redact(&mut doc);
    let json = render_document(&doc, &opts(Format::Json, false)).to_lowercase();
    for s in ["alice", "client corp"] {
        assert!(!json.contains(s), "{s} survived redaction:\n{json}");
    }
}

/// The table report fitted to a width: the words of an unlimited render,
/// in the same order, in lines no wider than the width (a line may only
/// overflow when it is one word that cannot be cut: an address, a hash,
/// a filter). The table becomes narrower, then a list of blocks.
#[test]
fn table_report_fits_the_width() {
    let files = [main_file(), unreadable_file(), truncated_file()];
    let attempts: Vec<_> = files.iter().map(attempts_of).collect();
    let inputs = cli_inputs(&files, &attempts);
    let at = |width: usize| {
        let o = ReportOptions {
            format: Format::Table,
            style: TermStyle {
                width,
                ..TermStyle::default()
            },
            redact: false,
        };
        render(&inputs, &o)
    };
    let free = at(0);
    let is_table = |l: &str| l.starts_with(['┌', '│', '╞', '├', '└']);
    // The paragraphs: everything after the first table of each file.
    let words = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| !is_table(l))
            .flat_map(|l| l.split_whitespace().map(str::to_string))
            .collect::<Vec<_>>()
    };
    for width in [120, 100, 80, 60, 50, 40] {
        let out = at(width);
        for l in out.lines() {
            let n = l.chars().count();
            let one_word = l.split_whitespace().count() == 1
                || l.trim_start().starts_with('-') && l.split_whitespace().count() == 2;
            assert!(
                n <= width || one_word && !is_table(l),
                "width {width}: line of {n}: {l:?}"
            );
        }
        if width >= 60 {
            // Paragraph words unchanged, in order, none cut.
            assert_eq!(words(&out), words(&free), "width {width}");
        }
    }
    // The seven-column table did not fit 80 columns: stacked client/server.
    assert!(free.lines().any(|l| l.chars().count() > 80));
    assert!(at(80).contains("client / server"));
    // Below 60 columns, no table at all.
    assert!(!at(50).lines().any(is_table));
    assert!(at(50).contains("stream 0 established 10.0.0.5:50123 ->"));
}

/// A connection that ends no later than the X.224 Connection Confirm
/// keeps its ladder marks in place ([`INLINE_MARKS`]), on the lab's and
/// the public corpus's captures.
///
/// [`INLINE_MARKS`]: crate::diagnose::ladder::INLINE_MARKS
#[test]
fn connections_ending_at_the_negotiation_keep_their_marks_in_place() {
    use crate::diagnose::ladder::Marks;
    use crate::diagnose::Step;
    let mut early = 0;
    for r in super::analysed_results() {
        let seen = &r.diagnosis.ladder.seen;
        if seen.iter().all(|m| m.step <= Step::ConnectionConfirm) {
            early += 1;
            assert!(
                matches!(seen, Marks::Inline { .. }),
                "stream {}: {seen:?}",
                r.timeline.stream
            );
        }
    }
    // Refused connections and negotiation failures in the lab captures.
    assert!(early >= 5, "{early} connections ending at the negotiation");
}
