//! Stage 3: packets -> TCP connections, each direction reassembled into a
//! byte stream.
//!
//! One [`Connection`] per TCP handshake (a reused 4-tuple after a new SYN
//! is a new connection). Streams are numbered like Wireshark's
//! `tcp.stream` (every TCP conversation counts, in order of first packet),
//! so `tcp.stream eq N` shows the same connection. Only selected
//! connections (by port, or by a caller-given predicate over the client's
//! first payload) are tracked in depth; each direction keeps at most
//! `depth_cap` bytes, past which only counters and timings remain.
//!
//! Knows nothing of RDP: the predicate is handed in by the caller.
//!
//! Layout: `table` (conversation table, stream numbering, selection,
//! timers, eviction), `conn` (one selected connection: counters,
//! handshake, TCP events), `reassembly` (one direction's byte stream,
//! holes and gaps), `hash` (the hasher of the table's map, which later
//! stages' maps of addresses use too).
//!
//! TCP analysis follows Wireshark's (`tcp.analysis.*`), checked against
//! tshark on the corpus (tests/flow_corpus.rs): `OutOfOrder` is
//! Wireshark's "previous segment not captured" (a segment above a hole);
//! `Retransmission` covers its retransmission, fast and spurious
//! retransmission; a segment that fills a hole within the reordering
//! window (the handshake RTT, 3 ms when unknown, at most 200 ms, and never
//! after two duplicate ACKs asked for it) is reordering and raises no
//! event. SYN and SYN/ACK repeats are `Syn`/`SynAck` with
//! `retransmission: true`.
//!
//! The first-payload predicate decides at the first payload of the
//! conversation: a server that speaks first is not accepted.

use crate::common::{Dir, Endpoints, KeepLimit, Timestamp};
use crate::packet::{IcmpError, Transport};

pub use hash::{FastHasher, FastMap};

mod conn;
mod hash;
mod reassembly;
mod table;
#[cfg(test)]
mod tests;

/// A predicate over the first payload bytes the client sends; `true` keeps
/// the connection for in-depth analysis whatever its ports.
pub type FirstPayloadFilter = fn(&[u8]) -> bool;

#[derive(Clone, Debug)]
pub struct FlowConfig {
    /// Connections with either port in this list are analysed.
    pub ports: Vec<u16>,
    /// Other connections are analysed when this accepts the client's first
    /// payload.
    pub first_payload: Option<FirstPayloadFilter>,
    /// Bytes reassembled per direction (the connection set-up); past it,
    /// counters only.
    pub depth_cap: usize,
    /// Events kept per connection; past it, counted only.
    pub max_events: usize,
    /// Connections tracked at once (all TCP conversations); past it the
    /// oldest idle ones are evicted and the eviction is counted.
    pub max_live: usize,
    /// Bytes reassembled at once across all live connections; past it a
    /// connection that wants more stops keeping bytes (as at the depth cap)
    /// and is counted in [`FlowStats::over_budget`].
    pub max_buffered: usize,
    /// A count of reassembled bytes shared by several tables (all the files
    /// of a run, on every thread): `max_buffered` is then checked against
    /// this total, one budget for the process. None: the table's own.
    pub shared_budget: Option<std::sync::Arc<std::sync::atomic::AtomicUsize>>,
    /// A closed connection (FIN both ways or RST) is finished after this
    /// much capture time without packets; an idle one after `idle_finish`.
    pub linger: crate::common::Duration,
    pub idle_finish: crate::common::Duration,
    /// A closed connection quiet for this long is handed on at once and
    /// only a tombstone (its number and base sequence numbers, for
    /// `tcp.stream` numbering) stays for the rest of `linger`; packets
    /// that hit the tombstone are counted in [`FlowStats::after_close`].
    pub close_grace: crate::common::Duration,
    /// UDP ports whose datagrams are handed back by
    /// [`FlowTable::on_packet`] (with `ports`): the caller decodes them.
    pub datagram_ports: Vec<u16>,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            ports: vec![3389],
            first_payload: None,
            depth_cap: 1 << 20,
            max_events: 4096,
            max_live: 1 << 20,
            max_buffered: 256 << 20,
            shared_budget: None,
            linger: crate::common::Duration::from_secs(10),
            idle_finish: crate::common::Duration::from_secs(3600),
            close_grace: CLOSE_GRACE,
            datagram_ports: Vec::new(),
        }
    }
}

