//! The conversation table: one entry per TCP conversation (all ports),
//! numbered like Wireshark's `tcp.stream`, with in-depth state only for
//! the selected ones.
//!
//! Numbering follows Wireshark's TCP dissector: a packet belongs to the
//! latest conversation of its address/port pair (either direction); a SYN
//! without ACK whose sequence number differs from the base sequence
//! number of its direction starts a new conversation. The base sequence
//! number of a direction is set by its first packet (the SYN's sequence
//! number, or the sequence number - 1) or, before that, by the first ACK
//! of the other direction (ack - 1).
//!
//! Unselected conversations cost one hash lookup per packet and a small
//! entry. A closed conversation quiet for `close_grace` hands its
//! connection on and keeps only a tombstone (its entry: number, base
//! sequence numbers, close flags, last time) until `linger`, so numbering
//! still agrees with Wireshark's; packets that hit a tombstone are
//! counted (`FlowStats::after_close`), not analysed. Closed and idle
//! entries are removed on a sweep that runs when
//! capture time advanced by a second and enough packets went by to pay
//! for it, so the table holds only live conversations; `max_live` caps it
//! (the least recently active entries are evicted first). The price: a
//! stray packet arriving after its conversation was removed (closed and
//! quiet for `linger`, idle for `idle_finish`, or evicted) opens a new
//! conversation and number, where Wireshark would reuse the old one.
//!
//! ICMP errors quoting a TCP header count as Wireshark counts them: the
//! quoted address/port pair opens a conversation when none exists (the
//! quoted flags are not known here, so a quoted SYN never starts a new one).

use super::conn::ConnState;
use super::hash::FastMap;
use super::{Finished, FlowConfig, FlowStats, RoleSource};
use crate::common::{Dir, Duration, Endpoints, Timestamp};
use crate::packet::{CapturePoint, IcmpError, IpInfo, TcpFlags, TcpSegment};
use smallvec::SmallVec;
use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// An address as 16 bytes (IPv4 as IPv4-mapped IPv6).
fn addr_bytes(a: IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// A conversation's address/port pair, lower endpoint first (by the
/// addresses' 16-byte form, IPv4 as IPv4-mapped IPv6): a pair of IPv4
/// addresses (or of IPv4-mapped IPv6 ones, equal to them in that form)
/// in 12 bytes, any other pair in 36.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    V4(Key4),
    V6(Key6),
}

/// An IPv4 address/port pair, lower endpoint first: its bucket in the
/// table's map, with the entry, is 64 bytes (one cache line) where a
/// 36-byte key made it 88.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Key4 {
    a: [u8; 4],
    b: [u8; 4],
    pa: u16,
    pb: u16,
}

impl Hash for Key4 {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let a = u64::from(u32::from_be_bytes(self.a));
        let b = u64::from(u32::from_be_bytes(self.b));
        state.write_u64((a << 32) | b);
        state.write_u32((u32::from(self.pa) << 16) | u32::from(self.pb));
    }
}

/// Any other address/port pair, as 16-byte addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Key6 {
    a: [u8; 16],
    b: [u8; 16],
    pa: u16,
    pb: u16,
}

impl Hash for Key6 {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let (a0, a1) = self.a.split_at(8);
        let (b0, b1) = self.b.split_at(8);
        for half in [a0, a1, b0, b1] {
            let mut w = [0u8; 8];
            w.copy_from_slice(half);
            state.write_u64(u64::from_le_bytes(w));
        }
        state.write_u32((u32::from(self.pa) << 16) | u32::from(self.pb));
    }
}

impl Key {
    /// The key of a packet from `src` to `dst`, and the packet's side:
    /// 0 when it travels from the lower endpoint to the higher one.
    pub fn new(src: IpAddr, sport: u16, dst: IpAddr, dport: u16) -> (Key, usize) {
        // Two IPv4 addresses, as most packets carry: their 16-byte forms
        // share the IPv4-mapped prefix, so they order as the addresses'
        // 32-bit values (then the ports), and the key is an IPv4 one.
        // Read so, no 16-byte form is made and compared for each packet.
        if let (IpAddr::V4(s), IpAddr::V4(d)) = (src, dst) {
            let s = (u32::from(s), sport);
            let d = (u32::from(d), dport);
            let (lo, hi, side) = if s <= d { (s, d, 0) } else { (d, s, 1) };
            let key = Key4 {
                a: lo.0.to_be_bytes(),
                b: hi.0.to_be_bytes(),
                pa: lo.1,
                pb: hi.1,
            };
            return (Key::V4(key), side);
        }
        Key::of_16_byte_forms(src, sport, dst, dport)
    }

    /// [`Key::new`] of any pair, by the addresses' 16-byte forms (IPv4
    /// as IPv4-mapped IPv6).
    fn of_16_byte_forms(src: IpAddr, sport: u16, dst: IpAddr, dport: u16) -> (Key, usize) {
        let s = (addr_bytes(src), sport);
        let d = (addr_bytes(dst), dport);
        let (lo, hi, side) = if s <= d { (s, d, 0) } else { (d, s, 1) };
        let key = match (v4_of(&lo.0), v4_of(&hi.0)) {
            (Some(a), Some(b)) => Key::V4(Key4 {
                a,
                b,
                pa: lo.1,
                pb: hi.1,
            }),
            _ => Key::V6(Key6 {
                a: lo.0,
                b: hi.0,
                pa: lo.1,
                pb: hi.1,
            }),
        };
        (key, side)
    }
}

/// The IPv4 address of a 16-byte address that is IPv4-mapped.
fn v4_of(a: &[u8; 16]) -> Option<[u8; 4]> {
    let (prefix, v4) = a.split_at(12);
    if prefix != [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff] {
        return None;
    }
    let mut out = [0u8; 4];
    out.copy_from_slice(v4);
    Some(out)
}

/// The table's conversations, by the kind of their key: most captures
/// are IPv4 only, and their buckets are then one cache line each.
#[derive(Debug, Default)]
struct Conversations {
    v4: FastMap<Key4, Entry>,
    v6: FastMap<Key6, Entry>,
}

impl Conversations {
    fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    fn get(&self, key: &Key) -> Option<&Entry> {
        match key {
            Key::V4(k) => self.v4.get(k),
            Key::V6(k) => self.v6.get(k),
        }
    }

    fn get_mut(&mut self, key: &Key) -> Option<&mut Entry> {
        match key {
            Key::V4(k) => self.v4.get_mut(k),
            Key::V6(k) => self.v6.get_mut(k),
        }
    }

    fn contains_key(&self, key: &Key) -> bool {
        self.get(key).is_some()
    }

    fn remove(&mut self, key: &Key) -> Option<Entry> {
        match key {
            Key::V4(k) => self.v4.remove(k),
            Key::V6(k) => self.v6.remove(k),
        }
    }

    /// Insert a new entry (its key absent) and give it back: one look-up
    /// where an insertion and a second look-up were two.
    fn insert_new(&mut self, key: Key, entry: Entry) -> &mut Entry {
        match key {
            Key::V4(k) => insert_new(&mut self.v4, k, entry),
            Key::V6(k) => insert_new(&mut self.v6, k, entry),
        }
    }

