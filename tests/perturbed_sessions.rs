//! A healthy session stays healthy however it was captured: the property
//! the evidence model promises. Real healthy lab sessions (a real RDP server
//! and client, see testdata/captures/README.md) are re-captured in memory
//! with other timings (x0.2 to x5), a capture that starts or ends elsewhere,
//! a snap length, every packet seen a second time at another capture
//! point (a pcapng with two interfaces, the copy one hop further) or twice
//! at the same point, or packets the capture lost; none may be reported
//! failed, at any confidence.
//!
//! The oracle is what really happened: each base capture is labelled
//! `established` in labels.tsv, checked with tshark.

use proptest::prelude::*;
use rdptriage::analyze::{analyze_reader, Options};
use rdptriage::diagnose::Outcome;

/// Healthy lab sessions of different shapes: TLS 1.2, NLA with TLS 1.3,
/// TLS 1.3, Standard RDP Security, freerdp-shadow over TLS, a sub-second
/// session, a session the user closed (close_notify).
const HEALTHY: &[&str] = &[
    "01-success-tls.pcap",
    "03-success-nla.pcap",
    "04-success-tls13.pcap",
    "02-success-rdp-security.pcap",
    "67-shadow-tls.pcap",
    "50-sub-second-session.pcap",
    "55-window-closed.pcap",
];

/// One captured packet of a little-endian, microsecond pcap.
#[derive(Clone, Debug)]
struct Rec {
    ts_us: i64,
    orig_len: u32,
    data: Vec<u8>,
}

fn read_pcap(name: &str) -> Vec<Rec> {
    let path = format!("{}/testdata/captures/{name}", env!("CARGO_MANIFEST_DIR"));
    let b = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(&b[..4], &[0xd4, 0xc3, 0xb2, 0xa1], "{name}: LE usec pcap");
    assert_eq!(
        u32::from_le_bytes([b[20], b[21], b[22], b[23]]),
        1,
        "{name}: Ethernet"
    );
    let mut out = Vec::new();
    let mut at = 24;
    let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    while at + 16 <= b.len() {
        let (sec, usec, incl, orig) = (u32_at(at), u32_at(at + 4), u32_at(at + 8), u32_at(at + 12));
        let data = b[at + 16..at + 16 + incl as usize].to_vec();
        out.push(Rec {
            ts_us: i64::from(sec) * 1_000_000 + i64::from(usec),
            orig_len: orig,
            data,
        });
        at += 16 + incl as usize;
    }
    out
}

fn write_pcap(recs: &[Rec], snaplen: u32) -> Vec<u8> {
    let mut o = Vec::new();
    o.extend_from_slice(&[0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0]);
    o.extend_from_slice(&[0; 8]);
    o.extend_from_slice(&snaplen.to_le_bytes());
    o.extend_from_slice(&1u32.to_le_bytes());
    for r in recs {
        let incl = r.data.len().min(snaplen as usize);
        o.extend_from_slice(&((r.ts_us / 1_000_000) as u32).to_le_bytes());
        o.extend_from_slice(&((r.ts_us % 1_000_000) as u32).to_le_bytes());
        o.extend_from_slice(&(incl as u32).to_le_bytes());
        o.extend_from_slice(&r.orig_len.to_le_bytes());
        o.extend_from_slice(&r.data[..incl]);
    }
    o
}

/// A pcapng block: type, body (padded to 4), total length twice.
fn block(kind: u32, body: &[u8]) -> Vec<u8> {
    let pad = (4 - body.len() % 4) % 4;
    let len = (12 + body.len() + pad) as u32;
    let mut o = Vec::new();
    o.extend_from_slice(&kind.to_le_bytes());
    o.extend_from_slice(&len.to_le_bytes());
    o.extend_from_slice(body);
    o.extend(std::iter::repeat(0).take(pad));
    o.extend_from_slice(&len.to_le_bytes());
    o
}

