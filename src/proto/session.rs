//! The connection-level decoder: finds the RDP framing in both directions,
//! follows the X.224 negotiation to the selected security protocol, then
//! hands each direction to TLS (and CredSSP shape) or to MCS/GCC.
//!
//! - From the SYN, the client's stream must open with a TPKT-framed X.224
//!   Connection Request and the server's with the Connection Confirm;
//!   anything else is `NotRdp` (a TLS ClientHello straight away is still
//!   decoded as TLS). A capture that started mid-connection is searched
//!   for framing: two TPKT or TLS headers in a row, else a chain of
//!   encrypted fast-path PDUs.
//! - The selected protocol decides what follows: TLS (server first, to
//!   learn whether TLS 1.3 was chosen), CredSSP legs for HYBRID and
//!   HYBRID_EX, one `NotObservable` for RDP inside TLS without NLA; MCS/GCC
//!   and the slow-path PDUs for Standard RDP Security; nothing after an
//!   RDP_NEG_FAILURE.
//! - Only real bytes are decoded. At a hole decoding stops with `Stopped`
//!   ("bytes missing at offset N"); the slow path resumes after it at the
//!   next pair of TPKT headers. The depth cap stops decoding only when it
//!   cuts a PDU.
//! - Events about a position rather than a PDU span the one byte there.

use super::mcs::{McsEvent, SlowPathContext};
use super::tls;
use super::tpkt::{self, Frame, PduError};
use super::x224::{self, ConnectionConfirm, Protocols, Tpdu, X224Event};
use super::StopReason;
use super::{credssp, Anomaly, Decoded, ProtoEvent, StreamInput};
use crate::common::Dir;

/// Encrypted slow-path PDUs reported per direction; later ones are only
/// framed (the session may hold thousands).
const MAX_ENCRYPTED_EVENTS: usize = 8;
/// How far into a stream that did not start at the SYN we look for framing.
const RESYNC_WINDOW: usize = 64 * 1024;

/// One direction being decoded.
struct Side<'a> {
    dir: Dir,
    input: StreamInput<'a>,
    /// The contiguous bytes (before the first hole).
    data: &'a [u8],
}

impl<'a> Side<'a> {
    fn new(dir: Dir, input: StreamInput<'a>) -> Self {
        Side {
            dir,
            input,
            data: input.contiguous(),
        }
    }

    /// Whether some of the bytes `a..b` were hidden by the snap length,
    /// and every hole among them was.
    fn only_hidden_in(&self, a: usize, b: usize) -> bool {
        let (a, b) = (a as u64, b as u64);
        let overlaps = |&&(o, l): &&(u64, u64)| o < b && o.saturating_add(l) > a;
        let mut any = false;
        for h in self.input.holes.iter().filter(overlaps) {
            if !self.input.hidden.contains(h) {
                return false;
            }
            any = true;
        }
        any
    }

    /// This side with the holes the snap length made read through: its
    /// bytes run to the first other hole (`keep` holds the other holes).
    /// Decoders that frame by headers (TLS) see where hidden bytes are
    /// from `input.hidden`.
    fn past_snaplen<'b>(&self, keep: &'b mut Vec<(u64, u64)>) -> Side<'b>
    where
        'a: 'b,
    {
        keep.clear();
        let hidden = self.input.hidden;
        keep.extend(self.input.holes.iter().filter(|h| !hidden.contains(h)));
        let total = self.input.data.len();
        let end = keep
            .first()
            .map_or(total, |&(o, _)| (o as usize).min(total));
        Side {
            dir: self.dir,
            input: StreamInput {
                holes: keep,
                ..self.input
            },
            data: self.input.data.get(..end).unwrap_or(&[]),
        }
    }

    /// An event about a position rather than a PDU: it spans the byte at
    /// `at` (when there is one), so that it falls in the frame carrying it.
    fn marker(&self, at: usize, event: ProtoEvent) -> Decoded {
        let end = if at < self.input.data.len() {
            at + 1
        } else {
            at
        };
        self.at(at, end, event)
    }

    fn at(&self, start: usize, end: usize, event: ProtoEvent) -> Decoded {
        Decoded {
            dir: self.dir,
            start: start as u64,
            end: end as u64,
            event,
        }
    }

    /// Why decoding of a PDU starting at `at` cannot go on: the bytes end
    /// before it does (a hole, the depth cap, or the end of the capture).
    fn cut(&self, at: usize) -> Decoded {
        self.cut_in(at, self.data.len())
    }

    /// The hole that starts where a region of real bytes ends.
    fn hole_at(&self, region_end: usize) -> Option<(u64, u64)> {
        self.input
            .holes
            .iter()
            .copied()
            .find(|&(off, _)| off == region_end as u64)
    }

    /// As `cut`, for a PDU in the region of real bytes ending at
    /// `region_end`.
    fn cut_in(&self, at: usize, region_end: usize) -> Decoded {
        let at64 = at as u64;
        let why = if let Some((hole, _)) = self.hole_at(region_end) {
            StopReason::BytesMissing { at: hole }
        } else if let Some(limit) = self
            .input
            .limit
            .filter(|_| region_end >= self.input.data.len())
        {
            StopReason::Bound { limit, at: at64 }
        } else {
            StopReason::EndsInsidePdu { at: at64 }
        };
        self.at(at, region_end, ProtoEvent::Stopped { why })
    }

    /// The end of the decodable bytes was reached between PDUs: a hole
    /// there still stops decoding.
    fn end_of_data(&self, out: &mut Vec<Decoded>) {
        self.end_in(self.data.len(), out);
    }

    fn end_in(&self, region_end: usize, out: &mut Vec<Decoded>) {
        if let Some((hole, _)) = self.hole_at(region_end) {
            out.push(self.at(
                region_end,
                region_end,
                ProtoEvent::Stopped {
                    why: StopReason::BytesMissing { at: hole },
                },
            ));
        }
    }

    /// The region of real bytes after the hole at `region_end`: its start
    /// and end (the next hole or the end of the data).
    fn region_after(&self, region_end: usize) -> Option<(usize, usize)> {
        let (off, len) = self.hole_at(region_end)?;
        let next = usize::try_from(off.checked_add(len)?).ok()?;
        let total = self.input.data.len();
        if next >= total {
            return None;
        }
        let end = self
            .input
            .holes
            .iter()
            .map(|&(o, _)| o as usize)
            .find(|&o| o > next)
            .unwrap_or(total)
            .min(total);
        Some((next, end))
    }
}

/// What the start of a direction looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Start {
    Tpkt,
    Tls,
    /// Fast-path PDUs (session traffic under Standard RDP Security).
    FastPath,
}

/// A plausible TPKT header carrying an X.224 TPDU RDP uses.
fn plausible_tpkt(b: &[u8]) -> bool {
    let (Some(&v), Some(&r), Some(&l0), Some(&l1), Some(&li), Some(&code)) =
        (b.first(), b.get(1), b.get(2), b.get(3), b.get(4), b.get(5))
    else {
        return false;
    };
    let len = u16::from_be_bytes([l0, l1]) as usize;
    if v != 3 || r != 0 || len < 7 || (li as usize) + 5 > len {
        return false;
    }
    match code & 0xf0 {
        x224::TPDU_DATA => li == 2 && b.get(6).map_or(true, |&e| e == 0x80),
        x224::TPDU_CONNECTION_REQUEST | x224::TPDU_CONNECTION_CONFIRM => li >= 6,
        x224::TPDU_DISCONNECT_REQUEST => li >= 6,
        _ => false,
    }
}

