//! The report document: one value per run, built from the analysis
//! results, redacted if asked, then rendered as a table, JSON or Markdown.
//!
//! These structs ARE the JSON contract (`schema_version` 1), documented
//! field by field in docs/json-schema.md. Every output format renders from
//! this document only, so redaction applied here covers them all. Fields
//! marked `#[serde(skip)]` are static labels for the human formats.

use crate::analyze::{ConnectionResult, FileResult};
use crate::capture::{Compression, OpenError, ReadSummary, WarningKind};
use crate::common::{Dir, Duration, Timestamp};
use crate::diagnose::{client_message, Benign, CauseId, Diagnosis, Ending, Outcome, Party, Phase};
use crate::flow::RoleSource;
use crate::proto::cert::CertInfo;
use crate::proto::credssp::{CredsspEvent, CredsspLeg};
use crate::proto::keyboard;
use crate::proto::mcs::{self, McsEvent, ServerCertificate};
use crate::proto::tls::{alert_name, cipher_suite_name, TlsEvent, TlsVersion};
use crate::proto::x224::{ConnectionConfirm, NegFailureCode};
use crate::proto::{Certainty, ProtoEvent};
use crate::timeline::Timeline;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::net::SocketAddr;

/// A text of the record: most are names from a fixed vocabulary (an
/// outcome, a step id, a remediation) borrowed from the program, made
/// once and never copied per connection; a few are built for the
/// connection, and a record read back from JSON owns them all. It
/// serialises as the string it holds; a fixed text says so to the
/// serialiser (a newtype named [`FIXED_TEXT`], which serde_json and other
/// serialisers see through), so that the record writer escapes it once
/// per process rather than once per connection.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Text(Cow<'static, str>);

/// The newtype name under which a [`Text`] borrowed from the program
/// serialises (see `records::compact`).
pub(crate) const FIXED_TEXT: &str = "rdptriage::FixedText";

impl Text {
    /// A text from the program's fixed vocabulary.
    pub const fn fixed(s: &'static str) -> Self {
        Text(Cow::Borrowed(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text when it is borrowed from the program.
    pub fn as_fixed(&self) -> Option<&'static str> {
        match self.0 {
            Cow::Borrowed(fixed) => Some(fixed),
            Cow::Owned(_) => None,
        }
    }

    /// The text's own string; None when it is borrowed from the program.
    pub fn owned_mut(&mut self) -> Option<&mut String> {
        match &mut self.0 {
            Cow::Owned(own) => Some(own),
            Cow::Borrowed(_) => None,
        }
    }
}

impl std::ops::Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Text {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::fmt::Display for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self)
    }
}

impl From<&'static str> for Text {
    fn from(s: &'static str) -> Self {
        Text::fixed(s)
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Text(Cow::Owned(s))
    }
}

impl From<Cow<'static, str>> for Text {
    fn from(s: Cow<'static, str>) -> Self {
        Text(s)
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<Text> for String {
    fn eq(&self, other: &Text) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Text> for &str {
    fn eq(&self, other: &Text) -> bool {
        *self == other.as_str()
    }
}

impl Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Cow::Borrowed(fixed) => s.serialize_newtype_struct(FIXED_TEXT, fixed),
            Cow::Owned(own) => s.serialize_str(own),
        }
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Text::from)
    }
}

/// Version of the JSON document's layout. Bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// The whole run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Document {
    pub schema_version: u32,
    pub tool: Tool,
    pub files: Vec<FileReport>,
    pub totals: Totals,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

/// One input file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileReport {
    /// The path as given on the command line (`-` for standard input).
    pub path: String,
    /// SHA-256 of the file's bytes as stored (before decompression), when
    /// computed (the Markdown format computes it).
    pub sha256: Option<String>,
    /// e.g. `pcap (LE, usec)`, `pcapng`; null if the file could not be read.
    pub format: Option<String>,
    /// `none`, `gzip` or `zstd`; null if the file could not be read.
    pub compression: Option<String>,
    pub link_types: Vec<LinkTypeCount>,
    pub packets: Option<u64>,
    pub bytes: Option<u64>,
    pub first_ts: Option<String>,
    pub last_ts: Option<String>,
    pub duration_s: Option<f64>,
    /// Read to its end without error.
    pub complete: bool,
    /// Why the file could not be opened or read to its end.
    pub error: Option<FileError>,
    /// Why the file was skipped rather than counted as an error: it was
    /// found (in a directory walked, or by a glob pattern) rather than
    /// named, is not a capture (or is empty), and its name does not say it
    /// is one. `error` is then null.
    pub ignored: Option<FileError>,
    pub warnings: Vec<Warning>,
    pub warnings_total: u64,
    pub skipped: Skipped,
    pub flow: FlowCounts,
    pub connections: Vec<ConnectionReport>,
    /// Connections grouped into attempts (retries); absent when the caller
    /// did not group them (the command line always does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<Vec<Attempt>>,
    /// What the capture held on the DNS, Kerberos and RDP-UDP ports;
    /// absent when nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub neighbours: Option<super::neighbours::NeighbourCounts>,
    /// Attempts across protocols (DNS look-up, Kerberos, RDP-UDP, TCP);
    /// absent when the capture holds no neighbour.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub neighbour_attempts: Vec<super::neighbours::NeighbourAttempt>,
    /// Connections the filters (`--only`, `--server`, `--client`,
    /// `--stream`) hid; absent when none did.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub filtered_out: u64,
    /// The file's place in the whole input list, before `--shard` kept
    /// a part of it (JSON Lines only: `rdptriage report` orders the files
    /// of several shards by it).
    #[serde(skip)]
    pub input_index: u64,
    /// Its names were replaced with pseudonyms (`--redact`; JSON Lines only).
    #[serde(skip)]
    pub redacted: bool,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinkTypeCount {
    pub linktype: u32,
    pub name: String,
    pub packets: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileError {
    /// `io`, `not_a_capture`, `empty`, `other` (could not be read at all) or
    /// a warning kind (`truncated`, `corrupt`, ...) when reading stopped early.
    pub kind: String,
    pub message: String,
    pub offset: Option<u64>,
    pub frame: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Warning {
    pub offset: u64,
    pub frame: Option<u64>,
    pub kind: String,
    pub message: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    pub not_ip: u64,
    pub unsupported_link: u64,
    pub fragments_held: u64,
    pub fragments_dropped: u64,
    pub malformed: u64,
    pub fragment_datagrams_discarded: u64,
    pub fragment_datagrams_incomplete: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FlowCounts {
    pub tcp_packets: u64,
    pub tcp_streams: u64,
    pub analysed_streams: u64,
    pub icmp_errors: u64,
    pub evicted: u64,
    /// Packets of a connection after it was closed and handed on (see
    /// `flow::CLOSE_GRACE`): counted, not analysed. Absent when 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub after_close: u64,
    pub over_budget: u64,
    /// Directions whose bytes past the depth cap were counted, not kept.
    pub depth_capped: u64,
    /// Directions that lost bytes to the bound on holes.
    pub hole_limited: u64,
    /// Frames of analysed connections that were copies of a packet seen
    /// at another capture point (another interface, or a router between
    /// the two points): counted, not analysed.
    pub vantage_copies: u64,
    /// The pcapng interfaces of the file (their `if_name`, else `#id`)
    /// when there are copies and more than one interface; else empty.
    pub vantage_interfaces: Vec<String>,
    /// UDP datagrams to or from the RDP ports (RDP over UDP, MS-RDPEUDP):
    /// seen and counted, not analysed.
    pub udp_on_ports: u64,
}

/// Connections from one client to one server in quick succession: one
/// attempt to connect, retried (see `diagnose::attempts`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    /// The client's address (no port: each retry has its own).
    pub client: String,
    /// `ip:port` of the server.
    pub server: String,
    /// Stream numbers in time order.
    pub streams: Vec<u64>,
    pub first_ts: String,
    pub last_ts: String,
    pub failed: usize,
    pub benign: usize,
    /// Some connection reached the session.
    pub established: bool,
    /// Every connection failed, and at the same step (`failed_step`).
    pub all_failed_same_step: bool,
    pub failed_step: Option<String>,
    /// e.g. "4 attempts from 10.0.0.1 to 10.0.0.2:3389 within 7.00 s, all
    /// failed at TCP SYN/ACK (port_closed)".
    pub summary: String,
    /// Connections whose verdict was corrected by looking at their
    /// neighbours (already applied to the connections).
    pub relabelled: Vec<Relabelled>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Relabelled {
    pub stream: u64,
    /// The corrected outcome.
    pub outcome: String,
    pub note: String,
}

/// Packets and bytes of one direction.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DirCounts {
    pub packets: u64,
    /// Frame bytes on the wire (as Wireshark's conversation table).
    pub bytes: u64,
    /// TCP payload bytes (including retransmissions).
    pub payload_bytes: u64,
    /// Why not every byte was kept for decoding: `depth_cap`, `holes`,
    /// `hole_bytes`, `memory_budget`; null when all were kept.
    pub keep_limit: Option<String>,
    /// Frames that were copies of a packet seen at another capture point
    /// (counted in `packets`, not analysed).
    pub vantage_copies: u64,
    /// Payload bytes the snap length cut from the capture.
    pub snaplen_hidden_bytes: u64,
    /// The capture started after this direction's TLS handshake: every
    /// record seen is encrypted.
    pub encrypted_from_start: bool,
}

/// One analysed TCP connection.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConnectionReport {
    /// Wireshark's `tcp.stream`.
    pub stream: u64,
    /// `ip:port`, IPv6 as `[addr]:port`.
    pub client: String,
    pub server: String,
    /// How the roles were decided: `syn`, `syn_ack` or `port`.
    pub roles: Text,
    pub first_frame: u64,
    pub last_frame: u64,
    pub first_ts: String,
    pub last_ts: String,
    pub duration_s: f64,
    pub to_server: DirCounts,
    pub to_client: DirCounts,
    /// `established`, `failed`, `incomplete`, `benign`, `not_rdp`.
    pub outcome: Text,
    /// `tcp`, `x224`, `tls`, `credssp`, `rdp`, `session`.
    pub phase: Text,
    pub last_step: Option<Text>,
    /// How the capture shows `last_step`: `seen`, `implied` (a later seen
    /// step requires it) or `inferred` (from record sizes, order or timing).
    pub last_step_certainty: Option<Text>,
    pub failed_step: Option<Text>,
    /// One sentence: what happened.
    pub what_happened: String,
    pub ended_by: EndedBy,
    pub ending_frame: Option<u64>,
    pub cause: Option<CauseReport>,
    pub benign: Option<Text>,
    pub evidence: Vec<EvidenceItem>,
    pub caveats: Vec<String>,
    pub negotiation: Option<Negotiation>,
    pub tls: Option<Tls>,
    pub certificates: Vec<Certificate>,
    /// The chain the client sent when the server asked for one
    /// (CertificateRequest); empty otherwise.
    pub client_certificates: Vec<Certificate>,
    pub client_data: Option<ClientData>,
    pub server_data: Option<ServerData>,
    pub credssp: Vec<CredsspItem>,
    /// The CredSSP messages read in the decrypted plaintext (empty when
    /// nothing was decrypted).
    pub nla: Vec<NlaItem>,
    /// The server's logon, redirection and error messages read in the
    /// decrypted plaintext (or in the clear at encryption level none).
    pub rdp_messages: Vec<RdpMessage>,
    /// TCP events past the per-connection bound, counted but not kept.
    pub events_dropped: u64,
    /// `tcp.stream eq N`.
    pub display_filter: String,
    /// `frame.number in {15 17}` over the evidence frames (null without evidence).
    pub evidence_filter: Option<String>,
    /// The ladder steps completed, in ladder order, up to `last_step`:
    /// where each was seen and how sure the capture makes it (what the
    /// HTML report and `--ladder` draw).
    pub steps: Vec<StepReached>,
    /// Key events drawn beside the steps: TCP (SYN, SYN/ACK, RST, FIN,
    /// retransmission bursts, zero windows, ICMP errors) and the messages
    /// that end a connection (TLS alerts, RDP_NEG_FAILURE), runs of the
    /// same event collapsed.
    pub events: Vec<LadderEvent>,
    #[serde(skip)]
    pub labels: StepLabels,
    /// TLS decryption: present only when secrets were given (`--keylog`,
    /// `--rsa-key`, or a Decryption Secrets Block in the capture).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decryption: Option<Decryption>,
}

/// What TLS decryption did for one connection.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decryption {
    /// `decrypted_key_log`, `decrypted_rsa_key`, `no_tls`, `no_handshake`,
    /// `no_key_for_client_random`, `missing_tls13_secret`,
    /// `unsupported_version`, `unsupported_suite`,
    /// `rsa_key_does_not_match_certificate`,
    /// `ephemeral_key_exchange`, `resumed_session`, `premaster_not_decrypted`.
    pub status: String,
    /// The sentence: which secret decrypted it, or why none did.
    pub text: String,
    /// The negotiated version and cipher suite, when the hellos were seen.
    pub version: Option<String>,
    pub cipher_suite: Option<String>,
    pub to_server: DecryptedRecords,
    pub to_client: DecryptedRecords,
}

