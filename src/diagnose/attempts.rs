//! Retries grouped into attempts: a client that tries the same server
//! several times in a row made one attempt ("4 attempts, all failed at the
//! same step"), not several unrelated failures. Grouping also confirms or
//! corrects what one connection alone cannot tell: a short NLA connection
//! followed by the real one is the Windows client's credential pre-check.

use super::rules::cause;
use super::{Benign, Cause, CauseId, Confidence, Diagnosis, Outcome, Step};
use crate::common::{Duration, Endpoint, Timestamp};
use crate::flow::FastMap;
use crate::timeline::Timeline;
use rayon::prelude::*;
use std::cmp::Reverse;
use std::collections::hash_map::Entry;
use std::collections::{BinaryHeap, VecDeque};
use std::fmt::Write as _;
use std::hash::BuildHasher;
use std::net::{IpAddr, SocketAddr};

/// A connection starting within this time of the end of the previous one
/// (same client address, same server address and port) is a retry.
pub const RETRY_WINDOW: Duration = Duration::from_secs(30);

/// The Windows client's credential pre-check is followed by the real
/// connection once the user has confirmed (a certificate prompt, a
/// credential dialog): the corpus shows 34 s between them. A connection
/// this soon after a pre-check belongs to the same attempt.
pub const PRECHECK_WINDOW: Duration = Duration::from_secs(120);

/// A burst of connections this close together (each starting within this
/// time of the previous one's end) is one program at work: clients retry on
/// their own at most once (FreeRDP after a refusal: two connections each in
/// lab captures 05, 06 and 08), and otherwise report the failure and wait
/// for the user (mstsc's error dialog).
pub const BURST_GAP: Duration = Duration::from_secs(2);

/// Distinct security offers in one burst that make it an enumeration: a
/// client offers the same protocols on every retry, and FreeRDP's one
/// fallback (NLA refused, then TLS) makes two.
pub const PROBE_OFFERS: usize = 3;

/// A corrected verdict for one connection of an attempt.
#[derive(Clone, Debug, PartialEq)]
pub struct Relabel {
    pub stream: u64,
    pub outcome: Outcome,
    pub benign: Option<Benign>,
    pub cause: Option<Cause>,
    pub failed_step: Option<Step>,
    /// Why, in one sentence.
    pub note: String,
}

impl Relabel {
    /// The diagnosis with this correction applied.
    pub fn apply(&self, d: &Diagnosis) -> Diagnosis {
        let mut d = d.clone();
        d.outcome = self.outcome;
        d.benign = self.benign;
        d.cause = self.cause.clone();
        d.failed_step = self.failed_step;
        if let Some(s) = self.failed_step {
            d.phase = s.phase();
        }
        d.caveats.push(self.note.clone());
        d
    }
}

/// Connections from one client to one server in quick succession.
#[derive(Clone, Debug, PartialEq)]
pub struct Attempt {
    /// Stream numbers in time order.
    pub streams: Vec<u64>,
    pub client: IpAddr,
    pub server: SocketAddr,
    /// Start of the first connection and end of the last.
    pub first: Timestamp,
    pub last: Timestamp,
    /// Connections that failed (after corrections); benign ones are not
    /// failures.
    pub failed: usize,
    pub benign: usize,
    /// Some connection reached the session.
    pub established: bool,
    /// Every connection failed, and at the same step.
    pub all_failed_same_step: bool,
    /// That step, when they all failed at the same one.
    pub failed_step: Option<Step>,
    /// e.g. "4 attempts from 10.0.0.1 to 10.0.0.2:3389 within 7.0 s, all
    /// failed at TCP SYN/ACK (port_closed)".
    pub summary: String,
    /// Verdicts corrected by looking at the neighbours.
    pub relabels: Vec<Relabel>,
}

/// Attempts summarised per task of the pool when a file ends. Rayon
/// leaves splitting to the caller where items are cheap
/// (`IndexedParallelIterator::with_min_len`); a summary is about 1,600
/// instructions, so a task of this many takes about half a millisecond,
/// far more than handing a task to another thread costs, and tens of
/// thousands of attempts still split evenly. The attempts come out in
/// the same order however they are split (a test runs pools of 1 and 4
/// threads).
const SUMMARIES_PER_TASK: usize = 1024;

/// An attempt holds at most this many connections; the next one from the
/// same client starts a new attempt. Clients retry a bounded number of
/// times: mstsc's automatic reconnection gives up after 20 tries (the
/// `autoreconnect max retries` setting, 20 by default), FreeRDP's
/// `/auto-reconnect-max-retries` is 20 by default, and a security
/// enumeration (nmap's rdp-enum-encryption) makes one connection per
/// protocol and encryption level, 10 in the lab's captures. More than this
/// is a loop (a monitor, a scanner), told as consecutive attempts; the
/// bound keeps what grouping holds per client and server small.
pub const MAX_ATTEMPT: usize = 64;

/// What grouping needs of one connection (a few dozen bytes): its
/// timeline and diagnosis can go as soon as this is taken.
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    pub stream: u64,
    pub client: IpAddr,
    pub server: SocketAddr,
    pub first_ts: Timestamp,
    pub last_ts: Timestamp,
    /// How far the capture ran when the connection was finished.
    pub capture_end: Timestamp,
    pub outcome: Outcome,
    pub benign: Option<Benign>,
    pub cause: Option<CauseId>,
    pub failed_step: Option<Step>,
    pub last_step: Option<Step>,
    /// The security protocols the Connection Request offered (`Some(None)`:
    /// a request without RDP_NEG_REQ; `None`: no request seen).
    pub offer: Option<Option<u32>>,
}

impl Member {
    pub fn of(tl: &Timeline, d: &Diagnosis) -> Self {
        Member {
            stream: tl.stream,
            client: tl.endpoints.client.ip(),
            server: tl.endpoints.server,
            first_ts: tl.first_ts,
            last_ts: tl.last_ts,
            capture_end: tl.capture_end,
            outcome: d.outcome,
            benign: d.benign,
            cause: d.cause.as_ref().map(|c| c.id),
            failed_step: d.failed_step,
            last_step: d.last_step,
            offer: tl
                .connection_request()
                .map(|(_, r)| r.neg_req.as_ref().map(|n| n.requested.0)),
        }
    }

