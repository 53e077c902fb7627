//! The protocol decoders on the public corpus, through the real pipeline.
//!
//! Each capture is read with `analyze_path` (capture -> packet -> flow ->
//! proto -> timeline), and what the decoders said is read from each
//! connection's timeline, where every protocol event carries its frame.
//! Connections are named by Wireshark's `tcp.stream`.
//!
//! The cookie, the requested and selected protocols and the client core
//! fields of these connections are compared field by field with tshark by
//! `tests/decode_vs_tshark.rs`; this file checks what that comparison does
//! not: negotiation flags, GCC security and channels, certificate chain
//! order, licensing, disconnects, NLA legs, false positives on the port,
//! captures that start mid-connection, holes and the depth cap.

mod common;

use rdptriage::analyze::{analyze_connection, analyze_path, ConnectionResult, Options};
use rdptriage::common::{Dir, KeepLimit};
use rdptriage::flow::{Gap, GapKind};
use rdptriage::proto::mcs::ServerCertificate;
use rdptriage::proto::x224::{ConnectionConfirm, NegFailureCode, Protocols, X224Event};
use rdptriage::proto::{Anomaly, StopReason};
use rdptriage::proto::{CredsspLeg, McsEvent, ProtoEvent};
use rdptriage::timeline::Timeline;
use std::path::{Path, PathBuf};

/// The corpus, or None after saying the test is skipped.
fn corpus() -> Option<PathBuf> {
    let dir = common::corpus_dir();
    if dir.is_none() {
        common::skip_note("corpus tests");
    }
    dir
}

/// The timelines of one capture through the whole pipeline, in stream
/// order.
fn timelines(dir: &Path, file: &str, opts: &Options) -> Vec<Timeline> {
    let path = dir.join(file);
    let r = analyze_path(&path.to_string_lossy(), opts);
    assert!(r.read.is_ok(), "{file}: {:?}", r.read);
    r.connections.into_iter().map(|c| c.timeline).collect()
}

fn stream(dir: &Path, file: &str, stream: u64) -> Timeline {
    timelines(dir, file, &Options::default())
        .into_iter()
        .find(|t| t.stream == stream)
        .unwrap_or_else(|| panic!("{file}: no stream {stream}"))
}

/// The protocol events of one direction.
fn proto(t: &Timeline, dir: Dir) -> Vec<&ProtoEvent> {
    t.proto_events()
        .filter(|(e, _)| e.dir == dir)
        .map(|(_, p)| p)
        .collect()
}

/// Why decoding of a direction stopped, if it did.
fn stopped(t: &Timeline, dir: Dir) -> Vec<StopReason> {
    proto(t, dir)
        .into_iter()
        .filter_map(|p| match p {
            ProtoEvent::Stopped { why } => Some(why.clone()),
            _ => None,
        })
        .collect()
}

/// What one connection's set-up must decode to (beyond what
/// decode_vs_tshark.rs compares with tshark). Values read with tshark 4.0
/// (`-T fields -e rdp.negReq.selectedProtocol -e rdp.encryptionMethod -e
/// rdp.encryptionLevel ...`).
struct Expect {
    file: &'static str,
    stream: u64,
    /// The Connection Confirm, flags included.
    confirm: ConnectionConfirm,
    /// Server encryption method and level.
    sec: Option<(u32, u32)>,
    /// Static channel names of the client's GCC data; None when there is
    /// no MCS Connect Initial in clear.
    channels: Option<&'static [&'static str]>,
    /// The server's I/O channel then channel ids.
    server_channels: &'static [u16],
}

fn sel(p: u32) -> ConnectionConfirm {
    ConnectionConfirm::Selected {
        flags: 0,
        selected: Protocols(p),
    }
}