/// Protected records of one direction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecryptedRecords {
    /// Records whose MAC or tag verified.
    pub decrypted: u64,
    /// Records that did not (each an anomaly event).
    pub failed: u64,
    /// Application-data plaintext bytes.
    pub plaintext_bytes: u64,
}

fn decryption(s: &crate::proto::decrypt::DecryptSummary) -> Decryption {
    let dir = |i: usize| DecryptedRecords {
        decrypted: s.records[i].decrypted,
        failed: s.records[i].failed,
        plaintext_bytes: s.records[i].plaintext_bytes,
    };
    Decryption {
        status: s.status.id().to_string(),
        text: s.status.to_string(),
        version: s.version.map(|v| crate::proto::tls::TlsVersion(v).name()),
        cipher_suite: s.suite.map(crate::proto::tls::cipher_suite_name),
        to_server: dir(0),
        to_client: dir(1),
    }
}

/// One completed step of the ladder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepReached {
    /// The step id ([`crate::diagnose::Step::id`]).
    pub step: Text,
    /// Who sends it: `client` or `server`.
    pub from: Text,
    /// `seen`, `implied` or `inferred`.
    pub certainty: Text,
    /// Where it was seen (null when implied).
    pub frame: Option<u64>,
    /// Seconds since the connection's first packet (null when implied).
    pub time_s: Option<f64>,
}

/// One key event, or a run of the same event collapsed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LadderEvent {
    /// `syn`, `syn_retransmission`, `syn_ack`, `syn_ack_retransmission`,
    /// `rst`, `fin`, `retransmission`, `zero_window`, `icmp_error`,
    /// `tls_alert`, `negotiation_failure`.
    pub kind: Text,
    /// `client`, `server` or `middlebox` (a forged RST, an ICMP error).
    pub from: Text,
    /// `client` or `server`.
    pub to: Text,
    pub frame: u64,
    /// The last frame of a collapsed run (equals `frame` for one event).
    pub last_frame: u64,
    /// Events in the run.
    pub count: u64,
    /// Seconds since the connection's first packet, at `frame`.
    pub time_s: f64,
    /// Seconds since the connection's first packet, at `last_frame`, for
    /// a run of several events (the drawing measures the pause after a
    /// run from it); absent when the event is alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_time_s: Option<f64>,
    /// e.g. `RST (TTL 64)`, `3 retransmissions`.
    pub text: Text,
}

impl StepLabels {
    /// The labels of a connection's steps, from their ids (for a report
    /// read back from JSON Lines).
    pub fn of(c: &ConnectionReport) -> Self {
        let label = |id: &Option<Text>| {
            id.as_deref()
                .and_then(crate::diagnose::Step::from_id)
                .map(|s| s.label())
        };
        StepLabels {
            last_step: label(&c.last_step),
            failed_step: label(&c.failed_step),
        }
    }
}

/// Human labels of the steps (not serialised).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StepLabels {
    pub last_step: Option<&'static str>,
    pub failed_step: Option<&'static str>,
}

/// How the connection ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EndedBy {
    /// `refused`, `timeout`, `reset_by_client|server|middlebox`,
    /// `closed_by_...`, `negotiation_failure`, `tls_alert`, `icmp_error`,
    /// `capture_ended`.
    pub id: Text,
    /// `client`, `server` or `middlebox` when one party ended it.
    pub party: Option<Text>,
    pub waited_s: Option<f64>,
    pub retransmissions: Option<u32>,
    /// RDP_NEG_FAILURE code and name.
    pub code: Option<u32>,
    pub code_name: Option<String>,
    /// TLS alert description and name (null for an encrypted alert).
    pub alert: Option<u8>,
    pub alert_name: Option<String>,
    pub icmp_type: Option<u8>,
    pub icmp_code: Option<u8>,
    /// One phrase, e.g. `reset by the server`.
    pub text: Text,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CauseReport {
    pub id: Text,
    /// `low`, `medium`, `high`.
    pub confidence: Text,
    /// How sure the capture makes the evidence the cause rests on:
    /// `seen`, `implied`, `inferred` (inferred caps confidence at low).
    pub basis: Text,
    /// What the cause rests on: `explicit` (a message or packet stating
    /// the failure), `position` (where the connection stopped and who
    /// closed it), `silence` (a side that did not answer).
    pub grounds: Text,
    pub summary: Text,
    pub remediation: Text,
    /// What the Windows client most likely showed (at least one entry;
    /// `none known` when no source supports a mapping).
    pub client_messages: Vec<ClientMessageReport>,
}

/// One message the Windows client (mstsc) most likely showed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClientMessageReport {
    /// One line: the codes with their meaning, a quoted dialog text, or
    /// `none known`.
    pub message: Text,
    /// IMsTscAxEvents::OnDisconnected disconnect reason ("Error code").
    pub disconnect_reason: Option<u32>,
    pub disconnect_reason_name: Option<Text>,
    /// ExtendedDisconnectReasonCode ("Extended error code").
    pub extended_reason: Option<u32>,
    pub extended_reason_name: Option<Text>,
    /// `low`, `medium`, `high`.
    pub confidence: Text,
    pub source: Text,
}

impl CauseReport {
    /// e.g. `high confidence, explicit evidence`.
    pub fn strength(&self) -> String {
        let rests = match (self.grounds.as_ref(), self.basis.as_ref()) {
            ("explicit", _) => "explicit evidence".to_string(),
            ("silence", _) => "a silence".to_string(),
            (_, basis) => {
                let article = if basis.starts_with(['a', 'e', 'i', 'o', 'u']) {
                    "an"
                } else {
                    "a"
                };
                format!("the position of {article} {basis} step")
            }
        };
        format!("{} confidence, rests on {rests}", self.confidence)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvidenceItem {
    pub frame: u64,
    /// Seconds since the connection's first packet (null when the frame
    /// carries none of the connection's events).
    pub time_s: Option<f64>,
    pub text: String,
    /// What the frame shows, as a stable identifier (`Clue::kind`).
    pub kind: Text,
}

/// The X.224 negotiation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Negotiation {
    pub request_frame: Option<u64>,
    /// The user name of `Cookie: mstshash=<user>`.
    pub cookie: Option<String>,
    /// A routing token (`Cookie: msts=...`), raw.
    pub routing_token: Option<String>,
    /// Requested protocols by name (`["SSL", "HYBRID"]`; `["RDP"]` for
    /// Standard RDP Security only); null without RDP_NEG_REQ.
    pub requested: Option<Vec<String>>,
    pub confirm_frame: Option<u64>,
    /// The protocol the server selected; `RDP` also for an old server's
    /// Connection Confirm without negotiation data (`legacy` true).
    pub selected: Option<String>,
    pub legacy: bool,
    pub failure: Option<NegFailure>,
    /// One line from the diagnosis, e.g. "client offered SSL|HYBRID, ...".
    pub sentence: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NegFailure {
    pub code: u32,
    pub name: String,
}

/// TLS handshake facts visible without keys.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tls {
    pub client_hello_frame: Option<u64>,
    /// Versions the client offers (supported_versions, or the legacy
    /// version), GREASE left out.
    pub client_versions: Vec<String>,
    pub client_max_version: Option<String>,
    pub client_cipher_suites: Option<usize>,
    pub sni: Option<String>,
    pub server_hello_frame: Option<u64>,
    pub server_version: Option<String>,
    pub cipher: Option<String>,
    /// The protocol the server selected by ALPN (RFC 7301).
    pub next_protocol: Option<String>,
    /// The clear handshake messages, ChangeCipherSpecs and alerts in the
    /// order the capture shows them, one letter each in the alphabet of
    /// Zeek's `ssl_history` (upper case: sent by the client).
    pub history: String,
    pub alerts: Vec<Alert>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub frame: u64,
    /// `client` or `server`.
    pub from: String,
    /// Level (1 warning, 2 fatal) and description; null when encrypted
    /// (and not decrypted).
    pub level: Option<u8>,
    pub description: Option<u8>,
    pub name: Option<String>,
    pub encrypted: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Certificate {
    pub frame: u64,
    pub subject: String,
    pub issuer: String,
    pub sans: Vec<String>,
    pub serial: String,
    pub not_before: String,
    pub not_after: String,
    /// Judged against the time of the frame that carried the certificate.
    pub expired_at_capture_time: bool,
    pub not_yet_valid_at_capture_time: bool,
    pub self_signed: bool,
    /// e.g. `RSA 2048`.
    pub key: String,
    /// X.509 version: 1, 2 or 3.
    pub version: u32,
    /// The subjectPublicKeyInfo algorithm identifier by name
    /// (`rsaEncryption`), or dotted.
    pub key_algorithm: String,
    /// An RSA key's public exponent.
    pub key_exponent: Option<u64>,
    /// basicConstraints cA; null without the extension.
    pub ca: Option<bool>,
    /// basicConstraints pathLenConstraint; null when absent.
    pub path_len: Option<u32>,
    pub signature_algorithm: String,
    pub extended_key_usage: Vec<String>,
    pub sha1: String,
    pub sha256: String,
    pub anomalies: Vec<String>,
}

/// What the client says about itself (GCC client core data, Client Info).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClientData {
    pub frame: u64,
    pub client_name: Option<String>,
    pub client_build: Option<u32>,
    /// e.g. `0x00000409`.
    pub keyboard_layout: Option<String>,
    /// e.g. `US`; the language's name when the layout variant is not
    /// known; `unknown (0x........)`.
    pub keyboard_layout_name: Option<String>,
    /// The layout's language, e.g. `English (United States)`.
    pub keyboard_language: Option<String>,
    /// e.g. `1920x1080`.
    pub desktop: Option<String>,
    pub color_depth: Option<u16>,
    /// 32 when the client asks for a 32 bpp session, else `color_depth`.
    pub requested_color_depth: Option<u16>,
    pub client_dig_product_id: Option<String>,
    /// Client Security Data encryptionMethods by name (`40bit`, ...).
    pub encryption_methods: Option<Vec<String>>,
    /// Client Security Data extEncryptionMethods (MS-RDPBCGR 2.2.1.3.3:
    /// used only by French-locale clients, 0 otherwise).
    pub ext_encryption_methods: Option<u32>,
    pub cluster: Option<ClusterData>,
    pub channels: Vec<String>,
    pub monitors: Option<u32>,
    /// From the Client Info PDU, when it travelled in the clear.
    pub user: Option<String>,
    pub domain: Option<String>,
}

/// TS_UD_CS_CLUSTER: what the client says for a connection broker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterData {
    /// e.g. `0x0000000d`.
    pub flags: String,
    pub redirection_supported: bool,
    pub session_id_present: bool,
    pub redirection_version: u32,
    pub redirected_smartcard: bool,
    /// Only when `session_id_present`.
    pub redirected_session_id: Option<u32>,
}