/// How long a closed connection (RST, or FIN both ways) keeps its whole
/// state for late packets before it is handed on. After a RST there is
/// no TIME-WAIT (RFC 9293 3.10.7.x: the receiver goes to CLOSED), and
/// after both FINs the close is done but for the last ACK: what still
/// comes is what was in flight (within one round trip: the slowest in
/// the lab and the public corpus is 0.99 s after the RST, RDP-003.pcap),
/// copies of it from another capture point (within the copy window, 1 s) and
/// the peer's retransmissions of segments the RST cut short, which wait
/// for its retransmission timeout: 1 s at first, then 2 s (RFC 6298 2.1
/// and 5.5), so the first two are in by 3 s. Later packets are counted,
/// not analysed. At 10,000 connections a second this keeps 30,000 whole
/// states instead of the 100,000 that `linger` would.
pub const CLOSE_GRACE: crate::common::Duration = crate::common::Duration::from_secs(3);

/// Push onto a vector that grows from one element, then to four, then
/// doubling: most connections are short (a refused one has two events
/// and one packet each way, a connection reaching the Confirm one
/// segment each way), and `Vec`'s first allocation of four would be most
/// of what they hold; a list that grows past one goes to four at once
/// (a connection reaching the Confirm sends three or four packets one
/// way: one reallocation, not two).
fn push_tight<T>(v: &mut Vec<T>, x: T) {
    if v.len() == v.capacity() {
        let more = match v.len() {
            0 => 1,
            1 => 3,
            n => n,
        };
        v.reserve_exact(more);
    }
    v.push(x);
}

/// How the client and server roles were decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoleSource {
    /// From the SYN (its sender is the client).
    Syn,
    /// From a SYN/ACK without its SYN (its sender is the server).
    SynAck,
    /// No handshake seen: the side on a selected port is the server
    /// (or, failing that, the destination of the first packet).
    Port,
}

/// Why some bytes of a direction are missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GapKind {
    /// The receiver acknowledged bytes the capture never saw.
    CaptureLoss,
    /// The bytes were lost on the network: missing, then retransmitted
    /// (the hole is later filled, after the reordering window or at the
    /// request of duplicate ACKs; the bytes are in `data`).
    NetworkLoss,
    /// The snap length cut the packet's payload.
    Snaplen,
    /// Missing and never acknowledged or retransmitted within the capture.
    Unknown,
}

/// A hole in a direction's byte stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gap {
    /// Stream offset (0 = first byte after the SYN) where bytes are missing.
    pub offset: u64,
    pub len: u64,
    pub kind: GapKind,
    /// The frame where the gap shows (the segment after the hole, the ACK
    /// that proves capture loss, or the truncated frame).
    pub frame: u64,
    pub ts: Timestamp,
}

/// Which frame carried which bytes of a direction's stream, in stream order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    pub offset: u64,
    pub len: u32,
    pub frame: u64,
    pub ts: Timestamp,
}

/// One direction of a connection.
#[derive(Clone, Debug, Default)]
pub struct HalfStream {
    /// Frames of this direction, copies seen at another capture point
    /// included (as Wireshark's conversation table counts them).
    pub packets: u64,
    /// Frame bytes (on-the-wire frame length) sent in this direction; the
    /// same measure as Wireshark's conversation table (copies included).
    pub frame_bytes: u64,
    /// TCP payload bytes per headers (including retransmissions; not
    /// including copies seen at another capture point).
    pub payload_bytes: u64,
    /// Frames that were copies of a packet already seen at another
    /// capture point (another interface, or another TTL: the packet
    /// crossed a router between the two points). Not analysed: never a
    /// retransmission, duplicate ACK, keep-alive or out-of-order segment,
    /// and their payload is not fed again.
    pub vantage_copies: u64,
    /// Initial sequence number (from the SYN/SYN-ACK), or the first seen
    /// sequence number minus one when the handshake is missing.
    pub isn: Option<u32>,
    /// Whether offset 0 really is the first byte after the SYN.
    pub from_start: bool,
    /// Reassembled bytes from offset 0, at most `depth_cap` of them; holes
    /// (listed in `gaps`) are zero-filled.
    pub data: Vec<u8>,
    /// Frames that first delivered each byte range of `data`, in stream
    /// order, contiguous with holes between them.
    pub segments: Vec<Segment>,
    pub gaps: Vec<Gap>,
    /// Set once a bound stopped bytes from being kept (the depth cap, a
    /// hole limit, the memory budget): bytes past `data.len()`, or in
    /// holes the limit left, were counted, not kept.
    pub limit: Option<KeepLimit>,
    /// Highest stream offset seen + 1 (bytes seen in total, kept or not).
    pub stream_len: u64,
    /// Last frame carrying payload in this direction.
    pub last_payload: Option<(u64, Timestamp)>,
    /// IP TTL / hop limit values seen, with counts (a few distinct
    /// values), at one capture point only: the point of this direction's
    /// first packet (a copy seen elsewhere has another TTL when a router
    /// lies between the two points).
    pub ttls: Vec<(u8, u64)>,
    /// Last IPv4 identification seen (before any RST).
    pub last_ip_id: Option<u16>,
    /// MSS and window scale announced in the SYN / SYN-ACK.
    pub mss: Option<u16>,
    pub window_scale: Option<u8>,
    /// Largest payload seen in one segment.
    pub max_segment: u32,
}

