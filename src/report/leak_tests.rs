//! What decryption exposes never reaches a report: a session's plaintext
//! built with known secrets (an NTLMv2 response, a session key, a Client
//! Info password, keyboard input) goes through the decoder, the timeline,
//! the diagnosis and every output format; none of the secrets comes out,
//! with or without `--redact`, and with `--redact` neither do the NTLM
//! user, domain and workstation nor the Client Info user.

use super::*;
use crate::analyze::{ConnectionResult, FileResult, SkipCounts};
use crate::capture::{CaptureFormat, Compression, LinkType, ReadSummary};
use crate::common::{Dir, Endpoints, Timestamp};
use crate::flow::{FlowStats, TcpEventKind};
use crate::proto::ntlm::NTLMSSP_SIGNATURE;
use crate::proto::tsrequest::tests::ts_request;
use crate::proto::x224::{ConnectionConfirm, Protocols, X224Event};
use crate::proto::{decode_inner, ProtoEvent, StreamInput};
use crate::timeline::{EventKind, Timeline};

const PASSWORD: &str = "Tr0ub4dor&3xyz";
const USER: &str = "zelda";
const DOMAIN: &str = "HYRULECORP";
const WORKSTATION: &str = "KAKARIKO7";
/// Bytes of the NTLMv2 response and of the encrypted session key.
const NT_RESPONSE_BYTE: u8 = 0x5c;
const SESSION_KEY_BYTE: u8 = 0xc3;

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// An AUTHENTICATE_MESSAGE ([MS-NLMP] 2.2.1.3) carrying the secrets.
fn authenticate() -> Vec<u8> {
    let nt = vec![NT_RESPONSE_BYTE; 64];
    let key = vec![SESSION_KEY_BYTE; 16];
    let parts = [
        vec![0u8; 24],
        nt,
        utf16(DOMAIN),
        utf16(USER),
        utf16(WORKSTATION),
        key,
    ];
    let header = 8 + 4 + 6 * 8 + 4 + 8 + 16;
    let (mut fields, mut payload): (Vec<u8>, Vec<u8>) = (Vec::new(), Vec::new());
    for p in &parts {
        let off = (header + payload.len()) as u32;
        fields.extend((p.len() as u16).to_le_bytes());
        fields.extend((p.len() as u16).to_le_bytes());
        fields.extend(off.to_le_bytes());
        payload.extend(p);
    }
    let mut m = NTLMSSP_SIGNATURE.to_vec();
    m.extend(3u32.to_le_bytes());
    m.extend(fields);
    m.extend(0xe288_8235u32.to_le_bytes());
    m.extend([10, 0, 0x61, 0x4a, 0, 0, 0, 15]);
    m.extend([0u8; 16]);
    m.extend(payload);
    m
}

/// TPKT, X.224 Data, MCS Send Data Request on channel 1003 ([MS-RDPBCGR]
/// 2.2.1.11), around `payload`.
fn send_data(payload: &[u8]) -> Vec<u8> {
    let mut mcs = vec![0x64, 0x00, 0x06, 0x03, 0xeb, 0x70];
    mcs.extend([0x80 | (payload.len() >> 8) as u8, payload.len() as u8]);
    mcs.extend(payload);
    let len = 4 + 3 + mcs.len();
    let mut v = vec![3, 0, (len >> 8) as u8, len as u8, 0x02, 0xf0, 0x80];
    v.extend(mcs);
    v
}

/// A Client Info PDU (2.2.1.11.1.1, INFO_UNICODE) with the password.
fn client_info() -> Vec<u8> {
    let z = |s: &str| {
        let mut v = utf16(s);
        v.extend([0, 0]);
        v
    };
    let mut p = vec![0x40, 0, 0, 0]; // SEC_INFO_PKT
    p.extend(0u32.to_le_bytes());
    p.extend(0x0000_0013u32.to_le_bytes());
    for s in [DOMAIN, USER, PASSWORD, "", ""] {
        p.extend(((s.len() * 2) as u16).to_le_bytes());
    }
    for s in [DOMAIN, USER, PASSWORD, "", ""] {
        p.extend(z(s));
    }
    send_data(&p)
}

/// A fast-path input PDU ([MS-RDPBCGR] 2.2.8.1.2) of Unicode keyboard
/// events typing the password.
fn typed_password() -> Vec<u8> {
    let events: Vec<u8> = PASSWORD
        .encode_utf16()
        .take(15)
        .flat_map(|c| {
            let mut e = vec![0x80];
            e.extend(c.to_le_bytes());
            e
        })
        .collect();
    let n = PASSWORD.len().min(15) as u8;
    let mut v = vec![n << 2, 0];
    v.extend(events);
    v[1] = v.len() as u8;
    v
}

