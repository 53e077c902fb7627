//! One selected connection tracked in depth: counters, handshake, TCP
//! events (RFC 9293 semantics, Wireshark-like analysis flags) and the two
//! reassembled directions.

use super::hash::FastMap;
use super::push_tight;
use super::reassembly::{Reassembler, REORDER_THRESHOLD};
use super::{Connection, HalfStream, RoleSource, TcpEvent, TcpEventKind};
use crate::common::KeepLimit;
use crate::common::{Dir, Duration, Endpoints, Timestamp};
use crate::packet::{CapturePoint, IcmpError, IpInfo, TcpSegment};
use std::cell::Cell;
use std::collections::VecDeque;

thread_local! {
    /// The box of the last state this thread made whole, emptied of its
    /// connection: one a thread.
    static SPARE: Cell<Option<Box<ConnState>>> = const { Cell::new(None) };
}

/// The reordering window never exceeds this (a handshake stretched by SYN
/// retries or a stalled client is no path RTT; Linux's minimum RTO).
const MAX_REORDER: Duration = Duration::from_millis(200);

/// Distinct TTL values remembered per direction.
const MAX_TTLS: usize = 8;

/// Two sightings of one packet at two capture points are copies only
/// within this much capture time of each other. Copies of one packet are
/// separated by the forwarding delay of the capturing host and the skew
/// between its interfaces' clocks: at most 44 µs in the lab's router
/// capture (25-two-interfaces.pcapng), milliseconds on a loaded host.
/// A second apart, a segment with the same IP ID, sequence and
/// acknowledgement numbers is no longer the same packet (an IPv4 sender
/// moves its IP ID on; a repeat with an unchanged one, as IPv6 or an ID
/// of 0 allows, is told apart by the vantage rule in [`Sightings`]).
pub(crate) const COPY_WINDOW: Duration = Duration::from_secs(1);

/// Packets remembered per direction to recognise copies. dumpcap writes
/// each interface's packets in batches, so a packet's copy can come
/// dozens of packets after it in the file (57 in the lab's router
/// capture).
const MAX_SIGHTINGS: usize = 1024;

/// Capture points told apart per connection; further points share the
/// last index.
const MAX_POINTS: usize = 8;

/// What makes two frames copies of one packet: same IP ID (IPv4), same
/// TCP sequence and acknowledgement numbers, flags and payload length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Sig {
    seq: u32,
    ack: u32,
    flags: u16,
    len: u32,
    ip_id: Option<u16>,
}

/// A vantage: a capture point (index into the connection's points) and
/// the TTL the packet had there.
type Vantage = (u8, u8);

#[derive(Clone, Copy, Debug)]
struct Sighting {
    ts: Timestamp,
    /// Vantages this packet was seen at; the first is where it was
    /// analysed.
    at: [Option<Vantage>; 4],
    /// Insertion number (to find it again when evicting).
    n: u64,
    /// The frame analysed was a RST (its event's TTL may be corrected).
    rst_frame: Option<u64>,
}

/// Recent packets of one direction, to recognise a copy of one packet
/// seen at another capture point (another pcapng interface, another
/// interface or packet type of a Linux cooked capture, or another TTL:
/// the packet crossed a router between the two points).
///
/// A frame is a copy when a packet with its [`Sig`] was seen within
/// [`COPY_WINDOW`] at other vantages only (the closest in time such
/// sighting takes it). A frame matching only packets already seen at its
/// own vantage is the sender's repeat (a real retransmission, a duplicate
/// ACK, a keep-alive): it is analysed as usual and is a sighting of its
/// own, as the repeat's copy may come later in the file.
///
/// The first [`SMALL_SIGHTINGS`] sightings are kept in a list scanned in
/// order, which holds the same sightings and picks the same one as the
/// map would: most connections are short (a refused one has one packet
/// each way), and the map's first table costs several times their
/// state. Past that, they move into the map. The list's first sighting
/// is kept inline: a refused connection's one packet a direction then
/// asks nothing of the allocator (on the thread reading the capture, an
/// allocation is a cache miss on memory another thread freed).
#[derive(Debug, Default)]
struct Sightings {
    /// The only sighting, while there is one.
    first: Option<Small>,
    /// The sightings in insertion order from the second on, while there
    /// are few (the i-th has insertion number i): the first moves here
    /// then, so that the list is always one slice.
    rest: Vec<Small>,
    /// The sightings once moved into the map. Boxed: most connections
    /// never get there, and an empty map and queue inline would cost 72
    /// bytes a direction.
    big: Option<Box<Mapped>>,
}

