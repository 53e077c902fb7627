//! What decryption says per connection when it cannot decrypt, where
//! events decoded in plaintext land, and the secrets a capture carries,
//! over the lab captures of `testdata/decrypt` (made by
//! `testdata/lab/make-decrypt-captures.sh`, secrets beside them) and the
//! public Windows capture with a key that is not its server's.

use rdptriage::analyze::{analyze_path, Options, StreamHoles};
use rdptriage::capture;
use rdptriage::common::Dir;
use rdptriage::flow::{Connection, FlowConfig, FlowTable};
use rdptriage::packet::{Sliced, Slicer, SlicerConfig};
use rdptriage::proto::decrypt::keys::{Keys, Label, Origin};
use rdptriage::proto::decrypt::{decode_plaintext, decrypt_connection, DecryptStatus};
use rdptriage::proto::{Decoded, ProtoEvent, StreamInput};
use std::path::{Path, PathBuf};
use std::sync::Arc;

mod common;
// Shared with tests/cli.rs; this file uses part of it.
#[allow(dead_code)]
mod run_cli;

fn lab(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/decrypt")
        .join(name)
}

fn connection(path: &Path) -> Connection {
    let opts = Options::default();
    let mut slicer = Slicer::new(SlicerConfig::default());
    let mut flows = FlowTable::new(FlowConfig {
        ports: opts.ports.clone(),
        depth_cap: opts.depth_cap,
        ..FlowConfig::default()
    });
    let mut out = Vec::new();
    let file = std::fs::File::open(path).expect("open capture");
    capture::read_capture(file, |frame| {
        if let Sliced::Packet(p) = slicer.slice(frame) {
            flows.on_packet(frame.number, frame.ts, frame.orig_len, &p);
        }
        flows.drain_finished(&mut out);
    })
    .expect("read");
    out.extend(flows.finish().0);
    out.remove(0)
}

fn key_log(name: &str) -> Keys {
    let mut k = Keys::default();
    let text = std::fs::read_to_string(lab(name)).expect("key log");
    k.add_key_log(&text, Origin::File(name.into()));
    k
}

fn rsa(path: &Path) -> Keys {
    let mut k = Keys::default();
    let text = std::fs::read_to_string(path).expect("key");
    k.add_rsa_pem(&text, Origin::File(path.display().to_string()))
        .expect("RSA key");
    k
}

fn status(cap: &str, keys: &Keys) -> DecryptStatus {
    let c = connection(&lab(cap));
    let sh = StreamHoles::of(&c);
    decrypt_connection(sh.input(&c, 0), sh.input(&c, 1), keys)
        .summary
        .status
}

#[test]
fn why_a_connection_was_not_decrypted() {
    // A key log of another session: no line for this client random.
    let other = key_log("tls12-ecdhe-chacha20.keys");
    assert_eq!(
        status("tls12-ecdhe-aes256gcm.pcap", &other),
        DecryptStatus::NoKeyForClientRandom
    );
    assert_eq!(
        status("tls13-chacha20.pcap", &other),
        DecryptStatus::NoKeyForClientRandom
    );
    // An RSA key for an ECDHE suite.
    let key = rsa(&lab("tls12-rsa-aes256gcm-ems.pem"));
    assert_eq!(
        status("tls12-ecdhe-aes256gcm.pcap", &key),
        DecryptStatus::EphemeralKeyExchange { suite: 0xc030 }
    );
    // A TLS 1.3 key log that lacks one secret.
    let text = std::fs::read_to_string(lab("tls13-aes128gcm.keys")).expect("key log");
    let cut: String = text
        .lines()
        .filter(|l| !l.starts_with("SERVER_TRAFFIC_SECRET_0"))
        .map(|l| format!("{l}\n"))
        .collect();
    let mut k = Keys::default();
    k.add_key_log(&cut, Origin::File("cut".into()));
    assert_eq!(
        status("tls13-aes128gcm.pcap", &k),
        DecryptStatus::MissingTls13Secret {
            label: Label::ServerTrafficSecret0
        }
    );
}

