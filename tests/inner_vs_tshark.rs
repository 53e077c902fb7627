//! What `proto::decode_inner` reads in the decrypted plaintext of RDP
//! connections, against what tshark dissects in the same connections.
//!
//! The expectations, `testdata/expected/inner-tshark.tsv`, are tshark's
//! dissection with the servers' RSA keys (public Windows captures) or the
//! clients' key logs (the lab's RDP sessions in `testdata/decrypt/`, one
//! of them a pcapng carrying its own secrets), written by
//! `scripts/compare-inner-decoding.sh` (never edited by hand): per
//! connection and direction, the sequence of CredSSP/NTLM messages and RDP
//! PDUs, the NTLM user, domain and workstation, the OS versions of the NTLM
//! messages, the Client Info user and domain, and the number of fast-path
//! PDUs. The plaintext fed to the decoder is tshark's too (`-z
//! follow,tls,raw`): this test checks the decoding, not the decryption.
//! It needs tshark, and the public corpus for the Windows rows; without
//! them it says so and skips them, except in CI (`CI=true`), where it
//! fails.

use rdptriage::analyze::{analyze_path, Options};
use rdptriage::common::{Dir, Timestamp};
use rdptriage::diagnose::{diagnose, Diagnosis};
use rdptriage::proto::ntlm::NtlmMessage;
use rdptriage::proto::tsrequest::{Mechanism, TsRequest};
use rdptriage::proto::{decode_inner, McsEvent, NlaEvent, ProtoEvent, StreamInput};
use rdptriage::timeline::EventKind;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

const EXPECTED: &str = "testdata/expected/inner-tshark.tsv";

struct Row {
    capture: String,
    key: String,
    stream: u32,
    dir: Dir,
    selected: u32,
    user: Option<String>,
    domain: Option<String>,
    workstation: Option<String>,
    versions: Vec<String>,
    client_info: Option<String>,
    fast_path_pdus: u64,
    sequence: Vec<String>,
}

fn rows() -> Vec<Row> {
    let text = std::fs::read_to_string(EXPECTED).expect(EXPECTED);
    let dash = |s: &str| (s != "-").then(|| s.to_string());
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            assert_eq!(c.len(), 12, "{l}");
            Row {
                capture: c[0].to_string(),
                key: c[1].to_string(),
                stream: c[2].parse().unwrap(),
                dir: if c[3] == "to_server" {
                    Dir::ToServer
                } else {
                    Dir::ToClient
                },
                selected: match c[4] {
                    "-" => rdptriage::proto::SELECTED_UNKNOWN,
                    s => u32::from_str_radix(s.trim_start_matches("0x"), 16).unwrap(),
                },
                user: dash(c[5]),
                domain: dash(c[6]),
                workstation: dash(c[7]),
                versions: match c[8] {
                    "-" => Vec::new(),
                    v => v.split(',').map(str::to_string).collect(),
                },
                client_info: dash(c[9]),
                fast_path_pdus: c[10].parse().unwrap(),
                sequence: c[11].split(',').map(str::to_string).collect(),
            }
        })
        .collect()
}

/// tshark, or None (a failure in CI).
fn tshark() -> Option<()> {
    let ok = Command::new("tshark")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok && std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but tshark is not installed: the decryption oracle must run in CI");
    }
    ok.then_some(())
}

/// A row's capture or key file: `corpus/...` and `keys/...` in the public
/// corpus (None without it), `testdata/...` in the repository.
fn resolve(corpus: Option<&Path>, p: &str) -> Option<PathBuf> {
    match p.strip_prefix("corpus/") {
        Some(rel) => Some(corpus?.join(rel)),
        None if p.starts_with("keys/") => Some(corpus?.join(p)),
        None => Some(Path::new(env!("CARGO_MANIFEST_DIR")).join(p)),
    }
}

/// tshark's options for a row's secrets: none for `-` (the pcapng's own
/// Decryption Secrets Block), a key log for `*.keys`, else the server's
/// RSA key.
fn secrets(corpus: Option<&Path>, key: &str) -> Option<Vec<String>> {
    if key == "-" {
        return Some(Vec::new());
    }
    let path = resolve(corpus, key)?;
    let opt = if key.ends_with(".keys") {
        format!("tls.keylog_file:{}", path.display())
    } else {
        format!("tls.keys_list:0.0.0.0,3389,tpkt,{}", path.display())
    };
    Some(vec!["-o".to_string(), opt])
}