/// The sightings past [`SMALL_SIGHTINGS`]: by signature, and in
/// insertion order to forget the oldest past [`MAX_SIGHTINGS`].
#[derive(Debug, Default)]
struct Mapped {
    /// Looked up once per packet of every analysed connection, where the
    /// default SipHash cost a fifth of the flow stage's time. The fast
    /// hasher resists no chosen collisions: the map is bounded
    /// (`MAX_SIGHTINGS`, `MAX_REPEATS`), so a hostile capture can only make
    /// lookups walk those few entries.
    map: FastMap<Sig, Repeats>,
    order: VecDeque<(Sig, u64)>,
    next: u64,
}

/// One sighting of the short list: a [`Sighting`] with its signature, 56
/// bytes instead of 72 (its insertion number is its index; the frame
/// needs no `Option` beside the RST flag).
#[derive(Clone, Copy, Debug)]
struct Small {
    sig: Sig,
    ts: Timestamp,
    /// The frame analysed (only read when it was a RST).
    frame: u64,
    at: [Option<Vantage>; 4],
    rst: bool,
    /// `false` once dropped by [`MAX_REPEATS`] (it still counts in the
    /// order, as in [`Mapped::order`]).
    alive: bool,
}

impl Small {
    fn rst_frame(&self) -> Option<u64> {
        self.rst.then_some(self.frame)
    }
}

/// Sightings kept in [`Sightings::first`] and [`Sightings::rest`] before the map takes over
/// (a scan of this many is cheaper than a hash lookup's miss path).
const SMALL_SIGHTINGS: usize = 16;

/// The sightings of one signature, kept inline: a packet is looked up and
/// recorded for every segment of an analysed connection, and a heap
/// allocation for each was most of the cost of recognising copies.
#[derive(Debug, Default)]
struct Repeats {
    items: [Option<Sighting>; MAX_REPEATS],
}

impl Repeats {
    fn iter_mut(&mut self) -> impl Iterator<Item = &mut Sighting> {
        self.items.iter_mut().flatten()
    }
    /// Add one, dropping the oldest when full.
    fn push(&mut self, s: Sighting) {
        if let Some(slot) = self.items.iter_mut().find(|x| x.is_none()) {
            *slot = Some(s);
            return;
        }
        self.items.rotate_left(1);
        self.items[MAX_REPEATS - 1] = Some(s);
    }
    fn retain_not(&mut self, n: u64) {
        for slot in &mut self.items {
            if slot.is_some_and(|s| s.n == n) {
                *slot = None;
            }
        }
    }
    fn is_empty(&self) -> bool {
        self.items.iter().all(Option::is_none)
    }
}

/// Sightings kept per signature (repeats of one packet).
const MAX_REPEATS: usize = 4;

/// What [`Sightings::see`] found.
enum Seen {
    /// First sighting (or the sender's repeat): analyse it.
    New,
    /// A copy of a packet seen elsewhere; `first` is the vantage it was
    /// analysed at, `rst_frame` its frame when it was a RST.
    Copy {
        first: Option<Vantage>,
        rst_frame: Option<u64>,
    },
}

impl Sightings {
    fn see(&mut self, sig: Sig, v: Vantage, ts: Timestamp, frame: u64, rst: bool) -> Seen {
        let few = usize::from(self.first.is_some()) + self.rest.len();
        if self.big.is_none() && few < SMALL_SIGHTINGS {
            return self.see_small(sig, v, ts, frame, rst);
        }
        let (first, rest) = (&mut self.first, &mut self.rest);
        self.big
            .get_or_insert_with(|| {
                let small = first.take().into_iter().chain(std::mem::take(rest));
                Box::new(Mapped::of(small))
            })
            .see(sig, v, ts, frame, rst)
    }

    /// The short list's sightings in insertion order.
    fn small(&mut self) -> &mut [Small] {
        match &mut self.first {
            Some(s) => std::slice::from_mut(s),
            None => &mut self.rest,
        }
    }

    /// Add a sighting to the short list: the first inline; at the
    /// second, both into a vector of four (where the list's vector used
    /// to grow from one to four), then doubling.
    fn push_small(&mut self, s: Small) {
        if !self.rest.is_empty() {
            push_tight(&mut self.rest, s);
        } else if let Some(first) = self.first.take() {
            self.rest.reserve_exact(4);
            self.rest.push(first);
            self.rest.push(s);
        } else {
            self.first = Some(s);
        }
    }

