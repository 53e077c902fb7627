//! Every key-logged RDP session of the lab (`testdata/decrypt/rdp-*`,
//! made by `testdata/lab/make-rdp-keylog-captures.sh`) against its label
//! (`testdata/decrypt/labels.tsv`): what really happened, from the
//! client's exit code and log, the server's log and tshark with the same
//! secrets. Per connection: whether and how it was decrypted (or why
//! not), the TLS version and suite, the verdict (outcome, failing step,
//! ending, cause), the frames the report must cite, the NTLMSSP message
//! types, the NTLM user, the server's CredSSP errorCode and the alerts
//! decryption reads. Needs no corpus and no tshark.

use rdptriage::analyze::{analyze_path, ConnectionResult, Options};
use rdptriage::common::Dir;
use rdptriage::proto::decrypt::keys::{Keys, Origin};
use rdptriage::proto::ntlm::NtlmMessage;
use rdptriage::proto::tls::TlsEvent;
use rdptriage::proto::tsrequest::{Mechanism, TsRequest};
use rdptriage::proto::{NlaEvent, ProtoEvent};
use rdptriage::timeline::EventKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const LABELS: &str = "testdata/decrypt/labels.tsv";

fn lab(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/decrypt")
        .join(name)
}

/// The label rows, each as (column name, value) look-ups.
fn labels() -> Vec<Vec<(String, String)>> {
    let text = std::fs::read_to_string(lab("labels.tsv")).expect(LABELS);
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    let header: Vec<String> = lines
        .next()
        .expect("header")
        .split('\t')
        .map(str::to_string)
        .collect();
    lines
        .map(|l| {
            let cells: Vec<&str> = l.split('\t').collect();
            assert_eq!(cells.len(), header.len(), "{LABELS}: {l}");
            header
                .iter()
                .cloned()
                .zip(cells.iter().map(|c| c.to_string()))
                .collect()
        })
        .collect()
}

fn get<'a>(row: &'a [(String, String)], col: &str) -> &'a str {
    &row.iter().find(|(k, _)| k == col).expect(col).1
}

/// The capture analysed with its key log (`-`: none given, the pcapng
/// carries its secrets).
fn analyse(capture: &str, keys: &str) -> Vec<ConnectionResult> {
    let mut opts = Options::default();
    if keys != "-" {
        let mut k = Keys::default();
        let text = std::fs::read_to_string(lab(keys)).expect("key log");
        k.add_key_log(&text, Origin::File(keys.to_string()));
        opts.keys = Some(Arc::new(k));
    }
    analyze_path(&lab(capture).to_string_lossy(), &opts).connections
}

fn tsrequests(c: &ConnectionResult) -> impl Iterator<Item = (u64, Dir, &TsRequest)> {
    c.timeline.events.iter().filter_map(|e| match &e.kind {
        EventKind::Proto(ProtoEvent::Nla(NlaEvent::TsRequest(t))) => Some((e.frame, e.dir, &**t)),
        _ => None,
    })
}

fn ntlm(t: &TsRequest) -> Option<&NtlmMessage> {
    match &t.token.as_ref()?.mech {
        Mechanism::Ntlm(m) => Some(m),
        _ => None,
    }
}

fn dash(s: Option<String>) -> String {
    s.unwrap_or_else(|| "-".to_string())
}

