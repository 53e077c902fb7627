//! The report of the attempts across protocols (DNS, Kerberos, RDP-UDP
//! and TCP; `diagnose::neighbours`): the serde types of the JSON
//! contract's `neighbour_attempts` and `neighbours`, and the lines the
//! text formats print.

use super::model::{client_messages, CauseReport, EvidenceItem};
use crate::analyze::SideResult;
use crate::diagnose::neighbours::{CrossAttempt, LookupResult, Part};
use serde::{Deserialize, Serialize};

/// What the capture held on neighbour ports.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NeighbourCounts {
    /// DNS, Kerberos and RDP-UDP handshake messages decoded and kept.
    pub messages: u64,
    /// Decoded but not kept (past the bound per capture).
    pub dropped: u64,
    /// Datagrams whose payload the capture cut (snap length).
    pub cut: u64,
    /// Messages on a neighbour port that did not decode.
    pub undecoded: u64,
    /// TCP connections on the DNS and Kerberos ports.
    pub tcp_streams: u64,
}

/// One client's attempt to reach a server, across protocols.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NeighbourAttempt {
    pub client: String,
    /// The server's address, when a TCP or UDP part shows it.
    pub server: Option<String>,
    /// The names the server went by (looked up, ticket asked for, SNI,
    /// certificate).
    pub names: Vec<String>,
    /// Its parts, in order of their first frame.
    pub parts: Vec<NeighbourPart>,
    /// The cause the neighbours show (the TCP verdicts are unchanged).
    pub cause: Option<CauseReport>,
    /// How the cause stands to the attempt's TCP connection.
    pub relation: Option<String>,
    pub evidence: Vec<EvidenceItem>,
}

/// One part of an attempt.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NeighbourPart {
    /// `dns`, `kerberos`, `rdp_udp` or `tcp`.
    pub kind: String,
    /// Every frame of the part, in order.
    pub frames: Vec<u64>,
    pub first_ts: String,
    /// One line, e.g. "DNS look-up of rdp.lab.test (server 10.0.0.1):
    /// NXDOMAIN".
    pub text: String,
    /// `tcp.stream` of a TCP part (or of the TCP connection that carried a
    /// DNS or Kerberos message).
    pub stream: Option<u64>,
    /// dns: `resolved`, `not_found`, `no_address`, `unanswered`;
    /// kerberos: `answered`, `error`, `unanswered`; rdp_udp: `completed`,
    /// `unanswered`; tcp: the connection's outcome.
    pub result: String,
    /// dns: the addresses of the answer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
    /// dns: `address`, `name`, `time` or `alone` (how it was tied to the
    /// attempt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tied_by: Option<String>,
    /// kerberos: the KRB-ERROR code and its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_name: Option<String>,
    /// kerberos: the service principal asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// kerberos: the client principal (the user), when the request names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_principal: Option<String>,
    /// kerberos: the realm of the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realm: Option<String>,
    /// rdp_udp: `rdpeudp` or `rdpeudp2` when the SYNEX version says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// tcp: the routing token of its X.224 Connection Request (a
    /// redirected leg).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routing_token: Option<String>,
}

pub fn counts(s: &SideResult) -> Option<NeighbourCounts> {
    let n = &s.neighbours;
    if n.is_empty() && s.tcp_streams == 0 {
        return None;
    }
    Some(NeighbourCounts {
        messages: n.events.len() as u64,
        dropped: n.dropped,
        cut: n.cut,
        undecoded: n
            .events
            .iter()
            .filter(|e| {
                matches!(
                    e.msg,
                    crate::proto::neighbour::SideMessage::Undecoded { .. }
                )
            })
            .count() as u64,
        tcp_streams: s.tcp_streams,
    })
}

pub fn attempt(a: &CrossAttempt) -> NeighbourAttempt {
    NeighbourAttempt {
        client: a.client.to_string(),
        server: a.server.map(|s| s.to_string()),
        names: a.names.clone(),
        parts: a.parts.iter().map(part).collect(),
        cause: a.cause.as_ref().map(|c| CauseReport {
            id: c.id.id().into(),
            confidence: c.confidence.name().into(),
            basis: c.basis.name().into(),
            grounds: c.grounds.name().into(),
            summary: c.summary.clone().into(),
            remediation: c.remediation.clone().into(),
            client_messages: client_messages(c.id, None),
        }),
        relation: a.cause.as_ref().and_then(|c| c.relation.clone()),
        evidence: a
            .cause
            .iter()
            .flat_map(|c| &c.evidence)
            .map(|e| EvidenceItem {
                frame: e.frame,
                time_s: None,
                text: e.clue.to_string(),
                kind: e.clue.kind().into(),
            })
            .collect(),
    }
}