/// A plausible TLS record header (RFC 5246 6.2.1): content type 20-23,
/// major version 3, a length within the protocol's limit.
fn plausible_tls(b: &[u8]) -> bool {
    let (Some(&ct), Some(&maj), Some(&min), Some(&l0), Some(&l1)) =
        (b.first(), b.get(1), b.get(2), b.get(3), b.get(4))
    else {
        return false;
    };
    let len = u16::from_be_bytes([l0, l1]) as usize;
    (20..=23).contains(&ct) && maj == 3 && min <= 4 && len > 0 && len <= 16384 + 2048
}

/// Whether `b` starts with encrypted fast-path PDUs chained back to back:
/// three of them, or at least two that end exactly where the bytes end. A
/// fast-path header is too short to trust alone; only encrypted ones are
/// looked for (clear fast-path outside TLS needs encryption level none).
fn plausible_fast_path_chain(b: &[u8]) -> bool {
    let mut at = 0usize;
    for n in 0..3 {
        let Some(rest) = b.get(at..) else {
            return false;
        };
        if rest.is_empty() {
            return n >= 2;
        }
        match tpkt::find_size(rest) {
            // An encrypted PDU carries at least its 8-byte signature.
            Ok(Frame::FastPath {
                len,
                encrypted: true,
            }) if len > 2 + 8 => at += len,
            _ => return false,
        }
    }
    true
}

/// Find the first offset within the resync window where a TPKT or TLS
/// header starts and, when the following header is present too, is
/// followed by another plausible header (two in a row make chance
/// matches unlikely); failing that, a chain of fast-path PDUs.
fn resync(data: &[u8]) -> Option<(usize, Start)> {
    let window = data.get(..data.len().min(RESYNC_WINDOW)).unwrap_or(data);
    let framed = (0..window.len()).find_map(|off| {
        let b = data.get(off..)?;
        let (kind, len) = if plausible_tpkt(b) {
            (Start::Tpkt, u16::from_be_bytes([b[2], b[3]]) as usize)
        } else if plausible_tls(b) {
            (Start::Tls, u16::from_be_bytes([b[3], b[4]]) as usize + 5)
        } else {
            return None;
        };
        match b.get(len..) {
            None | Some([]) => Some((off, kind)),
            Some(next) => {
                let ok = plausible_tpkt(next)
                    || plausible_tls(next)
                    || matches!(tpkt::find_size(next), Ok(Frame::FastPath { .. }));
                ok.then_some((off, kind))
            }
        }
    });
    framed.or_else(|| {
        (0..window.len())
            .find(|&off| data.get(off..).is_some_and(plausible_fast_path_chain))
            .map(|off| (off, Start::FastPath))
    })
}

/// Decode both directions of one connection. Events come back sorted by
/// (direction-independent) stream position within each direction; the
/// caller merges directions by frame.
pub fn decode_connection(to_server: StreamInput<'_>, to_client: StreamInput<'_>) -> Vec<Decoded> {
    let client = Side::new(Dir::ToServer, to_server);
    let server = Side::new(Dir::ToClient, to_client);
    let mut out = Vec::new();
    decode_sides(&client, &server, &mut out);
    out.sort_by_key(|d| (d.dir.index(), d.start));
    out
}

fn decode_sides(client: &Side<'_>, server: &Side<'_>, out: &mut Vec<Decoded>) {
    if client.data.is_empty() {
        client.end_of_data(out);
        // A capture that started mid-connection may hold only the
        // server's side.
        if !server.input.from_start {
            if let Some((off, kind)) = resync(server.data) {
                decode_mid_stream_side(server, off, kind, out);
            }
        }
        return;
    }
    // The client's first PDU.
    let client_start = if client.input.from_start {
        if is_cr(client.data) {
            0
        } else if client.data.len() < 6 && client.data.first() == Some(&3) {
            // Too short to tell: a TPKT header cut by the end of the bytes.
            out.push(client.cut(0));
            return;
        } else if client.data.first() == Some(&22) && plausible_tls(client.data) {
            // A TLS handshake record straight away: direct TLS.
            out.push(
                client.marker(
                    0,
                    ProtoEvent::NotRdp {
                        why: "the client began with a TLS record, not an X.224 Connection Request"
                            .into(),
                    },
                ),
            );
            out.push(client.marker(
                0,
                ProtoEvent::Anomaly {
                    what: Anomaly::DirectTls,
                },
            ));
            decode_tls(client, 0, server, 0, None, out);
            return;
        } else {
            out.push(client.at(
                0,
                client.data.len().min(16),
                ProtoEvent::NotRdp {
                    why: format!(
                        "the client's first bytes are not a TPKT-framed X.224 Connection Request: {}",
                        describe_bytes(client.data)
                    ),
                },
            ));
            return;
        }
    } else {
        match resync(client.data) {
            Some((off, Start::Tpkt)) if is_cr(client.data.get(off..).unwrap_or(&[])) => {
                skipped(client, off, out);
                off
            }
            Some((off, kind)) => {
                // The negotiation was not captured: decode each direction
                // from its first plausible header.
                decode_mid_stream(client, off, kind, server, out);
                return;
            }
            None => {
                out.push(client.marker(
                    0,
                    ProtoEvent::Stopped {
                        why: StopReason::NoFramingMidConnection,
                    },
                ));
                if let Some((off, kind)) = resync(server.data) {
                    decode_mid_stream_side(server, off, kind, out);
                }
                return;
            }
        }
    };
    // Connection Request. One cut by missing bytes (a snap length, the end
    // of the capture) still lets the server's Connection Confirm, when its
    // bytes are all there, be decoded; nothing after it is.
    let cr_end = decode_x224_start(client, client_start, out);
    let cr_cut = cr_end.is_none()
        && matches!(out.last(), Some(d) if d.dir == Dir::ToServer
            && matches!(d.event, ProtoEvent::Stopped { .. }));
    if cr_end.is_none() && !cr_cut {
        return;
    }
    // Connection Confirm.
    if server.data.is_empty() {
        server.end_of_data(out);
        return;
    }
    let server_start = if server.input.from_start {
        0
    } else {
        match resync(server.data) {
            Some((off, Start::Tpkt)) => {
                skipped(server, off, out);
                off
            }
            _ => {
                out.push(server.marker(
                    0,
                    ProtoEvent::Stopped {
                        why: StopReason::NoConfirmMidConnection,
                    },
                ));
                return;
            }
        }
    };
    let server_bytes = server.data.get(server_start..).unwrap_or(&[]);
    if server_bytes.len() < 6 && server_bytes.first() == Some(&3) {
        // Too short to tell: a TPKT header cut by the end of the bytes.
        out.push(server.cut(server_start));
        return;
    }
    if !plausible_tpkt(server_bytes) {
        out.push(server.at(
            server_start,
            server.data.len().min(server_start + 16),
            ProtoEvent::NotRdp {
                why: format!(
                    "the server answered with bytes that are not an X.224 Connection Confirm: {}",
                    describe_bytes(server_bytes)
                ),
            },
        ));
        return;
    }
    let Some(cc_end) = decode_x224_start(server, server_start, out) else {
        return;
    };
    let Some(cr_end) = cr_end else {
        return;
    };
    let confirm = out.iter().rev().find_map(|d| match &d.event {
        ProtoEvent::X224(X224Event::ConnectionConfirm(cc)) if d.dir == Dir::ToClient => {
            Some(cc.clone())
        }
        _ => None,
    });
    let Some(confirm) = confirm else {
        // The server's first TPDU was not a Connection Confirm (already
        // reported as an anomaly or a disconnect).
        return;
    };
    match confirm {
        // A failure ends the negotiation (MS-RDPBCGR 2.2.1.2.2), but some
        // peers go on regardless: a client that sends a ClientHello anyway
        // and a server that answers it (seen with probes). Follow the bytes.
        ConnectionConfirm::Failure { .. } => {
            let after_cr = client.data.get(cr_end..).unwrap_or(&[]);
            if plausible_tls(after_cr) && server.data.get(cc_end..).is_some_and(plausible_tls) {
                decode_tls(client, cr_end, server, cc_end, None, out);
            } else if plausible_tpkt(after_cr) {
                // An MCS Connect Initial sent regardless, in the clear.
                decode_slow_path_both(client, cr_end, server, cc_end, out);
            }
        }
        ConnectionConfirm::NoNegotiation => {
            decode_slow_path_both(client, cr_end, server, cc_end, out);
        }
        ConnectionConfirm::Selected { selected, .. } => match selected.0 {
            Protocols::RDP => decode_slow_path_both(client, cr_end, server, cc_end, out),
            Protocols::SSL
            | Protocols::HYBRID
            | Protocols::HYBRID_EX
            | Protocols::RDSTLS
            | Protocols::RDSAAD => decode_tls(client, cr_end, server, cc_end, Some(selected), out),
            other => {
                out.push(server.at(
                    server_start,
                    cc_end,
                    ProtoEvent::Anomaly {
                        what: Anomaly::UnknownSelectedProtocol { protocol: other },
                    },
                ));
                if server.data.get(cc_end..).is_some_and(plausible_tls) {
                    decode_tls(client, cr_end, server, cc_end, None, out);
                } else {
                    decode_slow_path_both(client, cr_end, server, cc_end, out);
                }
            }
        },
    }
}