/// What the server says in its MCS Connect Response (GCC server data),
/// when it travels in the clear (Standard RDP Security).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServerData {
    pub frame: u64,
    pub result: u8,
    /// e.g. `rt-successful`.
    pub result_name: String,
    /// TS_UD_SC_CORE version, e.g. `0x00080004`.
    pub version: Option<String>,
    /// Server Security Data; null without it.
    pub encryption_method: Option<u32>,
    pub encryption_method_name: Option<String>,
    pub encryption_level: Option<u32>,
    pub encryption_level_name: Option<String>,
    pub certificate: Option<ServerCertificateReport>,
}

/// The certificate of the Server Security Data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServerCertificateReport {
    /// `proprietary`, `x509_chain` or `unknown`.
    #[serde(rename = "type")]
    pub cert_type: String,
    /// dwVersion's top bit clear; null when the field was cut.
    pub permanent: Option<bool>,
    /// Certificates carried: 1 for a proprietary one, the chain's length.
    pub count: usize,
    /// Proprietary: RSA modulus bits, public exponent, signature check.
    pub key_bits: Option<u32>,
    pub public_exponent: Option<u32>,
    /// `valid`, `invalid`, `not_checked`.
    pub signature: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CredsspItem {
    pub frame: u64,
    /// `client` or `server`.
    pub from: String,
    /// `negotiate`, `challenge`, `authenticate`, `server_pubkeyauth`,
    /// `credentials`, `early_user_auth_result`, `server_error`.
    pub leg: String,
    pub record_len: u32,
    pub certainty: String,
}

/// One decrypted CredSSP message. Never holds the NTLM responses, the
/// session key, the challenge, the nonce or the credentials themselves.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NlaItem {
    pub frame: u64,
    /// `client` or `server`.
    pub from: String,
    /// `ts_request` or `early_user_authorization_result`.
    pub kind: String,
    /// TSRequest version.
    pub version: Option<u32>,
    /// The token: `NTLMSSP_NEGOTIATE`, `NTLMSSP_CHALLENGE`,
    /// `NTLMSSP_AUTH`, `Kerberos AP-REQ`, ...
    pub token: Option<String>,
    /// `raw`, `spnego_init`, `spnego_resp`.
    pub wrapping: Option<String>,
    pub pub_key_auth: bool,
    /// authInfo (the encrypted TSCredentials) present.
    pub credentials: bool,
    pub client_nonce: bool,
    /// errorCode as `0x%08x`, its NTSTATUS name and meaning.
    pub error_code: Option<String>,
    pub error_name: Option<String>,
    pub error_meaning: Option<String>,
    /// NTLM AUTHENTICATE names.
    pub ntlm_user: Option<String>,
    pub ntlm_domain: Option<String>,
    pub ntlm_workstation: Option<String>,
    /// `NTLMv1`, `NTLMv2 (N bytes)` or `empty (anonymous)`: the kind only.
    pub ntlm_response: Option<String>,
    /// The sender's OS version from the NTLM VERSION field.
    pub os_version: Option<String>,
    /// CHALLENGE: the server's DNS or NetBIOS computer name.
    pub server_name: Option<String>,
    /// HYBRID_EX: `AUTHZ_SUCCESS`, `AUTHZ_ACCESS_DENIED` or unknown.
    pub result: Option<String>,
}

/// A server message of the connection sequence that says how the logon
/// went.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RdpMessage {
    pub frame: u64,
    /// `logon_notification`, `logon_extended_info`, `server_redirection`,
    /// `deactivate_all`, `set_error_info`.
    pub kind: String,
    /// The infoType, logon errors or errorInfo name.
    pub detail: Option<String>,
    /// Server Redirection: where the client is sent.
    pub target: Option<String>,
    pub load_balance_info: Option<String>,
}

/// Counts over the whole run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    pub files: u64,
    pub files_unreadable: u64,
    pub files_incomplete: u64,
    /// Files met in a directory that are not captures (see `FileReport::ignored`).
    pub files_ignored: u64,
    pub connections: u64,
    pub outcomes: OutcomeCounts,
    /// Failed connections per phase, in ladder order (phases with none left out).
    pub failures_by_phase: Vec<Count>,
    /// Failed connections per cause id, most frequent first.
    pub failures_by_cause: Vec<Count>,
    /// The servers with the most failed connections, most first (at
    /// most [`TOP_SERVERS`]).
    pub failures_by_server: Vec<ServerFailures>,
    /// Files that could not be read, or not to their end, and why.
    pub problems: Vec<FileProblem>,
    /// Files skipped as not captures, and why.
    pub ignored: Vec<FileProblem>,
    /// Connections the filters hid (not counted above); absent when none did.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub filtered_out: u64,
}

/// How many servers `Totals::failures_by_server` lists.
pub const TOP_SERVERS: usize = 10;

/// Failed connections to one server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServerFailures {
    /// `ip:port`.
    pub server: String,
    pub failed: u64,
    /// All analysed connections to this server.
    pub connections: u64,
    /// Its failures per cause id, most frequent first.
    pub causes: Vec<Count>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OutcomeCounts {
    pub established: u64,
    pub failed: u64,
    pub incomplete: u64,
    pub benign: u64,
    pub not_rdp: u64,
}