#[rustfmt::skip]
fn table() -> Vec<Expect> {
    use ConnectionConfirm::{Failure, NoNegotiation};
    let e = |file, stream, confirm| Expect {
        file, stream, confirm, sec: None, channels: None, server_channels: &[],
    };
    let std = |x: Expect, sec, channels, server_channels| Expect {
        sec, channels: Some(channels), server_channels, ..x
    };
    let hyb = || ConnectionConfirm::Selected { flags: 1, selected: Protocols(2) };
    let hyb_ex = || ConnectionConfirm::Selected { flags: 0x1f, selected: Protocols(8) };
    const IDS5: &[u16] = &[1003, 1004, 1005, 1006, 1007];
    const IDS4: &[u16] = &[1003, 1004, 1005, 1006];
    const CH_X509: &[&str] = &["rdpdr", "rdpsnd", "cliprdr", "drdynvc"];
    const CH_FROG: &[&str] = &["rdpdr", "rdpsnd", "drdynvc", "cliprdr"];
    const CH_XP: &[&str] = &["rdpdr", "cliprdr", "rdpsnd"];
    vec![
        std(e("zeek/rdp-x509.pcap", 0, sel(0)), Some((2, 2)), CH_X509, IDS5),
        std(e("zeek/rdp-unknown-keyboard.pcap", 0, sel(0)), None, CH_X509, &[]),
        e("zeek/rdp-proprietary-encryption.pcap", 0, Failure { code: NegFailureCode(2) }),
        std(e("zeek/rdp-proprietary-encryption.pcap", 1, sel(0)), Some((2, 3)), CH_FROG, IDS5),
        std(e("wireshark-wiki/RDP-004.pcap.gz", 1, sel(0)), Some((2, 3)), CH_FROG, IDS5),
        std(e("suricata-verify/RDP-003.pcap", 0, NoNegotiation), Some((8, 2)), CH_XP, IDS4),
        std(e("wireshark-wiki/RDP-002.pcap.gz", 0, NoNegotiation), Some((2, 3)), CH_XP, IDS4),
        e("zeek/rdp-to-ssl.pcap", 0, hyb()),
        e("zeek/rdp-to-ssl.pcap", 1, hyb()),
        e("zeek/nla_win7_win2k8r2.pcap", 1, hyb()),
        e("zeek/rdp-no-cookie-mstshash.pcap", 0, hyb_ex()),
        e("zeek/rdp-rdpeudp-handshake-fail.pcap", 0, hyb_ex()),
        e("zeek/rdp-rdpeudp-handshake-success.pcap", 0, hyb_ex()),
    ]
}