/// Every packet seen twice, as a capture on both interfaces of a router:
/// on interface 1, 40 us later, with its TTL one lower (one hop on).
fn write_two_points(recs: &[Rec]) -> Vec<u8> {
    let mut o = Vec::new();
    let mut shb = Vec::new();
    shb.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
    shb.extend_from_slice(&[1, 0, 0, 0]);
    shb.extend_from_slice(&(-1i64).to_le_bytes());
    o.extend(block(0x0a0d_0d0a, &shb));
    for _ in 0..2 {
        let mut idb = Vec::new();
        idb.extend_from_slice(&1u16.to_le_bytes());
        idb.extend_from_slice(&0u16.to_le_bytes());
        idb.extend_from_slice(&262_144u32.to_le_bytes());
        o.extend(block(1, &idb));
    }
    let epb = |iface: u32, ts: i64, r: &Rec, data: &[u8]| {
        let mut b = Vec::new();
        b.extend_from_slice(&iface.to_le_bytes());
        b.extend_from_slice(&((ts as u64 >> 32) as u32).to_le_bytes());
        b.extend_from_slice(&(ts as u32).to_le_bytes());
        b.extend_from_slice(&(data.len() as u32).to_le_bytes());
        b.extend_from_slice(&r.orig_len.to_le_bytes());
        b.extend_from_slice(data);
        block(6, &b)
    };
    for r in recs {
        o.extend(epb(0, r.ts_us, r, &r.data));
        let mut copy = r.data.clone();
        // Ethernet, then IPv4 (TTL at 8) or IPv6 (hop limit at 7).
        match copy.get(14).map(|v| v >> 4) {
            Some(4) if copy.len() > 22 => copy[22] = copy[22].saturating_sub(1),
            Some(6) if copy.len() > 21 => copy[21] = copy[21].saturating_sub(1),
            _ => {}
        }
        o.extend(epb(1, r.ts_us + 40, r, &copy));
    }
    o
}

/// How a healthy session is captured again.
#[derive(Clone, Debug)]
enum Recapture {
    /// Every gap between packets scaled by factor/100.
    Timing(u32),
    /// The capture starts at this share (per mille) of the packets.
    StartAt(u32),
    /// The capture ends at this share (per mille) of the packets.
    EndAt(u32),
    /// tcpdump -s N.
    Snap(u32),
    /// Every packet on a second interface too.
    TwoPoints,
    /// Every packet captured twice at the same point (a SPAN port that
    /// mirrors both directions, or a capture tool hooked in twice).
    Doubled,
    /// The capture dropped every n-th packet (capture loss).
    Drop(u32),
}

fn recapture(recs: &[Rec], how: &Recapture) -> Vec<u8> {
    let n = recs.len();
    match how {
        Recapture::Timing(pct) => {
            let t0 = recs[0].ts_us;
            let scaled: Vec<Rec> = recs
                .iter()
                .map(|r| Rec {
                    ts_us: t0 + (r.ts_us - t0) * i64::from(*pct) / 100,
                    ..r.clone()
                })
                .collect();
            write_pcap(&scaled, 262_144)
        }
        Recapture::StartAt(pm) => {
            write_pcap(&recs[(n * *pm as usize / 1000).min(n - 1)..], 262_144)
        }
        Recapture::EndAt(pm) => write_pcap(&recs[..(n * *pm as usize / 1000).max(1)], 262_144),
        Recapture::Snap(s) => write_pcap(recs, *s),
        Recapture::TwoPoints => write_two_points(recs),
        Recapture::Doubled => {
            let twice: Vec<Rec> = recs
                .iter()
                .flat_map(|r| {
                    [
                        r.clone(),
                        Rec {
                            ts_us: r.ts_us + 10,
                            ..r.clone()
                        },
                    ]
                })
                .collect();
            write_pcap(&twice, 262_144)
        }
        Recapture::Drop(n) => {
            let kept: Vec<Rec> = recs
                .iter()
                .enumerate()
                .filter(|(i, _)| (i + 1) % *n as usize != 0)
                .map(|(_, r)| r.clone())
                .collect();
            write_pcap(&kept, 262_144)
        }
    }
}

fn recaptures() -> impl Strategy<Value = Recapture> {
    prop_oneof![
        (20u32..=500).prop_map(Recapture::Timing),
        (1u32..1000).prop_map(Recapture::StartAt),
        (1u32..1000).prop_map(Recapture::EndAt),
        prop_oneof![Just(64u32), Just(96), Just(128), Just(200), 54u32..400]
            .prop_map(Recapture::Snap),
        Just(Recapture::TwoPoints),
        Just(Recapture::Doubled),
        (5u32..60).prop_map(Recapture::Drop),
    ]
}