    /// [`Mapped::see`] over the list: the same choice, the closest in
    /// time among this signature's sightings at other vantages (the
    /// first such in insertion order on a tie, as in [`Repeats`]).
    fn see_small(&mut self, sig: Sig, v: Vantage, ts: Timestamp, frame: u64, rst: bool) -> Seen {
        let gap = |s: &Small| ts.since(s.ts).0.unsigned_abs();
        let best = self
            .small()
            .iter_mut()
            .filter(|s| s.alive && s.sig == sig)
            .filter(|s| gap(s) <= COPY_WINDOW.0.unsigned_abs())
            .filter(|s| !s.at.iter().flatten().any(|&a| a == v))
            .min_by_key(|s| gap(s));
        if let Some(s) = best {
            if let Some(slot) = s.at.iter_mut().find(|a| a.is_none()) {
                *slot = Some(v);
            }
            return Seen::Copy {
                first: s.at[0],
                rst_frame: s.rst_frame(),
            };
        }
        // Full: the oldest of this signature goes, as Repeats::push drops it.
        let same = |s: &&mut Small| s.alive && s.sig == sig;
        if self.small().iter_mut().filter(same).count() >= MAX_REPEATS {
            if let Some(s) = self.small().iter_mut().find(same) {
                s.alive = false;
            }
        }
        let s = Small {
            sig,
            ts,
            frame,
            at: [Some(v), None, None, None],
            rst,
            alive: true,
        };
        self.push_small(s);
        Seen::New
    }
}

impl Mapped {
    /// The map holding the short list's sightings, numbered in order.
    fn of(small: impl Iterator<Item = Small>) -> Mapped {
        let mut m = Mapped::default();
        for (n, s) in (0u64..).zip(small) {
            m.order.push_back((s.sig, n));
            if s.alive {
                m.map.entry(s.sig).or_default().push(Sighting {
                    ts: s.ts,
                    at: s.at,
                    n,
                    rst_frame: s.rst_frame(),
                });
            }
            m.next = n + 1;
        }
        m
    }

    fn see(&mut self, sig: Sig, v: Vantage, ts: Timestamp, frame: u64, rst: bool) -> Seen {
        let list = self.map.entry(sig).or_default();
        let gap = |s: &Sighting| ts.since(s.ts).0.unsigned_abs();
        let best = list
            .iter_mut()
            .filter(|s| gap(s) <= COPY_WINDOW.0.unsigned_abs())
            .filter(|s| !s.at.iter().flatten().any(|&a| a == v))
            .min_by_key(|s| gap(s));
        if let Some(s) = best {
            if let Some(slot) = s.at.iter_mut().find(|a| a.is_none()) {
                *slot = Some(v);
            }
            return Seen::Copy {
                first: s.at[0],
                rst_frame: s.rst_frame,
            };
        }
        let n = self.next;
        self.next += 1;
        list.push(Sighting {
            ts,
            at: [Some(v), None, None, None],
            n,
            rst_frame: rst.then_some(frame),
        });
        self.order.push_back((sig, n));
        while self.order.len() > MAX_SIGHTINGS {
            if let Some((old, k)) = self.order.pop_front() {
                if let Some(l) = self.map.get_mut(&old) {
                    l.retain_not(k);
                    if l.is_empty() {
                        self.map.remove(&old);
                    }
                }
            }
        }
        Seen::New
    }
}

/// Events of one connection, at most `max` of them; past it one
/// `EventsTruncated` marks the spot and the rest are counted.
#[derive(Debug)]
struct EventLog {
    events: Vec<TcpEvent>,
    dropped: u64,
    max: usize,
}

impl EventLog {
    fn push(&mut self, frame: u64, ts: Timestamp, dir: Dir, kind: TcpEventKind) {
        if self.events.capacity() == 0 {
            // A connection's first event (its SYN) comes with a second
            // (the SYN/ACK or the RST answering it, or a retry): room for
            // both at once instead of a reallocation at the second.
            self.events.reserve_exact(2);
        }
        if self.events.len() < self.max {
            push_tight(
                &mut self.events,
                TcpEvent {
                    frame,
                    ts,
                    dir,
                    kind,
                },
            );
        } else {
            if self.dropped == 0 {
                self.events.push(TcpEvent {
                    frame,
                    ts,
                    dir,
                    kind: TcpEventKind::EventsTruncated,
                });
            }
            self.dropped += 1;
        }
    }
}