/// What happened on the wire, at TCP level.
#[derive(Clone, Debug, PartialEq)]
pub enum TcpEventKind {
    Syn {
        retransmission: bool,
    },
    SynAck {
        retransmission: bool,
    },
    /// The ACK completing the three-way handshake.
    HandshakeAck,
    Rst {
        /// IP TTL / hop limit of the RST.
        ttl: u8,
        ip_id: Option<u16>,
        window: u16,
        /// Whether its sequence number is where the sender's stream is.
        seq_in_window: bool,
    },
    Fin,
    /// A segment whose payload starts below the highest byte already seen.
    Retransmission {
        offset: u64,
        len: u32,
    },
    /// Payload that arrived out of order (above a hole).
    OutOfOrder {
        offset: u64,
        len: u32,
    },
    /// Third and later duplicate ACK.
    DupAck {
        count: u32,
    },
    KeepAlive,
    /// The first packet from the peer after a keep-alive: the peer (and
    /// the path) are alive. Wireshark's "Keep-Alive ACK" when it is a bare ACK.
    KeepAliveAck,
    ZeroWindow,
    ZeroWindowProbe,
    /// Window opened again after a zero window.
    WindowUpdate {
        window: u32,
    },
    /// An ICMP/ICMPv6 error quoting this connection.
    Icmp(IcmpError),
    /// A hole in this direction's stream.
    Gap(Gap),
    /// The first packet seen, when no handshake was captured.
    MidStream,
    /// Events past `max_events` were dropped (counted here once).
    EventsTruncated,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TcpEvent {
    pub frame: u64,
    pub ts: Timestamp,
    /// Direction of the packet (for ICMP: the direction of the packet it quotes).
    pub dir: Dir,
    pub kind: TcpEventKind,
}

/// A finished connection, handed to later stages.
#[derive(Clone, Debug)]
pub struct Connection {
    /// Wireshark's `tcp.stream` index.
    pub stream: u64,
    pub endpoints: Endpoints,
    pub roles: RoleSource,
    pub first_frame: u64,
    pub first_ts: Timestamp,
    pub last_frame: u64,
    pub last_ts: Timestamp,
    /// Index by [`Dir::index`]: [to server, to client].
    pub half: [HalfStream; 2],
    /// TCP events in frame order (at most `max_events`).
    pub events: Vec<TcpEvent>,
    /// Events not kept because of `max_events`.
    pub events_dropped: u64,
    /// Largest silence between two packets of this connection, and the
    /// frame that ended it.
    pub max_idle: Option<(crate::common::Duration, u64)>,
    /// Selected by port (`true`) or by the first-payload predicate.
    pub by_port: bool,
    /// The capture points this connection's frames were seen at, in order
    /// of first sighting (the first 8). More than one: the capture holds
    /// the connection as seen from several points (see
    /// [`HalfStream::vantage_copies`]).
    pub capture_points: Vec<crate::packet::CapturePoint>,
}

impl Connection {
    pub fn half(&self, dir: Dir) -> &HalfStream {
        &self.half[dir.index()]
    }
}

/// Counters of what the flow stage saw and did not keep.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlowStats {
    pub tcp_packets: u64,
    pub tcp_streams: u64,
    pub analysed_streams: u64,
    pub icmp_errors: u64,
    /// Connections evicted because `max_live` was reached.
    pub evicted: u64,
    /// Packets of a connection that came after it was closed and handed
    /// on ([`FlowConfig::close_grace`]): counted, not analysed.
    pub after_close: u64,
    /// The most conversations holding a state at once (a connection's, or
    /// the packets before a first payload), counted at each sweep of the
    /// table and at the end: what the table's memory follows (a light
    /// entry or a tombstone is a few dozen bytes). Not reported.
    pub states_peak: usize,
    /// Connections that stopped keeping bytes because `max_buffered` was
    /// reached.
    pub over_budget: u64,
    /// Directions of finished connections whose bytes were not all kept,
    /// by the limit that stopped them (the depth cap, or a hole limit).
    /// The budget is counted per connection in `over_budget`.
    pub depth_capped: u64,
    pub hole_limited: u64,
    /// Frames of the analysed connections that were copies of a packet
    /// seen at another capture point ([`HalfStream::vantage_copies`]).
    pub vantage_copies: u64,
    /// UDP datagrams to or from the selected ports (RDP over UDP,
    /// MS-RDPEUDP, uses UDP 3389), handed back to the caller.
    pub udp_on_ports: u64,
    /// UDP datagrams on `datagram_ports` handed back to the caller.
    pub udp_datagrams: u64,
}