/// A Connection Request, or a TPKT with an X.224 CR code whose length
/// indicator leaves bytes over (decoded, with the extra bytes noted).
fn is_cr(b: &[u8]) -> bool {
    x224::looks_like_connection_request(b)
        || (plausible_tpkt(b)
            && b.get(5)
                .is_some_and(|c| c & 0xf0 == x224::TPDU_CONNECTION_REQUEST))
}

/// A short, printable description of a stream's first bytes.
fn describe_bytes(b: &[u8]) -> String {
    let head = b.get(..b.len().min(8)).unwrap_or(b);
    let hex: Vec<String> = head.iter().map(|x| format!("{x:02x}")).collect();
    let text: String = head
        .iter()
        .map(|&c| {
            if (0x20..0x7f).contains(&c) {
                c as char
            } else {
                '.'
            }
        })
        .collect();
    format!("{} ({text:?})", hex.join(" "))
}

/// Decode the TPKT at `start` (a CR on the client side, a CC on the
/// server side). Returns the offset after it, or None when decoding of
/// this connection cannot go on.
fn decode_x224_start(side: &Side<'_>, start: usize, out: &mut Vec<Decoded>) -> Option<usize> {
    let bytes = side.data.get(start..).unwrap_or(&[]);
    let len = match tpkt::find_size(bytes) {
        Ok(f) => f.len(),
        Err(PduError::Incomplete) => {
            out.push(side.cut(start));
            return None;
        }
        Err(PduError::Invalid(w)) => {
            out.push(side.marker(start, ProtoEvent::NotRdp { why: w }));
            return None;
        }
    };
    let end = start + len;
    let Some(pkt) = side.data.get(start..end) else {
        if end <= side.input.data.len() && side.only_hidden_in(start, end) {
            // The snap length cut the TPDU: its TPKT header says where it
            // ends, its content is not there.
            let what = if side.dir == Dir::ToServer {
                "X.224 Connection Request"
            } else {
                "X.224 Connection Confirm"
            };
            let hidden = snaplen_hidden(side, start, end);
            out.push(side.at(
                start,
                end,
                ProtoEvent::HiddenBySnaplen {
                    what: format!("{what} ({len} bytes, {hidden} of them not captured)"),
                },
            ));
            return Some(end);
        }
        out.push(side.cut(start));
        return None;
    };
    let decoded = match x224::decode_tpkt(pkt) {
        Ok(d) => d,
        Err(PduError::Incomplete) => {
            out.push(side.cut(start));
            return None;
        }
        Err(PduError::Invalid(w)) => {
            out.push(side.at(start, end, ProtoEvent::NotRdp { why: w }));
            return None;
        }
    };
    let ev = match decoded.tpdu {
        Tpdu::ConnectionRequest(cr) if side.dir == Dir::ToServer => {
            Some(X224Event::ConnectionRequest(cr))
        }
        Tpdu::ConnectionConfirm(cc) if side.dir == Dir::ToClient => {
            Some(X224Event::ConnectionConfirm(cc))
        }
        Tpdu::DisconnectRequest { reason } => Some(X224Event::DisconnectRequest { reason }),
        Tpdu::Error { cause } => Some(X224Event::Error { cause }),
        _ => None,
    };
    let is_expected = matches!(
        ev,
        Some(X224Event::ConnectionRequest(_)) | Some(X224Event::ConnectionConfirm(_))
    );
    match ev {
        Some(ev) => out.push(side.at(start, end, ProtoEvent::X224(ev))),
        None => out.push(side.at(
            start,
            end,
            ProtoEvent::Anomaly {
                what: Anomaly::FirstTpduUnexpected { dir: side.dir },
            },
        )),
    }
    for what in decoded.anomalies {
        out.push(side.at(start, end, ProtoEvent::Anomaly { what }));
    }
    is_expected.then_some(end)
}

/// Bytes of `start..end` the snap length hid.
fn snaplen_hidden(side: &Side<'_>, start: usize, end: usize) -> u64 {
    let (a, b) = (start as u64, end as u64);
    side.input
        .hidden
        .iter()
        .map(|&(o, l)| o.max(a)..o.saturating_add(l).min(b))
        .map(|r| r.end.saturating_sub(r.start))
        .sum()
}