fn assert_never_failed(name: &str, how: &Recapture, bytes: &[u8]) -> Result<(), TestCaseError> {
    let r = analyze_reader(name, bytes, &Options::default());
    for c in &r.connections {
        let d = &c.diagnosis;
        prop_assert!(
            d.outcome != Outcome::Failed,
            "{name} recaptured as {how:?}: stream {} reported failed: {:?} at {:?}, {:?}, caveats {:?}",
            c.timeline.stream,
            d.cause.as_ref().map(|c| (c.id.id(), c.confidence.name())),
            d.failed_step.map(|s| s.id()),
            d.ending.id(),
            d.caveats
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn a_healthy_session_is_never_reported_failed(which in 0..HEALTHY.len(), how in recaptures()) {
        let name = HEALTHY[which];
        let recs = read_pcap(name);
        assert_never_failed(name, &how, &recapture(&recs, &how))?;
    }
}

/// The edges of each perturbation, on every healthy session, whatever the
/// random cases drew.
#[test]
fn the_extremes_of_each_perturbation() {
    let hows = [
        Recapture::Timing(20),
        Recapture::Timing(500),
        Recapture::Snap(64),
        Recapture::Snap(96),
        Recapture::Snap(128),
        Recapture::TwoPoints,
        Recapture::Doubled,
        Recapture::Drop(5),
        Recapture::Drop(17),
    ];
    let mut failures = Vec::new();
    for name in HEALTHY {
        let recs = read_pcap(name);
        for how in &hows {
            if let Err(e) = assert_never_failed(name, how, &recapture(&recs, how)) {
                failures.push(e.to_string());
            }
        }
        // Every place the capture could start or end.
        for cut in (1..recs.len()).step_by((recs.len() / 40).max(1)) {
            for how in [Recapture::StartAt(0), Recapture::EndAt(0)] {
                let bytes = match how {
                    Recapture::StartAt(_) => write_pcap(&recs[cut..], 262_144),
                    _ => write_pcap(&recs[..cut], 262_144),
                };
                let how = match how {
                    Recapture::StartAt(_) => format!("start at packet {cut}"),
                    _ => format!("end at packet {cut}"),
                };
                let r = analyze_reader(name, &bytes[..], &Options::default());
                for c in &r.connections {
                    if c.diagnosis.outcome == Outcome::Failed {
                        failures.push(format!(
                            "{name} ({how}): stream {} failed: {:?} at {:?}",
                            c.timeline.stream,
                            c.diagnosis.cause.as_ref().map(|c| c.id.id()),
                            c.diagnosis.failed_step.map(|s| s.id())
                        ));
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The same capture with every frame carrying an 802.1Q tag, or an
/// 802.1ad outer tag and an 802.1Q inner one (QinQ): a VLAN tag changes
/// the link header, nothing above it (IEEE 802.1Q 9.3), so every verdict
/// must equal the untagged capture's, which tests/verdicts.rs holds to
/// the labels. Healthy sessions and failures of each phase.
#[test]
fn vlan_tags_change_no_verdict() {
    let tag = |recs: &[Rec], tpids: &[u16]| -> Vec<Rec> {
        recs.iter()
            .map(|r| {
                let mut data = r.data[..12].to_vec();
                for (i, tpid) in tpids.iter().enumerate() {
                    data.extend_from_slice(&tpid.to_be_bytes());
                    // PCP 0, DEI 0, VLAN id 100 + i.
                    data.extend_from_slice(&(100 + i as u16).to_be_bytes());
                }
                data.extend_from_slice(&r.data[12..]);
                Rec {
                    orig_len: r.orig_len + 4 * tpids.len() as u32,
                    data,
                    ..r.clone()
                }
            })
            .collect()
    };
    let verdicts = |name: &str, bytes: &[u8]| -> Vec<String> {
        let r = analyze_reader(name, bytes, &Options::default());
        r.connections
            .iter()
            .map(|c| {
                let d = &c.diagnosis;
                format!(
                    "stream {} {:?} {:?} last {:?} failed {:?} {} {:?}",
                    c.timeline.stream,
                    d.outcome,
                    d.phase,
                    d.last_step.map(|s| s.id()),
                    d.failed_step.map(|s| s.id()),
                    d.ending.id(),
                    d.cause.as_ref().map(|c| (c.id.id(), c.confidence.name()))
                )
            })
            .collect()
    };
    let failures = [
        "06-port-closed.pcap",
        "11-hybrid-required-by-server.pcap",
        "13-cert-expired.pcap",
        "18-middlebox-reset-tls.pcap",
        "05-nla-wrong-password.pcap",
    ];
    for name in HEALTHY.iter().chain(failures.iter()) {
        let recs = read_pcap(name);
        let plain = verdicts(name, &write_pcap(&recs, 262_144));
        assert!(!plain.is_empty(), "{name}: no connection");
        for tpids in [&[0x8100u16][..], &[0x88a8, 0x8100]] {
            let tagged = verdicts(name, &write_pcap(&tag(&recs, tpids), 262_144));
            assert_eq!(tagged, plain, "{name} tagged {tpids:04x?}");
        }
    }
}