    fn values(&self) -> impl Iterator<Item = &Entry> {
        self.v4.values().chain(self.v6.values())
    }

    fn retain(&mut self, mut keep: impl FnMut(&mut Entry) -> bool) {
        self.v4.retain(|_, e| keep(e));
        self.v6.retain(|_, e| keep(e));
    }

    fn drain(&mut self) -> impl Iterator<Item = Entry> + '_ {
        let v4 = self.v4.drain().map(|(_, e)| e);
        v4.chain(self.v6.drain().map(|(_, e)| e))
    }

    /// Give back the memory of a past burst of conversations.
    fn shrink(&mut self) {
        shrink_map(&mut self.v4);
        shrink_map(&mut self.v6);
    }
}

fn shrink_map<K: Eq + Hash, V>(map: &mut FastMap<K, V>) {
    if map.capacity() > 4096 && map.len() < map.capacity() / 4 {
        map.shrink_to(map.len() * 2);
    }
}

#[derive(Debug)]
enum Track {
    /// Not selected: numbering and close detection only.
    Light,
    /// Waiting for the first payload to decide; only headers are kept.
    Pending(Box<Pending>),
    /// Selected by port, no payload yet, and its packets tell what its
    /// state would ([`Pending::keeps_nothing`]): only headers are kept,
    /// and its state is made when its connection is made whole (read
    /// then at once, where a state made at its first packet was read
    /// back cold after the grace). A variant of its own, so that a sweep
    /// hands it on without reading it.
    Early(Box<Pending>),
    /// Waiting for the first payload, past [`MAX_EARLY`] header-only
    /// packets: tracked in depth meanwhile.
    Undecided(Box<ConnState>),
    Selected(Box<ConnState>),
    /// A conversation closed and quiet for `close_grace`: its connection
    /// was handed on (or, not selected, dropped). Numbering only; late
    /// packets are counted.
    Tombstone,
}

impl Track {
    /// Holds more than numbering: the packets before the first payload,
    /// or a connection's state.
    fn has_state(&self) -> bool {
        !matches!(self, Track::Light | Track::Tombstone)
    }

    /// Bytes held in reassembly buffers.
    fn held(&self) -> usize {
        match self {
            Track::Selected(c) | Track::Undecided(c) => c.held(),
            Track::Light | Track::Pending(_) | Track::Early(_) | Track::Tombstone => 0,
        }
    }
}

/// Header-only packets kept for a conversation waiting for its first
/// payload; past this, it is tracked in depth until the payload comes.
const MAX_EARLY: usize = 16;

/// A conversation waiting for its first payload (the first-payload
/// predicate decides), or one selected by port that has not sent a
/// payload yet: what came before it, to replay into a [`ConnState`] if
/// the predicate accepts it or when its connection is made whole. Costs
/// a few dozen bytes per packet instead of a whole connection state
/// (scans never send payload; a refused connection, its SYN and the
/// RST answering it, holds about 270 bytes through the grace instead of
/// 1,024, and its state is made and read at once when it is made whole).
#[derive(Debug)]
pub(super) struct Pending {
    first: First,
    first_frame: u64,
    first_ts: Timestamp,
    /// The first two inline: most conversations send one or two packets
    /// before their first payload or their end (a SYN and its answer).
    /// In a vector of their own they were an allocation and a free per
    /// connection, and a second block read back cold when the connection
    /// is made whole.
    early: SmallVec<[Early; 2]>,
    /// Selected by port: whether the first packet's source and
    /// destination ports are selected.
    selected: Option<(bool, bool)>,
}

/// One packet before the first payload.
#[derive(Clone, Copy, Debug)]
enum Early {
    Tcp {
        frame: u64,
        ts: Timestamp,
        frame_len: u32,
        /// Its direction in the state the packets are replayed into.
        dir: Dir,
        ttl: u8,
        ip_id: Option<u16>,
        dont_fragment: bool,
        total_len: u32,
        reassembled: bool,
        seq: u32,
        ack: u32,
        flags: TcpFlags,
        window: u16,
        mss: Option<u16>,
        window_scale: Option<u8>,
        sack: bool,
        point: CapturePoint,
    },
    Icmp {
        frame: u64,
        ts: Timestamp,
        err: IcmpError,
    },
}

impl Pending {
    /// Client and server, and how they were decided, by the rules of
    /// [`roles`] (with the ports selected, if selected by port).
    pub(super) fn roles(&self) -> (Endpoints, RoleSource) {
        let (src, dst) = self.selected.unwrap_or((false, false));
        roles(&self.first, src, dst)
    }

    /// The client, by the rules of [`roles`] with no selected port.
    fn client(&self) -> SocketAddr {
        roles(&self.first, false, false).0.client
    }

    /// The direction of a packet from `src` in the state the early
    /// packets are replayed into: as [`ConnState::dir_of`] reads the
    /// packet's source when selected by port (as a state made at the
    /// first packet would have), and as it reads the first packet's
    /// source or destination otherwise (as the replay always did).
    fn dir_of(&self, src: SocketAddr) -> Dir {
        let client = self.roles().0.client;
        let s = match self.selected {
            Some(_) => src,
            None if src == self.first.src => self.first.src,
            None => self.first.dst,
        };
        if s == client {
            Dir::ToServer
        } else {
            Dir::ToClient
        }
    }

    /// Whether what the table and [`FlowStats`] read of the state these
    /// packets make is known without replaying them: at most one packet
    /// a direction and no SYN/ACK, so each direction is anchored at its
    /// own packet and notes no hole, holds no byte (no payload), meets no
    /// bound, and sees no copy from another capture point (its only
    /// packet is its first sighting). A connection selected by port
    /// stays [`Track::Early`] only while this holds.
    pub(super) fn keeps_nothing(&self) -> bool {
        let mut seen = [0u8; 2];
        for item in &self.early {
            if let Early::Tcp { dir, flags, .. } = item {
                if flags.syn() && flags.ack() {
                    return false;
                }
                if let Some(n) = seen.get_mut(dir.index()) {
                    *n += 1;
                    if *n > 1 {
                        return false;
                    }
                }
            }
        }
        true
    }

    /// Build the connection state and replay the early packets into it.
    fn promote(&self, cfg: &FlowConfig, stream: u64) -> Box<ConnState> {
        self.promote_with(cfg.depth_cap, cfg.max_events, stream)
    }