/// Both directions' plaintext of one connection, as tshark decrypts it.
fn plaintext(capture: &Path, key: &[String], stream: u32) -> (Vec<u8>, Vec<u8>) {
    let (c, s) = records(capture, key, stream);
    (c.concat(), s.concat())
}

/// Both directions' decrypted records, one per application-data record,
/// in order.
fn records(capture: &Path, key: &[String], stream: u32) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(capture)
        .args(key)
        .args(["-d", "tcp.port==3389,tls", "-q", "-z"])
        .arg(format!("follow,tls,raw,{stream}"))
        .output()
        .expect("tshark runs");
    assert!(
        out.status.success(),
        "tshark failed on {}",
        capture.display()
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let (mut client, mut server) = (Vec::new(), Vec::new());
    // After the header (Follow, Filter, Node 0, Node 1), one line of hex
    // per record: node 0's flush left, node 1's after a tab. Node 0 is
    // the client, except on a loopback capture (both ends 127.0.0.1),
    // where tshark 4.0 names the server's port there.
    let server_is_node_0 = text
        .lines()
        .find_map(|l| l.strip_prefix("Node 0: "))
        .is_some_and(|n| n.ends_with(":3389"));
    for line in text
        .lines()
        .skip_while(|l| !l.starts_with("Node 1"))
        .skip(1)
    {
        if line.starts_with('=') {
            break;
        }
        let (tabbed, hexs) = match line.strip_prefix('\t') {
            Some(h) => (true, h),
            None => (false, line),
        };
        let to = if tabbed != server_is_node_0 {
            &mut server
        } else {
            &mut client
        };
        let digits = hexs.trim().as_bytes();
        let record: Vec<u8> = digits
            .chunks(2)
            .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
            .collect();
        if !record.is_empty() {
            to.push(record);
        }
    }
    (client, server)
}

/// The frame and time of each application-data record of one connection,
/// per direction, in order (tshark shows a record in the frame carrying
/// its last byte).
fn record_frames(capture: &Path, key: &[String], stream: u32) -> [Vec<(u64, Timestamp)>; 2] {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(capture)
        .args(key)
        .args(["-d", "tcp.port==3389,tls", "-Y"])
        .arg(format!(
            "tcp.stream=={stream} && tls.record.content_type==23"
        ))
        .args([
            "-T",
            "fields",
            "-e",
            "frame.number",
            "-e",
            "frame.time_epoch",
        ])
        .args(["-e", "tcp.dstport", "-e", "tls.record.content_type"])
        .output()
        .expect("tshark runs");
    let mut v = [Vec::new(), Vec::new()];
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let c: Vec<&str> = line.split('\t').collect();
        let frame: u64 = c[0].parse().unwrap();
        let (secs, frac) = c[1].split_once('.').unwrap();
        let nanos: u32 = format!("{frac:0<9}")[..9].parse().unwrap();
        let ts = Timestamp::from_secs_nanos(secs.parse().unwrap(), nanos);
        let dir = usize::from(c[2] != "3389");
        for _ in c[3].split(',').filter(|t| *t == "23") {
            v[dir].push((frame, ts));
        }
    }
    v
}

fn tsrequest_token(t: &TsRequest) -> String {
    let mut s = format!("tsrequest:v{}", t.version);
    if let Some(Mechanism::Ntlm(m)) = t.token.as_ref().map(|t| &t.mech) {
        s += &format!(":ntlm{}", m.message_type());
    }
    if t.pub_key_auth {
        s += ":pubkeyauth";
    }
    if t.credentials {
        s += ":authinfo";
    }
    if let Some(e) = t.error_code {
        s += &format!(":error=0x{:08x}", e.0);
    }
    if t.client_nonce {
        s += ":nonce";
    }
    s
}

/// An event in the script's vocabulary, or None for what is not compared.
fn token(e: &ProtoEvent) -> Option<String> {
    use McsEvent as M;
    Some(match e {
        ProtoEvent::Nla(NlaEvent::TsRequest(t)) => tsrequest_token(t),
        ProtoEvent::FastPath { .. } => "fast-path".into(),
        ProtoEvent::Mcs(m) => match m {
            M::ConnectInitial(_) => "connect-initial".into(),
            M::ConnectResponse(_) => "connect-response".into(),
            M::ErectDomainRequest => "erect-domain-request".into(),
            M::DisconnectProviderUltimatum { .. } => "disconnect-provider-ultimatum".into(),
            M::AttachUserRequest => "attach-user-request".into(),
            M::AttachUserConfirm { .. } => "attach-user-confirm".into(),
            M::ChannelJoinRequest { .. } => "channel-join-request".into(),
            M::ChannelJoinConfirm { .. } => "channel-join-confirm".into(),
            M::ClientInfo(_) => "client-info".into(),
            M::Licensing(l) => format!("licensing:0x{:02x}", l.msg_type),
            M::DemandActive => "demand-active".into(),
            M::ConfirmActive => "confirm-active".into(),
            M::DeactivateAll => "deactivate-all".into(),
            M::ServerRedirection(_) => "server-redirection".into(),
            M::SetErrorInfo { .. } => "set-error-info".into(),
            M::SaveSessionInfo(_) => "save-session-info".into(),
            _ => return None,
        },
        _ => return None,
    })
}