/// TLS in both directions from the given offsets: the server first, to
/// learn from its ServerHello whether TLS 1.3 was selected. Records are
/// framed through bytes the snap length hid.
fn decode_tls(
    client: &Side<'_>,
    client_start: usize,
    server: &Side<'_>,
    server_start: usize,
    selected: Option<Protocols>,
    out: &mut Vec<Decoded>,
) {
    let (mut ck, mut sk) = (Vec::new(), Vec::new());
    let client = &client.past_snaplen(&mut ck);
    let server = &server.past_snaplen(&mut sk);
    let sbytes = server.data.get(server_start..).unwrap_or(&[]);
    let cbytes = client.data.get(client_start..).unwrap_or(&[]);
    // The server direction switches itself to "encrypted" at a TLS 1.3
    // ServerHello; the client direction is told. Without a negotiation a
    // side that was not captured from its start is decoded from a record
    // found by searching: its handshake may be before the capture.
    let mid = |side: &Side<'_>| selected.is_none() && !side.input.from_start;
    let mut s = tls::decode_direction_from(
        Dir::ToClient,
        sbytes,
        server_start as u64,
        false,
        mid(server),
        server.input.hidden,
    );
    let server_hello = s.server_hello().cloned();
    let tls13 = s.selected_tls13();
    let mut c = tls::decode_direction_from(
        Dir::ToServer,
        cbytes,
        client_start as u64,
        tls13,
        mid(client),
        client.input.hidden,
    );
    tls_events(server, &mut s, out);
    tls_events(client, &mut c, out);
    match selected {
        Some(p) if p.0 == Protocols::HYBRID || p.0 == Protocols::HYBRID_EX => {
            out.extend(credssp::map_legs_with(
                p,
                server_hello.as_ref(),
                &c.encrypted_records,
                &s.encrypted_records,
            ));
        }
        _ => {
            // TLS without NLA: the RDP connection sequence and the session
            // run inside TLS. Say so once, at the first application data.
            let first = [(client, &c), (server, &s)]
                .into_iter()
                .find_map(|(side, res)| {
                    res.encrypted_records
                        .iter()
                        .find(|r| r.content_type == 23)
                        .map(|r| (side, *r))
                });
            if let Some((side, rec)) = first {
                out.push(Decoded {
                    dir: side.dir,
                    start: rec.start,
                    end: rec.end,
                    event: ProtoEvent::NotObservable {
                        what: "the RDP connection sequence and session inside TLS".into(),
                    },
                });
            }
        }
    }
}

/// The TLS decoder's events for one direction, with the direction set.
/// Its Stopped events do not know why the bytes ended: a hole or the depth
/// cap is named here. A direction that stopped short without saying so, or
/// ran into a hole between records, gets a Stopped event of its own.
fn tls_events(side: &Side<'_>, res: &mut tls::TlsDirection, out: &mut Vec<Decoded>) {
    // What really cut a record short: a hole, or a bound on what was kept.
    let reason = |at: u64| -> Option<StopReason> {
        if let Some(&(hole, _)) = side.input.holes.first() {
            Some(StopReason::BytesMissing { at: hole })
        } else {
            side.input
                .limit
                .map(|limit| StopReason::Bound { limit, at })
        }
    };
    let mut said_stop = false;
    if let Some(ev) = res.records.take() {
        let first = res.events.first().map_or(res.stopped_at, |d| d.start);
        out.push(Decoded {
            dir: side.dir,
            start: first.min(res.stopped_at),
            end: res.stopped_at,
            event: ProtoEvent::Tls(ev),
        });
    }
    for mut d in std::mem::take(&mut res.events) {
        d.dir = side.dir;
        if let ProtoEvent::Stopped { why } = &mut d.event {
            said_stop = true;
            let rest = side.data.get(d.start as usize..).unwrap_or(&[]);
            // A clear-text TPKT where a TLS record was due: the peer gave
            // up on TLS and said so in RDP (xrdp sends an MCS Disconnect
            // Provider Ultimatum when it cannot start TLS). Decode it.
            if plausible_tpkt(rest) {
                let at = d.start as usize;
                out.push(side.marker(
                    at,
                    ProtoEvent::Anomaly {
                        what: Anomaly::ClearTextWhereTlsExpected { at },
                    },
                ));
                decode_slow_path(side, at, &mut SlowPathContext::default(), out);
                continue;
            }
            // A record cut by the end of the bytes (not garbage).
            if let Some(r) = reason(d.start) {
                if rest.len() < 5 || plausible_tls(rest) {
                    *why = r;
                }
            }
        }
        out.push(d);
    }
    if said_stop {
        return;
    }
    let end = side.data.len() as u64;
    if res.stopped_at < end {
        let at = res.stopped_at as usize;
        let rest = side.data.get(at..).unwrap_or(&[]);
        if plausible_tls(rest) {
            out.push(side.cut(at));
        } else {
            out.push(side.marker(
                at,
                ProtoEvent::Stopped {
                    why: StopReason::NotTls { at: at as u64 },
                },
            ));
        }
    } else {
        side.end_of_data(out);
    }
}

/// The plaintext of RDP inside TLS from the given offsets (after CredSSP):
/// the same slow path as Standard RDP Security's, used by `inner`.
pub(super) fn decode_plaintext_slow_path(
    to_server: StreamInput<'_>,
    client_start: usize,
    to_client: StreamInput<'_>,
    server_start: usize,
    out: &mut Vec<Decoded>,
) {
    let client = Side::new(Dir::ToServer, to_server);
    let server = Side::new(Dir::ToClient, to_client);
    let mut ctx = SlowPathContext::default();
    for (side, start) in [(&server, server_start), (&client, client_start)] {
        // Fast-path PDUs are counted, not decoded: one event per
        // direction, at the last of them.
        if let Some((last, pdus, bytes)) = decode_slow_path(side, start, &mut ctx, out) {
            out.push(side.at(last.0, last.1, ProtoEvent::FastPathCount { pdus, bytes }));
        }
    }
}

/// Standard RDP Security: MCS/GCC and the slow-path PDUs in the clear.
/// The server first, whose Connect Response says the encryption level both
/// directions need.
fn decode_slow_path_both(
    client: &Side<'_>,
    client_start: usize,
    server: &Side<'_>,
    server_start: usize,
    out: &mut Vec<Decoded>,
) {
    let mut ctx = SlowPathContext::default();
    decode_slow_path(server, server_start, &mut ctx, out);
    decode_slow_path(client, client_start, &mut ctx, out);
}

/// The PDUs of one direction from `start`: TPKT (X.224 and MCS) and
/// fast-path, framed first, then decoded. At a hole decoding stops; if the
/// bytes after the hole hold a TPKT header (two in a row), it resumes there
/// (snap-length-cut captures leave a hole in every large packet).
fn decode_slow_path(
    side: &Side<'_>,
    start: usize,
    ctx: &mut SlowPathContext,
    out: &mut Vec<Decoded>,
) -> Option<FastPathTally> {
    let mut st = SlowPathState::default();
    let mut off = start;
    let mut region_end = side.data.len();
    loop {
        let region = side.input.data.get(..region_end).unwrap_or(&[]);
        if !decode_region(side, region, off, ctx, &mut st, out) {
            break;
        }
        // Stopped at the hole ending this region: look past it.
        let Some((next, next_end)) = side.region_after(region_end) else {
            break;
        };
        let bytes = side.input.data.get(next..next_end).unwrap_or(&[]);
        match resync(bytes) {
            Some((o, Start::Tpkt | Start::FastPath)) => {
                off = next + o;
                region_end = next_end;
                out.push(side.marker(
                    off,
                    ProtoEvent::Anomaly {
                        what: Anomaly::ResumedAfterMissingBytes { at: off },
                    },
                ));
            }
            _ => break,
        }
    }
    // Encrypted PDUs past the few listed are counted, not dropped.
    if let Some((first, last)) = st.unlisted {
        out.push(side.at(
            first,
            last,
            ProtoEvent::NotObservable {
                what: format!(
                    "{} more encrypted PDUs ({} bytes) after the first {MAX_ENCRYPTED_EVENTS}, \
                     counted, not listed",
                    st.encrypted_seen - MAX_ENCRYPTED_EVENTS,
                    st.unlisted_bytes
                ),
            },
        ));
    }
    st.fast_path
}