    /// The time after this connection within which the next one from the
    /// same client to the same server belongs to the same attempt.
    fn window(&self) -> Duration {
        if self.benign == Some(Benign::CredentialPrecheck)
            || self.cause == Some(CauseId::PubKeyAuthRejected)
        {
            PRECHECK_WINDOW
        } else {
            RETRY_WINDOW
        }
    }

    fn reached_credentials(&self) -> bool {
        self.outcome == Outcome::Established
            || self.benign == Some(Benign::SessionEnd)
            || self
                .last_step
                .is_some_and(|s| s >= Step::CredsspCredentials)
    }

    /// Whether a security-enumeration burst may relabel it.
    fn probe_eligible(&self) -> bool {
        self.outcome != Outcome::Benign
            && self.last_step != Some(Step::SessionData)
            && self.offer.is_some()
    }

    /// The pre-check rule only bites on a pre-check the capture outlived
    /// by the whole window.
    fn precheck_unanswered(&self) -> bool {
        self.benign == Some(Benign::CredentialPrecheck)
            && self.capture_end.since(self.last_ts) >= PRECHECK_WINDOW
    }
}

/// Group connections into attempts. Pure: the result depends only on the
/// input (order of the input does not matter). The batch form of
/// [`Grouper`], which it feeds in time order.
pub fn group_attempts(items: &[(&Timeline, &Diagnosis)]) -> Vec<Attempt> {
    let mut members: Vec<Member> = items.iter().map(|(t, d)| Member::of(t, d)).collect();
    members.sort_by_key(|m| (m.first_ts, m.stream));
    let mut g = Grouper::new();
    for m in members {
        g.push(m, (), &mut |_, _, _| {});
    }
    g.finish(&mut |_, _, _| {})
}

/// One connection of an open attempt whose verdict may still change.
#[derive(Debug)]
struct Pending {
    m: Member,
    /// Its place in the grouper's queue.
    seq: u64,
    /// Its index in the attempt.
    index: usize,
    followed: bool,
    later_reached: bool,
    burst_closed: bool,
    /// Boxed, as in the slot it goes to: most connections have none.
    probe: Option<Box<Relabel>>,
}

/// The burst (connections back to back) an open attempt ends with.
#[derive(Debug, Default)]
struct Burst {
    start: usize,
    len: usize,
    offers: Vec<Option<u32>>,
}

/// An attempt still open: connections may join it. What it holds is
/// what deciding needs: of its last connection only its end and window,
/// of its members whose verdict is final their streams (a few bytes
/// each) and runs of equal verdicts (an attempt of retries is one run),
/// its corrections apart (most attempts have none). A client retrying
/// within the window keeps its attempt open for the whole capture (65,536
/// of them in the million-connection benchmark), so every byte here
/// counts that many times.
#[derive(Debug)]
struct Open {
    id: u64,
    /// Its client and server.
    key: PairKey,
    group_end: Timestamp,
    first: Timestamp,
    /// The end of its last connection, and that connection's window.
    last_end: Timestamp,
    window: Duration,
    /// The earliest check scheduled for it: at most the end of its burst
    /// and of its window (one entry in the grouper's deadlines, not two
    /// per connection).
    armed: Timestamp,
    /// Connections (at most [`MAX_ATTEMPT`]).
    n: u32,
    /// Members whose verdict is final, in order: their streams, and
    /// their verdicts as runs (a verdict and how many in a row).
    streams: StreamList,
    eff: Vec<(Effective, u32)>,
    /// Members not yet final, in order (after those above).
    pending: VecDeque<Pending>,
    burst: Burst,
    /// Corrections made, rule corrections first.
    relabels: Option<Box<Relabels>>,
}

/// The corrections of an attempt's members.
#[derive(Debug, Default)]
struct Relabels {
    rule: Vec<Relabel>,
    probe: Vec<Relabel>,
}

/// Stream numbers in order, each as the difference from the one before
/// (zigzag LEB128: retries of one client a few thousand streams apart
/// take 2 or 3 bytes, not 8).
#[derive(Debug, Default)]
struct StreamList {
    bytes: Vec<u8>,
    prev: u64,
}

impl StreamList {
    fn push(&mut self, stream: u64) {
        let d = stream.wrapping_sub(self.prev) as i64;
        let mut z = ((d << 1) ^ (d >> 63)) as u64;
        self.prev = stream;
        loop {
            let low = (z & 0x7f) as u8;
            z >>= 7;
            if z == 0 {
                self.bytes.push(low);
                return;
            }
            self.bytes.push(low | 0x80);
        }
    }

    fn to_vec(&self, n: usize) -> Vec<u64> {
        let mut out = Vec::with_capacity(n);
        let (mut prev, mut z, mut shift) = (0u64, 0u64, 0u32);
        for &b in &self.bytes {
            z |= u64::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                let d = ((z >> 1) as i64) ^ -((z & 1) as i64);
                prev = prev.wrapping_add(d as u64);
                out.push(prev);
                (z, shift) = (0, 0);
            }
        }
        out
    }
}

/// A connection waiting in the grouper: its payload, and once final the
/// correction to apply. The payload is the caller's (a diagnosed
/// connection comes boxed, so that a queue grown for a burst keeps its
/// capacity at a few dozen bytes a slot, not a whole connection), and so
/// is the rare correction.
#[derive(Debug)]
struct Slot<T> {
    payload: Option<T>,
    relabel: Option<Box<Relabel>>,
    done: bool,
    /// The attempt it joined (an identifier unique in the grouper).
    attempt: u64,
}

/// What the grouper hands back: a connection, the correction to apply,
/// and the attempt it belongs to (an identifier unique in the grouper,
/// shared by the connections of one attempt).
pub type Emit<'a, T> = dyn FnMut(T, Option<Relabel>, u64) + 'a;

type PairKey = (IpAddr, SocketAddr);

/// A check scheduled for an open attempt: when, the attempt's identifier
/// and its place in [`OpenAttempts`].
type Check = (Timestamp, u64, u32);