/// Stream 0: the logon goes through (the server's pubKeyAuth, then the
/// credentials and the Client Info); stream 1: the server refuses it with
/// an errorCode, so the verdict's evidence names the account.
fn session(stream: u64) -> ConnectionResult {
    let mut c = ts_request(6, Some(&authenticate()), false, true, None, true);
    c.extend(ts_request(6, None, true, false, None, false));
    c.extend(client_info());
    c.extend(typed_password());
    let s = match stream {
        0 => ts_request(6, None, false, true, None, false),
        _ => ts_request(6, None, false, false, Some(0xC000_006D), false),
    };
    let input = StreamInput::whole;
    let mut decoded = decode_inner(input(&c), input(&s), Protocols::HYBRID);
    decoded.sort_by_key(|d| (d.start, d.dir == Dir::ToClient));
    let at = |ms: i64| Timestamp::from_secs_nanos(1_700_000_000, ms as u32 * 1_000_000);
    let e = Endpoints {
        client: "10.1.2.3:50000".parse().unwrap(),
        server: "10.1.2.4:3389".parse().unwrap(),
    };
    let mut tl = Timeline::new(stream, e, at(0));
    tl.push(
        1,
        at(0),
        Dir::ToServer,
        EventKind::Tcp(TcpEventKind::Syn {
            retransmission: false,
        }),
    );
    tl.push(
        2,
        at(1),
        Dir::ToClient,
        EventKind::Tcp(TcpEventKind::SynAck {
            retransmission: false,
        }),
    );
    tl.push(
        3,
        at(2),
        Dir::ToServer,
        EventKind::Tcp(TcpEventKind::HandshakeAck),
    );
    let cc = ConnectionConfirm::Selected {
        flags: 0,
        selected: Protocols(Protocols::HYBRID),
    };
    let cc = EventKind::Proto(ProtoEvent::X224(X224Event::ConnectionConfirm(cc)));
    tl.push(5, at(4), Dir::ToClient, cc);
    for (i, d) in decoded.into_iter().enumerate() {
        let f = 10 + i as u64;
        tl.push(f, at(f as i64), d.dir, EventKind::Proto(d.event));
    }
    let diagnosis = crate::diagnose::diagnose(&tl);
    ConnectionResult {
        timeline: tl,
        diagnosis,
        decryption: None,
    }
}

fn file() -> FileResult {
    FileResult {
        path: "decrypted.pcapng".into(),
        read: Ok(ReadSummary {
            format: CaptureFormat::Pcap {
                nanosecond: false,
                big_endian: false,
                modified: false,
            },
            compression: Compression::None,
            packets: 40,
            bytes: 4000,
            first_ts: None,
            last_ts: None,
            warnings: Vec::new(),
            warnings_total: 0,
            link_types: vec![(LinkType::ETHERNET, 40)],
            interfaces: Vec::new(),
            incomplete: None,
        }),
        skipped: SkipCounts::default(),
        flow: FlowStats::default(),
        connections: vec![session(0), session(1)],
        capture_key_logs: Vec::new(),
        side: Default::default(),
    }
}

fn render_as(files: &[FileResult], format: Format, redact: bool) -> String {
    let inputs: Vec<Input<'_>> = files.iter().map(Input::new).collect();
    let opts = ReportOptions {
        format,
        style: TermStyle::default(),
        redact,
    };
    render(&inputs, &opts)
}

/// The ways a byte string can be printed: hex with or without
/// separators, either case; as text (UTF-8 and the UTF-16 a careless
/// decoder would widen).
fn spellings(secret: &[u8]) -> Vec<String> {
    let hex: Vec<String> = secret.iter().map(|b| format!("{b:02x}")).collect();
    let mut v = vec![hex.concat(), hex.join(":"), hex.join(" ")];
    v.extend(v.clone().iter().map(|s| s.to_uppercase()));
    v
}