#[test]
fn decoding_inside_tls_agrees_with_tshark() {
    if tshark().is_none() {
        eprintln!("tshark not found: the decryption oracle skipped");
        return;
    }
    let corpus = common::corpus_dir();
    if corpus.is_none() {
        common::skip_note("the decryption oracle on the Windows captures");
    }
    let rows = rows();
    assert!(!rows.is_empty());
    let mut checked = 0;
    for r in &rows {
        let (Some(cap), Some(key)) = (
            resolve(corpus.as_deref(), &r.capture),
            secrets(corpus.as_deref(), &r.key),
        ) else {
            continue;
        };
        let (client, server) = plaintext(&cap, &key, r.stream);
        assert!(
            !client.is_empty() && !server.is_empty(),
            "{}: tshark decrypted nothing",
            r.capture
        );
        let input = |data| StreamInput {
            data,
            holes: &[],
            limit: None,
            from_start: true,
            hidden: &[],
        };
        let mut out = decode_inner(input(&client), input(&server), r.selected);
        out.retain(|d| d.dir == r.dir);
        out.sort_by_key(|d| d.start);
        let what = format!("{} stream {} {:?}", r.capture, r.stream, r.dir);
        let odd: Vec<_> = out
            .iter()
            .filter(|d| {
                matches!(
                    d.event,
                    ProtoEvent::Anomaly { .. } | ProtoEvent::Stopped { .. }
                )
            })
            .collect();
        assert!(odd.is_empty(), "{what}: {odd:#?}");
        let got: Vec<String> = out.iter().filter_map(|d| token(&d.event)).collect();
        assert_eq!(got, r.sequence, "{what}");
        let auth = out.iter().find_map(|d| match &d.event {
            ProtoEvent::Nla(NlaEvent::TsRequest(t)) => match &t.token.as_ref()?.mech {
                Mechanism::Ntlm(NtlmMessage::Authenticate(a)) => Some(a.clone()),
                _ => None,
            },
            _ => None,
        });
        assert_eq!(auth.as_ref().and_then(|a| a.user.clone()), r.user, "{what}");
        assert_eq!(
            auth.as_ref().and_then(|a| a.domain.clone()),
            r.domain,
            "{what}"
        );
        assert_eq!(
            auth.as_ref().and_then(|a| a.workstation.clone()),
            r.workstation,
            "{what}"
        );
        // The VERSION of each NTLM message, in order (the server's OS
        // from its CHALLENGE).
        let versions: Vec<String> = out
            .iter()
            .filter_map(|d| match &d.event {
                ProtoEvent::Nla(NlaEvent::TsRequest(t)) => match &t.token.as_ref()?.mech {
                    Mechanism::Ntlm(NtlmMessage::Negotiate { version, .. }) => *version,
                    Mechanism::Ntlm(NtlmMessage::Challenge(c)) => c.version,
                    Mechanism::Ntlm(NtlmMessage::Authenticate(a)) => a.version,
                    _ => None,
                },
                _ => None,
            })
            .map(|v| format!("{}.{}.{}", v.major, v.minor, v.build))
            .collect();
        assert_eq!(versions, r.versions, "{what}: NTLM versions");
        let client_info = out.iter().find_map(|d| match &d.event {
            ProtoEvent::Mcs(McsEvent::ClientInfo(i)) => Some(format!("{}\\{}", i.domain, i.user)),
            _ => None,
        });
        assert_eq!(client_info, r.client_info, "{what}: Client Info");
        let fast_path = out
            .iter()
            .find_map(|d| match d.event {
                ProtoEvent::FastPathCount { pdus, .. } => Some(pdus),
                _ => None,
            })
            .unwrap_or(0);
        assert_eq!(fast_path, r.fast_path_pdus, "{what}: fast-path PDUs");
        checked += 1;
    }
    eprintln!("{checked} connection directions agree with tshark");
}