/// A UDP datagram on a selected port or a `datagram_ports` port, as
/// captured: the caller decodes it at once (datagrams need no
/// reassembly), so nothing is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Datagram<'a> {
    pub frame: u64,
    pub ts: Timestamp,
    pub from: std::net::SocketAddr,
    pub to: std::net::SocketAddr,
    pub payload: &'a [u8],
    /// The capture holds the whole payload the UDP length announces.
    pub complete: bool,
}

impl FlowStats {
    /// Count what a connection handed on did not keep (see
    /// [`FlowStats::count_half`]).
    fn count_kept(&mut self, c: &Finished) {
        for (copies, limit) in c.kept() {
            self.count_half(copies, limit);
        }
    }

    /// Count one direction handed on: its copies and the limit that
    /// stopped its bytes being kept.
    fn count_half(&mut self, vantage_copies: u64, limit: Option<KeepLimit>) {
        self.vantage_copies += vantage_copies;
        match limit {
            Some(KeepLimit::DepthCap { .. }) => self.depth_capped += 1,
            Some(KeepLimit::Holes { .. } | KeepLimit::HoleBytes { .. }) => self.hole_limited += 1,
            Some(KeepLimit::MemoryBudget { .. }) | None => {}
        }
    }
}

/// The connection table: assigns stream numbers to every TCP conversation
/// and tracks the selected ones in depth.
#[derive(Debug)]
pub struct FlowTable {
    config: FlowConfig,
    stats: FlowStats,
    table: table::Table,
}

impl FlowTable {
    pub fn new(config: FlowConfig) -> Self {
        let table = table::Table::new(&config);
        FlowTable {
            config,
            stats: FlowStats::default(),
            table,
        }
    }