/// What a connection counts of one direction as packets come: the
/// [`HalfStream`] fields that are not the reassembler's (its bytes,
/// segments, gaps and limit), which [`ConnState::into_connection`] adds.
/// Apart from a `HalfStream` so that a live connection does not carry
/// three empty vectors and the limit per direction.
#[derive(Debug, Default)]
struct Counters {
    packets: u64,
    frame_bytes: u64,
    payload_bytes: u64,
    vantage_copies: u64,
    isn: Option<u32>,
    from_start: bool,
    last_payload: Option<(u64, Timestamp)>,
    ttls: Vec<(u8, u64)>,
    last_ip_id: Option<u16>,
    mss: Option<u16>,
    window_scale: Option<u8>,
    max_segment: u32,
}

impl Counters {
    /// The direction handed on: these counters and what the reassembler
    /// kept.
    fn into_half(
        self,
        (data, segments, gaps): (Vec<u8>, Vec<super::Segment>, Vec<super::Gap>),
        stream_len: u64,
        limit: Option<KeepLimit>,
    ) -> HalfStream {
        let Counters {
            packets,
            frame_bytes,
            payload_bytes,
            vantage_copies,
            isn,
            from_start,
            last_payload,
            ttls,
            last_ip_id,
            mss,
            window_scale,
            max_segment,
        } = self;
        HalfStream {
            packets,
            frame_bytes,
            payload_bytes,
            vantage_copies,
            isn,
            from_start,
            data,
            segments,
            gaps,
            limit,
            stream_len,
            last_payload,
            ttls,
            last_ip_id,
            mss,
            window_scale,
            max_segment,
        }
    }
}

/// Per-direction analysis state (what the sender of this direction did).
#[derive(Debug)]
struct DirState {
    reasm: Reassembler,
    /// Sequence number of this side's SYN or SYN/ACK.
    syn_seq: Option<u32>,
    /// Stream offset of this side's FIN.
    fin_off: Option<u64>,
    last_ack: Option<u32>,
    /// Raw window of this side's last packet.
    last_window: Option<u16>,
    dupacks: u32,
    zero_window: bool,
    /// The last packet of this side was a keep-alive or probe (so the
    /// peer's answer is not a duplicate ACK).
    probed: bool,
    /// This side sent a keep-alive the peer has not answered yet.
    keepalive_pending: bool,
    /// Recent packets, to recognise copies seen at another capture point.
    sightings: Sightings,
    /// Index of the capture point of this side's first packet: TTLs are
    /// counted there only.
    ref_point: Option<u8>,
}

impl DirState {
    fn new(depth_cap: usize) -> Self {
        DirState {
            reasm: Reassembler::new(depth_cap),
            syn_seq: None,
            fin_off: None,
            last_ack: None,
            last_window: None,
            dupacks: 0,
            zero_window: false,
            probed: false,
            keepalive_pending: false,
            sightings: Sightings::default(),
            ref_point: None,
        }
    }

    /// Stream offset of the next sequence number this side will send.
    fn next_off(&self) -> u64 {
        match self.fin_off {
            Some(f) => self.reasm.high.max(f.saturating_add(1)),
            None => self.reasm.high,
        }
    }
}

#[derive(Debug)]
pub(crate) struct ConnState {
    pub stream: u64,
    pub endpoints: Endpoints,
    roles: RoleSource,
    pub by_port: bool,
    first_frame: u64,
    first_ts: Timestamp,
    last_frame: u64,
    last_ts: Timestamp,
    max_idle: Option<(Duration, u64)>,
    packets: u64,
    half: [Counters; 2],
    dirs: [DirState; 2],
    log: EventLog,
    handshake_acked: bool,
    /// Stopped keeping bytes because the table's total budget was reached.
    pub over_budget: bool,
    /// Time of the latest SYN, and the handshake RTT (latest SYN to the
    /// ACK that completes the handshake), as Wireshark measures it.
    syn_ts: Option<Timestamp>,
    rtt: Option<Duration>,
    /// Distinct capture points of this connection's packets, in order of
    /// first sighting (at most [`MAX_POINTS`]).
    points: Vec<CapturePoint>,
}