impl OutcomeCounts {
    /// Count one connection by its `outcome` name.
    pub fn add(&mut self, outcome: &str) {
        match outcome {
            "established" => self.established += 1,
            "failed" => self.failed += 1,
            "incomplete" => self.incomplete += 1,
            "benign" => self.benign += 1,
            _ => self.not_rdp += 1,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Count {
    pub id: String,
    pub count: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileProblem {
    pub path: String,
    /// `unreadable` (nothing could be read) or `incomplete` (read part-way).
    pub kind: String,
    pub message: String,
}

// ---------------------------------------------------------------- building

/// One analysed file and what the caller computed beside it.
#[derive(Clone, Copy, Debug)]
pub struct Input<'a> {
    pub result: &'a FileResult,
    /// SHA-256 of the file as stored, lower-case hex.
    pub sha256: Option<&'a str>,
    /// The connections grouped into attempts, if grouped.
    pub attempts: Option<&'a [crate::diagnose::Attempt]>,
    /// The file was found (met while walking a directory, or matched by a
    /// glob pattern), not named by the user: if it is no capture and its
    /// name does not say it is one, it is skipped (`FileReport::ignored`)
    /// rather than an error.
    pub found: bool,
}

impl<'a> Input<'a> {
    /// A file named by the user, nothing computed beside it.
    pub fn new(result: &'a FileResult) -> Self {
        Input {
            result,
            sha256: None,
            attempts: None,
            found: false,
        }
    }
}

/// Build the document for a run.
pub fn build_document(inputs: &[Input<'_>]) -> Document {
    document(inputs.iter().map(file_report).collect())
}

/// The document over file reports already built (in input order).
pub fn document(files: Vec<FileReport>) -> Document {
    let totals = totals(&files);
    Document {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: env!("CARGO_PKG_NAME").to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        },
        files,
        totals,
    }
}

fn ts(t: Timestamp) -> String {
    t.to_rfc3339()
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn compression_name(c: Compression) -> &'static str {
    match c {
        Compression::None => "none",
        Compression::Gzip => "gzip",
        Compression::Zstd => "zstd",
    }
}

/// Stable identifier of a capture warning kind.
pub fn warning_kind_id(k: &WarningKind) -> &'static str {
    match k {
        WarningKind::Truncated => "truncated",
        WarningKind::Corrupt => "corrupt",
        WarningKind::UnsupportedLinkType(_) => "unsupported_link_type",
        WarningKind::UnknownInterface(_) => "unknown_interface",
        WarningKind::LengthMismatch => "length_mismatch",
        WarningKind::TimeWentBackwards => "time_went_backwards",
        WarningKind::DecryptionSecrets => "decryption_secrets",
        WarningKind::Other => "other",
    }
}

fn open_error_kind(e: &OpenError) -> &'static str {
    match e {
        OpenError::Io(_) => "io",
        OpenError::NotACapture(_) | OpenError::OtherFormat(_) => "not_a_capture",
        OpenError::Empty => "empty",
        OpenError::CutBeforeData { .. } => "truncated",
        OpenError::Other(_) => "other",
    }
}

/// The error of a file, if any, in the document's terms.
pub fn file_error(read: &Result<ReadSummary, OpenError>) -> Option<FileError> {
    match read {
        Err(e) => Some(FileError {
            kind: open_error_kind(e).to_string(),
            message: e.to_string(),
            offset: match e {
                OpenError::NotACapture(_) | OpenError::OtherFormat(_) | OpenError::Empty => Some(0),
                OpenError::CutBeforeData { offset, .. } => Some(*offset),
                _ => None,
            },
            frame: None,
        }),
        Ok(s) => s.incomplete.as_ref().map(|w| FileError {
            kind: warning_kind_id(&w.kind).to_string(),
            message: w.message.clone(),
            offset: Some(w.offset),
            frame: w.frame,
        }),
    }
}

/// Whether a file name says it holds a capture: `.pcap`, `.pcapng`,
/// `.cap` or `.ntar`, possibly followed by `.gz`, `.zst` or `.zstd`
/// (case-insensitive).
pub fn name_says_capture(path: &str) -> bool {
    let name = path
        .rsplit(['/', std::path::MAIN_SEPARATOR])
        .next()
        .unwrap_or(path)
        .to_ascii_lowercase();
    let base = [".gz", ".zst", ".zstd"]
        .iter()
        .find_map(|c| name.strip_suffix(c))
        .unwrap_or(&name);
    [".pcap", ".pcapng", ".cap", ".ntar"]
        .iter()
        .any(|e| base.ends_with(e) && base.len() > e.len())
}

/// Whether a file is skipped rather than an error: found (directory walk,
/// pattern), not a capture or empty, and not named like a capture.
pub fn is_ignored(input: &Input<'_>) -> bool {
    input.found
        && matches!(
            input.result.read,
            Err(OpenError::NotACapture(_) | OpenError::OtherFormat(_) | OpenError::Empty)
        )
        && !name_says_capture(&input.result.path)
}

/// The report of one file.
pub fn file_report(input: &Input<'_>) -> FileReport {
    let r = input.result;
    let summary = r.read.as_ref().ok();
    let (error, ignored) = match file_error(&r.read) {
        Some(e) if is_ignored(input) => (None, Some(e)),
        e => (e, None),
    };
    let first = summary.and_then(|s| s.first_ts);
    let last = summary.and_then(|s| s.last_ts);
    FileReport {
        path: r.path.clone(),
        sha256: input.sha256.map(str::to_string),
        format: summary.map(|s| s.format.describe(Compression::None)),
        compression: summary.map(|s| compression_name(s.compression).to_string()),
        link_types: summary
            .map(|s| {
                s.link_types
                    .iter()
                    .map(|(l, n)| LinkTypeCount {
                        linktype: l.0,
                        name: l.name(),
                        packets: *n,
                    })
                    .collect()
            })
            .unwrap_or_default(),
        packets: summary.map(|s| s.packets),
        bytes: summary.map(|s| s.bytes),
        first_ts: first.map(ts),
        last_ts: last.map(ts),
        duration_s: match (first, last) {
            (Some(a), Some(b)) => Some(secs(b.since(a))),
            _ => None,
        },
        complete: r.complete(),
        error,
        ignored,
        warnings: summary
            .map(|s| {
                s.warnings
                    .iter()
                    .map(|w| Warning {
                        offset: w.offset,
                        frame: w.frame,
                        kind: warning_kind_id(&w.kind).to_string(),
                        message: w.message.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        warnings_total: summary.map(|s| s.warnings_total).unwrap_or(0),
        skipped: Skipped {
            not_ip: r.skipped.not_ip,
            unsupported_link: r.skipped.unsupported_link,
            fragments_held: r.skipped.fragments_held,
            fragments_dropped: r.skipped.fragments_dropped,
            malformed: r.skipped.malformed,
            fragment_datagrams_discarded: r.skipped.fragment_datagrams_discarded,
            fragment_datagrams_incomplete: r.skipped.fragment_datagrams_incomplete,
        },
        flow: FlowCounts {
            tcp_packets: r.flow.tcp_packets,
            tcp_streams: r.flow.tcp_streams,
            analysed_streams: r.flow.analysed_streams,
            icmp_errors: r.flow.icmp_errors,
            evicted: r.flow.evicted,
            after_close: r.flow.after_close,
            over_budget: r.flow.over_budget,
            depth_capped: r.flow.depth_capped,
            hole_limited: r.flow.hole_limited,
            vantage_copies: r.flow.vantage_copies,
            udp_on_ports: r.flow.udp_on_ports,
            vantage_interfaces: match summary {
                Some(s) if r.flow.vantage_copies > 0 && s.interfaces.len() > 1 => s
                    .interfaces
                    .iter()
                    .map(|i| i.name.clone().unwrap_or_else(|| format!("#{}", i.id)))
                    .collect(),
                _ => Vec::new(),
            },
        },
        connections: r.connections.iter().map(connection_report).collect(),
        // Reported on the pool: a port scan's file ends with tens of
        // thousands of attempts, reported while the other threads wait.
        attempts: input.attempts.map(|a| {
            a.par_iter()
                .with_min_len(ATTEMPTS_PER_TASK)
                .map(attempt_report)
                .collect()
        }),
        neighbours: super::neighbours::counts(&r.side),
        neighbour_attempts: r
            .side
            .attempts
            .iter()
            .map(super::neighbours::attempt)
            .collect(),
        filtered_out: 0,
        input_index: 0,
        redacted: false,
    }
}

/// Attempts reported per task of the pool ([`file_report`]), as
/// [`crate::diagnose::attempts`] summarises them: a report is a couple of
/// thousand instructions, so a task of this many takes about a
/// millisecond.
const ATTEMPTS_PER_TASK: usize = 1024;

fn attempt_report(a: &crate::diagnose::Attempt) -> Attempt {
    let mut client = String::with_capacity("255.255.255.255".len());
    crate::diagnose::attempts::push_ip(&mut client, a.client);
    Attempt {
        client,
        server: endpoint(a.server),
        streams: a.streams.clone(),
        first_ts: ts(a.first),
        last_ts: ts(a.last),
        failed: a.failed,
        benign: a.benign,
        established: a.established,
        all_failed_same_step: a.all_failed_same_step,
        failed_step: a.failed_step.map(|s| s.id().to_string()),
        summary: a.summary.clone(),
        relabelled: a
            .relabels
            .iter()
            .map(|r| Relabelled {
                stream: r.stream,
                outcome: r.outcome.name().to_string(),
                note: r.note.clone(),
            })
            .collect(),
    }
}

/// `ip:port`, IPv6 as `[addr]:port` (Rust's `SocketAddr` display,
/// written by [`crate::common::Endpoint`]).
pub fn endpoint(a: SocketAddr) -> String {
    let mut out = String::with_capacity("255.255.255.255:65535".len());
    crate::common::Endpoint(a).push_to(&mut out);
    out
}

fn roles_id(r: RoleSource) -> &'static str {
    match r {
        RoleSource::Syn => "syn",
        RoleSource::SynAck => "syn_ack",
        RoleSource::Port => "port",
    }
}

fn dir_counts(tl: &Timeline, d: Dir) -> DirCounts {
    let s = tl.dir(d);
    DirCounts {
        packets: s.packets,
        bytes: s.frame_bytes,
        payload_bytes: s.payload_bytes,
        keep_limit: s.limit.map(|l| l.name().to_string()),
        vantage_copies: s.vantage_copies,
        snaplen_hidden_bytes: s.snaplen_hidden,
        encrypted_from_start: tl.encrypted_from_start(d),
    }
}

fn party_of(dir: Dir) -> &'static str {
    dir.sender()
}

fn certainty_name(c: Certainty) -> &'static str {
    match c {
        Certainty::Low => "low",
        Certainty::Medium => "medium",
        Certainty::High => "high",
    }
}

fn leg_id(l: CredsspLeg) -> &'static str {
    match l {
        CredsspLeg::Negotiate => "negotiate",
        CredsspLeg::Challenge => "challenge",
        CredsspLeg::Authenticate => "authenticate",
        CredsspLeg::ServerPubKeyAuth => "server_pubkeyauth",
        CredsspLeg::Credentials => "credentials",
        CredsspLeg::EarlyUserAuthResult => "early_user_auth_result",
        CredsspLeg::ServerError => "server_error",
    }
}

/// A phrase for a benign ending.
pub fn benign_text(b: Benign) -> &'static str {
    match b {
        Benign::CredentialPrecheck => {
            "a credential check (a short NLA connection the client closes without starting RDP, such as the client's pre-check before the real connection)"
        }
        Benign::HealthCheck => "a health check (connect and close without data)",
        Benign::Scanner => "a port scan (SYN, SYN/ACK, then RST from the client)",
        Benign::Probe => {
            "a probe reading what the server offers (security protocols, NTLM information) and leaving"
        }
        Benign::SessionEnd => "the normal end of a finished session",
        Benign::Redirected => "a redirection to another server (the client connects there next)",
    }
}

fn icmp_describe(v6: bool, icmp_type: u8, code: u8) -> String {
    crate::packet::IcmpError {
        v6,
        icmp_type,
        code,
        mtu: None,
        quoted: None,
    }
    .describe()
}

fn ended_by(e: &Ending, v6: bool) -> EndedBy {
    let mut out = EndedBy {
        id: e.id().into(),
        party: None,
        waited_s: None,
        retransmissions: None,
        code: None,
        code_name: None,
        alert: None,
        alert_name: None,
        icmp_type: None,
        icmp_code: None,
        text: Text::fixed(""),
    };
    out.text = match e {
        Ending::Refused => "refused: a RST answered the SYN".into(),
        Ending::Timeout {
            waited,
            retransmissions,
        } => {
            out.waited_s = Some(secs(*waited));
            out.retransmissions = Some(*retransmissions);
            format!(
                "no answer: the client waited {waited} and retransmitted {retransmissions} time{}",
                if *retransmissions == 1 { "" } else { "s" }
            )
            .into()
        }
        Ending::ResetBy(p) => {
            out.party = Some(p.name().into());
            match p {
                Party::Client => "reset by the client",
                Party::Server => "reset by the server",
                Party::Middlebox => "reset by the middlebox",
            }
            .into()
        }
        Ending::ClosedBy(p) => {
            out.party = Some(p.name().into());
            match p {
                Party::Client => "closed (FIN) by the client",
                Party::Server => "closed (FIN) by the server",
                Party::Middlebox => "closed (FIN) by the middlebox",
            }
            .into()
        }
        Ending::NegotiationFailure { code } => {
            let name = NegFailureCode(*code).name();
            out.party = Some(Party::Server.name().into());
            out.code = Some(*code);
            out.code_name = Some(name.clone());
            format!("the server refused the negotiation: RDP_NEG_FAILURE {name} ({code})").into()
        }
        Ending::TlsAlert { from, description } => {
            out.party = Some(from.name().into());
            out.alert = *description;
            out.alert_name = description.map(alert_name);
            match description {
                Some(d) => format!(
                    "TLS alert {} ({d}) from the {}",
                    alert_name(*d),
                    from.name()
                ),
                None => format!("encrypted TLS alert from the {}", from.name()),
            }
            .into()
        }
        Ending::IcmpError { icmp_type, code } => {
            out.icmp_type = Some(*icmp_type);
            out.icmp_code = Some(*code);
            out.party = Some(Party::Middlebox.name().into());
            format!("ICMP {}", icmp_describe(v6, *icmp_type, *code)).into()
        }
        Ending::CaptureEnded => "the capture ended with the connection still open".into(),
    };
    out
}