    /// Feed one packet. `frame_len` is the frame's length on the wire.
    /// A UDP datagram on a selected or datagram port comes back to the
    /// caller.
    pub fn on_packet<'a>(
        &mut self,
        frame: u64,
        ts: Timestamp,
        frame_len: u32,
        pkt: &crate::packet::Packet<'a>,
    ) -> Option<Datagram<'a>> {
        match &pkt.transport {
            Transport::Tcp(seg) => self.table.on_tcp(
                &self.config,
                &mut self.stats,
                frame,
                ts,
                frame_len,
                &pkt.ip,
                seg,
                pkt.point,
            ),
            Transport::IcmpError(err) => {
                self.table
                    .on_icmp(&self.config, &mut self.stats, frame, ts, err)
            }
            &Transport::Udp {
                src_port,
                dst_port,
                payload,
                complete,
            } => {
                let on = |ports: &[u16]| ports.contains(&src_port) || ports.contains(&dst_port);
                if on(&self.config.datagram_ports) {
                    self.stats.udp_datagrams += 1;
                } else if on(&self.config.ports) {
                    self.stats.udp_on_ports += 1;
                } else {
                    return None;
                }
                return Some(Datagram {
                    frame,
                    ts,
                    from: std::net::SocketAddr::new(pkt.ip.src, src_port),
                    to: std::net::SocketAddr::new(pkt.ip.dst, dst_port),
                    payload,
                    complete,
                });
            }
            Transport::Other { .. } => {}
        }
        None
    }

    /// Move connections that are finished (closed and quiet for `linger`,
    /// or replaced by a new handshake on the same 4-tuple) into `out`.
    pub fn drain_finished(&mut self, out: &mut Vec<Connection>) {
        let mut states = Vec::new();
        self.drain_finished_states(&mut states);
        out.extend(states.into_iter().map(Finished::into_connection));
    }

    /// [`FlowTable::drain_finished`], each connection still as the table
    /// kept it, to be made whole by whoever analyses it.
    pub fn drain_finished_states(&mut self, out: &mut Vec<Finished>) {
        let from = out.len();
        self.table.drain_finished(out);
        for c in out.get(from..).unwrap_or_default() {
            self.stats.count_kept(c);
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> &FlowStats {
        &self.stats
    }

    /// Wireshark's `tcp.stream` of the last TCP packet fed (for checking
    /// the numbering against tshark).
    pub fn last_stream(&self) -> Option<u64> {
        self.table.last_stream()
    }

    /// Conversations currently in the table (selected or not).
    pub fn live(&self) -> usize {
        self.table.live()
    }

    /// The lowest stream number a connection still in the table may be
    /// handed over under: every connection numbered below it was handed
    /// over already (`None`: no such connection is live).
    pub fn lowest_open_stream(&mut self) -> Option<u64> {
        self.table.lowest_open_stream()
    }

    /// End of capture: every remaining selected connection, and the counters.
    pub fn finish(self) -> (Vec<Connection>, FlowStats) {
        let (rest, stats) = self.finish_in_order();
        (rest.map(Finished::into_connection).collect(), stats)
    }

    /// End of capture: every remaining selected connection in stream
    /// order, as the table kept it (at the end of a busy capture tens of
    /// thousands are still in the table or its grace; made whole at once
    /// they were as many connections held twice, here and in the
    /// caller's queue), and the counters.
    pub fn finish_in_order(mut self) -> (Remaining, FlowStats) {
        self.stats.states_peak = self.table.states_peak();
        let rest = self.table.finish(&self.config);
        for c in &rest {
            self.stats.count_kept(c);
        }
        (
            Remaining {
                states: rest.into_iter(),
            },
            self.stats,
        )
    }
}

/// A finished connection as the table kept it (its boxed state): the
/// caller makes it whole ([`Finished::into_connection`]) where it is
/// analysed, on a worker thread, rather than on the thread reading the
/// capture. Handing it on moves a pointer, not a whole connection; its
/// stream number is kept beside it, so that the finished connections
/// are put in stream order without reading each state (cold by then).
#[derive(Debug)]
pub struct Finished {
    stream: u64,
    state: State,
}

/// A finished connection's state as the table kept it.
#[derive(Debug)]
enum State {
    Made(Box<conn::ConnState>),
    /// Selected by port, it sent no payload: its packets as they came
    /// (with the configuration's depth cap and bound on events), replayed
    /// into its state when it is made whole, so that the state is made
    /// and read at once (a refused connection's, held through the grace,
    /// was a kilobyte read back cold).
    Early(Box<table::Pending>, usize, usize),
}

impl Finished {
    /// A state handed on under its number, known where it is handed on
    /// (the table's entry holds it too).
    fn new(stream: u64, state: Box<conn::ConnState>) -> Finished {
        debug_assert_eq!(stream, state.stream);
        Finished {
            stream,
            state: State::Made(state),
        }
    }

    /// A connection selected by port handed on as its packets, which
    /// [`table::Pending::keeps_nothing`]: the flow stage counts nothing
    /// of it.
    fn early(stream: u64, p: Box<table::Pending>, cfg: &FlowConfig) -> Finished {
        Finished {
            stream,
            state: State::Early(p, cfg.depth_cap, cfg.max_events),
        }
    }

    /// Wireshark's `tcp.stream` index.
    pub fn stream(&self) -> u64 {
        self.stream
    }

    pub fn endpoints(&self) -> Endpoints {
        match &self.state {
            State::Made(c) => c.endpoints,
            State::Early(p, ..) => p.roles().0,
        }
    }

    /// Selected by port (`true`) or by the first-payload predicate.
    pub fn by_port(&self) -> bool {
        match &self.state {
            State::Made(c) => c.by_port,
            State::Early(..) => true,
        }
    }

    /// Per direction, the copies seen at another capture point and the
    /// limit that stopped its bytes being kept.
    fn kept(&self) -> [(u64, Option<KeepLimit>); 2] {
        match &self.state {
            State::Made(c) => c.kept(),
            State::Early(..) => [(0, None), (0, None)],
        }
    }

    /// The connection: both directions finished (their gaps classified)
    /// and its events in frame order.
    pub fn into_connection(self) -> Connection {
        match self.state {
            State::Made(c) => c.into_connection(),
            State::Early(p, depth_cap, max_events) => p
                .promote_with(depth_cap, max_events, self.stream)
                .into_connection(),
        }
    }
}

/// The connections left at the end of a capture, in stream order.
#[derive(Debug)]
pub struct Remaining {
    states: std::vec::IntoIter<Finished>,
}

impl Iterator for Remaining {
    type Item = Finished;

    fn next(&mut self) -> Option<Finished> {
        self.states.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.states.size_hint()
    }
}

impl ExactSizeIterator for Remaining {}