/// The checks scheduled, handed back earliest first, as a binary heap of
/// them would (by time, then attempt). A check is
/// scheduled a fixed time after the end of a connection ([`BURST_GAP`],
/// [`RETRY_WINDOW`] or [`PRECHECK_WINDOW`]), and connections come in the
/// order they started, so the checks of each of these delays mostly come
/// in time order: each has a queue of its own, in order, and a check
/// earlier than the last of its queue waits in a heap beside them. The
/// earliest check is at the front of a queue or on top of the heap: a
/// check costs a few comparisons, not a heap's sifting over every open
/// attempt.
#[derive(Debug, Default)]
struct Deadlines {
    /// Checks in order, one queue per delay.
    lanes: [VecDeque<Check>; 3],
    /// Checks that came out of their queue's order.
    late: BinaryHeap<Reverse<Check>>,
}

impl Deadlines {
    /// Schedule `check`, due `delay` after the end of a connection.
    fn push(&mut self, delay: Duration, check: Check) {
        let lane = if delay == BURST_GAP {
            0
        } else if delay == RETRY_WINDOW {
            1
        } else {
            2
        };
        let q = &mut self.lanes[lane];
        if q.back().is_some_and(|last| check < *last) {
            self.late.push(Reverse(check));
        } else {
            q.push_back(check);
        }
    }

    /// Take the earliest check, if it is due before `now`.
    fn pop_before(&mut self, now: Timestamp) -> Option<Check> {
        // Which holds the earliest: a queue (its index) or the heap (3).
        let mut best: Option<(usize, &Check)> = None;
        let fronts = self.lanes.iter().map(VecDeque::front);
        let late = self.late.peek().map(|Reverse(c)| c);
        for (i, c) in fronts.chain(std::iter::once(late)).enumerate() {
            if let Some(c) = c {
                if best.map_or(true, |(_, b)| c < b) {
                    best = Some((i, c));
                }
            }
        }
        match best {
            Some((i, c)) if c.0 < now => match self.lanes.get_mut(i) {
                Some(q) => q.pop_front(),
                None => self.late.pop().map(|Reverse(c)| c),
            },
            _ => None,
        }
    }

    fn len(&self) -> usize {
        self.lanes.iter().map(VecDeque::len).sum::<usize>() + self.late.len()
    }
}

/// The open attempts, at most one per client and server. Each has a
/// place (a freed place is reused), which its scheduled checks name, so
/// a check finds its attempt without a look-up. The attempt of a client
/// and server is found by a hash of the two (an entry of 16 bytes, where
/// the addresses take 52: 65,536 open attempts of the million-connection
/// benchmark are 2 MiB of table, not 8, and a look-up misses the cache
/// less), the addresses checked in the attempt; one whose hash another
/// open attempt holds is found in `clashes` by its addresses.
#[derive(Debug, Default)]
struct OpenAttempts {
    /// Boxed: a place costs a pointer while free.
    places: Vec<Option<Box<Open>>>,
    free: Vec<u32>,
    by_hash: FastMap<u64, u32>,
    clashes: FastMap<PairKey, u32>,
    /// Bits of the hash kept (all but in a test that makes hashes clash).
    hash_mask: u64,
}

impl OpenAttempts {
    fn new() -> Self {
        OpenAttempts {
            hash_mask: u64::MAX,
            ..OpenAttempts::default()
        }
    }

    fn hash(&self, key: &PairKey) -> u64 {
        self.by_hash.hasher().hash_one(key) & self.hash_mask
    }

    fn len(&self) -> usize {
        self.by_hash.len() + self.clashes.len()
    }

    fn get_mut(&mut self, place: u32) -> Option<&mut Open> {
        self.places.get_mut(place as usize)?.as_deref_mut()
    }

    /// The place of the attempt of `key`, if one is open.
    fn find(&self, key: &PairKey) -> Option<u32> {
        let held = |p: &u32| {
            self.places
                .get(*p as usize)
                .and_then(|o| o.as_deref())
                .is_some_and(|o| o.key == *key)
        };
        match self.by_hash.get(&self.hash(key)).filter(|p| held(p)) {
            Some(&p) => Some(p),
            None if self.clashes.is_empty() => None,
            None => self.clashes.get(key).copied(),
        }
    }

    /// Open `o` (no attempt of its client and server is open); its place.
    fn add(&mut self, o: Open) -> u32 {
        let key = o.key;
        let place = match self.free.pop() {
            Some(p) => {
                if let Some(slot) = self.places.get_mut(p as usize) {
                    *slot = Some(Box::new(o));
                }
                p
            }
            None => {
                self.places.push(Some(Box::new(o)));
                (self.places.len() - 1) as u32
            }
        };
        match self.by_hash.entry(self.hash(&key)) {
            Entry::Vacant(e) => {
                e.insert(place);
            }
            Entry::Occupied(_) => {
                self.clashes.insert(key, place);
            }
        }
        place
    }

    /// Take the attempt at `place` out, if one is open there.
    fn remove(&mut self, place: u32) -> Option<Box<Open>> {
        let o = self.places.get_mut(place as usize)?.take()?;
        self.free.push(place);
        let h = self.hash(&o.key);
        if self.by_hash.get(&h) == Some(&place) {
            self.by_hash.remove(&h);
        } else {
            self.clashes.remove(&o.key);
        }
        Some(o)
    }
}

/// Groups connections into attempts as they come (in stream order, which
/// is the order they started in), and hands each connection back with its
/// correction once no later connection can change its verdict, in the
/// order they came. What it holds is bounded: an open attempt keeps a few
/// bytes per connection (at most [`MAX_ATTEMPT`]), and a connection waits
/// only while a neighbour may still correct it (a pre-check for the
/// connection after it, a burst until [`BURST_GAP`] passes, an attempt
/// until its retry window passes); connections after it wait behind it so
/// that the order is kept. Time is the start of the latest connection: a
/// connection that starts later cannot join a burst or attempt whose
/// window it is past. In a capture whose clock went backwards, grouping
/// follows stream order.
#[derive(Debug)]
pub struct Grouper<T> {
    queue: VecDeque<Slot<T>>,
    /// Sequence number of `queue[0]`.
    base: u64,
    open: OpenAttempts,
    /// When to check an open attempt: one entry per attempt armed (and
    /// entries of attempts already closed, skipped when they come).
    deadlines: Deadlines,
    clock: Option<Timestamp>,
    next_id: u64,
    closed: Vec<Attempt>,
    held_peak: usize,
    scheduled_peak: usize,
}