#[test]
fn set_up_decoding_on_the_corpus() {
    let Some(dir) = corpus() else { return };
    for x in table() {
        let t = stream(&dir, x.file, x.stream);
        let what = format!("{} stream {}", x.file, x.stream);
        let events: Vec<&ProtoEvent> = t.proto_events().map(|(_, p)| p).collect();
        let (cr_ev, _) = t
            .connection_request()
            .unwrap_or_else(|| panic!("{what}: no CR in {events:?}"));
        assert_eq!(cr_ev.dir, Dir::ToServer, "{what}");
        let (cc_ev, cc) = t
            .connection_confirm()
            .unwrap_or_else(|| panic!("{what}: no CC"));
        assert_eq!(cc_ev.dir, Dir::ToClient, "{what}");
        assert!(cc_ev.frame > cr_ev.frame, "{what}");
        assert_eq!(cc, &x.confirm, "{what}");
        let channels = t.client_gcc().map(|(_, g)| g.channels.clone());
        assert_eq!(
            channels.as_deref(),
            x.channels
                .map(|c| c.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .as_deref(),
            "{what}"
        );
        let sgcc = t.server_gcc().map(|(_, g)| g);
        assert_eq!(
            sgcc.and_then(|g| g.security.as_ref())
                .map(|s| (s.encryption_method, s.encryption_level)),
            x.sec,
            "{what}"
        );
        let ids: Vec<u16> = sgcc
            .map(|g| [g.io_channel.into_iter().collect(), g.channel_ids.clone()].concat())
            .unwrap_or_default();
        assert_eq!(ids, x.server_channels, "{what}");
        // The GCC headers are in the usual form.
        assert!(
            !events.iter().any(|p| matches!(
                p,
                ProtoEvent::Anomaly {
                    what: Anomaly::GccKeyNotT124
                        | Anomaly::GccPduLength { .. }
                        | Anomaly::GccHeaderUnusual { .. }
                        | Anomaly::GccUserDataLength { .. }
                        | Anomaly::GccCreateResult { .. }
                }
            )),
            "{what}: {events:?}"
        );
        // TLS was followed where it was selected.
        let tls_selected =
            matches!(cc, ConnectionConfirm::Selected { selected, .. } if selected.0 != 0);
        assert_eq!(tls_selected, t.server_hello().is_some(), "{what}");
        // Nothing in these captures is undecodable.
        assert!(
            !events
                .iter()
                .any(|p| matches!(p, ProtoEvent::NotRdp { .. })),
            "{what}"
        );
    }
}

/// The X.509 chain in TS_UD_SC_SEC1 of rdp-x509.pcap, leaf first after
/// reordering: the terminal server's certificate, then the license
/// server's (self-issued) that signed it.
#[test]
fn proprietary_x509_chain_is_leaf_first() {
    let Some(dir) = corpus() else { return };
    let t = stream(&dir, "zeek/rdp-x509.pcap", 0);
    let (gcc_ev, g) = t.server_gcc().expect("server GCC");
    let Some(ServerCertificate::X509(chain)) =
        g.security.as_ref().and_then(|s| s.certificate.as_ref())
    else {
        panic!("{:?}", g.security);
    };
    assert_eq!(chain.len(), 2);
    assert!(
        chain[0].subject.starts_with("CN=ncalrpc:SERVR"),
        "{chain:?}"
    );
    assert_eq!(chain[0].issuer, chain[1].subject);
    assert_eq!(chain[1].subject, chain[1].issuer);
    // The timeline's certificate view gives the same chain, in the same
    // frame as the server's GCC data.
    let (e, certs) = t.certificates().expect("certificates");
    assert_eq!(certs, chain.as_slice());
    assert_eq!((e.frame, e.dir), (gcc_ev.frame, Dir::ToClient));
}

/// RDP-003: licensing ERROR_ALERT with STATUS_VALID_CLIENT, and the
/// server's Disconnect Provider Ultimatum (rn-user-requested).
#[test]
fn licensing_and_disconnect_in_rdp_003() {
    let Some(dir) = corpus() else { return };
    let t = stream(&dir, "suricata-verify/RDP-003.pcap", 0);
    let server = proto(&t, Dir::ToClient);
    assert!(server.iter().any(|p| matches!(p,
        ProtoEvent::Mcs(McsEvent::Licensing(l)) if l.error_code == Some(7))));
    assert!(server.iter().any(|p| matches!(
        p,
        ProtoEvent::Mcs(McsEvent::DisconnectProviderUltimatum { reason: 3 })
    )));
}

/// modbus-and-non-modbus-p502.pcap: one RDP probe on port 502 meets a
/// non-RDP server; another connection opens with a TLS ClientHello.
#[test]
fn probes_on_port_502() {
    let Some(dir) = corpus() else { return };
    let file = "zeek/modbus-and-non-modbus-p502.pcap";
    // By default only connections whose client opens with an X.224
    // Connection Request are followed off port 3389: exactly the probe.
    let found: Vec<Timeline> = timelines(&dir, file, &Options::default())
        .into_iter()
        .filter(|t| t.endpoints.server.port() == 502)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "{:?}",
        found.iter().map(|t| t.stream).collect::<Vec<_>>()
    );
    let probe = &found[0];
    let (first, p) = probe.proto_events().next().expect("events");
    assert_eq!(first.dir, Dir::ToServer);
    assert!(matches!(p,
        ProtoEvent::X224(X224Event::ConnectionRequest(cr)) if cr.cookie.as_deref() == Some("admin")));
    assert!(proto(probe, Dir::ToClient)
        .iter()
        .any(|p| matches!(p, ProtoEvent::NotRdp { .. })));

    // Every connection on port 502, followed whatever it carries.
    let opts = Options {
        ports: vec![502],
        any_port: false,
        ..Options::default()
    };
    let all = timelines(&dir, file, &opts);
    let requests: Vec<u64> = all
        .iter()
        .filter(|t| t.connection_request().is_some())
        .map(|t| t.stream)
        .collect();
    assert_eq!(requests, [probe.stream]);
    // A TLS ClientHello straight away: not RDP, still decoded as TLS.
    let direct = all
        .iter()
        .find(|t| t.client_hello().is_some())
        .expect("a connection opening with TLS");
    let (first, p) = direct.proto_events().next().expect("events");
    assert_eq!(first.dir, Dir::ToServer);
    assert!(matches!(p, ProtoEvent::NotRdp { .. }), "{p:?}");
    assert_eq!(
        direct.client_hello().map(|(e, _)| e.dir),
        Some(Dir::ToServer)
    );
}

/// rdp-invalid-length.pcap: fuzzed junk on port 3389 is not RDP.
#[test]
fn invalid_length_is_not_rdp() {
    let Some(dir) = corpus() else { return };
    let t = stream(&dir, "zeek/rdp-invalid-length.pcap", 0);
    let (_, first) = t.proto_events().next().expect("events");
    assert!(matches!(first, ProtoEvent::NotRdp { .. }), "{first:?}");
}