    /// [`Pending::promote`] with the configuration's bounds. Read where
    /// it lies, not moved out of its box: the packets are read once.
    pub(super) fn promote_with(
        &self,
        depth_cap: usize,
        max_events: usize,
        stream: u64,
    ) -> Box<ConnState> {
        let (endpoints, role) = self.roles();
        let mut c = ConnState::new(
            stream,
            endpoints,
            role,
            self.selected.is_some(),
            self.first_frame,
            self.first_ts,
            depth_cap,
            max_events,
        )
        .boxed();
        for item in &self.early {
            match *item {
                Early::Tcp {
                    frame,
                    ts,
                    frame_len,
                    dir,
                    ttl,
                    ip_id,
                    dont_fragment,
                    total_len,
                    reassembled,
                    seq,
                    ack,
                    flags,
                    window,
                    mss,
                    window_scale,
                    sack,
                    point,
                } => {
                    let (s, d) = match dir {
                        Dir::ToServer => (endpoints.client, endpoints.server),
                        Dir::ToClient => (endpoints.server, endpoints.client),
                    };
                    let ip = IpInfo {
                        src: s.ip(),
                        dst: d.ip(),
                        ttl,
                        ip_id,
                        dont_fragment,
                        total_len,
                        reassembled,
                    };
                    let seg = TcpSegment {
                        src_port: s.port(),
                        dst_port: d.port(),
                        seq,
                        ack,
                        flags,
                        window,
                        mss,
                        window_scale,
                        sack,
                        payload: &[],
                        payload_len: 0,
                    };
                    c.on_tcp(frame, ts, frame_len, &ip, &seg, dir, point);
                }
                Early::Icmp { frame, ts, err } => {
                    if let Some(q) = err.quoted {
                        let dir = c.dir_of(SocketAddr::new(q.src, q.src_port));
                        c.on_icmp(frame, ts, &err, dir);
                    }
                }
            }
        }
        c
    }
}

/// Add an early packet; past [`MAX_EARLY`], switch to in-depth tracking.
fn pend(track: &mut Track, item: Early, cfg: &FlowConfig, stream: u64) {
    if let Track::Pending(p) | Track::Early(p) = track {
        p.early.push(item);
        // One selected by port waits only while its packets tell what
        // its state would: it holds no byte, and the flow stage counts
        // nothing of it.
        let within = p.early.len() <= MAX_EARLY;
        if within && (p.selected.is_none() || p.keeps_nothing()) {
            return;
        }
    }
    match std::mem::replace(track, Track::Light) {
        Track::Pending(p) => *track = Track::Undecided(p.promote(cfg, stream)),
        Track::Early(p) => *track = Track::Selected(p.promote(cfg, stream)),
        t => *track = t,
    }
}

/// What of a track leaving the table is handed on: a connection
/// selected by port or by its first payload (one that sent none yet
/// still as its packets, when they tell what the flow stage counts of
/// it without a state).
fn handed_on(stream: u64, t: Track, cfg: &FlowConfig) -> Option<Finished> {
    match t {
        Track::Selected(c) => Some(Finished::new(stream, c)),
        Track::Early(p) => {
            debug_assert!(p.keeps_nothing());
            Some(Finished::early(stream, p, cfg))
        }
        _ => None,
    }
}

/// Client, server and how they were decided, from a conversation's first
/// packet and whether its source / destination port is selected.
fn roles(first: &First, src_selected: bool, dst_selected: bool) -> (Endpoints, RoleSource) {
    let forward = Endpoints {
        client: first.src,
        server: first.dst,
    };
    let backward = Endpoints {
        client: first.dst,
        server: first.src,
    };
    if first.syn && !first.ack {
        (forward, RoleSource::Syn)
    } else if first.syn {
        (backward, RoleSource::SynAck)
    } else if src_selected && !dst_selected {
        (backward, RoleSource::Port)
    } else {
        (forward, RoleSource::Port)
    }
}

/// A conversation's entry, kept in the map's own slots (48 bytes: the
/// base sequence numbers as numbers and flags, not two `Option`s, and
/// the close flags in one byte): a sweep reads every entry's time and
/// close flags, once a second of capture time, and through a box each
/// was a cache miss.
#[derive(Debug)]
struct Entry {
    stream: u64,
    last_ts: Timestamp,
    /// Wireshark's base sequence number per side (0: lower endpoint),
    /// where `has_base` says it is set.
    base: [u32; 2],
    has_base: [bool; 2],
    close: Close,
    /// Bytes the track held after its last packet (`u32::MAX`: that
    /// many or more, to be read from the track): what a sweep takes off
    /// the table's count when the track leaves, without reading the
    /// state, cold by then.
    held: u32,
    track: Track,
}

/// The FINs seen per side and a RST, in one byte.
#[derive(Clone, Copy, Debug, Default)]
struct Close(u8);

impl Close {
    const RST: u8 = 1 << 2;
    const BOTH_FINS: u8 = 0b11;

    fn fin(&mut self, side: usize) {
        self.0 |= 1 << side.min(1);
    }

    fn rst(&mut self) {
        self.0 |= Close::RST;
    }

    /// By a RST, or by a FIN each way.
    fn closed(self) -> bool {
        self.0 & Close::RST != 0 || self.0 & Close::BOTH_FINS == Close::BOTH_FINS
    }
}

impl Entry {
    /// The base sequence number of a side, once set.
    fn base(&self, side: usize) -> Option<u32> {
        let set = self.has_base.get(side).copied().unwrap_or(false);
        self.base.get(side).copied().filter(|_| set)
    }

    /// Set a side's base sequence number unless it is set already.
    fn set_base(&mut self, side: usize, value: u32) {
        if let (Some(b), Some(set)) = (self.base.get_mut(side), self.has_base.get_mut(side)) {
            if !*set {
                *b = value;
                *set = true;
            }
        }
    }

    fn closed(&self) -> bool {
        self.close.closed()
    }

    /// The bytes the track holds before a packet: what [`budget`] noted
    /// after the last one (nothing but a packet changes what a track
    /// holds), so that the state is not read for it; read from the
    /// track only when the note is not exact.
    fn held_before(&self) -> usize {
        let n = match usize::try_from(self.held) {
            Ok(n) if self.held != u32::MAX => n,
            _ => self.track.held(),
        };
        debug_assert_eq!(n, self.track.held());
        n
    }

    fn expired(&self, now: Timestamp, cfg: &FlowConfig) -> bool {
        let quiet = now.since(self.last_ts);
        (self.closed() && quiet >= cfg.linger) || quiet >= cfg.idle_finish
    }

    /// Closed, quiet for `close_grace` and still holding a state: to be
    /// handed on, leaving a tombstone.
    fn settled(&self, now: Timestamp, cfg: &FlowConfig) -> bool {
        self.track.has_state() && self.closed() && now.since(self.last_ts) >= cfg.close_grace
    }
}

/// What the first packet of a conversation tells about roles.
#[derive(Clone, Copy, Debug)]
struct First {
    src: SocketAddr,
    dst: SocketAddr,
    syn: bool,
    ack: bool,
}