/// The rdp-ssl server key against the Windows 7 / 2008 R2 capture: an
/// RSA suite whose certificate is not that key's.
#[test]
fn an_rsa_key_of_another_server_does_not_match() {
    let Some(dir) = common::corpus_dir() else {
        common::skip_note("RSA key mismatch");
        return;
    };
    let keys = rsa(&dir.join("keys/rdp-ssl.key"));
    let opts = Options {
        keys: Some(Arc::new(keys)),
        ..Options::default()
    };
    let r = analyze_path(
        dir.join("zeek/nla_win7_win2k8r2.pcap")
            .to_str()
            .expect("path"),
        &opts,
    );
    assert_eq!(r.connections.len(), 2);
    for c in &r.connections {
        let d = c.decryption.as_ref().expect("keys were given");
        assert_eq!(d.status, DecryptStatus::RsaKeyDoesNotMatchCertificate);
        assert_eq!(d.suite, Some(0x002f));
    }
}

/// Events a decoder finds in plaintext are placed at the ciphertext
/// record that carried them. The decoder here finds the lines the lab's
/// client sent (`make-decrypt-captures.sh` sends two).
#[test]
fn plaintext_events_land_on_their_records() {
    let c = connection(&lab("tls13-aes256gcm.pcap"));
    let sh = StreamHoles::of(&c);
    let keys = key_log("tls13-aes256gcm.keys");
    let d = decrypt_connection(sh.input(&c, 0), sh.input(&c, 1), &keys);
    let lines = |to_server: StreamInput<'_>, _to_client: StreamInput<'_>| -> Vec<Decoded> {
        let mut out = Vec::new();
        let mut at = 0;
        for line in to_server.data.split_inclusive(|&b| b == b'\n') {
            if line.ends_with(b"\n") {
                out.push(Decoded {
                    dir: Dir::ToServer,
                    start: at as u64,
                    end: (at + line.len()) as u64,
                    event: ProtoEvent::NotObservable {
                        what: String::from_utf8_lossy(line).trim().to_string(),
                    },
                });
            }
            at += line.len();
        }
        out
    };
    let events = decode_plaintext(&d, lines);
    let texts: Vec<String> = events
        .iter()
        .map(|e| match &e.event {
            ProtoEvent::NotObservable { what } => what.clone(),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(texts, ["hello from the client", "a second line after that"]);
    let client = &c.half[0].data;
    for e in &events {
        // Each lands on one application-data record (outer type 23) whose
        // length is the plaintext line + content type + 16-byte tag.
        let (s, t) = (e.start as usize, e.end as usize);
        assert_eq!(&client[s..s + 3], &[23, 3, 3]);
        let len = u16::from_be_bytes([client[s + 3], client[s + 4]]) as usize;
        assert_eq!(t, s + 5 + len);
        let ProtoEvent::NotObservable { what } = &e.event else {
            unreachable!()
        };
        assert_eq!(len, what.len() + 1 + 1 + 16);
    }
}

/// The TLS key log editcap put in a Decryption Secrets Block decrypts the
/// capture without any option.
#[test]
fn a_capture_carrying_its_secrets_decrypts_itself() {
    let r = analyze_path(
        lab("tls13-aes128gcm-dsb.pcapng").to_str().expect("path"),
        &Options::default(),
    );
    assert_eq!(r.capture_key_logs.len(), 1);
    assert_eq!(
        r.capture_key_logs[0].secrets, 4,
        "{:?}",
        r.capture_key_logs[0]
    );
    let d = r.connections[0]
        .decryption
        .as_ref()
        .expect("secrets in the capture");
    assert!(
        matches!(d.status, DecryptStatus::Decrypted { .. }),
        "{}",
        d.status
    );
    assert!(d.records[0].plaintext_bytes > 0 && d.records[1].plaintext_bytes > 0);
    // Without secrets anywhere, nothing is decrypted.
    let r = analyze_path(
        lab("tls13-aes128gcm.pcap").to_str().expect("path"),
        &Options::default(),
    );
    assert!(r.connections[0].decryption.is_none());
}

/// Wireshark's pcapng example carries a Decryption Secrets Block (TLS on
/// port 443, not analysed here): its key log lines are read and counted.
/// The independent count is that of the key log labels in the file's
/// bytes (six lines, one of them EXPORTER_SECRET, which is not used).
#[test]
fn the_wireshark_pcapng_example_has_its_secrets_read() {
    let Some(dir) = common::corpus_dir() else {
        common::skip_note("pcapng-example secrets");
        return;
    };
    let path = dir.join("wireshark-wiki/pcapng-example.pcapng");
    let bytes = std::fs::read(&path).expect("read");
    let text = String::from_utf8_lossy(&bytes);
    let count = |labels: &[&str]| -> usize {
        labels
            .iter()
            .map(|l| text.matches(&format!("{l} ")).count())
            .sum()
    };
    let used = count(&[
        "CLIENT_RANDOM",
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
        "SERVER_HANDSHAKE_TRAFFIC_SECRET",
        "CLIENT_TRAFFIC_SECRET_0",
        "SERVER_TRAFFIC_SECRET_0",
    ]);
    let unused = count(&["EXPORTER_SECRET"]);
    assert!(used > 0);
    let r = analyze_path(path.to_str().expect("path"), &Options::default());
    assert_eq!(r.capture_key_logs.len(), 1, "{:?}", r.capture_key_logs);
    let st = &r.capture_key_logs[0];
    assert_eq!(
        (st.secrets, st.unknown_labels, st.malformed),
        (used, unused, 0)
    );
}

/// Damaged input never panics: every third byte of each direction's handshake
/// flipped in turn, and each direction cut at every length, on a TLS 1.2
/// RSA-key capture (the path that parses the most: certificate, RSA
/// ClientKeyExchange, extended master secret) and a TLS 1.3 one.
#[test]
fn damaged_streams_never_panic() {
    for (cap, keys) in [
        (
            "tls12-rsa-aes256gcm-ems.pcap",
            rsa(&lab("tls12-rsa-aes256gcm-ems.pem")),
        ),
        ("tls13-aes128gcm.pcap", key_log("tls13-aes128gcm.keys")),
    ] {
        let c = connection(&lab(cap));
        let sh = StreamHoles::of(&c);
        for dir in 0..2 {
            let orig = c.half[dir].data.clone();
            for at in (0..orig.len().min(1600)).step_by(3) {
                let mut bytes = orig.clone();
                bytes[at] ^= 0x5a;
                let mut inputs = [sh.input(&c, 0), sh.input(&c, 1)];
                inputs[dir].data = &bytes;
                let _ = decrypt_connection(inputs[0], inputs[1], &keys);
                inputs[dir].data = &orig[..at];
                let _ = decrypt_connection(inputs[0], inputs[1], &keys);
            }
        }
    }
}

/// The command line: key files that cannot be used are errors naming
/// them (exit 2, before any analysis); a key log's skipped lines are
/// counted on standard error; the report says what decrypted the
/// connection in the table and in JSON, and nothing of it without keys.
#[test]
fn key_options_on_the_command_line() {
    use run_cli::{code, run, stderr, stdout};
    let cap = lab("tls12-ecdhe-chacha20.pcap");
    let cap = cap.to_str().expect("path");
    let keys = lab("tls12-ecdhe-chacha20.keys");
    let keys = keys.to_str().expect("path");

    let o = run(&["--keylog", "/nonexistent/k.log", cap]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("--keylog /nonexistent/k.log"),
        "{}",
        stderr(&o)
    );
    let o = run(&["--rsa-key", keys, cap]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains(&format!("--rsa-key {keys}: not an RSA private key")),
        "{}",
        stderr(&o)
    );

    let o = run(&["--keylog", keys, cap]);
    let err = stderr(&o);
    assert!(
        err.contains(&format!("--keylog {keys}: 1 secrets read; 1 lines skipped")),
        "{err}"
    );
    assert!(stdout(&o).contains("TLS decryption:"), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("decrypted with the CLIENT_RANDOM key log line"),
        "{}",
        stdout(&o)
    );

    let o = run(&["--format", "json", "--keylog", keys, cap]);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    let d = &doc["files"][0]["connections"][0]["decryption"];
    assert_eq!(d["status"], "decrypted_key_log");
    assert_eq!(
        d["cipher_suite"],
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"
    );
    assert_eq!(d["to_server"]["failed"], 0);

    let o = run(&["--format", "json", cap]);
    assert!(!stdout(&o).contains("\"decryption\""));
    assert!(!stdout(&o).contains("TLS decryption"));
}