/// The fast-path PDUs of a direction: the last one's span, their number
/// and their bytes.
type FastPathTally = ((usize, usize), u64, u64);

#[derive(Default)]
struct SlowPathState {
    fast_path_seen: bool,
    fast_path: Option<FastPathTally>,
    encrypted_seen: usize,
    /// Encrypted PDUs past [`MAX_ENCRYPTED_EVENTS`] (their number is
    /// `encrypted_seen` minus it): the span from the first to the end of
    /// the last, and their bytes.
    unlisted: Option<(usize, usize)>,
    unlisted_bytes: u64,
    tmp: Vec<ProtoEvent>,
}

/// Decode the PDUs of `region` (the stream's bytes up to a hole or the
/// end) from `off`. Returns true when it stopped at the region's end
/// because of a hole there (the caller may resync after it).
fn decode_region(
    side: &Side<'_>,
    region: &[u8],
    mut off: usize,
    ctx: &mut SlowPathContext,
    st: &mut SlowPathState,
    out: &mut Vec<Decoded>,
) -> bool {
    let region_end = region.len();
    let at_hole = side.hole_at(region_end).is_some();
    loop {
        let Some(rest) = region.get(off..).filter(|r| !r.is_empty()) else {
            side.end_in(region_end, out);
            return at_hole;
        };
        let frame = match tpkt::find_size(rest) {
            Ok(f) => f,
            Err(PduError::Incomplete) => {
                out.push(side.cut_in(off, region_end));
                return at_hole;
            }
            Err(PduError::Invalid(w)) => {
                out.push(side.marker(
                    off,
                    ProtoEvent::Stopped {
                        why: StopReason::Undecodable {
                            at: off as u64,
                            what: w.to_string(),
                        },
                    },
                ));
                return false;
            }
        };
        let end = off + frame.len();
        let Some(pdu) = region.get(off..end) else {
            out.push(side.cut_in(off, region_end));
            return at_hole;
        };
        match frame {
            Frame::FastPath { len, encrypted } => {
                let t = st.fast_path.get_or_insert(((off, end), 0, 0));
                t.0 = (off, end);
                t.1 += 1;
                t.2 += (end - off) as u64;
                if !st.fast_path_seen {
                    st.fast_path_seen = true;
                    out.push(side.at(
                        off,
                        end,
                        ProtoEvent::FastPath {
                            len: len as u32,
                            encrypted,
                        },
                    ));
                }
            }
            Frame::Tpkt { .. } => {
                st.tmp.clear();
                decode_tpkt_pdu(pdu, ctx, &mut st.tmp);
                for ev in st.tmp.drain(..) {
                    if matches!(ev, ProtoEvent::Mcs(McsEvent::EncryptedPdu { .. })) {
                        st.encrypted_seen += 1;
                        if st.encrypted_seen > MAX_ENCRYPTED_EVENTS {
                            let first = st.unlisted.map_or(off, |(f, _)| f);
                            st.unlisted = Some((first, end));
                            st.unlisted_bytes += (end - off) as u64;
                            continue;
                        }
                    }
                    out.push(side.at(off, end, ev));
                }
            }
        }
        off = end;
    }
}

/// One whole TPKT packet after the negotiation.
fn decode_tpkt_pdu(pkt: &[u8], ctx: &mut SlowPathContext, out: &mut Vec<ProtoEvent>) {
    let decoded = match x224::decode_tpkt(pkt) {
        Ok(d) => d,
        Err(e) => {
            out.push(ProtoEvent::Anomaly {
                what: match e {
                    PduError::Incomplete => Anomaly::TpduCut,
                    PduError::Invalid(why) => Anomaly::TpduNotUnderstood { why },
                },
            });
            return;
        }
    };
    for what in decoded.anomalies {
        out.push(ProtoEvent::Anomaly { what });
    }
    match decoded.tpdu {
        Tpdu::Data { eot, user_data } => {
            if !eot {
                out.push(ProtoEvent::Anomaly {
                    what: Anomaly::DataWithoutEot,
                });
            }
            if let Err(e) = super::mcs::decode_mcs(user_data, ctx, out) {
                out.push(ProtoEvent::Anomaly {
                    what: match e {
                        PduError::Incomplete => Anomaly::McsCut,
                        PduError::Invalid(why) => Anomaly::McsNotUnderstood { why },
                    },
                });
            }
        }
        Tpdu::DisconnectRequest { reason } => {
            out.push(ProtoEvent::X224(X224Event::DisconnectRequest { reason }))
        }
        Tpdu::Error { cause } => out.push(ProtoEvent::X224(X224Event::Error { cause })),
        Tpdu::ConnectionRequest(_) | Tpdu::ConnectionConfirm(_) => out.push(ProtoEvent::Anomaly {
            what: Anomaly::SecondConnectionTpdu,
        }),
        Tpdu::Other { code } => out.push(ProtoEvent::Anomaly {
            what: Anomaly::OtherTpdu { code },
        }),
    }
}

/// A capture that started mid-connection: each direction from its first
/// plausible header, in the security layer that header implies.
fn decode_mid_stream(
    client: &Side<'_>,
    client_off: usize,
    client_kind: Start,
    server: &Side<'_>,
    out: &mut Vec<Decoded>,
) {
    match (client_kind, resync(server.data)) {
        (Start::Tls, Some((soff, Start::Tls))) => {
            skipped(client, client_off, out);
            skipped(server, soff, out);
            decode_tls(client, client_off, server, soff, None, out);
        }
        (_, s) => {
            decode_mid_stream_side(client, client_off, client_kind, out);
            match s {
                Some((soff, kind)) => decode_mid_stream_side(server, soff, kind, out),
                None if !server.data.is_empty() => out.push(server.marker(
                    0,
                    ProtoEvent::Stopped {
                        why: StopReason::NoFramingMidConnection,
                    },
                )),
                None => {}
            }
        }
    }
}

fn skipped(side: &Side<'_>, off: usize, out: &mut Vec<Decoded>) {
    if off > 0 {
        out.push(side.at(
            0,
            off,
            ProtoEvent::Anomaly {
                what: Anomaly::SkippedBeforeHeader { len: off },
            },
        ));
    }
}

fn decode_mid_stream_side(side: &Side<'_>, off: usize, kind: Start, out: &mut Vec<Decoded>) {
    skipped(side, off, out);
    match kind {
        Start::Tpkt | Start::FastPath => {
            let mut ctx = SlowPathContext::default();
            decode_slow_path(side, off, &mut ctx, out);
        }
        Start::Tls => {
            let mut keep = Vec::new();
            let side = &side.past_snaplen(&mut keep);
            let bytes = side.data.get(off..).unwrap_or(&[]);
            let mid = !side.input.from_start;
            let hidden = side.input.hidden;
            let mut res =
                tls::decode_direction_from(side.dir, bytes, off as u64, false, mid, hidden);
            tls_events(side, &mut res, out);
        }
    }
}