impl ConnState {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        stream: u64,
        endpoints: Endpoints,
        roles: RoleSource,
        by_port: bool,
        frame: u64,
        ts: Timestamp,
        depth_cap: usize,
        max_events: usize,
    ) -> Self {
        ConnState {
            stream,
            endpoints,
            roles,
            by_port,
            first_frame: frame,
            first_ts: ts,
            last_frame: frame,
            last_ts: ts,
            max_idle: None,
            packets: 0,
            half: [Counters::default(), Counters::default()],
            dirs: [DirState::new(depth_cap), DirState::new(depth_cap)],
            log: EventLog {
                events: Vec::new(),
                dropped: 0,
                max: max_events,
            },
            handshake_acked: false,
            over_budget: false,
            syn_ts: None,
            rtt: None,
            points: Vec::new(),
        }
    }

    /// The index of a capture point among this connection's.
    fn point_index(&mut self, p: CapturePoint) -> u8 {
        if let Some(i) = self.points.iter().position(|&q| q == p) {
            return i as u8;
        }
        if self.points.len() < MAX_POINTS {
            push_tight(&mut self.points, p);
        }
        (self.points.len() - 1) as u8
    }

    /// Count this direction's TTL (at its reference capture point only).
    fn count_ttl(&mut self, di: usize, point: u8, ttl: u8) {
        let r = *self.dirs[di].ref_point.get_or_insert(point);
        if r != point {
            return;
        }
        let h = &mut self.half[di];
        if let Some((_, n)) = h.ttls.iter_mut().find(|(t, _)| *t == ttl) {
            *n += 1;
        } else if h.ttls.len() < MAX_TTLS {
            push_tight(&mut h.ttls, (ttl, 1));
        }
    }

    /// Direction of a packet from `src`.
    pub fn dir_of(&self, src: std::net::SocketAddr) -> Dir {
        if src == self.endpoints.client {
            Dir::ToServer
        } else {
            Dir::ToClient
        }
    }

    fn push(&mut self, frame: u64, ts: Timestamp, dir: Dir, kind: TcpEventKind) {
        self.log.push(frame, ts, dir, kind);
    }

    /// Window of this direction's sender, scaled when both sides
    /// announced window scaling (RFC 7323 section 2.2).
    fn scaled_window(&self, dir: Dir, raw: u16) -> u32 {
        let shift = match (
            self.half[dir.index()].window_scale,
            self.half[dir.reverse().index()].window_scale,
        ) {
            (Some(s), Some(_)) => u32::from(s.min(14)),
            _ => 0,
        };
        u32::from(raw) << shift
    }

    fn touch(&mut self, frame: u64, ts: Timestamp) {
        if self.packets > 0 || !self.log.events.is_empty() {
            let idle = ts.since(self.last_ts);
            if idle.0 > 0 && self.max_idle.map_or(true, |(d, _)| idle > d) {
                self.max_idle = Some((idle, frame));
            }
        }
        if frame >= self.last_frame {
            self.last_frame = frame;
        }
        if ts > self.last_ts {
            self.last_ts = ts;
        }
    }

    /// Feed one TCP packet of this connection, captured at `point`.
    #[allow(clippy::too_many_arguments)]
    pub fn on_tcp(
        &mut self,
        frame: u64,
        ts: Timestamp,
        frame_len: u32,
        ip: &IpInfo,
        seg: &TcpSegment<'_>,
        dir: Dir,
        point: CapturePoint,
    ) {
        let di = dir.index();
        let pi = dir.reverse().index();
        let fl = seg.flags;
        let (syn, ack, fin, rst) = (fl.syn(), fl.ack(), fl.fin(), fl.rst());
        let plen = seg.payload_len;

        // A copy of a packet already seen at another capture point: a
        // frame of the connection (counted as Wireshark counts it in its
        // conversation table), not a packet sent again. Nothing else of
        // it is analysed or kept.
        let pix = self.point_index(point);
        let sig = Sig {
            seq: seg.seq,
            ack: seg.ack,
            flags: fl.0,
            len: plen,
            ip_id: ip.ip_id,
        };
        if let Seen::Copy { first, rst_frame } =
            self.dirs[di]
                .sightings
                .see(sig, (pix, ip.ttl), ts, frame, rst)
        {
            self.touch(frame, ts);
            self.packets += 1;
            let h = &mut self.half[di];
            h.packets += 1;
            h.frame_bytes += u64::from(frame_len);
            h.vantage_copies += 1;
            // The packet was analysed at another point: its TTL counts
            // if this is the direction's reference point.
            let r = self.dirs[di].ref_point;
            if r == Some(pix) && first.is_some_and(|(p, _)| Some(p) != r) {
                self.count_ttl(di, pix, ip.ttl);
                // A RST's TTL is the one at the reference point, so that
                // it compares with the sender's other packets.
                if let Some(f) = rst_frame {
                    if let Some(TcpEventKind::Rst { ttl, .. }) = self
                        .log
                        .events
                        .iter_mut()
                        .rev()
                        .find(|e| e.frame == f && matches!(e.kind, TcpEventKind::Rst { .. }))
                        .map(|e| &mut e.kind)
                    {
                        *ttl = ip.ttl;
                    }
                }
            }
            return;
        }

        if self.packets == 0 && self.roles == RoleSource::Port {
            self.push(frame, ts, dir, TcpEventKind::MidStream);
        }
        self.touch(frame, ts);
        self.packets += 1;
        if std::mem::take(&mut self.dirs[pi].keepalive_pending) {
            self.push(frame, ts, dir, TcpEventKind::KeepAliveAck);
        }

        // Counters.
        self.count_ttl(di, pix, ip.ttl);
        {
            let h = &mut self.half[di];
            h.packets += 1;
            h.frame_bytes += u64::from(frame_len);
            h.payload_bytes += u64::from(plen);
            if !rst && ip.ip_id.is_some() {
                h.last_ip_id = ip.ip_id;
            }
            h.max_segment = h.max_segment.max(plen);
            if plen > 0 {
                h.last_payload = Some((frame, ts));
            }
        }

        // Handshake.
        let anchored_before = self.dirs[di].reasm.anchored();
        if syn {
            let retransmission = self.dirs[di].syn_seq == Some(seg.seq);
            let kind = if ack {
                TcpEventKind::SynAck { retransmission }
            } else {
                TcpEventKind::Syn { retransmission }
            };
            self.push(frame, ts, dir, kind);
            if self.dirs[di].syn_seq.is_none() {
                self.dirs[di].syn_seq = Some(seg.seq);
            }
            if !ack {
                self.syn_ts = Some(ts);
            }
            let h = &mut self.half[di];
            if seg.mss.is_some() {
                h.mss = seg.mss;
            }
            if seg.window_scale.is_some() {
                h.window_scale = seg.window_scale;
            }
            if !anchored_before {
                self.dirs[di].reasm.anchor_at(seg.seq.wrapping_add(1));
                h.isn = Some(seg.seq);
                h.from_start = true;
            }
            if ack && !self.dirs[pi].reasm.anchored() {
                // The SYN/ACK acknowledges the client's ISN + 1.
                self.dirs[pi].reasm.anchor_at(seg.ack);
                self.half[pi].isn = Some(seg.ack.wrapping_sub(1));
                self.half[pi].from_start = true;
            }
        } else if ack
            && !rst
            && dir == Dir::ToServer
            && !self.handshake_acked
            && self.dirs[pi]
                .syn_seq
                .is_some_and(|s| seg.ack == s.wrapping_add(1))
        {
            self.handshake_acked = true;
            self.rtt = self.syn_ts.map(|s| ts.since(s));
            self.push(frame, ts, dir, TcpEventKind::HandshakeAck);
        }
        if !self.dirs[di].reasm.anchored() {
            // Mid-stream: offset 0 is the first sequence number seen.
            self.dirs[di].reasm.anchor_at(seg.seq);
            self.half[di].isn = Some(seg.seq.wrapping_sub(1));
            self.half[di].from_start = false;
        }

        if rst {
            let seq_in_window = if anchored_before {
                let next = self.dirs[di].next_off() as i64;
                let win = self.dirs[pi]
                    .last_window
                    .map(|w| i64::from(self.scaled_window(dir.reverse(), w)))
                    .unwrap_or(0)
                    .max(1);
                self.dirs[di]
                    .reasm
                    .offset_of(seg.seq)
                    .is_some_and(|o| o >= next && o < next + win)
            } else {
                // A reset answering a SYN is valid when it acknowledges it.
                ack && self.dirs[pi].reasm.offset_of(seg.ack)
                    == Some(self.dirs[pi].next_off() as i64)
            };
            self.push(
                frame,
                ts,
                dir,
                TcpEventKind::Rst {
                    ttl: ip.ttl,
                    ip_id: ip.ip_id,
                    window: seg.window,
                    seq_in_window,
                },
            );
        }

        // Window.
        if !syn && !fin && !rst {
            if seg.window == 0 {
                if !self.dirs[di].zero_window {
                    self.dirs[di].zero_window = true;
                    self.push(frame, ts, dir, TcpEventKind::ZeroWindow);
                }
            } else if self.dirs[di].zero_window {
                self.dirs[di].zero_window = false;
                let window = self.scaled_window(dir, seg.window);
                self.push(frame, ts, dir, TcpEventKind::WindowUpdate { window });
            }
        }

        // Sequence analysis.
        let data_seq = if syn {
            seg.seq.wrapping_add(1)
        } else {
            seg.seq
        };
        let off = self.dirs[di].reasm.offset_of(data_seq).unwrap_or(0);
        let next = self.dirs[di].next_off() as i64;
        let peer_zero = self.dirs[pi].last_window == Some(0);
        let plain = !syn && !fin && !rst;
        let keepalive = plain && plen <= 1 && off == next - 1;
        if keepalive {
            let kind = if peer_zero {
                TcpEventKind::ZeroWindowProbe
            } else {
                TcpEventKind::KeepAlive
            };
            self.push(frame, ts, dir, kind);
            self.dirs[di].probed = true;
            self.dirs[di].keepalive_pending = true;
        } else {
            let zwp = plain && plen == 1 && off == next && peer_zero;
            self.dirs[di].probed = zwp;
            if zwp {
                self.push(frame, ts, dir, TcpEventKind::ZeroWindowProbe);
            }
            if plen > 0 {
                // Wireshark: a segment at the peer's ACK after two or more
                // duplicate ACKs is a fast retransmission; otherwise one
                // filling a hole within the handshake RTT (3 ms if
                // unknown) of the front's last advance is reordering.
                let fast_retransmission =
                    self.dirs[pi].dupacks >= 2 && self.dirs[pi].last_ack == Some(data_seq);
                let reorder = if fast_retransmission {
                    Duration(0)
                } else {
                    match self.rtt {
                        Some(r) if r.0 > 0 => r.min(MAX_REORDER),
                        _ => REORDER_THRESHOLD,
                    }
                };
                let r = self.dirs[di]
                    .reasm
                    .insert(data_seq, seg.payload, plen, frame, ts, reorder);
                let offset = off.max(0) as u64;
                if r.above_hole {
                    self.push(
                        frame,
                        ts,
                        dir,
                        TcpEventKind::OutOfOrder { offset, len: plen },
                    );
                } else if r.below_front && !r.fast_fill && !zwp {
                    self.push(
                        frame,
                        ts,
                        dir,
                        TcpEventKind::Retransmission { offset, len: plen },
                    );
                }
            } else if !syn && !rst && off > next {
                // An ACK or FIN past the highest byte seen: the sender sent
                // bytes the capture never saw (Wireshark's "previous
                // segment not captured"). The hole is classified at the end
                // (capture loss if the peer acknowledged it).
                self.dirs[di].reasm.note_sent_before(data_seq, frame, ts);
            }
        }
        if fin && self.dirs[di].fin_off.is_none() {
            let end = off.saturating_add(i64::from(plen)).max(0) as u64;
            self.dirs[di].fin_off = Some(end);
            self.push(frame, ts, dir, TcpEventKind::Fin);
        }

        // Acknowledgement.
        if ack {
            self.dirs[pi].reasm.on_ack(seg.ack, frame, ts);
            let own_next = self.dirs[di].next_off() as i64;
            let dup = plen == 0
                && plain
                && seg.window != 0
                && self.dirs[di].last_window == Some(seg.window)
                && self.dirs[di].last_ack == Some(seg.ack)
                && off == own_next
                && !self.dirs[pi].probed;
            if dup {
                self.dirs[di].dupacks += 1;
                let count = self.dirs[di].dupacks;
                if count >= 3 {
                    self.push(frame, ts, dir, TcpEventKind::DupAck { count });
                }
            } else {
                self.dirs[di].dupacks = 0;
            }
            self.dirs[pi].probed = false;
            self.dirs[di].last_ack = Some(seg.ack);
        }
        self.dirs[di].last_window = Some(seg.window);
    }

    /// An ICMP error quoting this connection; `dir` is the direction of
    /// the quoted packet.
    pub fn on_icmp(&mut self, frame: u64, ts: Timestamp, err: &IcmpError, dir: Dir) {
        self.touch(frame, ts);
        self.push(frame, ts, dir, TcpEventKind::Icmp(*err));
    }

    /// Close the connection: finish both directions (classifying their
    /// gaps) and order the events by frame.
    /// Bytes held for both directions.
    pub fn held(&self) -> usize {
        self.dirs.iter().map(|d| d.reasm.held()).sum()
    }

    /// Per direction, the frames that were copies seen at another
    /// capture point and the limit that stopped its bytes being kept:
    /// what [`super::FlowStats`] counts of a connection handed on.
    pub fn kept(&self) -> [(u64, Option<KeepLimit>); 2] {
        [0, 1].map(|i| (self.half[i].vantage_copies, self.dirs[i].reasm.limit))
    }

    /// Stop keeping bytes in both directions (a total budget was reached).
    pub fn stop_keeping(&mut self, budget: u64) {
        for d in self.dirs.iter_mut() {
            d.reasm.stop_keeping(budget);
        }
    }

    /// `self` in a box: the box of the last state this thread made whole
    /// ([`ConnState::into_connection`]) when there is one, written over
    /// where it lies (still in the cache: a state made of the packets a
    /// connection sent before its end is made whole at once), or a new
    /// one.
    pub fn boxed(self) -> Box<ConnState> {
        match SPARE.try_with(Cell::take) {
            Ok(Some(mut b)) => {
                *b = self;
                b
            }
            _ => Box::new(self),
        }
    }

    /// The connection handed on, read out of its box in place: a state
    /// is cold by the time it is handed on, and moved whole out of its
    /// box (then its directions out of it) it was read and copied several
    /// times over. The box is kept, one a thread, for the next state
    /// [`ConnState::boxed`] makes. What the connection takes is read out
    /// first and the box given back before the connection is made, last:
    /// made before, it was made aside and copied out whole (592 bytes).
    pub fn into_connection(mut self: Box<Self>) -> Connection {
        let half = [self.hand_on(Dir::ToServer), self.hand_on(Dir::ToClient)];
        let mut events = std::mem::take(&mut self.log.events);
        // Stable: events of one frame keep the order they happened in.
        events.sort_by_key(|e| e.frame);
        let capture_points = std::mem::take(&mut self.points);
        let events_dropped = self.log.dropped;
        let ConnState {
            stream,
            endpoints,
            roles,
            first_frame,
            first_ts,
            last_frame,
            last_ts,
            max_idle,
            by_port,
            ..
        } = *self;
        // During the thread's exit the slot is gone: the box is dropped.
        let _ = SPARE.try_with(|s| s.set(Some(self)));
        Connection {
            stream,
            endpoints,
            roles,
            first_frame,
            first_ts,
            last_frame,
            last_ts,
            half,
            events,
            events_dropped,
            max_idle,
            by_port,
            capture_points,
        }
    }

    /// One direction finished (its gaps classified, and logged as
    /// events) and taken out of the state.
    fn hand_on(&mut self, dir: Dir) -> HalfStream {
        let i = dir.index();
        let d = &mut self.dirs[i];
        let (high, limit) = (d.reasm.high, d.reasm.limit);
        let kept = d.reasm.finish(d.fin_off.is_some());
        for g in &kept.2 {
            self.log.push(g.frame, g.ts, dir, TcpEventKind::Gap(*g));
        }
        std::mem::take(&mut self.half[i]).into_half(kept, high, limit)
    }
}