#[test]
fn no_secret_in_any_format() {
    let files = [file()];
    // The decoder did read the session: its names are in the JSON.
    let json = render_as(&files, Format::Json, false);
    for name in [USER, DOMAIN, WORKSTATION] {
        assert!(json.contains(name), "{name} not decoded:\n{json}");
    }
    // Stream 1's verdict cites the account in its evidence.
    let refused = &files[0].connections[1].diagnosis;
    assert_eq!(
        refused.cause.as_ref().map(|c| c.id),
        Some(crate::diagnose::CauseId::CredentialsRejected)
    );
    assert!(refused.evidence.iter().any(|e| e.text().contains(USER)));
    let mut secrets = spellings(&[NT_RESPONSE_BYTE; 8]);
    secrets.extend(spellings(&[SESSION_KEY_BYTE; 8]));
    secrets.extend(spellings(PASSWORD.as_bytes()));
    secrets.push(PASSWORD.to_string());
    secrets.push(PASSWORD[..6].to_string());
    let formats = [
        Format::Table,
        Format::Json,
        Format::Markdown,
        Format::Jsonl,
        Format::Csv,
        Format::Html,
    ];
    for redact in [false, true] {
        for format in formats {
            let out = render_as(&files, format, redact);
            for s in &secrets {
                assert!(
                    !out.contains(s.as_str()),
                    "{format:?} (redact {redact}) prints {s}"
                );
            }
            if redact {
                let lower = out.to_lowercase();
                for name in [USER, DOMAIN, WORKSTATION] {
                    assert!(
                        !lower.contains(&name.to_lowercase()),
                        "{format:?} --redact prints {name}:\n{out}"
                    );
                }
            }
        }
    }
    // Nor does the debug view of the events (what examples/dump_timeline
    // prints) hold the password or the response bytes.
    let dbg = format!(
        "{:?}",
        files[0]
            .connections
            .iter()
            .map(|c| &c.timeline.events)
            .collect::<Vec<_>>()
    );
    assert!(!dbg.contains(PASSWORD) && !dbg.contains(&PASSWORD[..6]));
    assert!(!dbg.contains(&format!("{}, {}", NT_RESPONSE_BYTE, NT_RESPONSE_BYTE)));
    assert!(!dbg.contains(&format!("{}, {}", SESSION_KEY_BYTE, SESSION_KEY_BYTE)));
}

/// The `Authorization` header of a gateway request carries the user's
/// NTLM or Kerberos token ([MS-TSGU] 3.3.5.1): the HTTP decoder keeps the
/// request line only, so no format prints the token, while the method
/// and the gateway's status are reported.
#[test]
fn no_gateway_authorization_in_any_format() {
    use crate::diagnose::gateway::{GatewayPart, GatewaySpec};
    use crate::proto::http::decode_http;
    const TOKEN: &str = "TlRMTVNTUAADAAAAGAAYAEgAAAAYABgAYAAAABQAFAB4";
    let req = format!(
        "RDG_OUT_DATA /remoteDesktopGateway/ HTTP/1.1\r\nHost: gw.example.test\r\n\
         Authorization: NTLM {TOKEN}\r\nRDG-Connection-Id: {{0}}\r\n\r\n"
    );
    let resp = b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: NTLM\r\nContent-Length: 0\r\n\r\n";
    let input = StreamInput::whole;
    let at = |ms: i64| Timestamp::from_secs_nanos(1_700_000_000, ms as u32 * 1_000_000);
    let e = Endpoints {
        client: "10.1.2.3:50000".parse().unwrap(),
        server: "10.1.2.9:443".parse().unwrap(),
    };
    let mut tl = Timeline::new(7, e, at(0));
    tl.push(
        1,
        at(0),
        Dir::ToServer,
        EventKind::Tcp(TcpEventKind::Syn {
            retransmission: false,
        }),
    );
    tl.push(
        2,
        at(1),
        Dir::ToClient,
        EventKind::Tcp(TcpEventKind::SynAck {
            retransmission: false,
        }),
    );
    for (i, d) in decode_http(input(req.as_bytes()), input(resp))
        .into_iter()
        .enumerate()
    {
        let frame = 3 + i as u64;
        tl.push(frame, at(frame as i64), d.dir, EventKind::Proto(d.event));
    }
    let g = GatewayPart::of(&tl);
    let spec: GatewaySpec = "10.1.2.9".parse().unwrap();
    let mut f = file();
    f.side.attempts = crate::diagnose::neighbours::cross_attempts_of(
        &Default::default(),
        Vec::new(),
        vec![g],
        &[spec],
    );
    assert_eq!(f.side.attempts.len(), 1);
    let files = [f];
    for redact in [false, true] {
        for format in [
            Format::Table,
            Format::Json,
            Format::Markdown,
            Format::Jsonl,
            Format::Csv,
            Format::Html,
        ] {
            let out = render_as(&files, format, redact);
            assert!(out.contains("RDG_OUT_DATA"), "{format:?}: not reported");
            assert!(out.contains("gateway_failed"), "{format:?}: no cause");
            for s in [TOKEN, &TOKEN[..12], "NTLM TlRM"] {
                assert!(!out.contains(s), "{format:?} (redact {redact}) prints {s}");
            }
        }
    }
    let dbg = format!("{:?}", files[0].side.attempts);
    assert!(!dbg.contains(&TOKEN[..12]));
}