impl<T> Default for Grouper<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Grouper<T> {
    pub fn new() -> Self {
        Grouper {
            queue: VecDeque::new(),
            base: 0,
            open: OpenAttempts::new(),
            deadlines: Deadlines::default(),
            clock: None,
            next_id: 0,
            closed: Vec::new(),
            held_peak: 0,
            scheduled_peak: 0,
        }
    }

    /// Connections held (waiting for their verdict, or behind one that is).
    pub fn held(&self) -> usize {
        self.queue.len()
    }

    /// The most connections held at once.
    pub fn held_peak(&self) -> usize {
        self.held_peak
    }

    /// Attempts still open (at most one per client and server).
    pub fn open_attempts(&self) -> usize {
        self.open.len()
    }

    /// The most checks scheduled at once (about one per open attempt,
    /// whatever the number of its connections).
    pub fn scheduled_peak(&self) -> usize {
        self.scheduled_peak
    }

    /// Add the next connection; `emit` receives every connection whose
    /// verdict became final, with its correction, in the order they came.
    pub fn push(&mut self, m: Member, payload: T, emit: &mut Emit<'_, T>) {
        let now = self.clock.map_or(m.first_ts, |c| c.max(m.first_ts));
        self.clock = Some(now);
        self.expire(now);
        let seq = self.base + self.queue.len() as u64;
        self.queue.push_back(Slot {
            payload: Some(payload),
            relabel: None,
            done: false,
            attempt: 0,
        });
        self.held_peak = self.held_peak.max(self.queue.len());
        let key = (m.client, m.server);
        // One look-up: the attempt it joins, or the one it closes and
        // replaces (in its place), or a new one.
        let found = self.open.find(&key);
        let joined = found.filter(|&p| self.open.get_mut(p).is_some_and(|o| joins(o, &m)));
        let place = match joined {
            Some(p) => p,
            None => {
                let fresh = Open::new(self.next_id, key, &m);
                self.next_id += 1;
                match found.and_then(|p| Some((p, self.open.get_mut(p)?))) {
                    Some((p, o)) => {
                        let old = std::mem::replace(o, fresh);
                        self.closed
                            .push(close_open(old, &mut self.queue, self.base));
                        p
                    }
                    None => self.open.add(fresh),
                }
            }
        };
        let Some(o) = self.open.get_mut(place) else {
            // Never: the attempt was found or made just above.
            self.release(emit);
            return;
        };
        if let Some(s) = self.queue.back_mut() {
            s.attempt = o.id;
        }
        if o.n > 0 {
            if let Some(p) = o.pending.back_mut() {
                p.followed = true;
            }
            if m.first_ts.since(o.last_end) > BURST_GAP {
                close_burst(o);
                o.burst = Burst {
                    start: o.n as usize,
                    ..Burst::default()
                };
            }
            if m.reached_credentials() {
                for p in &mut o.pending {
                    p.later_reached = true;
                }
            }
        }
        o.burst.len += 1;
        if let Some(offer) = m.offer {
            if let Err(i) = o.burst.offers.binary_search(&offer) {
                o.burst.offers.insert(i, offer);
            }
        }
        o.group_end = o.group_end.max(m.last_ts);
        o.first = o.first.min(m.first_ts);
        o.last_end = m.last_ts;
        o.window = m.window();
        let p = Pending {
            m,
            seq,
            index: o.n as usize,
            followed: false,
            later_reached: false,
            burst_closed: false,
            probe: None,
        };
        o.n += 1;
        // Final at once with none before it (a refused connection): it
        // never waits, and the attempt makes no room for it.
        let at_once = o.pending.is_empty() && is_final(&p, false);
        let p = if at_once {
            settle(o, p, &mut self.queue, self.base);
            None
        } else {
            Some(p)
        };
        let (burst_end, group_end) = (after(o.last_end, BURST_GAP), after(o.group_end, o.window));
        let (due, delay) = if burst_end <= group_end {
            (burst_end, BURST_GAP)
        } else {
            (group_end, o.window)
        };
        if due < o.armed {
            o.armed = due;
            self.deadlines.push(delay, (due, o.id, place));
            self.scheduled_peak = self.scheduled_peak.max(self.deadlines.len());
        }
        if let Some(p) = p {
            o.pending.push_back(p);
            fold(o, &mut self.queue, self.base, false);
        }
        self.release(emit);
    }

    /// Close every attempt and hand back every connection; the attempts,
    /// ordered by client, server and start.
    pub fn finish(mut self, emit: &mut Emit<'_, T>) -> Vec<Attempt> {
        // All close, in the order of their places, taken out of them with
        // no look-up undone: the grouper ends here. Their members are
        // settled here (their slots are in the queue), and the attempts
        // summarised on the pool: a port scan's file ends with tens of
        // thousands open, summarised while the other threads wait.
        let settled: Vec<Settled> = std::mem::take(&mut self.open.places)
            .into_iter()
            .flatten()
            .map(|o| settle_all(*o, &mut self.queue, self.base))
            .collect();
        self.closed.par_extend(
            settled
                .into_par_iter()
                .with_min_len(SUMMARIES_PER_TASK)
                .map(Settled::summarize),
        );
        self.release(emit);
        let mut at = std::mem::take(&mut self.closed);
        at.sort_by_key(|a| (a.client, a.server, a.first, a.streams.first().copied()));
        at
    }

    /// Close the bursts and attempts the clock has passed the window of.
    fn expire(&mut self, now: Timestamp) {
        while let Some((t, id, place)) = self.deadlines.pop_before(now) {
            let Some(o) = self.open.get_mut(place).filter(|o| o.id == id) else {
                continue;
            };
            if now.since(o.group_end) > o.window {
                self.close(place);
                continue;
            }
            if now.since(o.last_end) > BURST_GAP {
                close_burst(o);
                fold(o, &mut self.queue, self.base, false);
            }
            if t == o.armed {
                // The next check: the end of its burst if still to come,
                // else the end of its window.
                let (burst_end, group_end) =
                    (after(o.last_end, BURST_GAP), after(o.group_end, o.window));
                let (due, delay) = if burst_end >= now && burst_end <= group_end {
                    (burst_end, BURST_GAP)
                } else {
                    (group_end, o.window)
                };
                o.armed = due;
                self.deadlines.push(delay, (due, id, place));
                self.scheduled_peak = self.scheduled_peak.max(self.deadlines.len());
            }
        }
    }