#[test]
fn every_lab_key_log_session_gets_its_labelled_verdict() {
    let rows = labels();
    assert!(rows.len() >= 9, "{LABELS}: too few rows");
    let mut failures = Vec::new();
    for row in &rows {
        let (capture, stream) = (get(row, "capture"), get(row, "stream"));
        let conns = analyse(capture, get(row, "keys"));
        let c = conns
            .iter()
            .find(|c| c.timeline.stream.to_string() == stream)
            .unwrap_or_else(|| panic!("{capture}: no stream {stream}"));
        let d = &c.diagnosis;
        let dec = c.decryption.as_ref().expect("decryption summary");
        let alerts: Vec<String> = c
            .timeline
            .events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Proto(ProtoEvent::Tls(TlsEvent::DecryptedAlert {
                    level,
                    description,
                })) => Some(format!(
                    "{}:{}:{level}:{description}",
                    e.frame,
                    e.dir.sender()
                )),
                _ => None,
            })
            .collect();
        let ntlm_types: Vec<String> = tsrequests(c)
            .filter_map(|(_, _, t)| ntlm(t))
            .map(|m| match m {
                NtlmMessage::Negotiate { .. } => "1".to_string(),
                NtlmMessage::Challenge(_) => "2".to_string(),
                NtlmMessage::Authenticate(_) => "3".to_string(),
                NtlmMessage::Other { message_type } => message_type.to_string(),
            })
            .collect();
        let user = tsrequests(c).find_map(|(_, _, t)| match ntlm(t) {
            Some(NtlmMessage::Authenticate(a)) => a.user.clone(),
            _ => None,
        });
        let error = tsrequests(c)
            .find_map(|(_, dir, t)| t.error_code.filter(|_| dir == Dir::ToClient))
            .map(|e| format!("0x{:08x}", e.0));
        let cause = match (&d.cause, d.benign) {
            (Some(c), _) => c.id.id().to_string(),
            (None, Some(b)) => format!("benign:{}", b.id()),
            (None, None) => "-".to_string(),
        };
        let got = [
            ("decryption", dec.status.id().to_string()),
            (
                "tls",
                format!(
                    "0x{:04x}/0x{:04x}",
                    dec.version.unwrap_or(0),
                    dec.suite.unwrap_or(0)
                ),
            ),
            ("outcome", d.outcome.name().to_string()),
            (
                "failed_step",
                dash(d.failed_step.map(|s| s.id().to_string())),
            ),
            ("ended_by", d.ending.id().to_string()),
            ("cause", cause),
            (
                "ntlm",
                if ntlm_types.is_empty() {
                    "-".to_string()
                } else {
                    ntlm_types.join(",")
                },
            ),
            ("ntlm_user", dash(user)),
            ("credssp_error_code", dash(error)),
            (
                "decrypted_alerts",
                if alerts.is_empty() {
                    "-".to_string()
                } else {
                    alerts.join(";")
                },
            ),
        ];
        for (col, value) in got {
            if get(row, col) != value {
                failures.push(format!(
                    "{capture} stream {stream} {col}: got {value}, label {}",
                    get(row, col)
                ));
            }
        }
        // Every frame the label says the report must cite, with what it
        // shows there.
        for want in get(row, "evidence").split(';') {
            let (kind, frame) = want.split_once('@').expect("kind@frame");
            let frame: u64 = frame.parse().expect("frame");
            if !d
                .evidence
                .iter()
                .any(|e| e.frame == frame && e.clue.kind() == kind)
            {
                failures.push(format!(
                    "{capture} stream {stream}: {kind} at frame {frame} not cited; evidence: {:?}",
                    d.evidence
                        .iter()
                        .map(|e| format!("{}@{}", e.clue.kind(), e.frame))
                        .collect::<Vec<_>>()
                ));
            }
        }
        // Decrypted or not, no record failed its MAC or tag.
        for (i, r) in dec.records.iter().enumerate() {
            if r.failed != 0 {
                failures.push(format!(
                    "{capture} stream {stream} dir {i}: {} records failed",
                    r.failed
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The report says why the connection whose key log lines are missing
/// was not decrypted, in every format's words, and decrypts the other.
#[test]
fn a_missing_key_log_line_is_told_per_connection() {
    let conns = analyse(
        "rdp-nla-two-missing-line.pcap",
        "rdp-nla-two-missing-line.keys",
    );
    let status: Vec<String> = conns
        .iter()
        .map(|c| c.decryption.as_ref().expect("summary").status.to_string())
        .collect();
    assert_eq!(
        status[0],
        "not decrypted: no key log line for its client random"
    );
    assert!(status[1].starts_with("decrypted with the SERVER_TRAFFIC_SECRET_0 key log line"));
}