/// rdp-ssl.pcap.gz starts at the ClientHello (mid-connection): TLS found
/// by resync, RDP inside TLS without NLA not observable.
#[test]
fn mid_connection_tls_is_found_again() {
    let Some(dir) = corpus() else { return };
    let t = stream(&dir, "wireshark-wiki/rdp-ssl.pcap.gz", 0);
    assert!(t.server_hello().is_some());
    assert_eq!(
        t.proto_events()
            .filter(|(_, p)| matches!(p, ProtoEvent::NotObservable { .. }))
            .count(),
        1
    );
}

/// NLA: the CredSSP legs of rdp-to-ssl.pcap stream 1.
#[test]
fn nla_legs_in_rdp_to_ssl() {
    let Some(dir) = corpus() else { return };
    let t = stream(&dir, "zeek/rdp-to-ssl.pcap", 1);
    assert!(t
        .proto_events()
        .any(|(_, p)| matches!(p, ProtoEvent::Credssp(_))));
    let legs: Vec<(Dir, CredsspLeg)> = t.credssp_legs().map(|(e, l)| (e.dir, l)).collect();
    assert_eq!(
        legs.first(),
        Some(&(Dir::ToServer, CredsspLeg::Negotiate)),
        "{legs:?}"
    );
}

/// A hole inside a TLS record, and a depth cap inside one: the Stopped
/// event names the cause. A cap at a record boundary cuts nothing.
#[test]
fn holes_and_the_depth_cap_stop_decoding() {
    let Some(dir) = corpus() else { return };
    let file = "zeek/rdp-to-ssl.pcap";

    // A hole of 100 bytes at offset 1000 of the client's stream.
    let conns = common::flow_connections(&dir.join(file));
    let mut c = conns.into_iter().find(|c| c.stream == 1).expect("stream 1");
    assert!(c.half[0].data.len() > 1100, "{}", c.half[0].data.len());
    assert!(c.half[0].gaps.is_empty(), "{:?}", c.half[0].gaps);
    let frame = c.half[0].segments.last().map_or(0, |s| s.frame);
    c.half[0].gaps.push(Gap {
        offset: 1000,
        len: 100,
        kind: GapKind::Unknown,
        frame,
        ts: c.last_ts,
    });
    let ConnectionResult { timeline: t, .. } = analyze_connection(&c, c.last_ts);
    assert_eq!(
        stopped(&t, Dir::ToServer),
        [StopReason::BytesMissing { at: 1000 }]
    );

    // The real depth cap, inside a record and at a record boundary.
    let capped = |cap: usize| {
        let opts = Options {
            depth_cap: cap,
            ..Options::default()
        };
        let t = timelines(&dir, file, &opts)
            .into_iter()
            .find(|t| t.stream == 1)
            .expect("stream 1");
        assert_eq!(
            t.dir(Dir::ToServer).limit,
            Some(KeepLimit::DepthCap { bytes: cap as u64 }),
            "cap {cap}"
        );
        stopped(&t, Dir::ToServer)
    };
    let why = capped(1000);
    assert!(
        matches!(
            why[..],
            [StopReason::Bound {
                limit: KeepLimit::DepthCap { bytes: 1000 },
                ..
            }]
        ),
        "{why:?}"
    );
    assert!(capped(1512).is_empty());
}

/// Captures that start mid-session under Standard RDP Security: encrypted
/// fast-path traffic found by resync, nothing taken for "not RDP".
#[test]
fn mid_session_fast_path_is_found_again() {
    let Some(dir) = corpus() else { return };
    for (file, want) in [
        ("wireshark-wiki/MINET-SAC-Traces.pcap", 1),
        ("wireshark-wiki/SASP.pcap", 4),
    ] {
        let mut fast = 0;
        for t in timelines(&dir, file, &Options::default())
            .iter()
            .filter(|t| t.endpoints.server.port() == 3389 || t.endpoints.client.port() == 3389)
        {
            for (e, p) in t.proto_events() {
                assert!(
                    !matches!(p, ProtoEvent::NotRdp { .. }),
                    "{file} stream {} frame {}: {p:?}",
                    t.stream,
                    e.frame
                );
            }
            fast += t
                .proto_events()
                .filter(|(_, p)| {
                    matches!(
                        p,
                        ProtoEvent::FastPath {
                            encrypted: true,
                            ..
                        }
                    )
                })
                .count();
        }
        assert_eq!(fast, want, "{file}");
    }
}
