//! TLS decryption against tshark: the application-data plaintext of every
//! record we decrypt equals, record by record and in order, the bytes
//! tshark 4.0 shows as "Decrypted TLS" for the same connection and
//! direction, with the same secrets; so do the alerts decryption reads.
//!
//! Reads the public corpus in place (`../shared/corpus`, see
//! `tests/common`) and runs tshark; both missing is a plain note, except
//! with `CI=true`, where it is a failure.

use rdptriage::analyze::StreamHoles;
use rdptriage::common::Dir;
use rdptriage::proto::decrypt::keys::{Keys, Origin};
use rdptriage::proto::decrypt::{decrypt_connection, DecryptStatus, SecretUsed};
use rdptriage::proto::tls::TlsEvent;
use rdptriage::proto::ProtoEvent;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

mod common;

fn tshark_present() -> bool {
    let ok = Command::new("tshark")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok && std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but tshark is missing: the decryption oracle must run in CI");
    }
    ok
}

fn tshark(args: &[&str]) -> String {
    let out = Command::new("tshark")
        .args(args)
        .output()
        .expect("run tshark");
    assert!(
        out.status.success(),
        "tshark {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Per (tcp.stream, to server?): tshark's decrypted application-data
/// records in order. Frames holding only application-data records
/// (content type 23) are taken; their "Decrypted TLS" hex blocks are
/// the records' plaintexts.
fn tshark_plaintext(capture: &Path, secrets: &str) -> BTreeMap<(u64, bool), Vec<Vec<u8>>> {
    let cap = capture.to_str().expect("path");
    let base = [
        "-r",
        cap,
        "-o",
        secrets,
        "-d",
        "tcp.port==3389,tls",
        "-Y",
        "tls",
    ];
    let mut a = base.to_vec();
    a.extend([
        "-T",
        "fields",
        "-e",
        "tcp.stream",
        "-e",
        "tcp.dstport",
        "-e",
        "tls.record.content_type",
    ]);
    let fields = tshark(&a);
    let mut a = base.to_vec();
    a.push("-x");
    let hex = tshark(&a);
    // One packet per block of lines; a packet with several data sources
    // names each ("Frame (N bytes):", "Decrypted TLS (N bytes):", ...).
    let mut packets: Vec<Vec<Vec<u8>>> = Vec::new();
    let mut cur: Option<Vec<u8>> = None;
    let mut new_packet = true;
    for line in hex.lines() {
        let offset_len = line.bytes().take_while(|b| b.is_ascii_hexdigit()).count();
        let data_line = offset_len >= 4 && line[offset_len..].starts_with("  ");
        if new_packet && !line.trim().is_empty() {
            packets.push(Vec::new());
            new_packet = false;
        }
        if data_line {
            if let Some(b) = cur.as_mut() {
                // "0000  14 00 00 0c 57 ...   ascii": 16 hex pairs, then text.
                let hexpart = &line[offset_len + 2..];
                let hexpart = hexpart.get(..48).unwrap_or(hexpart);
                b.extend(
                    hexpart
                        .split_whitespace()
                        .map(|h| u8::from_str_radix(h, 16).expect("hex")),
                );
            }
            continue;
        }
        if let Some(b) = cur.take() {
            packets.last_mut().expect("frame").push(b);
        }
        if line.trim().is_empty() {
            // Packets are separated by a blank line.
            new_packet = true;
            continue;
        }
        if line.starts_with("Decrypted TLS (") {
            cur = Some(Vec::new());
        }
    }
    if let Some(b) = cur.take() {
        packets.last_mut().expect("frame").push(b);
    }
    let rows: Vec<&str> = fields.lines().collect();
    assert_eq!(
        rows.len(),
        packets.len(),
        "tshark field rows and hex dumps differ in number"
    );
    let mut out: BTreeMap<(u64, bool), Vec<Vec<u8>>> = BTreeMap::new();
    for (row, blocks) in rows.iter().zip(packets) {
        let f: Vec<&str> = row.split('\t').collect();
        let stream: u64 = f[0].parse().expect("tcp.stream");
        let to_server = f[1] == "3389";
        if !f[2].is_empty() && f[2].split(',').all(|t| t == "23") {
            out.entry((stream, to_server)).or_default().extend(blocks);
        }
    }
    out
}

/// Per (tcp.stream, to server?): the alerts (level, description) tshark
/// reads, in order. In these captures every alert comes after the
/// handshake: tshark reads it only by decrypting it.
fn tshark_alerts(capture: &Path, secrets: &str) -> BTreeMap<(u64, bool), Vec<(u8, u8)>> {
    let cap = capture.to_str().expect("path");
    let text = tshark(&[
        "-r",
        cap,
        "-o",
        secrets,
        "-d",
        "tcp.port==3389,tls",
        "-Y",
        "tls.alert_message",
        "-T",
        "fields",
        "-e",
        "tcp.stream",
        "-e",
        "tcp.dstport",
        "-e",
        "tls.alert_message.level",
        "-e",
        "tls.alert_message.desc",
    ]);
    let mut out: BTreeMap<(u64, bool), Vec<(u8, u8)>> = BTreeMap::new();
    for row in text.lines() {
        let f: Vec<&str> = row.split('\t').collect();
        let key = (f[0].parse().expect("tcp.stream"), f[1] == "3389");
        for (l, d) in f[2].split(',').zip(f[3].split(',')) {
            let alert = (l.parse().expect("level"), d.parse().expect("description"));
            out.entry(key).or_default().push(alert);
        }
    }
    out
}

/// Decrypt every connection of `cap` with `keys` and compare each
/// direction's application-data records, and the alerts read, with
/// tshark's (given `secrets`, a tshark `-o` preference). A connection
/// tshark decrypts nothing of must be one whose secrets the key log
/// lacks. Returns the number of records compared.
fn compare(cap: &Path, secrets: &str, keys: &Keys, rsa: bool) -> usize {
    let want = tshark_plaintext(cap, secrets);
    let want_alerts = tshark_alerts(cap, secrets);
    let name = cap.display();
    let mut compared = 0;
    let conns = common::flow_connections(cap);
    assert!(conns.len() >= want.keys().map(|k| k.0).max().map_or(0, |m| m + 1) as usize);
    for c in conns {
        let sh = StreamHoles::of(&c);
        let d = decrypt_connection(sh.input(&c, 0), sh.input(&c, 1), keys);
        if !want.keys().any(|k| k.0 == c.stream) {
            assert!(
                matches!(
                    d.summary.status,
                    DecryptStatus::NoKeyForClientRandom | DecryptStatus::MissingTls13Secret { .. }
                ),
                "{name} stream {}: tshark decrypted nothing, we say {}",
                c.stream,
                d.summary.status
            );
            continue;
        }
        let ok = match &d.summary.status {
            DecryptStatus::Decrypted {
                with: SecretUsed::RsaKey { .. },
            } => rsa,
            DecryptStatus::Decrypted {
                with: SecretUsed::KeyLog { .. },
            } => !rsa,
            _ => false,
        };
        assert!(ok, "{name} stream {}: {}", c.stream, d.summary.status);
        // Every record verified; the only events are the alerts read.
        let mut alerts: BTreeMap<(u64, bool), Vec<(u8, u8)>> = BTreeMap::new();
        for e in &d.events {
            match e.event {
                ProtoEvent::Tls(TlsEvent::DecryptedAlert { level, description }) => alerts
                    .entry((c.stream, e.dir == Dir::ToServer))
                    .or_default()
                    .push((level, description)),
                _ => panic!("{name}: {e:?}"),
            }
        }
        for to_server in [true, false] {
            let key = (c.stream, to_server);
            assert_eq!(
                alerts.get(&key),
                want_alerts.get(&key),
                "{name} stream {} to_server={to_server}: decrypted alerts",
                c.stream
            );
        }
        let plain = d.plain.expect("plaintext");
        for (i, to_server) in [(0, true), (1, false)] {
            let p = &plain[i];
            let ours: Vec<Vec<u8>> = p
                .spans
                .iter()
                // tshark shows no data source for an empty record (OpenSSL
                // sends one before each TLS 1.0 CBC record against BEAST).
                .filter(|s| s.plain_end > s.plain_start)
                .map(|s| p.data[s.plain_start as usize..s.plain_end as usize].to_vec())
                .collect();
            let theirs = want
                .get(&(c.stream, to_server))
                .cloned()
                .unwrap_or_default();
            assert!(
                !theirs.is_empty(),
                "{name}: tshark decrypted nothing in stream {} ({to_server})",
                c.stream
            );
            assert_eq!(
                ours.len(),
                theirs.len(),
                "{name} stream {} to_server={to_server}",
                c.stream
            );
            for (k, (a, b)) in ours.iter().zip(&theirs).enumerate() {
                assert_eq!(
                    a, b,
                    "{name} stream {} to_server={to_server} record {k}",
                    c.stream
                );
            }
            assert_eq!(d.summary.records[i].failed, 0);
            compared += ours.len();
        }
    }
    assert!(compared > 0, "{name}");
    eprintln!("{name}: {compared} records equal to tshark's");
    compared
}

fn check(capture: &str, key: &str) {
    let Some(dir) = common::corpus_dir() else {
        common::skip_note("decryption against tshark");
        return;
    };
    if !tshark_present() {
        eprintln!("tshark not found: decryption against tshark skipped");
        return;
    }
    let (cap, keyf) = (dir.join(capture), dir.join("keys").join(key));
    let mut keys = Keys::default();
    let pem = std::fs::read_to_string(&keyf).expect("key file");
    keys.add_rsa_pem(&pem, Origin::File(key.into()))
        .expect("RSA key");
    let secrets = format!("tls.keys_list:0.0.0.0,3389,tpkt,{}", keyf.display());
    compare(&cap, &secrets, &keys, true);
}

/// Every lab capture of `testdata/decrypt` (made by
/// `testdata/lab/make-decrypt-captures.sh`): TLS 1.0 to 1.3, CBC with and
/// without encrypt-then-MAC, AES-GCM, ChaCha20-Poly1305, TLS 1.3
/// KeyUpdate, a TLS 1.3 HelloRetryRequest, RSA key exchange with the
/// extended master secret; and real RDP sessions, xfreerdp with its key
/// log (`testdata/lab/make-rdp-keylog-captures.sh`): to xrdp over TLS 1.3 AES-256-GCM,
/// TLS 1.2 ECDHE-RSA-AES256-GCM-SHA384, TLS 1.0 ECDHE-RSA-AES256-CBC-SHA
/// with encrypt-then-MAC, NLA sessions against freerdp-shadow-cli, and a
/// key log missing one connection's lines.
#[test]
fn lab_captures_decrypt_as_tshark_does() {
    if !tshark_present() {
        eprintln!("tshark not found: decryption against tshark skipped");
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/decrypt");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("testdata/decrypt")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap"))
        .collect();
    names.sort();
    assert!(names.len() >= 10, "{names:?}");
    for cap in names {
        let (keylog, pem) = (cap.with_extension("keys"), cap.with_extension("pem"));
        let mut keys = Keys::default();
        let (secrets, rsa) = if keylog.is_file() {
            let text = std::fs::read_to_string(&keylog).expect("key log");
            let st = keys.add_key_log(&text, Origin::File(keylog.display().to_string()));
            assert_eq!(st.malformed, 0, "{st:?}");
            (format!("tls.keylog_file:{}", keylog.display()), false)
        } else {
            let text = std::fs::read_to_string(&pem).expect("RSA key");
            keys.add_rsa_pem(&text, Origin::File(pem.display().to_string()))
                .expect("RSA key");
            (
                format!("tls.keys_list:0.0.0.0,3389,tls,{}", pem.display()),
                true,
            )
        };
        compare(&cap, &secrets, &keys, rsa);
    }
}

/// Windows 7 mstsc to Server 2008 R2, NLA, TLS 1.0 TLS_RSA_WITH_AES_128_CBC_SHA
/// (chained IVs, MAC-then-encrypt), two connections.
#[test]
fn nla_win7_win2k8r2_decrypts_as_tshark_does() {
    check(
        "zeek/nla_win7_win2k8r2.pcap",
        "nla_win7_win2k8r2.W2K8R2.key",
    );
}

/// A capture that starts at the ClientHello (no SYN), RDP in TLS without NLA.
#[test]
fn rdp_ssl_decrypts_as_tshark_does() {
    check("wireshark-wiki/rdp-ssl.pcap.gz", "rdp-ssl.key");
}

/// A record changed in transit does not verify: it is an anomaly naming
/// the record and a hole in the plaintext, never decoded, and the records
/// around it still decrypt.
#[test]
fn a_tampered_record_is_an_anomaly_and_a_hole() {
    use rdptriage::proto::{Anomaly, ProtoEvent};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/decrypt");
    let cap = dir.join("tls12-ecdhe-aes256gcm.pcap");
    let mut keys = Keys::default();
    let text = std::fs::read_to_string(cap.with_extension("keys")).expect("key log");
    keys.add_key_log(&text, Origin::File("k".into()));
    let mut c = common::flow_connections(&cap).remove(0);
    let sh = StreamHoles::of(&c);
    let clean = decrypt_connection(sh.input(&c, 0), sh.input(&c, 1), &keys);
    let plain = clean.plain.expect("decrypted");
    let spans = &plain[0].spans;
    assert!(spans.len() >= 2, "{spans:?}");
    // Flip the last byte (inside the tag) of the first application record.
    let victim = spans[0];
    c.half[0].data[victim.cipher_end as usize - 1] ^= 0x01;
    let sh = StreamHoles::of(&c);
    let d = decrypt_connection(sh.input(&c, 0), sh.input(&c, 1), &keys);
    assert_eq!(d.summary.records[0].failed, 1);
    assert_eq!(
        d.summary.records[0].decrypted,
        clean.summary.records[0].decrypted - 1
    );
    assert_eq!(d.events.len(), 1, "{:?}", d.events);
    let e = &d.events[0];
    assert_eq!((e.start, e.end), (victim.cipher_start, victim.cipher_end));
    assert!(
        matches!(
            e.event,
            ProtoEvent::Anomaly {
                what: Anomaly::RecordNotAuthentic {
                    seq: 1,
                    content_type: 23,
                    ..
                }
            }
        ),
        "{:?}",
        e.event
    );
    let p = &d.plain.expect("decrypted")[0];
    assert_eq!(p.holes.first().map(|h| h.0), Some(0));
    // The next record is intact and decrypted as before.
    let next = p.spans[0];
    let want = &plain[0].data[spans[1].plain_start as usize..spans[1].plain_end as usize];
    assert_eq!(
        &p.data[next.plain_start as usize..next.plain_end as usize],
        want
    );
}
