//! What `proto::decode_inner` reads in the decrypted plaintext of RDP
//! connections, against what tshark dissects in the same connections.
//!
//! The expectations, `testdata/expected/inner-tshark.tsv`, are tshark's
//! dissection with the servers' RSA keys, written by
//! `scripts/compare-inner-decoding.sh` (never edited by hand): per
//! connection and direction, the sequence of CredSSP/NTLM messages and RDP
//! PDUs, the NTLM user, domain and workstation, the OS versions of the NTLM
//! messages, the Client Info user and domain, and the number of fast-path
//! PDUs. The plaintext fed to the decoder is tshark's too (`-z
//! follow,tls,raw`): this test checks the decoding, not the decryption. It needs the public corpus and tshark; without either
//! it says so and passes, except in CI (`CI=true`), where it fails.

use rdptriage::common::Dir;
use rdptriage::proto::ntlm::NtlmMessage;
use rdptriage::proto::tsrequest::{Mechanism, TsRequest};
use rdptriage::proto::{decode_inner, McsEvent, NlaEvent, ProtoEvent, StreamInput};
use std::path::Path;
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

/// Both directions' plaintext of one connection, as tshark decrypts it.
fn plaintext(capture: &Path, key: &Path, stream: u32) -> (Vec<u8>, Vec<u8>) {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(capture)
        .arg("-o")
        .arg(format!("tls.keys_list:0.0.0.0,3389,tpkt,{}", key.display()))
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
    // per record: the client's flush left, the server's after a tab.
    for line in text
        .lines()
        .skip_while(|l| !l.starts_with("Node 1"))
        .skip(1)
    {
        if line.starts_with('=') {
            break;
        }
        let (to, hexs) = match line.strip_prefix('\t') {
            Some(h) => (&mut server, h),
            None => (&mut client, line),
        };
        let digits = hexs.trim().as_bytes();
        for p in digits.chunks(2) {
            to.push(u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap());
        }
    }
    (client, server)
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
    let Some(corpus) = common::corpus_dir() else {
        common::skip_note("the decryption oracle");
        return;
    };
    if tshark().is_none() {
        eprintln!("tshark not found: the decryption oracle skipped");
        return;
    }
    let rows = rows();
    assert!(!rows.is_empty());
    let mut checked = 0;
    for r in &rows {
        let cap = corpus.join(r.capture.strip_prefix("corpus/").unwrap());
        let (client, server) = plaintext(&cap, &corpus.join(&r.key), r.stream);
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