#[cfg(test)]
mod sightings_tests {
    use super::*;
    use proptest::prelude::*;

    fn outcome(s: Seen) -> Option<(Option<Vantage>, Option<u64>)> {
        match s {
            Seen::New => None,
            Seen::Copy { first, rst_frame } => Some((first, rst_frame)),
        }
    }

    #[test]
    fn a_state_fits_the_allocators_1024_byte_class() {
        let size = std::mem::size_of::<ConnState>();
        assert!(size > 896 && size <= 1024, "{size} bytes");
    }

    proptest! {
        /// The list kept for the first sightings answers as the map
        /// (the original algorithm, used from the first sighting here)
        /// would, before and after the move into the map.
        #[test]
        fn the_small_list_answers_as_the_map(
            pkts in proptest::collection::vec((0u32..3, 0u8..3, 0u8..2, 0i64..700, any::<bool>()), 0..60),
        ) {
            let mut small = Sightings::default();
            let mut map = Sightings { big: Some(Box::default()), ..Sightings::default() };
            let mut t = 0i64;
            for (frame, (seq, point, ttl, dt_ms, rst)) in pkts.into_iter().enumerate() {
                t += dt_ms;
                let sig = Sig { seq, ack: 0, flags: 0x10, len: 0, ip_id: None };
                let ts = Timestamp(t * 1_000_000);
                let a = small.see(sig, (point, ttl), ts, frame as u64, rst);
                let b = map.see(sig, (point, ttl), ts, frame as u64, rst);
                prop_assert_eq!(outcome(a), outcome(b));
            }
        }
    }
}