#[derive(Debug)]
pub(crate) struct Table {
    /// Entries in the map's slots: about 110,000 live at 10,000
    /// connections a second (the 10 s linger), and a sweep visits each
    /// once a second of capture time. Boxed, each visit was a cache miss
    /// (and each new conversation an allocation); in the slots, a sweep
    /// reads the map's memory in order. A bucket of a key and an entry
    /// is 64 bytes for IPv4, 88 for IPv6.
    map: Conversations,
    /// Bitset of selected ports.
    ports: Box<[u64; 1024]>,
    next_stream: u64,
    now: Option<Timestamp>,
    last_sweep: Timestamp,
    since_sweep: u64,
    /// Connections handed on and not yet drained, in the order they
    /// finished: boxed states with their numbers ([`Finished`]),
    /// drained as they are and
    /// made into [`super::Connection`]s by the caller where it analyses
    /// them (a sweep hands on thousands at once; a vector of whole
    /// connections here was one more copy of each and kept its room of
    /// several megabytes). Boxes: the states are boxed in the map
    /// already, so handing one on moves a pointer, not a whole state.
    finished: Vec<Finished>,
    /// Stream index of the last TCP packet.
    last_stream: Option<u64>,
    /// Bytes held by the live connections' reassembly buffers.
    held: Held,
    /// The most entries holding a state (not light, not a tombstone)
    /// counted at a sweep or at the end: what the table's memory follows.
    states_peak: usize,
    /// The conversations created with a state, in stream order (numbers
    /// only grow), each with its key; those handed on or removed since
    /// are dropped from the front when the lowest is asked for.
    stateful: VecDeque<(u64, Key)>,
    /// Where [`order_by_stream`] places a sweep's connections, empty
    /// between sweeps: its room is kept, as `finished`'s is, so that
    /// each sweep does not fault in new pages for it.
    slots: Vec<Option<Finished>>,
}

/// Put `v[from..]`, connections handed on by one sweep or left at the
/// end, in stream order. Their numbers are distinct and mostly close
/// together (those that settled within the same second or so, or were
/// created within the last seconds): each is placed at its number's
/// offset in a table of their span and read back in order, where a sort
/// compared them (its branches mispredicted at random, thousands of
/// connections a sweep). Numbers spread wider than four places a
/// connection are sorted.
fn order_by_stream(v: &mut Vec<Finished>, from: usize, slots: &mut Vec<Option<Finished>>) {
    let tail = v.get(from..).unwrap_or_default();
    let streams = || tail.iter().map(Finished::stream);
    let (Some(lo), Some(hi)) = (streams().min(), streams().max()) else {
        return;
    };
    let span = usize::try_from(hi - lo).ok().and_then(|s| s.checked_add(1));
    let Some(span) = span.filter(|&s| s / 4 <= tail.len()) else {
        if let Some(tail) = v.get_mut(from..) {
            tail.sort_unstable_by_key(Finished::stream);
        }
        return;
    };
    slots.clear();
    slots.resize_with(span, || None);
    // A number met twice (never, a connection being handed on once) is
    // put back after the others, and all of them sorted.
    let mut twice = Vec::new();
    for f in v.drain(from..) {
        let at = usize::try_from(f.stream() - lo).ok();
        match at.and_then(|i| slots.get_mut(i)) {
            Some(slot @ None) => *slot = Some(f),
            _ => twice.push(f),
        }
    }
    v.extend(slots.drain(..).flatten());
    if !twice.is_empty() {
        v.extend(twice);
        if let Some(tail) = v.get_mut(from..) {
            tail.sort_unstable_by_key(Finished::stream);
        }
    }
}

/// Bytes held by one table's reassembly buffers, also counted in the
/// process's shared total when there is one ([`FlowConfig::shared_budget`]).
#[derive(Debug, Default)]
struct Held {
    local: usize,
    shared: Option<Arc<AtomicUsize>>,
}

impl Held {
    /// Set this table's count, moving the shared total by the difference.
    /// Most packets hold no new byte (a SYN, an ACK, a RST): with no
    /// difference the shared total is left alone, as adding nothing
    /// would leave it, without a locked read-modify-write per packet.
    fn set(&mut self, new: usize) {
        if new == self.local {
            return;
        }
        if let Some(s) = &self.shared {
            if new >= self.local {
                s.fetch_add(new - self.local, Ordering::Relaxed);
            } else {
                s.fetch_sub(self.local - new, Ordering::Relaxed);
            }
        }
        self.local = new;
    }

    fn sub(&mut self, n: usize) {
        self.set(self.local.saturating_sub(n));
    }

    /// [`Held::sub`] of what a track leaving the table held. With nothing
    /// held, taking anything leaves nothing (the subtraction saturates):
    /// the track's state, cold by then, is not read at all (a scan's
    /// connections never hold a byte).
    fn sub_track(&mut self, t: &Track) {
        if self.local > 0 {
            self.sub(t.held());
        }
    }

    /// [`Held::sub_track`] of what its entry noted the track held
    /// ([`Entry::held`]): the state is read only when the note is not
    /// exact.
    fn sub_noted(&mut self, noted: u32, t: &Track) {
        if self.local > 0 {
            let n = match usize::try_from(noted) {
                Ok(n) if noted != u32::MAX => n,
                _ => t.held(),
            };
            debug_assert_eq!(n, t.held());
            self.sub(n);
        }
    }

    /// What the budget is checked against: the shared total if any.
    fn total(&self) -> usize {
        match &self.shared {
            Some(s) => s.load(Ordering::Relaxed),
            None => self.local,
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.set(0);
    }
}

impl Table {
    pub fn new(cfg: &FlowConfig) -> Self {
        let mut ports = Box::new([0u64; 1024]);
        for &p in &cfg.ports {
            if let Some(w) = ports.get_mut(usize::from(p >> 6)) {
                *w |= 1 << (p & 63);
            }
        }
        Table {
            map: Conversations::default(),
            ports,
            next_stream: 0,
            now: None,
            last_sweep: Timestamp(0),
            since_sweep: 0,
            finished: Vec::new(),
            last_stream: None,
            held: Held {
                local: 0,
                shared: cfg.shared_budget.clone(),
            },
            states_peak: 0,
            stateful: VecDeque::new(),
            slots: Vec::new(),
        }
    }

    pub fn last_stream(&self) -> Option<u64> {
        self.last_stream
    }

    fn port_selected(&self, p: u16) -> bool {
        self.ports
            .get(usize::from(p >> 6))
            .is_some_and(|w| w & (1 << (p & 63)) != 0)
    }

    fn advance(&mut self, ts: Timestamp) -> Timestamp {
        let now = match self.now {
            Some(n) if n >= ts => n,
            Some(_) => ts,
            None => {
                self.last_sweep = ts;
                ts
            }
        };
        self.now = Some(now);
        now
    }

    pub fn live(&self) -> usize {
        self.map.len()
    }

    /// The most entries holding a state at once, counted at each sweep
    /// and now (O(live)).
    pub fn states_peak(&mut self) -> usize {
        let states = self.map.values().filter(|e| e.track.has_state()).count();
        self.states_peak = self.states_peak.max(states);
        self.states_peak
    }

    /// The lowest stream number of a live conversation that is, or may
    /// still become, a selected one (amortised O(1): a state is only ever
    /// given at creation, so the lowest is the first of `stateful` still
    /// holding one).
    pub fn lowest_open_stream(&mut self) -> Option<u64> {
        while let Some(&(stream, key)) = self.stateful.front() {
            if self
                .map
                .get(&key)
                .is_some_and(|e| e.stream == stream && e.track.has_state())
            {
                return Some(stream);
            }
            self.stateful.pop_front();
        }
        None
    }