fn part(p: &Part) -> NeighbourPart {
    let mut out = NeighbourPart {
        kind: p.kind().to_string(),
        frames: p.frames(),
        first_ts: p.first_ts().to_rfc3339(),
        text: p.to_string(),
        stream: None,
        result: String::new(),
        addresses: Vec::new(),
        tied_by: None,
        error_code: None,
        error_name: None,
        service: None,
        client_principal: None,
        realm: None,
        version: None,
        routing_token: None,
    };
    match p {
        Part::Dns(l) => {
            out.result = match l.result() {
                LookupResult::Resolved => "resolved",
                LookupResult::NotFound => "not_found",
                LookupResult::NoAddress(_) => "no_address",
                LookupResult::Unanswered => "unanswered",
            }
            .into();
            out.addresses = l.addresses.iter().map(|a| a.to_string()).collect();
            out.tied_by = Some(l.tie.name().into());
        }
        Part::Kerberos(k) => {
            out.result = match (&k.reply, k.error()) {
                (None, _) => "unanswered",
                (Some(_), Some(_)) => "error",
                (Some(_), None) => "answered",
            }
            .into();
            out.error_code = k.error().map(|e| e.0);
            out.error_name = k.error().map(|e| e.to_string());
            out.service = k.request.service.clone();
            out.client_principal = k.request.client.clone();
            out.realm = Some(k.request.realm.clone());
            if let crate::timeline::neighbours::Carrier::Tcp { stream } = k.carrier {
                out.stream = Some(stream);
            }
        }
        Part::Udp(u) => {
            out.result = if u.completed() {
                "completed"
            } else {
                "unanswered"
            }
            .into();
            out.version = u
                .synack
                .as_ref()
                .or(u.syn.as_ref())
                .and_then(|h| h.version)
                .map(|v| if v == 0x0101 { "rdpeudp2" } else { "rdpeudp" }.into());
        }
        Part::Tcp(t) => {
            out.result = t.outcome.name().into();
            out.stream = Some(t.stream);
            out.routing_token = t.routing_token.as_ref().map(|(_, t)| t.clone());
        }
        Part::Gateway(g) => {
            out.result = match (g.failure(), &g.response) {
                (Some(f), _) => f.id().into(),
                (None, Some((_, s, _))) => format!("http_{s}"),
                (None, None) => "no_failure_seen".into(),
            };
            out.stream = Some(g.stream);
        }
    }
    out
}

/// The lines the text formats print for one attempt: a heading, each part
/// with its frames, then the cause.
pub fn lines(a: &NeighbourAttempt) -> Vec<String> {
    let (server, names) = match (a.server.as_deref(), a.names.split_first()) {
        (Some(s), _) if a.names.is_empty() => (s, String::new()),
        (Some(s), _) => (s, format!(" ({})", a.names.join(", "))),
        (None, Some((first, []))) => (first.as_str(), String::new()),
        (None, Some((first, rest))) => (first.as_str(), format!(" ({})", rest.join(", "))),
        (None, None) => ("an unknown server", String::new()),
    };
    let mut v = vec![format!("Attempt from {} to {server}{names}:", a.client)];
    for p in &a.parts {
        let frames: Vec<String> = p.frames.iter().map(|f| f.to_string()).collect();
        v.push(format!("  - {} [frames {}]", p.text, frames.join(", ")));
    }
    if let Some(c) = &a.cause {
        v.push(format!(
            "  Cause: {} ({}): {}",
            c.id,
            c.strength(),
            c.summary
        ));
        if let Some(r) = &a.relation {
            v.push(format!("  With TCP: {r}"));
        }
        for m in c
            .client_messages
            .iter()
            .filter(|m| m.disconnect_reason.is_some())
        {
            v.push(format!(
                "  The user likely saw: {} ({} confidence)",
                m.message, m.confidence
            ));
        }
        v.push(format!("  Remedy: {}", c.remediation));
    }
    v
}