    fn close(&mut self, place: u32) {
        if let Some(o) = self.open.remove(place) {
            self.closed.push(close_open(*o, &mut self.queue, self.base));
        }
    }

    fn release(&mut self, emit: &mut Emit<'_, T>) {
        while self.queue.front().is_some_and(|s| s.done) {
            if let Some(s) = self.queue.pop_front() {
                self.base += 1;
                if let Some(p) = s.payload {
                    emit(p, s.relabel.map(|r| *r), s.attempt);
                }
            }
        }
    }
}

impl Open {
    /// A new attempt, starting with `m`.
    fn new(id: u64, key: PairKey, m: &Member) -> Self {
        Open {
            id,
            key,
            group_end: m.last_ts,
            first: m.first_ts,
            last_end: m.last_ts,
            window: m.window(),
            armed: Timestamp(i64::MAX),
            n: 0,
            streams: StreamList::default(),
            eff: Vec::new(),
            pending: VecDeque::new(),
            burst: Burst::default(),
            relabels: None,
        }
    }
}

/// Whether `m` joins the open attempt `o`: it has room, and `m` starts
/// within the window after its connections.
fn joins(o: &Open, m: &Member) -> bool {
    (o.n as usize) < MAX_ATTEMPT && m.first_ts.since(o.group_end) <= o.window
}

/// Close an attempt: every member's verdict is final (their slots in
/// `queue`, whose front is number `base`, marked done).
fn close_open<T>(o: Open, queue: &mut VecDeque<Slot<T>>, base: u64) -> Attempt {
    settle_all(o, queue, base).summarize()
}

/// An attempt whose members are all settled, to be summarised: what
/// [`summarize`] reads, taken out of its [`Open`].
struct Settled {
    key: PairKey,
    streams: StreamList,
    n: u32,
    first: Timestamp,
    group_end: Timestamp,
    eff: Vec<(Effective, u32)>,
    relabels: Vec<Relabel>,
}

/// Settle every member of an attempt that closes (their slots marked
/// done), rule corrections first among its corrections.
fn settle_all<T>(mut o: Open, queue: &mut VecDeque<Slot<T>>, base: u64) -> Settled {
    close_burst(&mut o);
    fold(&mut o, queue, base, true);
    let relabels = match o.relabels.take() {
        Some(r) => {
            let Relabels {
                mut rule,
                mut probe,
            } = *r;
            rule.append(&mut probe);
            rule
        }
        None => Vec::new(),
    };
    Settled {
        key: o.key,
        streams: o.streams,
        n: o.n,
        first: o.first,
        group_end: o.group_end,
        eff: o.eff,
        relabels,
    }
}

impl Settled {
    fn summarize(self) -> Attempt {
        summarize(
            self.key,
            self.streams.to_vec(self.n as usize),
            self.first,
            self.group_end,
            &self.eff,
            self.relabels,
        )
    }
}

fn after(t: Timestamp, d: Duration) -> Timestamp {
    Timestamp(t.0.saturating_add(d.0))
}

/// Decide the probe correction of the burst's members: the burst is over.
fn close_burst(o: &mut Open) {
    let (start, n, offers) = (o.burst.start, o.burst.len, o.burst.offers.len());
    for p in o.pending.iter_mut().filter(|p| p.index >= start) {
        if p.burst_closed {
            continue;
        }
        p.burst_closed = true;
        if offers >= PROBE_OFFERS && p.m.probe_eligible() {
            p.probe = Some(Box::new(Relabel {
                stream: p.m.stream,
                outcome: Outcome::Benign,
                benign: Some(Benign::Probe),
                cause: None,
                failed_step: None,
                note: format!(
                    "one of {} back-to-back connections from the same client offering {} \
                     different security protocols: a security enumeration probe, not a \
                     user's failure",
                    n, offers
                ),
            }));
        }
    }
}

/// Take the members whose verdict is final off the front of the attempt
/// (all of them when it is `closed`), and mark their slots done.
fn fold<T>(o: &mut Open, queue: &mut VecDeque<Slot<T>>, base: u64, closed: bool) {
    while o.pending.front().is_some_and(|p| is_final(p, closed)) {
        let Some(p) = o.pending.pop_front() else {
            break;
        };
        settle(o, p, queue, base);
    }
    if o.pending.is_empty() {
        // An attempt waits open for its window with nothing pending (a
        // refused connection is final at once): it keeps no room.
        o.pending = VecDeque::new();
    }
}

/// Whether no later connection can change the verdict of `p` (all of
/// them when its attempt is `closed`).
fn is_final(p: &Pending, closed: bool) -> bool {
    let probe_known = p.burst_closed || !p.m.probe_eligible();
    let pubkey = p.m.cause == Some(CauseId::PubKeyAuthRejected);
    let rule_known =
        closed || ((!p.m.precheck_unanswered() || p.followed) && (!pubkey || p.later_reached));
    probe_known && rule_known
}

/// Take `p`, whose verdict is final, into its attempt's streams and
/// verdicts, and mark its slot done with its correction.
fn settle<T>(o: &mut Open, p: Pending, queue: &mut VecDeque<Slot<T>>, base: u64) {
    let relabel = match p.probe {
        Some(pr) => {
            let r = o.relabels.get_or_insert_with(Box::default);
            r.probe.push(Relabel::clone(&pr));
            Some(pr)
        }
        None => rule_relabel(&p.m, p.followed, p.later_reached).map(|rl| {
            let r = o.relabels.get_or_insert_with(Box::default);
            r.rule.push(rl.clone());
            Box::new(rl)
        }),
    };
    let m = &p.m;
    let eff = match &relabel {
        Some(r) => (
            r.outcome,
            r.benign,
            r.cause.as_ref().map(|c| c.id),
            r.failed_step,
        ),
        None => (m.outcome, m.benign, m.cause, m.failed_step),
    };
    match o.eff.last_mut() {
        Some((e, count)) if *e == eff => *count += 1,
        _ => o.eff.push((eff, 1)),
    }
    o.streams.push(m.stream);
    let i = p.seq.saturating_sub(base);
    if let Some(s) = usize::try_from(i).ok().and_then(|i| queue.get_mut(i)) {
        s.relabel = relabel;
        s.done = true;
    }
}