    #[allow(clippy::too_many_arguments)]
    pub fn on_tcp(
        &mut self,
        cfg: &FlowConfig,
        stats: &mut FlowStats,
        frame: u64,
        ts: Timestamp,
        frame_len: u32,
        ip: &IpInfo,
        seg: &TcpSegment<'_>,
        point: CapturePoint,
    ) {
        stats.tcp_packets += 1;
        self.advance(ts);
        let (key, side) = Key::new(ip.src, seg.src_port, ip.dst, seg.dst_port);
        let syn_only = seg.flags.syn() && !seg.flags.ack();
        let mut replace = false;
        if let Some(e) = self.map.get_mut(&key) {
            if syn_only && e.base(side).is_some_and(|b| b != seg.seq) {
                replace = true;
            } else {
                self.last_stream = Some(e.stream);
                let pkt = (side, frame, ts, frame_len);
                apply(&mut self.held, e, cfg, stats, pkt, ip, seg, point);
                self.maybe_sweep(cfg);
                return;
            }
        }
        if replace {
            if let Some(old) = self.map.remove(&key) {
                self.retire(old, cfg);
            }
        }
        let first = First {
            src: SocketAddr::new(ip.src, seg.src_port),
            dst: SocketAddr::new(ip.dst, seg.dst_port),
            syn: seg.flags.syn(),
            ack: seg.flags.ack(),
        };
        let entry = self.create(cfg, stats, key, first, frame, ts);
        let e = self.map.insert_new(key, entry);
        self.last_stream = Some(e.stream);
        let pkt = (side, frame, ts, frame_len);
        apply(&mut self.held, e, cfg, stats, pkt, ip, seg, point);
        self.maybe_sweep(cfg);
    }

    pub fn on_icmp(
        &mut self,
        cfg: &FlowConfig,
        stats: &mut FlowStats,
        frame: u64,
        ts: Timestamp,
        err: &IcmpError,
    ) {
        stats.icmp_errors += 1;
        self.advance(ts);
        let Some(q) = err.quoted else {
            return;
        };
        let (key, _) = Key::new(q.src, q.src_port, q.dst, q.dst_port);
        if !self.map.contains_key(&key) {
            // Wireshark dissects the quoted TCP header and opens a
            // conversation for it when none exists.
            let first = First {
                src: SocketAddr::new(q.src, q.src_port),
                dst: SocketAddr::new(q.dst, q.dst_port),
                syn: false,
                ack: false,
            };
            let entry = self.create(cfg, stats, key, first, frame, ts);
            self.map.insert_new(key, entry);
        }
        if let Some(e) = self.map.get_mut(&key) {
            match &mut e.track {
                Track::Selected(c) | Track::Undecided(c) => {
                    let dir = c.dir_of(SocketAddr::new(q.src, q.src_port));
                    c.on_icmp(frame, ts, err, dir);
                }
                Track::Pending(_) | Track::Early(_) => {
                    let item = Early::Icmp {
                        frame,
                        ts,
                        err: *err,
                    };
                    pend(&mut e.track, item, cfg, e.stream);
                }
                Track::Tombstone => stats.after_close += 1,
                Track::Light => {}
            }
        }
    }

    /// A new entry for `key` (absent from the map), after making room
    /// for it; the caller inserts it.
    fn create(
        &mut self,
        cfg: &FlowConfig,
        stats: &mut FlowStats,
        key: Key,
        first: First,
        frame: u64,
        ts: Timestamp,
    ) -> Entry {
        self.evict(cfg, stats);
        let stream = self.next_stream;
        self.next_stream += 1;
        stats.tcp_streams += 1;
        let by_port = self.port_selected(first.src.port()) || self.port_selected(first.dst.port());
        let track = if by_port {
            // Its state is made at its first payload, or when it is made
            // whole: the packets before are kept as they came.
            let selected = (
                self.port_selected(first.src.port()),
                self.port_selected(first.dst.port()),
            );
            stats.analysed_streams += 1;
            Track::Early(Box::new(Pending {
                first,
                first_frame: frame,
                first_ts: ts,
                early: SmallVec::new(),
                selected: Some(selected),
            }))
        } else if cfg.first_payload.is_some() {
            Track::Pending(Box::new(Pending {
                first,
                first_frame: frame,
                first_ts: ts,
                early: SmallVec::new(),
                selected: None,
            }))
        } else {
            Track::Light
        };
        if track.has_state() {
            self.stateful.push_back((stream, key));
        }
        Entry {
            stream,
            base: [0, 0],
            has_base: [false, false],
            last_ts: ts,
            close: Close::default(),
            held: 0,
            track,
        }
    }

    fn retire(&mut self, e: Entry, cfg: &FlowConfig) {
        self.held.sub_track(&e.track);
        if let Some(f) = handed_on(e.stream, e.track, cfg) {
            self.finished.push(f);
        }
    }

    /// Make room for one more entry under `max_live`, evicting the least
    /// recently active entries in a batch (amortised cost).
    fn evict(&mut self, cfg: &FlowConfig, stats: &mut FlowStats) {
        let max = cfg.max_live.max(1);
        let len = self.map.len();
        if len < max {
            return;
        }
        let need = len + 1 - max;
        let k = need.max(max / 16).max(1).min(len);
        let mut ages: Vec<(Timestamp, u64)> =
            self.map.values().map(|e| (e.last_ts, e.stream)).collect();
        if k == 0 || ages.is_empty() {
            return;
        }
        let (_, cutoff, _) = ages.select_nth_unstable(k - 1);
        let cutoff = *cutoff;
        let mut out = Vec::new();
        self.map.retain(|e| {
            if (e.last_ts, e.stream) <= cutoff {
                out.push((e.stream, std::mem::replace(&mut e.track, Track::Light)));
                false
            } else {
                true
            }
        });
        stats.evicted += out.len() as u64;
        out.sort_by_key(|(s, _)| *s);
        for (stream, t) in out {
            self.held.sub_track(&t);
            if let Some(f) = handed_on(stream, t, cfg) {
                self.finished.push(f);
            }
        }
    }

    fn maybe_sweep(&mut self, cfg: &FlowConfig) {
        self.since_sweep += 1;
        let Some(now) = self.now else {
            return;
        };
        if now.since(self.last_sweep) < Duration::from_secs(1)
            || self.since_sweep < (self.map.len() as u64) / 4
        {
            return;
        }
        self.last_sweep = now;
        self.since_sweep = 0;
        let mut states = 0;
        let from = self.finished.len();
        let (held, finished) = (&mut self.held, &mut self.finished);
        self.map.retain(|e| {
            states += usize::from(e.track.has_state());
            let keep = !e.expired(now, cfg);
            if keep && !e.settled(now, cfg) {
                return true;
            }
            let rest = if keep { Track::Tombstone } else { Track::Light };
            let t = std::mem::replace(&mut e.track, rest);
            held.sub_noted(e.held, &t);
            e.held = 0;
            if let Some(f) = handed_on(e.stream, t, cfg) {
                finished.push(f);
            }
            keep
        });
        self.states_peak = self.states_peak.max(states);
        // Handed on in stream order (the map's order is the hash's).
        order_by_stream(&mut self.finished, from, &mut self.slots);
        self.drop_handed_on(from);
        self.map.shrink();
    }