/// The labels of `tests/corpus-verdicts.tsv` for one connection: outcome,
/// last step, failed step, ending, cause (`*`: not checked).
fn label(file: &str, stream: u32) -> Option<[String; 5]> {
    let text = std::fs::read_to_string("tests/corpus-verdicts.tsv").unwrap();
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let c: Vec<&str> = l.split('\t').collect();
        (c[0] == file && c[1] == stream.to_string())
            .then(|| [2, 3, 4, 5, 6].map(|i| c[i].to_string()))
    })
}

fn fields(d: &Diagnosis) -> [String; 5] {
    let dash = |s: Option<&str>| s.unwrap_or("-").to_string();
    [
        d.outcome.name().to_string(),
        dash(d.last_step.map(|s| s.id())),
        dash(d.failed_step.map(|s| s.id())),
        d.ending.id().to_string(),
        dash(d.cause.as_ref().map(|c| c.id.id())),
    ]
}

/// The whole chain on real traffic: each connection's timeline as the
/// library builds it from the capture, plus the decoded plaintext placed
/// at the frames of its records, diagnosed. The verdict must still be the
/// labelled one (labels written from the captures, before decryption
/// existed), and what decryption adds must show: a session whose logon the
/// server confirmed cites its Save Session Info frame.
#[test]
fn decrypted_connections_keep_their_labelled_verdicts() {
    let Some(corpus) = common::corpus_dir() else {
        common::skip_note("the decrypted verdicts");
        return;
    };
    if tshark().is_none() {
        eprintln!("tshark not found: the decrypted verdicts skipped");
        return;
    }
    let mut checked = 0;
    let mut seen = std::collections::BTreeSet::new();
    // The lab's sessions have their own labels (tests/decrypted_lab.rs).
    for r in rows()
        .into_iter()
        .filter(|r| r.capture.starts_with("corpus/"))
    {
        if !seen.insert((r.capture.clone(), r.stream)) {
            continue;
        }
        let rel = r.capture.strip_prefix("corpus/").unwrap();
        let cap = corpus.join(rel);
        let key = secrets(Some(&corpus), &r.key).expect("key");
        let file = analyze_path(&cap.to_string_lossy(), &Options::default());
        let conn = file
            .connections
            .into_iter()
            .find(|c| c.timeline.stream == u64::from(r.stream))
            .expect("the connection");
        let mut tl = conn.timeline;
        let (client, server) = records(&cap, &key, r.stream);
        let frames = record_frames(&cap, &key, r.stream);
        assert_eq!(frames[0].len(), client.len(), "{rel}: client records");
        assert_eq!(frames[1].len(), server.len(), "{rel}: server records");
        let (c, s) = (client.concat(), server.concat());
        let input = |data| StreamInput {
            data,
            holes: &[],
            limit: None,
            from_start: true,
            hidden: &[],
        };
        let ends = |recs: &[Vec<u8>]| -> Vec<u64> {
            recs.iter()
                .scan(0u64, |acc, r| {
                    *acc += r.len() as u64;
                    Some(*acc)
                })
                .collect()
        };
        let ends = [ends(&client), ends(&server)];
        let mut logon_frame = None;
        for d in decode_inner(input(&c), input(&s), r.selected) {
            let i = usize::from(d.dir == Dir::ToClient);
            let k = ends[i].partition_point(|&e| e < d.end.max(1));
            let (frame, ts) = frames[i][k.min(frames[i].len() - 1)];
            if matches!(&d.event, ProtoEvent::Mcs(McsEvent::SaveSessionInfo(x)) if x.is_logon_notification())
            {
                logon_frame.get_or_insert(frame);
            }
            tl.push(frame, ts, d.dir, EventKind::Proto(d.event));
        }
        tl.events.sort_by_key(|e| e.frame);
        let d = diagnose(&tl);
        let want = label(rel, r.stream).expect("a label");
        let got = fields(&d);
        for (i, (w, g)) in want.iter().zip(&got).enumerate() {
            assert!(
                w == "*" || w == g,
                "{rel} stream {}: field {i}: {g} != label {w}: {d:#?}",
                r.stream
            );
        }
        if let Some(f) = logon_frame {
            assert!(
                d.evidence.iter().any(|e| e.frame == f),
                "{rel} stream {}: the logon notification (frame {f}) is not cited: {:#?}",
                r.stream,
                d.evidence
            );
        }
        checked += 1;
    }
    eprintln!("{checked} decrypted connections keep their labelled verdicts");
}