/// Whether a client's first payload is a TPKT-framed X.224 Connection
/// Request (RDP on any port). A request cut by the snap length still
/// counts if what is there fits.
pub fn looks_like_rdp_request(first_payload: &[u8]) -> bool {
    x224::looks_like_connection_request(first_payload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::KeepLimit;
    use crate::proto::mcs::tests as m;
    use crate::proto::tpkt::hex;
    use crate::proto::x224::tests as x;
    use crate::proto::x224::NegFailureCode;

    fn input<'a>(data: &'a [u8], holes: &'a [(u64, u64)], capped: bool) -> StreamInput<'a> {
        StreamInput {
            data,
            holes,
            limit: capped.then_some(KeepLimit::DepthCap {
                bytes: data.len() as u64,
            }),
            from_start: true,
            hidden: &[],
        }
    }

    fn cat(parts: &[&str]) -> Vec<u8> {
        parts.iter().flat_map(|h| hex(h)).collect()
    }

    /// A Standard RDP Security connection from RDP-003's PDUs.
    fn legacy_streams() -> (Vec<u8>, Vec<u8>) {
        let client = cat(&[
            x::LEGACY_CR,
            m::CI,
            m::ERECT,
            m::ATTACH_REQ,
            m::JOIN_REQ,
            m::SEC_EXCHANGE,
        ]);
        let server = cat(&[
            x::LEGACY_CC,
            m::CR,
            m::ATTACH_CONFIRM,
            m::JOIN_CONFIRM,
            m::LICENSE_VALID_CLIENT,
            "8005 010203", // a fast-path update, encrypted
            m::DPUM,
        ]);
        (client, server)
    }

    fn kinds(ev: &[Decoded], dir: Dir) -> Vec<String> {
        ev.iter()
            .filter(|d| d.dir == dir)
            .map(|d| {
                let s = format!("{:?}", d.event);
                let w: Vec<&str> = s
                    .split(|c: char| !c.is_ascii_alphanumeric())
                    .filter(|w| !w.is_empty())
                    .collect();
                match w[..] {
                    [l @ ("X224" | "Mcs" | "Tls" | "Credssp"), n, ..] => format!("{l} {n}"),
                    _ => w[0].to_string(),
                }
            })
            .collect()
    }

    /// testdata/captures/17-key-mismatch.pcap: xrdp selects SSL, then
    /// cannot start TLS (its key does not match its certificate) and sends
    /// a clear-text MCS Disconnect Provider Ultimatum (frame 10) instead of
    /// a ServerHello, then resets.
    #[test]
    fn clear_text_disconnect_where_a_server_hello_was_due() {
        let c = cat(&[
            "0300002a25e00000000000436f6f6b69653a206d737473686173683d726f6f740d0a0100080001000000",
        ]);
        let s = cat(&[
            "030000130ed000001234000201080001000000",
            "0300000902f0802180",
        ]);
        let ev = decode_connection(input(&c, &[], false), input(&s, &[], false));
        let server: Vec<&ProtoEvent> = ev
            .iter()
            .filter(|d| d.dir == Dir::ToClient)
            .map(|d| &d.event)
            .collect();
        assert!(server.iter().any(|e| matches!(
            e,
            ProtoEvent::Mcs(McsEvent::DisconnectProviderUltimatum { reason: 3 })
        )));
        assert!(server.iter().any(|e| matches!(
            e,
            ProtoEvent::Anomaly {
                what: Anomaly::ClearTextWhereTlsExpected { .. }
            }
        )));
        assert!(!server
            .iter()
            .any(|e| matches!(e, ProtoEvent::Stopped { .. })));
        // Placed at the TPKT: offsets 19..28 of the server's stream.
        let dpum = ev
            .iter()
            .find(|d| {
                matches!(
                    d.event,
                    ProtoEvent::Mcs(McsEvent::DisconnectProviderUltimatum { .. })
                )
            })
            .unwrap();
        assert_eq!((dpum.start, dpum.end), (19, 28));
    }

    #[test]
    fn standard_security_sequence() {
        let (c, s) = legacy_streams();
        let ev = decode_connection(input(&c, &[], false), input(&s, &[], false));
        assert_eq!(
            kinds(&ev, Dir::ToServer),
            [
                "X224 ConnectionRequest",
                "Mcs ConnectInitial",
                "Mcs ErectDomainRequest",
                "Mcs AttachUserRequest",
                "Mcs ChannelJoinRequest",
                "Mcs SecurityExchange"
            ]
        );
        assert_eq!(
            kinds(&ev, Dir::ToClient),
            [
                "X224 ConnectionConfirm",
                "Mcs ConnectResponse",
                "Mcs AttachUserConfirm",
                "Mcs ChannelJoinConfirm",
                "Mcs Licensing",
                "FastPath",
                "Mcs DisconnectProviderUltimatum"
            ]
        );
        // Offsets: each event spans its PDU; the last ends at the end.
        let first = &ev[0];
        assert_eq!((first.start, first.end), (0, 36));
        let last_c = ev.iter().rfind(|d| d.dir == Dir::ToServer).unwrap();
        assert_eq!(last_c.end, c.len() as u64);
        let last_s = ev.iter().rfind(|d| d.dir == Dir::ToClient).unwrap();
        assert_eq!(
            (last_s.start, last_s.end),
            (s.len() as u64 - 9, s.len() as u64)
        );
        let fp = ev
            .iter()
            .find(|d| matches!(d.event, ProtoEvent::FastPath { .. }))
            .unwrap();
        assert_eq!(
            fp.event,
            ProtoEvent::FastPath {
                len: 5,
                encrypted: true
            }
        );
        assert_eq!(fp.end - fp.start, 5);
    }

    fn stopped(ev: &[Decoded], dir: Dir) -> Vec<StopReason> {
        ev.iter()
            .filter(|d| d.dir == dir)
            .filter_map(|d| match &d.event {
                ProtoEvent::Stopped { why } => Some(why.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn holes_stop_decoding() {
        let (c, s) = legacy_streams();
        // A hole inside the Connect Initial: decoding stops there, and
        // resumes at the first pair of TPKT headers after it.
        let holes = [(100u64, 20u64)];
        let ev = decode_connection(input(&c, &holes, false), input(&s, &[], false));
        assert_eq!(
            kinds(&ev, Dir::ToServer)[..4],
            [
                "X224 ConnectionRequest",
                "Stopped",
                "Anomaly",
                "Mcs ErectDomainRequest"
            ]
        );
        assert_eq!(
            stopped(&ev, Dir::ToServer),
            [StopReason::BytesMissing { at: 100 }]
        );
        let resumed = ev
            .iter()
            .find(|d| d.event == ProtoEvent::Mcs(McsEvent::ErectDomainRequest));
        assert_eq!(resumed.map(|d| d.start), Some(448));
        // A hole right after the Connection Request: nothing is cut, but
        // decoding stops there all the same.
        let holes = [(36u64, 20u64)];
        let ev = decode_connection(input(&c, &holes, false), input(&s, &[], false));
        assert_eq!(
            stopped(&ev, Dir::ToServer),
            [StopReason::BytesMissing { at: 36 }]
        );
        let st = ev
            .iter()
            .find(|d| matches!(d.event, ProtoEvent::Stopped { .. }))
            .unwrap();
        assert_eq!(st.start, 36);
        // A snap-length-style hole inside the Connect Initial, then the
        // later PDUs: decoding resumes at the Erect Domain Request.
        let holes = [(100u64, 348u64)];
        let ev = decode_connection(input(&c, &holes, false), input(&s, &[], false));
        assert_eq!(
            kinds(&ev, Dir::ToServer),
            [
                "X224 ConnectionRequest",
                "Stopped",
                "Anomaly",
                "Mcs ErectDomainRequest",
                "Mcs AttachUserRequest",
                "Mcs ChannelJoinRequest",
                "Mcs SecurityExchange"
            ]
        );
        // Junk after the hole: no resync.
        let mut junk = c.clone();
        junk[448..].fill(0x55);
        let ev = decode_connection(input(&junk, &holes, false), input(&s, &[], false));
        assert_eq!(
            kinds(&ev, Dir::ToServer),
            ["X224 ConnectionRequest", "Stopped"]
        );
    }

    #[test]
    fn encrypted_pdus_past_the_listed_ones_are_counted() {
        let (mut c, s) = legacy_streams();
        let one = hex(m::ENCRYPTED);
        for _ in 0..12 {
            c.extend_from_slice(&one);
        }
        let ev = decode_connection(input(&c, &[], false), input(&s, &[], false));
        let k = kinds(&ev, Dir::ToServer);
        let listed = k.iter().filter(|k| *k == "Mcs EncryptedPdu").count();
        assert_eq!(listed, MAX_ENCRYPTED_EVENTS, "{k:?}");
        let summary: Vec<&Decoded> = ev
            .iter()
            .filter(|d| {
                d.dir == Dir::ToServer && matches!(d.event, ProtoEvent::NotObservable { .. })
            })
            .collect();
        assert_eq!(summary.len(), 1, "{ev:?}");
        let n = 12 - MAX_ENCRYPTED_EVENTS;
        assert_eq!(
            summary[0].event,
            ProtoEvent::NotObservable {
                what: format!(
                    "{n} more encrypted PDUs ({} bytes) after the first {MAX_ENCRYPTED_EVENTS}, \
                     counted, not listed",
                    n * one.len()
                )
            }
        );
        // It spans the PDUs it counts: from the first unlisted to the end.
        assert_eq!(summary[0].end, c.len() as u64);
        assert_eq!(summary[0].start, (c.len() - n * one.len()) as u64);
    }

    #[test]
    fn cap_stops_only_when_a_pdu_is_cut() {
        let (c, s) = legacy_streams();
        // Capped at a PDU boundary (after the Erect Domain Request).
        let at = 36 + 412 + 12;
        let ev = decode_connection(input(&c[..at], &[], true), input(&s, &[], false));
        assert!(stopped(&ev, Dir::ToServer).is_empty(), "{ev:?}");
        assert_eq!(kinds(&ev, Dir::ToServer).len(), 3);
        // Capped inside the Attach User Request.
        let ev = decode_connection(input(&c[..at + 3], &[], true), input(&s, &[], false));
        let bound = |limit| StopReason::Bound {
            limit,
            at: at as u64,
        };
        let cap = KeepLimit::DepthCap {
            bytes: (at + 3) as u64,
        };
        assert_eq!(stopped(&ev, Dir::ToServer), [bound(cap)]);
        // The sentence the report prints.
        assert_eq!(
            bound(cap).to_string(),
            format!(
                "depth cap reached ({} bytes kept) inside the PDU at offset {at}",
                at + 3
            )
        );
        // Another limit is named as what it is.
        let mut cut = input(&c[..at + 3], &[], true);
        cut.limit = Some(KeepLimit::Holes { max: 1024 });
        let ev = decode_connection(cut, input(&s, &[], false));
        assert_eq!(
            stopped(&ev, Dir::ToServer),
            [bound(KeepLimit::Holes { max: 1024 })]
        );
    }

    #[test]
    fn every_truncation_of_both_streams() {
        let (c, s) = legacy_streams();
        let full = decode_connection(input(&c, &[], false), input(&s, &[], false));
        for n in 0..c.len() {
            let ev = decode_connection(input(&c[..n], &[], false), input(&s, &[], false));
            let cut: Vec<_> = ev.iter().filter(|d| d.dir == Dir::ToServer).collect();
            let full_c: Vec<_> = full.iter().filter(|d| d.dir == Dir::ToServer).collect();
            // Either the cut fell between PDUs (a prefix of the full
            // answer) or the last event says where decoding stopped.
            let boundary = full_c.iter().any(|d| d.end == n as u64) || n == 0;
            if boundary {
                assert!(cut.iter().all(|d| full_c.contains(d)), "client cut at {n}");
            } else {
                assert!(
                    matches!(
                        cut.last().map(|d| &d.event),
                        Some(ProtoEvent::Stopped { .. })
                    ),
                    "client cut at {n}: {cut:?}"
                );
            }
        }
        for n in 0..s.len() {
            let ev = decode_connection(input(&c, &[], false), input(&s[..n], &[], false));
            assert!(ev.iter().all(|d| d.end <= c.len().max(n) as u64));
        }
    }

    #[test]
    fn confirm_is_decoded_after_a_cut_request() {
        // As in a capture with a 96-byte snap length: the Connection
        // Request is cut inside its cookie line, the server's Connection
        // Confirm is whole. The confirm is decoded; nothing after it is.
        let (c, s) = legacy_streams();
        let cr_len = hex(x::LEGACY_CR).len();
        let cc_len = hex(x::LEGACY_CC).len();
        // From 6 bytes (TPKT header, length indicator, CR code) on, the
        // request is recognisable; fewer are "too short to tell".
        for cut in 6..cr_len {
            let holes = [(cut as u64, (c.len() - cut) as u64)];
            let ev = decode_connection(input(&c, &holes, false), input(&s, &[], false));
            assert_eq!(kinds(&ev, Dir::ToServer), ["Stopped"], "cut at {cut}");
            assert_eq!(
                kinds(&ev, Dir::ToClient),
                ["X224 ConnectionConfirm"],
                "cut at {cut}"
            );
            let cc = ev.iter().find(|d| d.dir == Dir::ToClient).unwrap();
            assert_eq!((cc.start, cc.end), (0, cc_len as u64));
            // The same request cut by the end of the stream.
            let ev = decode_connection(input(&c[..cut], &[], false), input(&s, &[], false));
            assert_eq!(kinds(&ev, Dir::ToClient), ["X224 ConnectionConfirm"]);
        }
        // A request that is not RDP at all still stops everything.
        let mut bad = c.clone();
        bad[5] = 0x55; // not a CR TPDU code
        let ev = decode_connection(input(&bad, &[], false), input(&s, &[], false));
        assert!(kinds(&ev, Dir::ToClient).is_empty(), "{ev:?}");
    }

    #[test]
    fn short_confirm_is_cut_not_foreign() {
        let c = hex(x::SPEC_CR);
        let cc = hex(x::SPEC_CC);
        for n in 1..cc.len() {
            let ev = decode_connection(input(&c, &[], false), input(&cc[..n], &[], false));
            assert_eq!(kinds(&ev, Dir::ToClient), ["Stopped"], "cut at {n}");
        }
    }

    #[test]
    fn request_with_extra_bytes_is_still_rdp() {
        // The spec CR with two bytes after what its length indicator covers.
        let mut c = hex(x::SPEC_CR);
        c.extend_from_slice(&[0xaa, 0xbb]);
        c[3] += 2;
        let ev = decode_connection(input(&c, &[], false), input(&hex(x::SPEC_CC), &[], false));
        assert_eq!(
            kinds(&ev, Dir::ToServer),
            ["X224 ConnectionRequest", "Anomaly"]
        );
        assert!(!looks_like_rdp_request(&c));
    }

    #[test]
    fn what_follows_a_negotiation_failure_is_still_decoded() {
        // Probes send their MCS Connect Initial regardless (lab capture 46,
        // nmap's rdp-enum-encryption); what the bytes hold is decoded, what
        // it means is the diagnosis's business.
        let c = cat(&[x::FAIL_CR, m::CI]);
        let s = cat(&[x::FAIL_CC, m::CR]);
        let ev = decode_connection(input(&c, &[], false), input(&s, &[], false));
        assert_eq!(
            kinds(&ev, Dir::ToServer),
            ["X224 ConnectionRequest", "Mcs ConnectInitial"]
        );
        assert_eq!(
            kinds(&ev, Dir::ToClient),
            ["X224 ConnectionConfirm", "Mcs ConnectResponse"]
        );
        // Nothing that is neither TLS nor TPKT is guessed at.
        let mut c2 = cat(&[x::FAIL_CR]);
        c2.extend_from_slice(b"GET / HTTP/1.1\r\n");
        let ev = decode_connection(input(&c2, &[], false), input(&s, &[], false));
        assert_eq!(kinds(&ev, Dir::ToServer), ["X224 ConnectionRequest"]);
        assert_eq!(
            ev[1].event,
            ProtoEvent::X224(X224Event::ConnectionConfirm(ConnectionConfirm::Failure {
                code: NegFailureCode(2)
            }))
        );
    }

    #[test]
    fn not_rdp() {
        let http = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        let ev = decode_connection(input(http, &[], false), input(&[], &[], false));
        assert_eq!(ev.len(), 1);
        let ProtoEvent::NotRdp { why } = &ev[0].event else {
            panic!("{ev:?}");
        };
        assert!(why.contains("GET / HT"), "{why}");
        // A valid request answered by something else.
        let c = hex(x::SPEC_CR);
        let ev = decode_connection(input(&c, &[], false), input(b"SSH-2.0-x\r\n", &[], false));
        assert_eq!(ev.len(), 2);
        assert_eq!(ev[1].dir, Dir::ToClient);
        assert!(matches!(ev[1].event, ProtoEvent::NotRdp { .. }));
    }

    #[test]
    fn mid_stream_resync() {
        let (c, s) = legacy_streams();
        // Start inside the Connect Initial: the first plausible header is
        // the Erect Domain Request.
        let from = 36 + 200;
        let mut ci = input(&c[from..], &[], false);
        ci.from_start = false;
        let mut si = input(&s[11 + 333..], &[], false);
        si.from_start = false;
        let ev = decode_connection(ci, si);
        let k = kinds(&ev, Dir::ToServer);
        assert_eq!(k[0], "Anomaly");
        assert_eq!(k[1], "Mcs ErectDomainRequest");
        assert_eq!(ev[1].start, 212);
        assert_eq!(kinds(&ev, Dir::ToClient)[0], "Mcs AttachUserConfirm");
        // Nothing recognisable at all.
        let junk = [0x55u8; 300];
        let mut ji = input(&junk, &[], false);
        ji.from_start = false;
        let ev = decode_connection(ji, ji);
        assert!(ev
            .iter()
            .all(|d| matches!(d.event, ProtoEvent::Stopped { .. })));
    }

    #[test]
    fn rdp_request_sniffing() {
        assert!(looks_like_rdp_request(&hex(x::X509_CR)));
        assert!(looks_like_rdp_request(&hex(x::X509_CR)[..20]));
        assert!(!looks_like_rdp_request(b"GET / HTTP/1.0\r\n\r\n"));
        assert!(!looks_like_rdp_request(&hex("16030100a5010000a10303")));
        assert!(!looks_like_rdp_request(&hex(x::SPEC_CC)));
        assert!(!looks_like_rdp_request(&[]));
    }

    mod fuzz {
        use super::*;
        use proptest::collection::vec;
        use proptest::prelude::*;

        fn check(c: StreamInput<'_>, s: StreamInput<'_>) {
            for d in decode_connection(c, s) {
                let len = match d.dir {
                    Dir::ToServer => c.data.len(),
                    Dir::ToClient => s.data.len(),
                };
                assert!(d.start <= d.end && d.end <= len as u64, "{d:?}");
            }
        }

        proptest! {
            #[test]
            fn mutated_connection(
                flips in vec((0usize..1200, any::<u8>()), 0..6),
                cut_c in 0usize..1200,
                cut_s in 0usize..1200,
                from_start in any::<bool>(),
                hole in proptest::option::of((0u64..1200, 1u64..300)),
            ) {
                let (mut c, mut s) = legacy_streams();
                for (i, (at, b)) in flips.iter().enumerate() {
                    let v = if i % 2 == 0 { &mut c } else { &mut s };
                    let n = v.len();
                    v[at % n] = *b;
                }
                c.truncate(cut_c.max(1));
                s.truncate(cut_s.max(1));
                let holes: Vec<(u64, u64)> = hole.into_iter().collect();
                let mut ci = input(&c, &holes, false);
                ci.from_start = from_start;
                let mut si = input(&s, &[], true);
                si.from_start = from_start;
                check(ci, si);
            }

            #[test]
            fn random_after_negotiation(
                c in vec(any::<u8>(), 0..600),
                s in vec(any::<u8>(), 0..600),
                tls in any::<bool>(),
            ) {
                let cr = if tls { x::FAIL_CR.replace("0100080001", "0100080003") } else { x::LEGACY_CR.to_string() };
                let cc = if tls { x::NLA_CC } else { x::LEGACY_CC };
                let mut cv = hex(&cr);
                cv.extend_from_slice(&c);
                let mut sv = hex(cc);
                sv.extend_from_slice(&s);
                check(input(&cv, &[], false), input(&sv, &[], false));
            }

            #[test]
            fn random_pdus(b in vec(any::<u8>(), 0..300)) {
                let _ = tpkt::find_size(&b);
                let _ = x224::decode_tpkt(&b);
                let mut ctx = SlowPathContext::default();
                let mut out = Vec::new();
                let _ = crate::proto::mcs::decode_mcs(&b, &mut ctx, &mut out);
                let mut with_header = vec![0x03, 0x00, 0x00, 0x00, 0x02, 0xf0, 0x80];
                with_header.extend_from_slice(&b);
                let n = with_header.len().min(0xffff) as u16;
                with_header[2..4].copy_from_slice(&n.to_be_bytes());
                check(input(&hex(x::LEGACY_CR), &[], false), input(&[hex(x::LEGACY_CC), with_header].concat(), &[], false));
            }
        }
    }
}