    /// Drop from the front of `stateful` the connections a sweep just
    /// handed on (`finished[from..]`, in stream order), where they are
    /// known: they no longer hold a state, so
    /// [`Table::lowest_open_stream`] would drop them too, after a
    /// look-up in the map each (cold by then). It stops at the first
    /// stream of `stateful` not handed on, which it leaves to that look-up.
    fn drop_handed_on(&mut self, from: usize) {
        let swept = self.finished.get(from..).unwrap_or_default();
        let mut next = swept.iter().map(Finished::stream).peekable();
        while let (Some(&(front, _)), Some(&handed)) = (self.stateful.front(), next.peek()) {
            if front > handed {
                next.next();
            } else if front == handed {
                self.stateful.pop_front();
                next.next();
            } else {
                break;
            }
        }
    }

    pub fn drain_finished(&mut self, out: &mut Vec<Finished>) {
        out.append(&mut self.finished);
    }

    /// Every connection not drained yet and every one still live, in
    /// stream order (numbers are unique: each connection is handed on
    /// once), to be made whole by the caller one at a time.
    pub fn finish(mut self, cfg: &FlowConfig) -> Vec<Finished> {
        let mut rest = std::mem::take(&mut self.finished);
        for e in self.map.drain() {
            if let Some(f) = handed_on(e.stream, e.track, cfg) {
                rest.push(f);
            }
        }
        // Those still live were created within the last seconds, mostly:
        // numbers close together, placed rather than sorted.
        order_by_stream(&mut rest, 0, &mut self.slots);
        rest
    }
}

/// Insert a new entry (its key absent) and give it back.
fn insert_new<K: Eq + Hash>(map: &mut FastMap<K, Entry>, key: K, entry: Entry) -> &mut Entry {
    match map.entry(key) {
        std::collections::hash_map::Entry::Vacant(v) => v.insert(entry),
        std::collections::hash_map::Entry::Occupied(o) => {
            let slot = o.into_mut();
            *slot = entry;
            slot
        }
    }
}

/// Account for what a packet added to an entry's reassembly buffers (it
/// held `before`) against the total budget. The packet that crosses
/// `max_buffered` is kept, and its connection stops keeping bytes; while
/// the total stays past it, every connection is stopped before a packet is
/// applied (see the callers), so the total exceeds the budget by at most
/// one packet's growth (per table sharing the budget).
fn budget(held: &mut Held, before: usize, e: &mut Entry, cfg: &FlowConfig, stats: &mut FlowStats) {
    let after = e.track.held();
    e.held = u32::try_from(after).unwrap_or(u32::MAX);
    held.set(held.local.saturating_sub(before).saturating_add(after));
    if after > before && held.total() > cfg.max_buffered {
        stop_keeping(e, cfg, stats);
    }
}

/// Apply one packet (its side, frame number, time and frame length) to
/// its conversation entry within the table's byte budget: a connection
/// is stopped from keeping bytes before the packet while the total is
/// past the budget, and after it when the packet takes it past.
#[allow(clippy::too_many_arguments)]
fn apply(
    held: &mut Held,
    e: &mut Entry,
    cfg: &FlowConfig,
    stats: &mut FlowStats,
    (side, frame, ts, frame_len): (usize, u64, Timestamp, u32),
    ip: &IpInfo,
    seg: &TcpSegment<'_>,
    point: CapturePoint,
) {
    let before = e.held_before();
    if held.total() >= cfg.max_buffered {
        stop_keeping(e, cfg, stats);
    }
    update(e, cfg, stats, side, frame, ts, frame_len, ip, seg, point);
    budget(held, before, e, cfg, stats);
}

/// Stop an in-depth connection from keeping more bytes because of the
/// total budget (counted once per connection).
fn stop_keeping(e: &mut Entry, cfg: &FlowConfig, stats: &mut FlowStats) {
    // One selected by port keeps its packets as they came until now: its
    // state is made first, so that it stops where a state made at once
    // would have.
    if let Track::Early(_) = &e.track {
        if let Track::Early(p) = std::mem::replace(&mut e.track, Track::Light) {
            e.track = Track::Selected(p.promote(cfg, e.stream));
        }
    }
    if let Track::Selected(c) | Track::Undecided(c) = &mut e.track {
        if !c.over_budget {
            c.over_budget = true;
            c.stop_keeping(cfg.max_buffered as u64);
            stats.over_budget += 1;
        }
    }
}

/// Apply one packet to its conversation entry.
#[allow(clippy::too_many_arguments)]
fn update(
    e: &mut Entry,
    cfg: &FlowConfig,
    stats: &mut FlowStats,
    side: usize,
    frame: u64,
    ts: Timestamp,
    frame_len: u32,
    ip: &IpInfo,
    seg: &TcpSegment<'_>,
    point: CapturePoint,
) {
    let other = 1 - side.min(1);
    e.set_base(
        side,
        if seg.flags.syn() {
            seg.seq
        } else {
            seg.seq.wrapping_sub(1)
        },
    );
    if seg.flags.ack() {
        e.set_base(other, seg.ack.wrapping_sub(1));
    }
    if ts > e.last_ts {
        e.last_ts = ts;
    }
    if seg.flags.fin() {
        e.close.fin(side);
    }
    if seg.flags.rst() {
        e.close.rst();
    }
    let stream = e.stream;
    let decide = match &mut e.track {
        Track::Light => return,
        Track::Tombstone => {
            stats.after_close += 1;
            return;
        }
        Track::Pending(p) | Track::Early(p) => {
            if seg.payload_len == 0 {
                let item = Early::Tcp {
                    frame,
                    ts,
                    frame_len,
                    dir: p.dir_of(SocketAddr::new(ip.src, seg.src_port)),
                    ttl: ip.ttl,
                    ip_id: ip.ip_id,
                    dont_fragment: ip.dont_fragment,
                    total_len: ip.total_len,
                    reassembled: ip.reassembled,
                    seq: seg.seq,
                    ack: seg.ack,
                    flags: seg.flags,
                    window: seg.window,
                    mss: seg.mss,
                    window_scale: seg.window_scale,
                    sack: seg.sack,
                    point,
                };
                pend(&mut e.track, item, cfg, stream);
                return;
            }
            if p.selected.is_some() {
                // Selected by port: its state is made at its first payload.
                true
            } else {
                let from_client = SocketAddr::new(ip.src, seg.src_port) == p.client();
                from_client && cfg.first_payload.is_some_and(|f| f(seg.payload))
            }
        }
        Track::Selected(c) => {
            let dir = c.dir_of(SocketAddr::new(ip.src, seg.src_port));
            c.on_tcp(frame, ts, frame_len, ip, seg, dir, point);
            return;
        }
        Track::Undecided(c) => {
            let dir = c.dir_of(SocketAddr::new(ip.src, seg.src_port));
            c.on_tcp(frame, ts, frame_len, ip, seg, dir, point);
            if seg.payload_len == 0 {
                return;
            }
            // The first payload decides: the client's, through the
            // caller's predicate; a server speaking first is not accepted.
            dir == Dir::ToServer && cfg.first_payload.is_some_and(|f| f(seg.payload))
        }
    };
    let t = std::mem::replace(&mut e.track, Track::Light);
    if decide {
        let c = match t {
            Track::Undecided(c) => Some((c, false)),
            Track::Pending(p) | Track::Early(p) => {
                let by_port = p.selected.is_some();
                let mut c = p.promote(cfg, stream);
                let dir = c.dir_of(SocketAddr::new(ip.src, seg.src_port));
                c.on_tcp(frame, ts, frame_len, ip, seg, dir, point);
                Some((c, by_port))
            }
            _ => None,
        };
        if let Some((c, by_port)) = c {
            // One selected by port was counted when it was made.
            if !by_port {
                stats.analysed_streams += 1;
            }
            e.track = Track::Selected(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::hash::FastHasher;
    use std::hash::{BuildHasher, BuildHasherDefault};

    #[test]
    fn an_entry_and_its_key_fit_a_bucket_of_64_or_88_bytes() {
        assert_eq!(std::mem::size_of::<Entry>(), 48);
        assert_eq!(std::mem::size_of::<(Key4, Entry)>(), 64);
        assert_eq!(std::mem::size_of::<(Key6, Entry)>(), 88);
    }

    /// The key as it was: both addresses in their 16-byte form (IPv4 as
    /// IPv4-mapped IPv6), the lower endpoint first.
    fn key_of_16_bytes(src: IpAddr, sport: u16, dst: IpAddr, dport: u16) -> (Key6, usize) {
        let s = (addr_bytes(src), sport);
        let d = (addr_bytes(dst), dport);
        let (lo, hi, side) = if s <= d { (s, d, 0) } else { (d, s, 1) };
        let key = Key6 {
            a: lo.0,
            b: hi.0,
            pa: lo.1,
            pb: hi.1,
        };
        (key, side)
    }

    proptest::proptest! {
        /// Two packets have the same key, and the same side, exactly when
        /// they had with both addresses in their 16-byte form.
        #[test]
        fn keys_match_as_the_16_byte_keys_did(
            pkts in proptest::collection::vec((0usize..6, 0u16..3, 0usize..6, 0u16..3), 2..12),
        ) {
            let addrs: [IpAddr; 6] = [
                IpAddr::from([10, 0, 0, 1]),
                IpAddr::from([10, 0, 0, 2]),
                "::ffff:10.0.0.1".parse().unwrap_or(IpAddr::from([0u8; 16])),
                "::ffff:10.0.0.3".parse().unwrap_or(IpAddr::from([0u8; 16])),
                "2001:db8::1".parse().unwrap_or(IpAddr::from([0u8; 16])),
                "::a00:1".parse().unwrap_or(IpAddr::from([0u8; 16])),
            ];
            let key = |&(s, sp, d, dp): &(usize, u16, usize, u16)| {
                (addrs[s], 3389 + sp, addrs[d], 3389 + dp)
            };
            for x in &pkts {
                for y in &pkts {
                    let (xs, xsp, xd, xdp) = key(x);
                    let (ys, ysp, yd, ydp) = key(y);
                    let (new_x, new_y) = (Key::new(xs, xsp, xd, xdp), Key::new(ys, ysp, yd, ydp));
                    let (old_x, old_y) = (
                        key_of_16_bytes(xs, xsp, xd, xdp),
                        key_of_16_bytes(ys, ysp, yd, ydp),
                    );
                    proptest::prop_assert_eq!(new_x.0 == new_y.0, old_x.0 == old_y.0);
                    proptest::prop_assert_eq!(new_x.1, old_x.1);
                }
            }
        }
    }

    /// What each entry notes it holds ([`Entry::held`], read before a
    /// packet in place of the state) is what its track holds, after
    /// every packet of random conversations (payloads, retransmissions,
    /// closes, new handshakes, a budget small enough to be reached);
    /// the table's count is their sum, and the shared total it.
    #[test]
    fn each_entrys_note_of_its_bytes_is_exact() {
        for budget in [usize::MAX, 300, 40] {
            let shared = Arc::new(AtomicUsize::new(0));
            let cfg = FlowConfig {
                ports: vec![3389],
                first_payload: Some(|p: &[u8]| p.first() == Some(&3)),
                max_buffered: budget,
                shared_budget: Some(Arc::clone(&shared)),
                ..FlowConfig::default()
            };
            let mut table = Table::new(&cfg);
            let mut stats = FlowStats::default();
            let mut seed = 0xde1d_u64 ^ budget as u64;
            let payload = [3u8; 64];
            let mut most = 0;
            for frame in 1..3000u64 {
                let r = crate::common::xorshift(&mut seed);
                let client = IpAddr::from([10, 0, 0, (r & 3) as u8]);
                let server = IpAddr::from([10, 0, 1, 1]);
                let cport = 40000 + ((r >> 2) & 3) as u16;
                let sport = if r & (1 << 4) == 0 { 3389 } else { 8080 };
                let to_server = r & (1 << 5) == 0;
                let flags = match (r >> 6) & 15 {
                    0 => TcpFlags::SYN,
                    1 => TcpFlags::SYN | TcpFlags::ACK,
                    2 => TcpFlags::RST | TcpFlags::ACK,
                    3 => TcpFlags::FIN | TcpFlags::ACK,
                    _ => TcpFlags::ACK,
                };
                let len = if flags == TcpFlags::ACK {
                    ((r >> 10) % 65) as usize
                } else {
                    0
                };
                let (src, sp, dst, dp) = if to_server {
                    (client, cport, server, sport)
                } else {
                    (server, sport, client, cport)
                };
                let ip = IpInfo {
                    src,
                    dst,
                    ttl: 64,
                    ip_id: Some(frame as u16),
                    dont_fragment: true,
                    total_len: 40 + len as u32,
                    reassembled: false,
                };
                let seg = TcpSegment {
                    src_port: sp,
                    dst_port: dp,
                    seq: ((r >> 20) & 0xff) as u32 * 16,
                    ack: ((r >> 28) & 0xff) as u32 * 16,
                    flags: TcpFlags(flags),
                    window: 1000,
                    mss: None,
                    window_scale: None,
                    sack: false,
                    payload: &payload[..len],
                    payload_len: len as u32,
                };
                let ts = Timestamp(frame as i64 * 5_000_000);
                let point = CapturePoint::default();
                table.on_tcp(&cfg, &mut stats, frame, ts, 54, &ip, &seg, point);
                let mut sum = 0;
                for e in table.map.values() {
                    assert_eq!(e.held_before(), e.track.held(), "frame {frame}");
                    sum += e.track.held();
                }
                assert_eq!(table.held.local, sum, "frame {frame}");
                assert_eq!(shared.load(Ordering::Relaxed), sum, "frame {frame}");
                most = most.max(sum);
            }
            assert!(most > 0, "no byte was ever held");
        }
    }

    /// Two IPv4 addresses' key, read from their 32-bit values, is the
    /// key of their 16-byte forms, side included.
    #[test]
    fn an_ipv4_pair_keys_as_its_16_byte_forms() {
        let mut seed = 0x5eed_4b3e_u64;
        let edges = [
            0u32,
            1,
            0x0a00_0001,
            0x0a00_0002,
            0x7fff_ffff,
            0x8000_0000,
            u32::MAX,
        ];
        let ports = [0u16, 1, 3389, 40000, u16::MAX];
        let mut pairs = Vec::new();
        for &a in &edges {
            for &b in &edges {
                for &pa in &ports {
                    for &pb in &ports {
                        pairs.push((a, pa, b, pb));
                    }
                }
            }
        }
        for _ in 0..20_000 {
            let r = crate::common::xorshift(&mut seed);
            // Addresses and ports often equal, to reach every tie.
            let a = (r as u32) & 0x0303_0303;
            let b = ((r >> 32) as u32) & 0x0303_0303;
            let (pa, pb) = ((r >> 8) as u16 & 3, (r >> 40) as u16 & 3);
            pairs.push((a, pa, b, pb));
            pairs.push((
                r as u32,
                (r >> 16) as u16,
                (r >> 32) as u32,
                (r >> 48) as u16,
            ));
        }
        for (a, pa, b, pb) in pairs {
            let (src, dst) = (IpAddr::from(a.to_be_bytes()), IpAddr::from(b.to_be_bytes()));
            assert_eq!(
                Key::new(src, pa, dst, pb),
                Key::of_16_byte_forms(src, pa, dst, pb),
                "{src}:{pa} -> {dst}:{pb}"
            );
        }
    }

    /// What a connection selected by port keeps through the grace when
    /// it sent its SYN and was answered by a RST (a refused one): its
    /// packets as they came, inline in one block of 256 bytes (the
    /// allocator's size class), where its state was 1,024.
    #[test]
    fn a_refused_connection_keeps_a_quarter_of_a_state() {
        let kept = std::mem::size_of::<Pending>();
        assert!(kept <= 256, "{kept} bytes");
        let mut p = Pending {
            first: First {
                src: SocketAddr::from(([10, 0, 0, 1], 40000)),
                dst: SocketAddr::from(([10, 0, 0, 2], 3389)),
                syn: true,
                ack: false,
            },
            first_frame: 1,
            first_ts: Timestamp(0),
            early: SmallVec::new(),
            selected: Some((false, true)),
        };
        let icmp = |frame| Early::Icmp {
            frame,
            ts: Timestamp(0),
            err: IcmpError {
                v6: false,
                icmp_type: 3,
                code: 3,
                mtu: None,
                quoted: None,
            },
        };
        p.early.extend([icmp(1), icmp(2)]);
        assert!(!p.early.spilled(), "a SYN and its answer held inline");
    }

    /// A finished connection numbered `stream` (its state empty).
    fn finished(stream: u64) -> Finished {
        let at = SocketAddr::from(([10, 0, 0, 1], 40000));
        let ends = Endpoints {
            client: at,
            server: SocketAddr::from(([10, 0, 0, 2], 3389)),
        };
        let state = ConnState::new(stream, ends, RoleSource::Syn, true, 1, Timestamp(0), 0, 8);
        Finished::new(stream, Box::new(state))
    }

    /// A sweep's connections placed by their numbers come out as sorting
    /// them put them, the ones before `from` untouched: numbers close
    /// together, spread wide (sorted instead), at the ends of the `u64`
    /// range, repeated, none or one.
    #[test]
    fn connections_placed_by_number_come_out_as_sorted() {
        let mut seed = 0x50_47_u64;
        let mut cases: Vec<(Vec<u64>, usize)> = vec![
            (vec![], 0),
            (vec![7], 0),
            (vec![7], 1),
            (vec![3, 1, 2], 0),
            (vec![u64::MAX, 0, 5], 1),
            (vec![u64::MAX, u64::MAX - 3, u64::MAX - 1], 0),
            (vec![0, 9, 0, 4, 4], 0),
            (vec![10, 30, 20], 0),
            (vec![10, 13, 11], 0),
        ];
        for _ in 0..400 {
            let r = crate::common::xorshift(&mut seed);
            let n = (r % 300) as usize;
            let base = crate::common::xorshift(&mut seed) >> (r % 64);
            // From dense (every number once) to spread past four a slot.
            let spread = 1 + (r >> 20) % 6;
            let repeat = (r >> 30) % 8 == 0;
            let mut streams: Vec<u64> = (0..n as u64)
                .map(|i| base.wrapping_add(i * spread))
                .collect();
            for i in (1..streams.len()).rev() {
                let j = (crate::common::xorshift(&mut seed) % (i as u64 + 1)) as usize;
                streams.swap(i, j);
            }
            if repeat && n > 1 {
                streams[n - 1] = streams[0];
            }
            let from = (crate::common::xorshift(&mut seed) % (n as u64 + 1)) as usize;
            cases.push((streams, from));
        }
        for (streams, from) in cases {
            let mut placed: Vec<Finished> = streams.iter().map(|&s| finished(s)).collect();
            order_by_stream(&mut placed, from, &mut Vec::new());
            let mut sorted = streams.clone();
            sorted[from..].sort_unstable();
            let got: Vec<u64> = placed.iter().map(Finished::stream).collect();
            assert_eq!(got, sorted, "{streams:?} from {from}");
        }
    }

    #[test]
    fn close_flags_answer_as_three_booleans() {
        // Every sequence of up to four marks (FIN side 0, FIN side 1, RST).
        for n in 0..4u32 {
            for marks in 0..3u32.pow(n) {
                let (mut close, mut fin, mut rst) = (Close::default(), [false; 2], false);
                let mut m = marks;
                for _ in 0..n {
                    match m % 3 {
                        2 => {
                            close.rst();
                            rst = true;
                        }
                        side => {
                            close.fin(side as usize);
                            fin[side as usize] = true;
                        }
                    }
                    m /= 3;
                }
                assert_eq!(
                    close.closed(),
                    rst || (fin[0] && fin[1]),
                    "{n} marks {marks}"
                );
            }
        }
    }

    #[test]
    fn similar_keys_spread_over_buckets() {
        let b = BuildHasherDefault::<FastHasher>::default();
        let mut low = std::collections::HashSet::new();
        let mut top = std::collections::HashSet::new();
        for c in 0..4096u32 {
            let (k, _) = Key::new(
                IpAddr::from([10, 1, (c >> 8) as u8, c as u8]),
                40000,
                IpAddr::from([10, 2, 0, 1]),
                443,
            );
            let Key::V4(k) = k else {
                panic!("an IPv4 pair has an IPv4 key");
            };
            let h = b.hash_one(k);
            low.insert(h & 0xfff);
            top.insert(h >> 57);
        }
        // 4096 keys into 4096 buckets: a good hash fills about 63%.
        assert!(low.len() > 2400, "{} distinct buckets", low.len());
        assert_eq!(top.len(), 128);
    }
}