/// The correction a pre-check rule makes, once it is known whether a
/// connection followed and whether a later one sent credentials.
fn rule_relabel(m: &Member, followed: bool, later_reached: bool) -> Option<Relabel> {
    match (m.benign, m.cause) {
        (Some(Benign::CredentialPrecheck), _) if !followed && m.precheck_unanswered() => {
            Some(Relabel {
                stream: m.stream,
                outcome: Outcome::Failed,
                benign: None,
                failed_step: Some(Step::CredsspCredentials),
                cause: Some(cause(
                    CauseId::PubKeyAuthRejected,
                    Confidence::Low,
                    "The client closed after the server's pubKeyAuth and did not connect \
                     again: not a credential pre-check; it could not verify the server's \
                     public-key binding (TLS interception or a certificate swap)."
                        .into(),
                )),
                note: format!(
                    "no connection followed within {} although the capture went on: not a \
                     credential pre-check",
                    PRECHECK_WINDOW
                ),
            })
        }
        (_, Some(CauseId::PubKeyAuthRejected)) if later_reached => Some(Relabel {
            stream: m.stream,
            outcome: Outcome::Benign,
            benign: Some(Benign::CredentialPrecheck),
            cause: None,
            failed_step: None,
            note: "a following connection from the same client sent its credentials: \
                   this short NLA connection was the client's credential pre-check"
                .into(),
        }),
        _ => None,
    }
}

/// A member's verdict after corrections: outcome, benign kind, cause,
/// failed step.
type Effective = (Outcome, Option<Benign>, Option<CauseId>, Option<Step>);

/// The attempt, from its members' final verdicts in time order, as runs
/// of equal verdicts.
fn summarize(
    (client, server): PairKey,
    streams: Vec<u64>,
    first: Timestamp,
    last: Timestamp,
    runs: &[(Effective, u32)],
    relabels: Vec<Relabel>,
) -> Attempt {
    let count = |f: &dyn Fn(&Effective) -> bool| -> usize {
        runs.iter()
            .filter(|(e, _)| f(e))
            .map(|&(_, c)| c as usize)
            .sum()
    };
    let n = count(&|_| true);
    let failed = count(&|e| e.0 == Outcome::Failed);
    let benign = count(&|e| e.0 == Outcome::Benign);
    let established = runs
        .iter()
        .any(|(e, _)| e.0 == Outcome::Established || e.1 == Some(Benign::SessionEnd));
    let all_failed_same_step = failed == n && runs.windows(2).all(|w| w[0].0 .3 == w[1].0 .3);
    let failed_step = if all_failed_same_step {
        runs.first().and_then(|(e, _)| e.3)
    } else {
        None
    };
    // Written into one string: the head, then the verdicts; pushed, not
    // formatted (a port scan's file ends with tens of thousands of
    // attempts summarised at once).
    let mut summary = String::with_capacity(128);
    summary.push_str(itoa::Buffer::new().format(n));
    summary.push_str(match (n, failed == n) {
        (1, _) => " connection from ",
        (_, true) => " attempts from ",
        (_, false) => " connections from ",
    });
    push_ip(&mut summary, client);
    summary.push_str(" to ");
    Endpoint(server).push_to(&mut summary);
    if n != 1 {
        summary.push_str(" within ");
        last.since(first).push_to(&mut summary);
    }
    if n > 1 && all_failed_same_step {
        summary.push_str(", all failed at ");
        summary.push_str(failed_step.map(Step::label).unwrap_or("the same step"));
        // The causes, each once per run of it.
        let mut last_cause = None;
        for id in runs.iter().filter_map(|(e, _)| e.2.map(|c| c.id())) {
            if last_cause == Some(id) {
                continue;
            }
            summary.push_str(if last_cause.is_none() { " (" } else { ", " });
            summary.push_str(id);
            last_cause = Some(id);
        }
        if last_cause.is_some() {
            summary.push(')');
        }
    } else {
        // Runs of identical labels, in time order.
        let mut labels: Vec<(String, usize)> = Vec::new();
        for (e, c) in runs {
            let l = label(e.0, e.1, e.2, e.3);
            match labels.last_mut() {
                Some((p, n)) if *p == l => *n += *c as usize,
                _ => labels.push((l, *c as usize)),
            }
        }
        summary.push_str(": ");
        for (i, (l, c)) in labels.iter().enumerate() {
            if i > 0 {
                summary.push_str(", then ");
            }
            if *c != 1 {
                let _ = write!(summary, "{c} x ");
            }
            summary.push_str(l);
        }
    }
    Attempt {
        streams,
        client,
        server,
        first,
        last,
        failed,
        benign,
        established,
        all_failed_same_step,
        failed_step,
        summary,
        relabels,
    }
}

/// What `ip`'s `Display` writes, appended to `out` (an IPv4 address
/// without the formatting machinery).
pub(crate) fn push_ip(out: &mut String, ip: IpAddr) {
    let IpAddr::V4(v4) = ip else {
        let _ = write!(out, "{ip}");
        return;
    };
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        out.push_str(itoa::Buffer::new().format(octet));
    }
}