fn what_happened(d: &Diagnosis, ended: &EndedBy, mut out: String) -> String {
    // Written piece by piece into one string (the last report's, see
    // [`Spare`]): this runs for every connection, and nested `format!`s
    // made three or four strings each.
    out.clear();
    out.reserve(160);
    // The last step, and how the capture shows it when it is not decoded
    // on the wire (RDP inside TLS is placed by record order or volume).
    let last = d.last_step.map(|s| {
        let how = match d.last_step_certainty {
            Some(crate::diagnose::Certainty::Inferred) => ", inferred",
            Some(crate::diagnose::Certainty::Implied) => ", implied",
            _ => "",
        };
        (s.label(), how)
    });
    let push_last = |out: &mut String| match last {
        Some((label, how)) => {
            out.push_str(label);
            out.push_str(how);
        }
        None => out.push_str("none"),
    };
    // The ending, ` (frame N)` when a frame shows it, and the full stop.
    let push_ending = |out: &mut String| {
        out.push_str(&ended.text);
        if let Some(f) = d.ending_frame {
            out.push_str(" (frame ");
            push_decimal(out, f);
            out.push(')');
        }
    };
    match d.outcome {
        Outcome::Established => {
            out.push_str("The connection was set up");
            if last.is_some() {
                out.push_str(" (last step: ");
                push_last(&mut out);
                out.push(')');
            }
            match &d.ending {
                Ending::CaptureEnded => out.push_str("; the capture ended with it open."),
                _ => {
                    out.push_str(", then ");
                    push_ending(&mut out);
                    out.push('.');
                }
            }
        }
        Outcome::Failed => {
            match d.failed_step {
                Some(s) => {
                    out.push_str("Failed at ");
                    out.push_str(s.label());
                }
                None => {
                    out.push_str("Failed in the ");
                    out.push_str(d.phase.name());
                    out.push_str(" phase");
                }
            }
            out.push_str(" (last completed step: ");
            push_last(&mut out);
            out.push_str("); ");
            push_ending(&mut out);
            out.push('.');
        }
        Outcome::Incomplete => {
            out.push_str("No verdict: ");
            push_ending(&mut out);
            out.push_str("; last completed step: ");
            push_last(&mut out);
            out.push('.');
        }
        Outcome::Benign => {
            out.push_str("Normal traffic");
            if let Some(b) = d.benign {
                out.push_str(": ");
                out.push_str(benign_text(b));
            }
            out.push_str("; ");
            push_ending(&mut out);
            out.push('.');
        }
        Outcome::NotRdp => {
            out.push_str("Not RDP traffic on this connection; ");
            push_ending(&mut out);
            out.push('.');
        }
    }
    out
}

/// Append `n` in decimal (what `Display` writes, without the formatting
/// machinery: several numbers of every record go through here; itoa's
/// digits need no second check of UTF-8).
pub(crate) fn push_decimal(out: &mut String, n: u64) {
    out.push_str(itoa::Buffer::new().format(n));
}

/// `frame.number in {15 17}` over distinct frames in order, or None.
pub fn frames_filter(frames: impl IntoIterator<Item = u64>) -> Option<String> {
    frames_filter_in(frames, &mut Vec::new(), String::new())
}

/// [`frames_filter`], the frames sorted in `v` and the text written in
/// `out` (their contents dropped, their room reused).
fn frames_filter_in(
    frames: impl IntoIterator<Item = u64>,
    v: &mut Vec<u64>,
    mut out: String,
) -> Option<String> {
    const PREFIX: &str = "frame.number in {";
    v.clear();
    v.extend(frames);
    v.sort_unstable();
    v.dedup();
    let (first, rest) = v.split_first()?;
    out.clear();
    out.reserve(PREFIX.len() + 8 * v.len());
    out.push_str(PREFIX);
    push_decimal(&mut out, *first);
    for f in rest {
        out.push(' ');
        push_decimal(&mut out, *f);
    }
    out.push('}');
    Some(out)
}

/// `x224`: the timeline holds X.224 messages (else none is looked for).
fn negotiation(tl: &Timeline, d: &Diagnosis, x224: bool) -> Option<Negotiation> {
    let req = x224.then(|| tl.connection_request()).flatten();
    let conf = x224.then(|| tl.connection_confirm()).flatten();
    if req.is_none() && conf.is_none() && d.negotiation.is_none() {
        return None;
    }
    let mut n = Negotiation {
        request_frame: req.map(|(e, _)| e.frame),
        cookie: req.and_then(|(_, r)| r.cookie.clone()),
        routing_token: req.and_then(|(_, r)| r.routing_token.clone()),
        requested: req.and_then(|(_, r)| r.neg_req.as_ref().map(|n| n.requested.requested_names())),
        confirm_frame: conf.map(|(e, _)| e.frame),
        selected: None,
        legacy: false,
        failure: None,
        sentence: d.negotiation.clone(),
    };
    match conf.map(|(_, c)| c) {
        Some(ConnectionConfirm::Selected { selected, .. }) => {
            n.selected = Some(selected.selected_name());
        }
        Some(ConnectionConfirm::Failure { code }) => {
            n.failure = Some(NegFailure {
                code: code.0,
                name: code.name(),
            });
        }
        Some(ConnectionConfirm::NoNegotiation) => {
            n.selected = Some("RDP".to_string());
            n.legacy = true;
        }
        None => {}
    }
    Some(n)
}

fn is_grease(v: TlsVersion) -> bool {
    v.0 & 0x0f0f == 0x0a0a && (v.0 >> 8) == (v.0 & 0xff)
}

fn tls(tl: &Timeline) -> Option<Tls> {
    let ch = tl.client_hello();
    let sh = tl.server_hello();
    let mut alerts: Vec<Alert> = tl
        .proto_events()
        .filter_map(|(e, p)| match p {
            ProtoEvent::Tls(TlsEvent::Alert { level, description }) => Some(Alert {
                frame: e.frame,
                from: party_of(e.dir).to_string(),
                level: Some(*level),
                description: Some(*description),
                name: Some(alert_name(*description)),
                encrypted: false,
            }),
            ProtoEvent::Tls(TlsEvent::EncryptedAlert { .. }) => Some(Alert {
                frame: e.frame,
                from: party_of(e.dir).to_string(),
                level: None,
                description: None,
                name: None,
                encrypted: true,
            }),
            // Decrypted: the same encrypted alert, now with what it says.
            ProtoEvent::Tls(TlsEvent::DecryptedAlert { level, description }) => Some(Alert {
                frame: e.frame,
                from: party_of(e.dir).to_string(),
                level: Some(*level),
                description: Some(*description),
                name: Some(alert_name(*description)),
                encrypted: true,
            }),
            _ => None,
        })
        .collect();
    // An encrypted alert that decryption read is listed once, read.
    let read: Vec<(u64, String)> = alerts
        .iter()
        .filter(|a| a.encrypted && a.level.is_some())
        .map(|a| (a.frame, a.from.clone()))
        .collect();
    alerts.retain(|a| {
        !(a.encrypted && a.level.is_none() && read.contains(&(a.frame, a.from.clone())))
    });
    if ch.is_none() && sh.is_none() && alerts.is_empty() {
        return None;
    }
    let client_versions: Vec<String> = match ch {
        Some((_, h)) if !h.supported_versions.is_empty() => h
            .supported_versions
            .iter()
            .filter(|v| !is_grease(**v))
            .map(|v| v.name())
            .collect(),
        Some((_, h)) => vec![h.legacy_version.name()],
        None => Vec::new(),
    };
    Some(Tls {
        client_hello_frame: ch.map(|(e, _)| e.frame),
        client_versions,
        client_max_version: ch.map(|(_, h)| h.max_version().name()),
        client_cipher_suites: ch.map(|(_, h)| h.cipher_suites.len()),
        sni: ch.and_then(|(_, h)| h.sni.clone()),
        server_hello_frame: sh.map(|(e, _)| e.frame),
        server_version: sh.map(|(_, h)| h.version.name()),
        cipher: sh.map(|(_, h)| cipher_suite_name(h.cipher_suite)),
        next_protocol: sh.and_then(|(_, h)| h.alpn.clone()),
        history: tl.tls_history(),
        alerts,
    })
}

fn certificate(frame: u64, at: Timestamp, c: &CertInfo) -> Certificate {
    let now = at.secs();
    Certificate {
        frame,
        subject: super::text::escape_unsafe(&c.subject),
        issuer: super::text::escape_unsafe(&c.issuer),
        sans: c.sans.clone(),
        serial: c.serial.clone(),
        not_before: ts(Timestamp::from_secs_nanos(c.not_before, 0)),
        not_after: ts(Timestamp::from_secs_nanos(c.not_after, 0)),
        expired_at_capture_time: now > c.not_after,
        not_yet_valid_at_capture_time: now < c.not_before,
        self_signed: c.self_signed,
        key: match c.key_bits {
            Some(b) => format!("{} {b}", c.key_algorithm),
            None => c.key_algorithm.clone(),
        },
        version: c.version,
        key_algorithm: c.key_algorithm_oid.clone(),
        key_exponent: c.key_exponent,
        ca: c.basic_constraints.map(|b| b.ca),
        path_len: c.basic_constraints.and_then(|b| b.path_len),
        signature_algorithm: c.signature_algorithm.clone(),
        extended_key_usage: c.extended_key_usage.clone(),
        sha1: c.sha1.clone(),
        sha256: c.sha256.clone(),
        anomalies: c.anomalies.clone(),
    }
}

