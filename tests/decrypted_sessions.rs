//! The whole pipeline with keys: the public Windows captures decrypted
//! with their servers' RSA keys, their plaintext decoded and diagnosed, and
//! the report's NTLM user, domain and workstation per connection compared
//! with tshark's dissection of the same decrypted connections
//! (`testdata/expected/inner-tshark.tsv`, written by
//! `scripts/compare-inner-decoding.sh`). The verdicts stay those the
//! corpus labels give (`tests/corpus-verdicts.tsv`), and the healthy
//! session now rests on the logon notification the server sent.

use rdptriage::analyze::{analyze_path, Options};
use rdptriage::proto::decrypt::keys::{Keys, Origin};
use rdptriage::report::{build_document, Input};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

mod common;

const EXPECTED: &str = "testdata/expected/inner-tshark.tsv";

/// (capture, key, stream) -> (ntlm user, domain, workstation) that tshark
/// shows in the client's direction.
fn tshark_ntlm() -> BTreeMap<(String, String, u64), [String; 3]> {
    let text = std::fs::read_to_string(EXPECTED).expect(EXPECTED);
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect(name);
    let (cap, key, stream, dir) = (col("capture"), col("key"), col("stream"), col("dir"));
    let (user, domain, ws) = (
        col("ntlm_user"),
        col("ntlm_domain"),
        col("ntlm_workstation"),
    );
    let mut out = BTreeMap::new();
    for l in lines {
        let c: Vec<&str> = l.split('\t').collect();
        // The lab's key-logged sessions have their own labels
        // (tests/decrypted_lab.rs).
        if c[dir] != "to_server" || !c[cap].starts_with("corpus/") {
            continue;
        }
        out.insert(
            (
                c[cap].trim_start_matches("corpus/").to_string(),
                c[key].to_string(),
                c[stream].parse().expect("stream"),
            ),
            [
                c[user].to_string(),
                c[domain].to_string(),
                c[ws].to_string(),
            ],
        );
    }
    out
}

fn report(corpus: &std::path::Path, capture: &str, key: &str) -> Value {
    let mut keys = Keys::default();
    let pem = std::fs::read_to_string(corpus.join(key)).expect("key");
    keys.add_rsa_pem(&pem, Origin::File(key.to_string()))
        .expect("RSA key");
    let opts = Options {
        keys: Some(Arc::new(keys)),
        ..Options::default()
    };
    let r = analyze_path(&corpus.join(capture).to_string_lossy(), &opts);
    serde_json::to_value(build_document(&[Input::new(&r)])).expect("json")
}

#[test]
fn decrypted_connections_agree_with_tshark() {
    let Some(corpus) = common::corpus_dir() else {
        common::skip_note("decrypted sessions");
        return;
    };
    let want = tshark_ntlm();
    assert!(want.len() >= 3, "{EXPECTED}: too few rows");
    let mut checked = 0;
    for ((capture, key, stream), [user, domain, ws]) in &want {
        let doc = report(&corpus, capture, key);
        let conn = doc["files"][0]["connections"]
            .as_array()
            .expect("connections")
            .iter()
            .find(|c| c["stream"].as_u64() == Some(*stream))
            .unwrap_or_else(|| panic!("{capture} stream {stream} not reported"));
        assert_eq!(
            conn["decryption"]["status"], "decrypted_rsa_key",
            "{capture} stream {stream}: {}",
            conn["decryption"]
        );
        let auth = conn["nla"]
            .as_array()
            .expect("nla messages")
            .iter()
            .find(|m| m["token"] == "NTLMSSP_AUTH")
            .unwrap_or_else(|| panic!("{capture} stream {stream}: no NTLM AUTHENTICATE"));
        for (field, t) in [
            ("ntlm_user", user),
            ("ntlm_domain", domain),
            ("ntlm_workstation", ws),
        ] {
            assert_eq!(
                auth[field].as_str().unwrap_or("-"),
                t,
                "{capture} stream {stream} {field}"
            );
        }
        checked += 1;
    }
    assert_eq!(checked, want.len());

    // The healthy session of the Windows 7 capture: established, and the
    // logon notification (tshark: Save Session Info, frame 489) is among
    // its evidence.
    let doc = report(
        &corpus,
        "zeek/nla_win7_win2k8r2.pcap",
        "keys/nla_win7_win2k8r2.W2K8R2.key",
    );
    let conns = doc["files"][0]["connections"].as_array().expect("conns");
    assert_eq!(conns[0]["benign"], "credential_precheck");
    assert_eq!(conns[1]["outcome"], "established");
    assert!(
        conns[1]["evidence"]
            .as_array()
            .expect("evidence")
            .iter()
            .any(|e| e["frame"] == 489 && e["text"].as_str().unwrap_or("").contains("logon")),
        "{}",
        conns[1]["evidence"]
    );
}