fn label(o: Outcome, b: Option<Benign>, c: Option<CauseId>, s: Option<Step>) -> String {
    if b == Some(Benign::SessionEnd) {
        return "session (ended normally)".into();
    }
    match o {
        Outcome::Failed => format!(
            "failed at {}{}",
            s.map(Step::label).unwrap_or("an unknown step"),
            c.map(|c| format!(" ({})", c.id())).unwrap_or_default()
        ),
        Outcome::Benign => match b {
            Some(Benign::CredentialPrecheck) => "credential pre-check".into(),
            Some(Benign::HealthCheck) => "health check".into(),
            Some(Benign::Scanner) => "port scan".into(),
            Some(Benign::Probe) => "probe".into(),
            Some(Benign::Redirected) => "redirected".into(),
            Some(Benign::SessionEnd) => "session (ended normally)".into(),
            None => "benign".into(),
        },
        Outcome::Established => "established".into(),
        Outcome::Incomplete => "incomplete (capture too short)".into(),
        Outcome::NotRdp => "not RDP".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::StreamList;
    use super::{Check, Deadlines, Duration, Timestamp, BURST_GAP, PRECHECK_WINDOW, RETRY_WINDOW};
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    /// The summary as it was written before it was written into one
    /// string: `format!` per part, joined.
    fn summary_before(
        (client, server): super::PairKey,
        first: Timestamp,
        last: Timestamp,
        runs: &[(super::Effective, u32)],
    ) -> String {
        use super::{label, Outcome, Step};
        let count = |f: &dyn Fn(&super::Effective) -> bool| -> usize {
            runs.iter()
                .filter(|(e, _)| f(e))
                .map(|&(_, c)| c as usize)
                .sum()
        };
        let n = count(&|_| true);
        let failed = count(&|e| e.0 == Outcome::Failed);
        let same = failed == n && runs.windows(2).all(|w| w[0].0 .3 == w[1].0 .3);
        let failed_step = if same {
            runs.first().and_then(|(e, _)| e.3)
        } else {
            None
        };
        let head = if n == 1 {
            format!("1 connection from {client} to {server}")
        } else {
            format!(
                "{n} {} from {client} to {server} within {}",
                if failed == n {
                    "attempts"
                } else {
                    "connections"
                },
                last.since(first)
            )
        };
        if n > 1 && same {
            let mut c: Vec<&str> = runs
                .iter()
                .filter_map(|(e, _)| e.2.map(|c| c.id()))
                .collect();
            c.dedup();
            format!(
                "{head}, all failed at {}{}",
                failed_step.map(Step::label).unwrap_or("the same step"),
                if c.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", c.join(", "))
                }
            )
        } else {
            let mut labels: Vec<(String, usize)> = Vec::new();
            for (e, c) in runs {
                let l = label(e.0, e.1, e.2, e.3);
                match labels.last_mut() {
                    Some((p, n)) if *p == l => *n += *c as usize,
                    _ => labels.push((l, *c as usize)),
                }
            }
            let parts: Vec<String> = labels
                .into_iter()
                .map(|(l, c)| if c == 1 { l } else { format!("{c} x {l}") })
                .collect();
            format!("{head}: {}", parts.join(", then "))
        }
    }

    /// A small linear congruential generator: `next(n)` draws from
    /// `0..n`, the same runs each time for a seed.
    fn lcg(mut seed: u64) -> impl FnMut(u64) -> u64 {
        move |n| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) % n
        }
    }

    #[test]
    fn summaries_read_as_before() {
        use super::{summarize, Benign, CauseId, Outcome, Step};
        let mut draw = lcg(0x9e37_79b9_7f4a_7c15);
        let mut next = move |n: usize| draw(n as u64) as usize;
        let outcomes = [
            Outcome::Failed,
            Outcome::Failed,
            Outcome::Benign,
            Outcome::Established,
            Outcome::Incomplete,
            Outcome::NotRdp,
        ];
        let benign = [
            None,
            None,
            Some(Benign::CredentialPrecheck),
            Some(Benign::SessionEnd),
            Some(Benign::Probe),
            Some(Benign::Scanner),
        ];
        let causes = [
            None,
            Some(CauseId::PortClosed),
            Some(CauseId::PortClosed),
            Some(CauseId::PubKeyAuthRejected),
        ];
        let steps: Vec<Option<Step>> = std::iter::once(None)
            .chain(Step::all().take(4).map(Some))
            .collect();
        // Addresses whose octets have one, two and three digits, and
        // IPv6 (the head is written without the formatting machinery).
        let keys: [super::PairKey; 5] = [
            (
                "10.0.0.1".parse().unwrap(),
                "10.0.0.9:3389".parse().unwrap(),
            ),
            (
                "fe80::1".parse().unwrap(),
                "[fe80::9%2]:3389".parse().unwrap(),
            ),
            ("0.0.0.0".parse().unwrap(), "0.0.0.0:0".parse().unwrap()),
            (
                "255.255.255.255".parse().unwrap(),
                "255.255.255.255:65535".parse().unwrap(),
            ),
            (
                "192.168.100.20".parse().unwrap(),
                "[::ffff:10.1.2.3]:3389".parse().unwrap(),
            ),
        ];
        for _ in 0..5_000 {
            let runs: Vec<(super::Effective, u32)> = (0..1 + next(4))
                .map(|_| {
                    let e = (
                        outcomes[next(outcomes.len())],
                        benign[next(benign.len())],
                        causes[next(causes.len())],
                        steps[next(steps.len())],
                    );
                    (e, 1 + next(3) as u32 * next(2) as u32)
                })
                .collect();
            let key = keys[next(keys.len())];
            let first = Timestamp(next(1 << 20) as i64 * 1_000);
            // Up to about 3 hours: past 1,000 s a duration is written
            // by its float.
            let last = Timestamp(first.0 + next(1 << 30) as i64 * [1, 100, 10_000][next(3)]);
            let n: u32 = runs.iter().map(|r| r.1).sum();
            let a = summarize(key, vec![0; n as usize], first, last, &runs, Vec::new());
            assert_eq!(a.summary, summary_before(key, first, last, &runs));
        }
    }

    #[test]
    fn addresses_are_pushed_as_displayed() {
        let mut next = lcg(0x2545_f491_4f6c_dd1d);
        let mut ips: Vec<std::net::IpAddr> = [
            "0.0.0.0",
            "255.255.255.255",
            "10.1.0.0",
            "::",
            "fe80::1",
            "::ffff:1.2.3.4",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        ips.extend(
            (0..2_000).map(|_| std::net::IpAddr::from((next(1 << 32) as u32).to_be_bytes())),
        );
        for ip in ips {
            let mut out = String::from("x");
            super::push_ip(&mut out, ip);
            assert_eq!(out, format!("x{ip}"));
        }
    }

    /// The attempts open when a file ends are summarised on the pool:
    /// more than [`super::SUMMARIES_PER_TASK`] of them give the same
    /// attempts, in the same order, on one thread and on four.
    #[test]
    fn attempts_open_at_the_end_are_the_same_on_any_pool() {
        use super::{Grouper, Member, Outcome, Step};
        use crate::diagnose::CauseId;
        let finish = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let mut g: Grouper<u64> = Grouper::new();
                for stream in 0..6_000u64 {
                    let t = Timestamp(stream as i64 * 1_000);
                    let client = std::net::IpAddr::from(
                        ((stream % 3_000) as u32 + (10 << 24)).to_be_bytes(),
                    );
                    let m = Member {
                        stream,
                        client,
                        server: "192.0.2.1:3389".parse().unwrap(),
                        first_ts: t,
                        last_ts: Timestamp(t.0 + 20_000),
                        capture_end: Timestamp(10_000_000_000),
                        outcome: Outcome::Failed,
                        benign: None,
                        cause: Some(CauseId::PortClosed),
                        failed_step: Some(Step::SynAck),
                        last_step: Some(Step::Syn),
                        offer: None,
                    };
                    g.push(m, stream, &mut |_, _, _| {});
                }
                format!("{:?}", g.finish(&mut |_, _, _| {}))
            })
        };
        let one = finish(1);
        assert!(one.contains("2 attempts from 10.0.11.183 to 192.0.2.1:3389"));
        assert_eq!(one, finish(4));
    }

    /// Attempts whose hashes clash are found by their addresses: a
    /// grouper whose hashes keep two bits (most attempts clash) or none
    /// (all do) hands back what one with whole hashes does.
    #[test]
    fn clashing_hashes_group_as_whole_ones() {
        use super::{Benign, CauseId, Grouper, Member, Outcome, Relabel, Step};
        let mut next = lcg(0x51_7cc1_b727_220a);
        let clients: Vec<std::net::IpAddr> = (0..40)
            .map(|i| {
                if i % 5 == 0 {
                    format!("fe80::{i}").parse().unwrap()
                } else {
                    format!("10.0.0.{i}").parse().unwrap()
                }
            })
            .collect();
        let servers: [std::net::SocketAddr; 3] = [
            "10.0.1.1:3389".parse().unwrap(),
            "10.0.1.1:3390".parse().unwrap(),
            "[fe80::9]:3389".parse().unwrap(),
        ];
        let mut t = 0i64;
        let members: Vec<Member> = (0..3_000u64)
            .map(|stream| {
                t += [0, 1_000_000, 500_000_000, 3_000_000_000, 40_000_000_000][next(5) as usize]
                    + next(1_000_000) as i64;
                let first_ts = Timestamp(t);
                let last_ts = Timestamp(t + next(4_000_000_000) as i64);
                let kind = next(4);
                Member {
                    stream,
                    client: clients[next(clients.len() as u64) as usize],
                    server: servers[next(3) as usize],
                    first_ts,
                    last_ts,
                    capture_end: Timestamp(t + 200_000_000_000),
                    outcome: [
                        Outcome::Failed,
                        Outcome::Benign,
                        Outcome::Established,
                        Outcome::Failed,
                    ][kind as usize],
                    benign: (kind == 1).then_some(Benign::CredentialPrecheck),
                    cause: match kind {
                        0 => Some(CauseId::PortClosed),
                        3 => Some(CauseId::PubKeyAuthRejected),
                        _ => None,
                    },
                    failed_step: (kind == 0).then_some(Step::SynAck),
                    last_step: (kind == 2).then_some(Step::CredsspCredentials),
                    offer: (next(2) == 0).then(|| Some(1 + next(4) as u32)),
                }
            })
            .collect();
        let run = |mask: u64| {
            let mut g: Grouper<u64> = Grouper::new();
            g.open.hash_mask = mask;
            let mut out: Vec<(u64, Option<Relabel>, u64)> = Vec::new();
            let mut emit = |s: u64, r: Option<Relabel>, a: u64| out.push((s, r, a));
            let mut open_peak = 0;
            for m in &members {
                let s = m.stream;
                g.push(m.clone(), s, &mut emit);
                open_peak = open_peak.max(g.open_attempts());
            }
            let at = g.finish(&mut emit);
            (out, at, open_peak)
        };
        let whole = run(u64::MAX);
        assert_eq!(whole.0.len(), members.len());
        assert!(
            whole.0.iter().any(|(_, r, _)| r.is_some()),
            "some corrected"
        );
        for mask in [3, 0] {
            assert_eq!(run(mask), whole, "hash mask {mask:#x}");
        }
    }

    /// The checks come back in the order a binary heap of them gives
    /// (the structure the grouper used before), however they were
    /// scheduled: in order, out of order, with equal times.
    #[test]
    fn deadlines_come_back_as_from_a_heap() {
        let mut next = lcg(0x2545_f491_4f6c_dd1d);
        let delays = [BURST_GAP, RETRY_WINDOW, PRECHECK_WINDOW, Duration(7)];
        for round in 0..200 {
            let mut d = Deadlines::default();
            let mut model: BinaryHeap<Reverse<Check>> = BinaryHeap::new();
            let mut now = 0i64;
            // Later rounds jitter more: more checks out of their order.
            let jitter = 1 + round as u64 * 50;
            for _ in 0..500 {
                if next(3) > 0 {
                    let delay = delays[next(4) as usize];
                    let end = now + next(jitter) as i64 - (jitter / 4) as i64;
                    let due = Timestamp(end.saturating_add(delay.0));
                    let check = (due, next(40), next(3) as u32);
                    d.push(delay, check);
                    model.push(Reverse(check));
                } else {
                    now += next(jitter) as i64;
                    if next(20) == 0 {
                        now += PRECHECK_WINDOW.0;
                    }
                    let t = Timestamp(now);
                    loop {
                        let want = model
                            .peek()
                            .filter(|Reverse(c)| c.0 < t)
                            .map(|Reverse(c)| *c);
                        if want.is_some() {
                            model.pop();
                        }
                        assert_eq!(d.pop_before(t), want, "round {round}");
                        if want.is_none() {
                            break;
                        }
                    }
                }
                assert_eq!(d.len(), model.len());
            }
        }
    }

    #[test]
    fn stream_lists_give_back_their_streams_in_order() {
        // Rising, falling (a batch sorted by start, not stream), equal,
        // far apart and at the ends of the range.
        let streams = [
            5u64,
            6,
            70_000,
            3,
            3,
            u64::MAX,
            0,
            1 << 40,
            (1 << 40) - 65_536,
        ];
        let mut l = StreamList::default();
        for s in streams {
            l.push(s);
        }
        assert_eq!(l.to_vec(streams.len()), streams);
        // Retries of one client 65,536 streams apart: 3 bytes each.
        let mut l = StreamList::default();
        for i in 1..=15u64 {
            l.push(i * 65_536);
        }
        assert_eq!(l.bytes.len(), 15 * 3);
        assert_eq!(
            l.to_vec(15),
            (1..=15).map(|i| i * 65_536).collect::<Vec<_>>()
        );
    }
}