fn client_data(tl: &Timeline) -> Option<ClientData> {
    let gcc = tl.client_gcc();
    let info = tl.proto_events().find_map(|(e, p)| match p {
        ProtoEvent::Mcs(McsEvent::ClientInfo(i)) => Some((e, i)),
        _ => None,
    });
    if gcc.is_none() && info.is_none() {
        return None;
    }
    let core = gcc.and_then(|(_, g)| g.core.as_ref());
    let cluster = gcc.and_then(|(_, g)| g.cluster.as_ref());
    let nonempty = |s: &str| (!s.is_empty()).then(|| s.to_string());
    Some(ClientData {
        frame: gcc
            .map(|(e, _)| e.frame)
            .or(info.map(|(e, _)| e.frame))
            .unwrap_or(0),
        client_name: core.and_then(|c| nonempty(&c.client_name)),
        client_build: core.map(|c| c.client_build),
        keyboard_layout: core.map(|c| format!("0x{:08x}", c.keyboard_layout)),
        keyboard_layout_name: core.map(|c| keyboard::layout_name(c.keyboard_layout)),
        keyboard_language: core
            .and_then(|c| keyboard::language(c.keyboard_layout).map(str::to_string)),
        desktop: core.map(|c| format!("{}x{}", c.desktop_width, c.desktop_height)),
        color_depth: core.and_then(|c| c.color_depth),
        requested_color_depth: core.and_then(|c| c.requested_color_depth()),
        client_dig_product_id: core.and_then(|c| c.client_dig_product_id.clone()),
        encryption_methods: gcc
            .and_then(|(_, g)| g.security.as_ref())
            .map(|s| mcs::encryption_methods_names(s.encryption_methods)),
        ext_encryption_methods: gcc
            .and_then(|(_, g)| g.security.as_ref())
            .map(|s| s.ext_encryption_methods),
        cluster: cluster.map(|c| ClusterData {
            flags: format!("0x{:08x}", c.flags),
            redirection_supported: c.redirection_supported(),
            session_id_present: c.session_id_present(),
            redirection_version: c.redirection_version(),
            redirected_smartcard: c.redirected_smartcard(),
            redirected_session_id: c.session_id_present().then_some(c.redirected_session_id),
        }),
        channels: gcc.map(|(_, g)| g.channels.clone()).unwrap_or_default(),
        monitors: gcc.and_then(|(_, g)| g.monitors),
        user: info.and_then(|(_, i)| nonempty(&i.user)),
        domain: info.and_then(|(_, i)| nonempty(&i.domain)),
    })
}

fn server_data(tl: &Timeline) -> Option<ServerData> {
    let (e, g) = tl.server_gcc()?;
    let sec = g.security.as_ref();
    Some(ServerData {
        frame: e.frame,
        result: g.result,
        result_name: mcs::connect_result_name(g.result),
        version: g.version.map(|v| format!("0x{v:08x}")),
        encryption_method: sec.map(|s| s.encryption_method),
        encryption_method_name: sec.map(|s| mcs::encryption_method_name(s.encryption_method)),
        encryption_level: sec.map(|s| s.encryption_level),
        encryption_level_name: sec.map(|s| mcs::encryption_level_name(s.encryption_level)),
        certificate: sec.and_then(|s| {
            let c = s.certificate.as_ref()?;
            let mut r = ServerCertificateReport {
                cert_type: "unknown".to_string(),
                permanent: s.certificate_permanent,
                count: 0,
                key_bits: None,
                public_exponent: None,
                signature: None,
            };
            match c {
                ServerCertificate::Proprietary(p) => {
                    r.cert_type = "proprietary".to_string();
                    r.count = 1;
                    r.key_bits = Some(p.key_bits);
                    r.public_exponent = Some(p.public_exponent);
                    r.signature = Some(p.signature.name().to_string());
                }
                ServerCertificate::X509(chain) => {
                    r.cert_type = "x509_chain".to_string();
                    r.count = chain.len();
                }
                ServerCertificate::Other { .. } => {}
            }
            Some(r)
        }),
    })
}

fn credssp(tl: &Timeline) -> Vec<CredsspItem> {
    tl.proto_events()
        .filter_map(|(e, p)| match p {
            ProtoEvent::Credssp(CredsspEvent::Leg {
                leg,
                record_len,
                certainty,
            }) => Some(CredsspItem {
                frame: e.frame,
                from: party_of(e.dir).to_string(),
                leg: leg_id(*leg).to_string(),
                record_len: *record_len,
                certainty: certainty_name(*certainty).to_string(),
            }),
            _ => None,
        })
        .collect()
}

fn nla_items(tl: &Timeline) -> Vec<NlaItem> {
    use crate::proto::inner::early_user_auth_result_name;
    use crate::proto::ntlm::NtlmMessage;
    use crate::proto::tsrequest::{Mechanism, TokenWrapping};
    use crate::proto::NlaEvent;
    tl.proto_events()
        .filter_map(|(e, p)| {
            let ProtoEvent::Nla(n) = p else { return None };
            let mut item = NlaItem {
                frame: e.frame,
                from: party_of(e.dir).to_string(),
                ..Default::default()
            };
            match n {
                NlaEvent::EarlyUserAuthResult { result } => {
                    item.kind = "early_user_authorization_result".into();
                    item.result = Some(early_user_auth_result_name(*result));
                }
                NlaEvent::TsRequest(t) => {
                    item.kind = "ts_request".into();
                    item.version = Some(t.version);
                    item.pub_key_auth = t.pub_key_auth;
                    item.credentials = t.credentials;
                    item.client_nonce = t.client_nonce;
                    if let Some(code) = t.error_code {
                        item.error_code = Some(format!("0x{:08x}", code.0));
                        item.error_name = code.name().map(str::to_string);
                        item.error_meaning = code.meaning().map(str::to_string);
                    }
                    if let Some(tok) = &t.token {
                        item.token = Some(tok.mech.to_string());
                        item.wrapping = Some(
                            match tok.wrapping {
                                TokenWrapping::Raw => "raw",
                                TokenWrapping::SpnegoInit => "spnego_init",
                                TokenWrapping::SpnegoResp => "spnego_resp",
                            }
                            .into(),
                        );
                        match &tok.mech {
                            Mechanism::Ntlm(NtlmMessage::Negotiate { version, .. }) => {
                                item.os_version = version.map(|v| v.to_string());
                            }
                            Mechanism::Ntlm(NtlmMessage::Challenge(c)) => {
                                item.os_version = c.version.map(|v| v.to_string());
                                item.server_name = c
                                    .dns_computer
                                    .clone()
                                    .or_else(|| c.nb_computer.clone())
                                    .or_else(|| c.target_name.clone());
                            }
                            Mechanism::Ntlm(NtlmMessage::Authenticate(a)) => {
                                item.os_version = a.version.map(|v| v.to_string());
                                item.ntlm_user = a.user.clone();
                                item.ntlm_domain = a.domain.clone();
                                item.ntlm_workstation = a.workstation.clone();
                                item.ntlm_response = a.response.map(|r| r.to_string());
                            }
                            _ => {}
                        }
                    }
                }
            }
            Some(item)
        })
        .collect()
}

fn rdp_messages(tl: &Timeline) -> Vec<RdpMessage> {
    tl.proto_events()
        .filter_map(|(e, p)| {
            let ProtoEvent::Mcs(m) = p else { return None };
            let mut r = RdpMessage {
                frame: e.frame,
                ..Default::default()
            };
            match m {
                McsEvent::SaveSessionInfo(s) => {
                    r.kind = if s.is_logon_notification() {
                        "logon_notification"
                    } else {
                        "logon_extended_info"
                    }
                    .into();
                    r.detail = Some(match s.logon_errors {
                        Some(le) => format!("{}: {le}", s.info_type_name()),
                        None => s.info_type_name(),
                    });
                }
                McsEvent::ServerRedirection(s) => {
                    r.kind = "server_redirection".into();
                    r.detail = s.no_redirect().then(|| "LB_NOREDIRECT".to_string());
                    r.target = s.target().map(str::to_string);
                    r.load_balance_info = s.load_balance_info.clone();
                }
                McsEvent::DeactivateAll => r.kind = "deactivate_all".into(),
                McsEvent::SetErrorInfo { code } => {
                    r.kind = "set_error_info".into();
                    r.detail = Some(mcs::error_info_name(*code));
                }
                _ => return None,
            }
            Some(r)
        })
        .collect()
}

/// The first non-zero Set Error Info code the server sent, if the
/// capture shows one.
fn error_info_code(tl: &Timeline) -> Option<u32> {
    tl.proto_events().find_map(|(_, p)| match p {
        ProtoEvent::Mcs(McsEvent::SetErrorInfo { code }) if *code != 0 => Some(*code),
        _ => None,
    })
}

/// The client messages of a cause, resolved with the capture's Set Error
/// Info code.
pub fn client_messages(id: CauseId, error_info: Option<u32>) -> Vec<ClientMessageReport> {
    client_messages_in(id, error_info, Vec::new())
}

/// [`client_messages`], copied into `out` (its contents dropped, its
/// room reused).
fn client_messages_in(
    id: CauseId,
    error_info: Option<u32>,
    mut out: Vec<ClientMessageReport>,
) -> Vec<ClientMessageReport> {
    /// The messages of the causes met on this thread (they depend on the
    /// cause and the code alone), up to [`CACHED`] of them.
    type Cache = Vec<((CauseId, Option<u32>), Vec<ClientMessageReport>)>;
    const CACHED: usize = 64;
    thread_local! {
        static MESSAGES: std::cell::RefCell<Cache> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let key = (id, error_info);
    MESSAGES.with_borrow_mut(|cache| {
        if let Some((_, m)) = cache.iter().find(|(k, _)| *k == key) {
            out.clone_from(m);
            return out;
        }
        let m = resolve_client_messages(id, error_info);
        if cache.len() < CACHED {
            cache.push((key, m.clone()));
        }
        m
    })
}

/// [`client_messages`], resolved.
fn resolve_client_messages(id: CauseId, error_info: Option<u32>) -> Vec<ClientMessageReport> {
    client_message::resolve(id, error_info)
        .iter()
        .map(|r| ClientMessageReport {
            message: table_message_line(r)
                .map_or_else(|| super::causes::client_message_line(r).into(), Text::fixed),
            disconnect_reason: r.disconnect_reason,
            disconnect_reason_name: r
                .disconnect_reason
                .and_then(client_message::disconnect_reason)
                .map(|c| c.name.into()),
            extended_reason: r.extended_reason,
            extended_reason_name: r
                .extended_reason
                .and_then(client_message::extended_reason)
                .map(|c| c.name.into()),
            confidence: r.confidence.name().into(),
            source: r.source.into(),
        })
        .collect()
}

/// An evidence sentence, written into `out` (its contents dropped) sized
/// for the usual sentence (`to_string` would grow it from nothing, four
/// times).
fn evidence_text(e: &crate::diagnose::Evidence, mut out: String) -> String {
    out.clear();
    out.reserve(96);
    e.clue.push_to(&mut out);
    out
}

/// The evidence items, written over `items` (the last report's): their
/// texts' room is reused.
fn evidence_items(tl: &Timeline, d: &Diagnosis, mut items: Vec<EvidenceItem>) -> Vec<EvidenceItem> {
    let item = |e: &crate::diagnose::Evidence, text: String| EvidenceItem {
        frame: e.frame,
        time_s: tl
            .events
            .iter()
            .find(|x| x.frame == e.frame)
            .map(|x| x.ts.since(tl.first_ts).as_secs_f64()),
        text: evidence_text(e, text),
        kind: e.clue.kind().into(),
    };
    items.truncate(d.evidence.len());
    for (i, e) in d.evidence.iter().enumerate() {
        match items.get_mut(i) {
            Some(slot) => *slot = item(e, std::mem::take(&mut slot.text)),
            None => items.push(item(e, String::new())),
        }
    }
    items
}

/// `tcp.stream eq N`, written into `out` (its contents dropped).
fn display_filter(stream: u64, mut out: String) -> String {
    const PREFIX: &str = "tcp.stream eq ";
    out.clear();
    out.reserve(PREFIX.len() + 20);
    out.push_str(PREFIX);
    push_decimal(&mut out, stream);
    out
}

/// An endpoint's text (see [`endpoint`]), written into `out` (its
/// contents dropped).
fn endpoint_in(a: SocketAddr, mut out: String) -> String {
    out.clear();
    crate::common::Endpoint(a).push_to(&mut out);
    out
}

/// A timestamp's text, written into `out` (its contents dropped).
fn ts_in(t: Timestamp, mut out: String) -> String {
    out.clear();
    t.push_rfc3339(&mut out);
    out
}

/// The line of a resolved message without an extended reason, which
/// reads only its table entry (disconnect reason, dialog text): the lines
/// of every cause's entries are written once per process, not once per
/// connection. None for a message that carries the capture's code.
fn table_message_line(r: &client_message::Resolved) -> Option<&'static str> {
    type Entry = (Option<u32>, Option<&'static str>);
    static LINES: std::sync::OnceLock<Vec<(Entry, String)>> = std::sync::OnceLock::new();
    if r.extended_reason.is_some() {
        return None;
    }
    let lines = LINES.get_or_init(|| {
        let mut lines: Vec<(Entry, String)> = Vec::new();
        for &id in CauseId::ALL {
            for m in client_message::resolve(id, None) {
                let entry = (m.disconnect_reason, m.text);
                if !lines.iter().any(|(e, _)| *e == entry) {
                    lines.push((entry, super::causes::client_message_line(&m)));
                }
            }
        }
        lines
    });
    let entry = (r.disconnect_reason, r.text);
    lines
        .iter()
        .find(|(e, _)| *e == entry)
        .map(|(_, line)| line.as_str())
}

/// The families of protocol messages a timeline holds, found in one pass
/// over its events. Each part of the report that lists messages of one
/// family (TLS, MCS, CredSSP, the decrypted NLA messages) searched all
/// the events for them; most connections of a large capture hold a few
/// TCP events and the X.224 messages at most, so a part is looked for
/// only when its family is there.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Families {
    x224: bool,
    mcs: bool,
    tls: bool,
    credssp: bool,
    nla: bool,
}

impl Families {
    /// Every family: each part looked for.
    #[cfg(test)]
    const ALL: Families = Families {
        x224: true,
        mcs: true,
        tls: true,
        credssp: true,
        nla: true,
    };

    fn of(tl: &Timeline) -> Families {
        let mut has = Families::default();
        for (_, p) in tl.proto_events() {
            match p {
                ProtoEvent::X224(_) => has.x224 = true,
                ProtoEvent::Mcs(_) => has.mcs = true,
                ProtoEvent::Tls(_) => has.tls = true,
                ProtoEvent::Credssp(_) => has.credssp = true,
                ProtoEvent::Nla(_) => has.nla = true,
                _ => {}
            }
        }
        has
    }
}

/// The report of one connection.
pub fn connection_report(c: &ConnectionResult) -> ConnectionReport {
    connection_report_in(c, &mut Spare::default())
}

/// [`connection_report`] built in the buffers of `spare` (those of a
/// report done with, see [`Spare::keep`]): the same report.
pub fn connection_report_in(c: &ConnectionResult, spare: &mut Spare) -> ConnectionReport {
    connection_report_of(c, Families::of(&c.timeline), spare)
}

/// The strings and vectors of a connection's report once it is written,
/// kept to build the next report in. A report is made to be written once
/// and dropped, by the million: built in the last one's buffers (their
/// contents dropped, their room reused), it costs a dozen allocations
/// and frees less. What it holds never shows in the next report: each
/// buffer is cleared, or each element overwritten, as it is reused.
#[derive(Default)]
pub struct Spare {
    client: String,
    server: String,
    first_ts: String,
    last_ts: String,
    what_happened: String,
    display_filter: String,
    evidence_filter: String,
    evidence: Vec<EvidenceItem>,
    steps: Vec<StepReached>,
    events: Vec<LadderEvent>,
    client_messages: Vec<ClientMessageReport>,
    /// The evidence frames, sorted for the evidence filter.
    frames: Vec<u64>,
}

impl Spare {
    /// Keep the buffers of `r`, done with.
    pub fn keep(&mut self, r: ConnectionReport) {
        self.client = r.client;
        self.server = r.server;
        self.first_ts = r.first_ts;
        self.last_ts = r.last_ts;
        self.what_happened = r.what_happened;
        self.display_filter = r.display_filter;
        if let Some(f) = r.evidence_filter {
            self.evidence_filter = f;
        }
        self.evidence = r.evidence;
        self.steps = r.steps;
        self.events = r.events;
        if let Some(cause) = r.cause {
            self.client_messages = cause.client_messages;
        }
    }
}

/// [`connection_report`], the parts of the families `has` leaves out
/// empty, built in the buffers of `spare`.
fn connection_report_of(
    c: &ConnectionResult,
    has: Families,
    spare: &mut Spare,
) -> ConnectionReport {
    let tl = &c.timeline;
    let d = &c.diagnosis;
    let v6 = tl.endpoints.client.is_ipv6();
    let ended = ended_by(&d.ending, v6);
    let take = std::mem::take::<String>;
    // The server's chain: a TLS Certificate, or Standard RDP Security's
    // in the MCS Connect Response.
    let certificates = (has.tls || has.mcs)
        .then(|| tl.certificates())
        .flatten()
        .map(|(e, chain)| {
            chain
                .iter()
                .map(|ci| certificate(e.frame, e.ts, ci))
                .collect()
        })
        .unwrap_or_default();
    ConnectionReport {
        stream: tl.stream,
        client: endpoint_in(tl.endpoints.client, take(&mut spare.client)),
        server: endpoint_in(tl.endpoints.server, take(&mut spare.server)),
        roles: roles_id(tl.roles).into(),
        first_frame: tl.first_frame,
        last_frame: tl.last_frame,
        first_ts: ts_in(tl.first_ts, take(&mut spare.first_ts)),
        last_ts: ts_in(tl.last_ts, take(&mut spare.last_ts)),
        duration_s: secs(tl.last_ts.since(tl.first_ts)),
        to_server: dir_counts(tl, Dir::ToServer),
        to_client: dir_counts(tl, Dir::ToClient),
        outcome: d.outcome.name().into(),
        phase: d.phase.name().into(),
        last_step: d.last_step.map(|s| s.id().into()),
        last_step_certainty: d.last_step_certainty.map(|c| c.name().into()),
        failed_step: d.failed_step.map(|s| s.id().into()),
        what_happened: what_happened(d, &ended, take(&mut spare.what_happened)),
        ended_by: ended,
        ending_frame: d.ending_frame,
        cause: d.cause.as_ref().map(|c| CauseReport {
            id: c.id.id().into(),
            confidence: c.confidence.name().into(),
            basis: c.basis.name().into(),
            grounds: c.grounds.name().into(),
            summary: c.summary.clone().into(),
            remediation: c.remediation.into(),
            client_messages: client_messages_in(
                c.id,
                has.mcs.then(|| error_info_code(tl)).flatten(),
                std::mem::take(&mut spare.client_messages),
            ),
        }),
        benign: d.benign.map(|b| b.id().into()),
        evidence: evidence_items(tl, d, std::mem::take(&mut spare.evidence)),
        caveats: d.caveats.clone(),
        negotiation: negotiation(tl, d, has.x224),
        tls: has.tls.then(|| tls(tl)).flatten(),
        certificates,
        client_certificates: has
            .tls
            .then(|| tl.client_certificates())
            .flatten()
            .map(|(e, chain)| {
                chain
                    .iter()
                    .map(|ci| certificate(e.frame, e.ts, ci))
                    .collect()
            })
            .unwrap_or_default(),
        client_data: has.mcs.then(|| client_data(tl)).flatten(),
        server_data: has.mcs.then(|| server_data(tl)).flatten(),
        credssp: if has.credssp { credssp(tl) } else { Vec::new() },
        nla: if has.nla { nla_items(tl) } else { Vec::new() },
        rdp_messages: if has.mcs {
            rdp_messages(tl)
        } else {
            Vec::new()
        },
        events_dropped: tl.events_dropped,
        display_filter: display_filter(tl.stream, take(&mut spare.display_filter)),
        evidence_filter: frames_filter_in(
            d.evidence.iter().map(|e| e.frame),
            &mut spare.frames,
            take(&mut spare.evidence_filter),
        ),
        steps: super::ladder::steps_reached_in(tl, d, std::mem::take(&mut spare.steps)),
        events: super::ladder::events_in(tl, d, std::mem::take(&mut spare.events)),
        labels: StepLabels {
            last_step: d.last_step.map(|s| s.label()),
            failed_step: d.failed_step.map(|s| s.label()),
        },
        decryption: c.decryption.as_deref().map(decryption),
    }
}

const PHASES: [Phase; 6] = [
    Phase::Tcp,
    Phase::X224,
    Phase::Tls,
    Phase::Credssp,
    Phase::Rdp,
    Phase::Session,
];

/// Totals over the files of a run.
pub fn totals(files: &[FileReport]) -> Totals {
    let mut t = TotalsAcc::default();
    for f in files {
        t.file(f);
        for c in &f.connections {
            t.connection(c);
        }
    }
    t.finish()
}

/// The totals, gathered file by file and connection by connection: a few
/// counters per phase, cause and server, nothing per connection.
#[derive(Clone, Debug, Default)]
pub struct TotalsAcc {
    t: Totals,
    by_phase: [u64; PHASES.len()],
    by_cause: Vec<Count>,
    /// The servers met, in the order met.
    by_server: Vec<ServerFailures>,
    /// Where each server is in `by_server`, keyed by its text (`ip:port`),
    /// hashed by the flow table's fast hasher rather than SipHash.
    servers: crate::flow::FastMap<String, usize>,
    /// The server of the last connection counted (its place in
    /// `by_server`): the connections of a capture most often go to the
    /// server of the one before, found by comparing the texts rather than
    /// by hashing one.
    last_server: Option<usize>,
}

impl TotalsAcc {
    /// Count a file (not its connections).
    pub fn file(&mut self, f: &FileReport) {
        let t = &mut self.t;
        t.files += 1;
        t.filtered_out += f.filtered_out;
        if let Some(i) = &f.ignored {
            t.files_ignored += 1;
            t.ignored.push(FileProblem {
                path: f.path.clone(),
                kind: i.kind.clone(),
                message: super::text::error_line(i),
            });
        } else if f.format.is_none() {
            t.files_unreadable += 1;
        } else if !f.complete {
            t.files_incomplete += 1;
        }
        if let Some(e) = &f.error {
            t.problems.push(FileProblem {
                path: f.path.clone(),
                kind: if f.format.is_none() {
                    "unreadable"
                } else {
                    "incomplete"
                }
                .to_string(),
                message: super::text::error_line(e),
            });
        }
    }

    /// Count a connection.
    pub fn connection(&mut self, c: &ConnectionReport) {
        self.t.connections += 1;
        let at = self.server_at(&c.server);
        let Some(s) = self.by_server.get_mut(at) else {
            return;
        };
        s.connections += 1;
        self.t.outcomes.add(&c.outcome);
        if c.outcome != Outcome::Failed.name() {
            return;
        }
        if let Some(i) = PHASES.iter().position(|p| p.name() == c.phase) {
            if let Some(n) = self.by_phase.get_mut(i) {
                *n += 1;
            }
        }
        let cause: &str = c.cause.as_ref().map_or("none", |c| &c.id);
        s.failed += 1;
        count(&mut s.causes, cause);
        count(&mut self.by_cause, cause);
    }

    /// The place of `server` in `by_server`, made when first met. Looked
    /// up by reference: the text is copied once per server, not once per
    /// connection.
    fn server_at(&mut self, server: &str) -> usize {
        let last = self
            .last_server
            .filter(|&at| self.by_server.get(at).is_some_and(|s| s.server == server));
        if let Some(at) = last {
            return at;
        }
        let at = match self.servers.get(server) {
            Some(&at) => at,
            None => {
                let at = self.by_server.len();
                self.servers.insert(server.to_string(), at);
                self.by_server.push(ServerFailures {
                    server: server.to_string(),
                    failed: 0,
                    connections: 0,
                    causes: Vec::new(),
                });
                at
            }
        };
        self.last_server = Some(at);
        at
    }

    /// Add the connections counted in `other` (files are counted with
    /// [`TotalsAcc::file`] in input order).
    pub fn merge_connections(&mut self, other: TotalsAcc) {
        self.t.connections += other.t.connections;
        let (a, b) = (&mut self.t.outcomes, &other.t.outcomes);
        a.established += b.established;
        a.failed += b.failed;
        a.incomplete += b.incomplete;
        a.benign += b.benign;
        a.not_rdp += b.not_rdp;
        for (n, m) in self.by_phase.iter_mut().zip(other.by_phase) {
            *n += m;
        }
        for c in other.by_cause {
            add_count(&mut self.by_cause, c);
        }
        for s in other.by_server {
            let at = self.server_at(&s.server);
            let Some(e) = self.by_server.get_mut(at) else {
                continue;
            };
            e.failed += s.failed;
            e.connections += s.connections;
            for c in s.causes {
                add_count(&mut e.causes, c);
            }
        }
    }

    pub fn finish(self) -> Totals {
        let mut t = self.t;
        t.failures_by_phase = PHASES
            .iter()
            .zip(self.by_phase)
            .filter(|(_, n)| *n > 0)
            .map(|(p, n)| Count {
                id: p.name().to_string(),
                count: n,
            })
            .collect();
        let mut by_cause = self.by_cause;
        sort_counts(&mut by_cause);
        t.failures_by_cause = by_cause;
        let mut by_server: Vec<ServerFailures> = self
            .by_server
            .into_iter()
            .filter(|s| s.failed > 0)
            .collect();
        by_server.sort_by(|a, b| {
            b.failed
                .cmp(&a.failed)
                .then_with(|| a.server.cmp(&b.server))
        });
        by_server.truncate(TOP_SERVERS);
        for s in &mut by_server {
            sort_counts(&mut s.causes);
        }
        t.failures_by_server = by_server;
        t
    }
}

fn add_count(v: &mut Vec<Count>, c: Count) {
    match v.iter_mut().find(|x| x.id == c.id) {
        Some(x) => x.count += c.count,
        None => v.push(c),
    }
}

fn count(v: &mut Vec<Count>, id: &str) {
    match v.iter_mut().find(|x| x.id == id) {
        Some(x) => x.count += 1,
        None => v.push(Count {
            id: id.to_string(),
            count: 1,
        }),
    }
}

/// Most frequent first, then by id.
fn sort_counts(v: &mut [Count]) {
    v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.id.cmp(&b.id)));
}

#[cfg(test)]
mod spare_tests {
    use super::*;

    /// A report whose every kept buffer holds more than any report does,
    /// and other texts: what is left of it would show in the next.
    fn junk(mut r: ConnectionReport) -> ConnectionReport {
        let long = "junk \"text\" ".repeat(40);
        for s in [
            &mut r.client,
            &mut r.server,
            &mut r.first_ts,
            &mut r.last_ts,
            &mut r.what_happened,
            &mut r.display_filter,
        ] {
            s.push_str(&long);
        }
        r.evidence_filter = Some(long.clone());
        let item = EvidenceItem {
            frame: 99,
            time_s: Some(9.5),
            text: long.clone(),
            kind: "junk".into(),
        };
        r.evidence.extend(std::iter::repeat_n(item, 12));
        let step = StepReached {
            step: "junk".into(),
            from: "nobody".into(),
            certainty: "none".into(),
            frame: Some(7),
            time_s: None,
        };
        r.steps.extend(std::iter::repeat_n(step, 12));
        let event = LadderEvent {
            kind: "junk".into(),
            from: "a".into(),
            to: "b".into(),
            frame: 1,
            last_frame: 2,
            count: 3,
            time_s: 4.0,
            last_time_s: Some(5.0),
            text: Text::from(long.clone()),
        };
        r.events.extend(std::iter::repeat_n(event, 12));
        let cause = r.cause.get_or_insert_with(|| CauseReport {
            id: "junk".into(),
            confidence: "low".into(),
            basis: "seen".into(),
            grounds: "explicit".into(),
            summary: "junk".into(),
            remediation: "junk".into(),
            client_messages: Vec::new(),
        });
        let message = ClientMessageReport {
            message: Text::from(long.clone()),
            disconnect_reason: Some(1),
            disconnect_reason_name: None,
            extended_reason: Some(2),
            extended_reason_name: None,
            confidence: "low".into(),
            source: "junk".into(),
        };
        cause
            .client_messages
            .extend(std::iter::repeat_n(message, 12));
        r
    }

    /// A report built in the buffers of the one before (a different
    /// connection's, or one made of junk) is the report built from
    /// nothing, on every connection analysed (lab captures, decrypted,
    /// corpus) or built, in either order.
    #[test]
    fn a_report_built_in_spare_buffers_is_the_report_built_anew() {
        let results = crate::report::analysed_and_built_results();
        assert!(results.len() > 100, "{}", results.len());
        let anew =
            |c: &ConnectionResult| connection_report_of(c, Families::ALL, &mut Spare::default());
        for reversed in [false, true] {
            let mut spare = Spare::default();
            let mut order: Vec<&ConnectionResult> = results.iter().collect();
            if reversed {
                order.reverse();
            }
            for (i, c) in order.into_iter().enumerate() {
                let got = connection_report_in(c, &mut spare);
                assert_eq!(got, connection_report(c), "stream {}", c.timeline.stream);
                assert_eq!(got, anew(c), "stream {}", c.timeline.stream);
                // Every third report is spoiled before it is kept.
                spare.keep(if i % 3 == 2 { junk(got) } else { got });
            }
        }
    }

    #[test]
    fn the_evidence_filter_and_client_messages_reuse_what_they_are_given() {
        let mut frames = vec![5, 1, 9];
        for (given, want) in [
            (vec![17, 15, 17], Some("frame.number in {15 17}")),
            (vec![], None),
            (vec![3], Some("frame.number in {3}")),
            (
                vec![u64::MAX, 0, 0],
                Some("frame.number in {0 18446744073709551615}"),
            ),
        ] {
            let got = frames_filter_in(given.clone(), &mut frames, "junk".repeat(30));
            assert_eq!(got.as_deref(), want);
            assert_eq!(got, frames_filter(given));
        }
        let junk = junk(crate::report::lab_reports().swap_remove(0));
        let spoiled = junk.cause.map(|c| c.client_messages).unwrap_or_default();
        for &id in CauseId::ALL {
            for code in [None, Some(0), Some(1), Some(0x1000_0000)] {
                // Twice: the second time from the thread's cache.
                for _ in 0..2 {
                    let got = client_messages_in(id, code, spoiled.clone());
                    assert_eq!(got, resolve_client_messages(id, code), "{id:?} {code:?}");
                }
            }
        }
    }
}

#[cfg(test)]
mod families_tests {
    use super::*;

    /// The report made looking only for the families of messages a
    /// timeline holds is the one made looking for every part, on every
    /// connection analysed (lab captures, decrypted, corpus) or built,
    /// each also with a negotiation sentence of its own (the negotiation
    /// is reported without X.224 messages then).
    #[test]
    fn parts_looked_for_by_family_are_those_looked_for_always() {
        let results = crate::report::analysed_and_built_results();
        let same = |c: &ConnectionResult, has: Families| {
            let want = connection_report_of(c, Families::ALL, &mut Spare::default());
            assert_eq!(
                connection_report_of(c, has, &mut Spare::default()),
                want,
                "stream {}",
                c.timeline.stream
            );
        };
        let mut found = [0usize; 5];
        for mut c in results {
            let has = Families::of(&c.timeline);
            same(&c, has);
            for (n, family) in
                found
                    .iter_mut()
                    .zip([has.x224, has.mcs, has.tls, has.credssp, has.nla])
            {
                *n += usize::from(family);
            }
            c.diagnosis.negotiation = Some("client offered SSL, server chose SSL".into());
            same(&c, has);
        }
        assert!(found.iter().all(|&n| n > 0), "{found:?}");
    }
}
