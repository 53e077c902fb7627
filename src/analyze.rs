//! Drives the pipeline for one capture: capture -> packet -> flow ->
//! proto -> timeline -> diagnose. Finished connections are decoded and
//! diagnosed in batches, each split over the rayon pool when
//! `Options::split_batches`; results are ordered by stream number, so
//! output does not depend on the number of threads.

use crate::capture::{self, OpenError, ReadSummary};
use crate::capture::{CaptureWarning, WarningKind, MAX_WARNINGS};
use crate::common::Timestamp;
use crate::diagnose::gateway::{GatewayPart, GatewaySpec, GATEWAY_PORT};
use crate::diagnose::neighbours::{SummaryFault, TcpSummaries, TcpSummary};
use crate::diagnose::{self, Diagnosis};
use crate::flow::{Connection, Finished, FlowConfig, FlowStats, FlowTable, GapKind};
use crate::packet::{Skip, Sliced, Slicer, SlicerConfig};
use crate::proto::decrypt::keys::{KeyLogStats, Keys, Origin};
use crate::proto::decrypt::{self, DecryptSummary};
use crate::proto::neighbour::Service;
use crate::proto::{self, StreamInput};
use crate::timeline::neighbours::Neighbours;
use crate::timeline::Timeline;
use rayon::prelude::*;
use std::cell::{Cell, RefCell};
use std::io::Read;
use std::rc::Rc;
use std::sync::Arc;

/// What to analyse and how deep.
#[derive(Clone, Debug)]
pub struct Options {
    /// TCP ports whose connections are analysed (either side).
    pub ports: Vec<u16>,
    /// Also analyse connections on any port whose client starts with an
    /// X.224 Connection Request.
    pub any_port: bool,
    /// Bytes reassembled per direction.
    pub depth_cap: usize,
    /// The budget of reassembled bytes shared by every file analysed with
    /// these options (on any thread): one budget for the process.
    pub shared_budget: Option<std::sync::Arc<std::sync::atomic::AtomicUsize>>,
    /// TLS secrets (key logs, RSA keys). None: nothing is decrypted and
    /// the decryption code is never entered.
    pub keys: Option<Arc<Keys>>,
    /// The RD Gateways the user names (`--gateway`): connections to their
    /// ports are read as gateway connections, not as RDP.
    pub gateways: Vec<GatewaySpec>,
    /// Diagnose each batch of finished connections on several threads of
    /// the pool. Off, a batch is diagnosed on the reading thread: better
    /// when the pool has no thread to spare, as a split batch of cheap
    /// connections then waits for a thread the caller keeps busy.
    pub split_batches: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            ports: vec![3389],
            any_port: true,
            depth_cap: 1 << 20,
            shared_budget: None,
            keys: None,
            gateways: Vec::new(),
            split_batches: true,
        }
    }
}

impl Options {
    /// The ports whose connections may be a gateway's: those of the
    /// gateways named, and with keys the gateway's usual port (HTTPS), so
    /// that a decrypted `RDG_`/`RPC_` request can show one.
    pub fn gateway_ports(&self) -> Vec<u16> {
        let mut v: Vec<u16> = self.gateways.iter().map(|g| g.port).collect();
        if self.keys.is_some() {
            v.push(GATEWAY_PORT);
        }
        v.retain(|p| !self.ports.contains(p));
        v.sort_unstable();
        v.dedup();
        v
    }
}

/// One analysed connection.
#[derive(Clone, Debug)]
pub struct ConnectionResult {
    pub timeline: Timeline,
    pub diagnosis: Diagnosis,
    /// What TLS decryption gave, when keys were given. Boxed: most
    /// connections have none, and a result is moved several times on its
    /// way to the report (88 bytes inline, 8 boxed).
    pub decryption: Option<Box<DecryptSummary>>,
}

/// Frames that produced no packet, by reason.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SkipCounts {
    pub not_ip: u64,
    pub unsupported_link: u64,
    pub fragments_held: u64,
    pub fragments_dropped: u64,
    pub malformed: u64,
    /// Partial IP datagrams given up (too old, or overlapping fragments
    /// that disagree) after their fragments were counted as held.
    pub fragment_datagrams_discarded: u64,
    /// Partial IP datagrams still incomplete at the end of the capture.
    pub fragment_datagrams_incomplete: u64,
}

impl SkipCounts {
    fn count(&mut self, s: Skip) {
        match s {
            Skip::NotIp => self.not_ip += 1,
            Skip::UnsupportedLink => self.unsupported_link += 1,
            Skip::FragmentHeld => self.fragments_held += 1,
            Skip::FragmentDropped => self.fragments_dropped += 1,
            Skip::Malformed => self.malformed += 1,
        }
    }
}

/// The result of analysing one capture.
#[derive(Debug)]
pub struct FileResult {
    /// The path as given (`-` for standard input).
    pub path: String,
    /// What reading the capture gave (None if it could not be opened).
    pub read: Result<ReadSummary, OpenError>,
    pub skipped: SkipCounts,
    pub flow: FlowStats,
    pub connections: Vec<ConnectionResult>,
    /// The TLS key logs of the capture's Decryption Secrets Blocks: what
    /// reading each gave.
    pub capture_key_logs: Vec<KeyLogStats>,
    /// DNS, Kerberos and RDP-UDP around the connections.
    pub side: SideResult,
}

impl FileResult {
    /// Whether the file was read completely.
    pub fn complete(&self) -> bool {
        matches!(&self.read, Ok(s) if s.incomplete.is_none())
    }
}

/// The ports of the neighbours of an RDP connection, UDP and TCP: the
/// look-up of the server's name (RFC 1035 4.2) and the Kerberos exchange
/// for its ticket (RFC 4120 7.2.1-2). The UDP side of RDP itself uses the
/// RDP ports (MS-RDPEUDP).
pub const NEIGHBOUR_PORTS: &[(u16, Service)] = &[(53, Service::Dns), (88, Service::Kerberos)];

/// The service a neighbour port carries.
fn neighbour_service(port: u16) -> Option<Service> {
    NEIGHBOUR_PORTS
        .iter()
        .find(|&&(p, _)| p == port)
        .map(|&(_, s)| s)
}

/// What the capture holds beside the RDP connections, and the attempts
/// that tie them together.
#[derive(Clone, Debug, Default)]
pub struct SideResult {
    pub neighbours: Neighbours,
    /// TCP connections on neighbour ports and to possible RD Gateways
    /// (not RDP, not diagnosed as RDP).
    pub tcp_streams: u64,
    pub attempts: Vec<diagnose::neighbours::CrossAttempt>,
}

/// Finished connections are decoded in batches of this many.
const BATCH: usize = 64;

/// Analyse one capture from a reader, keeping its connections.
pub fn analyze_reader<R: Read>(path: &str, src: R, opts: &Options) -> FileResult {
    let mut connections = Vec::new();
    let (mut r, _) = analyze_streaming(path, src, opts, &mut |c| connections.push(*c));
    r.connections = connections;
    r
}

/// What the streaming pipeline held at most, over one file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Held {
    /// Finished connections held at once: waiting for their batch, being
    /// diagnosed, or diagnosed and waiting for a connection numbered
    /// before them that is still live.
    pub connections_peak: usize,
}

/// Analyse one capture from a reader, handing each connection to `emit`
/// as soon as it is diagnosed and every connection numbered before it was
/// handed over: in stream order, whatever the number of threads. The
/// result's `connections` is empty. Memory is bounded by the live
/// connections: a finished connection is held only until its batch is
/// diagnosed and the connections before it are done. A result is boxed
/// once, when it is made (it is 600 bytes or more): from then on only
/// the box moves.
pub fn analyze_streaming<R: Read>(
    path: &str,
    src: R,
    opts: &Options,
    emit: &mut dyn FnMut(Box<ConnectionResult>),
) -> (FileResult, Held) {
    let mut slicer = Slicer::new(SlicerConfig::default());
    let side_ports: Vec<u16> = NEIGHBOUR_PORTS
        .iter()
        .map(|&(p, _)| p)
        .filter(|p| !opts.ports.contains(p))
        .collect();
    let gateway_ports = opts.gateway_ports();
    let mut flows = FlowTable::new(FlowConfig {
        ports: opts
            .ports
            .iter()
            .chain(&side_ports)
            .chain(&gateway_ports)
            .copied()
            .collect(),
        datagram_ports: side_ports.clone(),
        first_payload: if opts.any_port {
            Some(proto::session::looks_like_rdp_request)
        } else {
            None
        },
        depth_cap: opts.depth_cap,
        shared_budget: opts.shared_budget.clone(),
        ..FlowConfig::default()
    });
    let mut skipped = SkipCounts::default();
    // Finished connections waiting for their batch, each with the capture
    // time at which it was finished: the capture ran on at least that far,
    // which diagnosis uses to tell "went quiet" from "capture ended".
    // Kept as the flow table kept them: each is made whole where it is
    // analysed, on the pool, not on this thread.
    let mut pending: Vec<(Finished, Timestamp)> = Vec::new();
    let mut drained: Vec<Finished> = Vec::new();
    let mut order = Reorder::default();
    // What the attempts across protocols keep of each connection handed
    // over (its TCP part and server names, not its timeline).
    let mut tcp = TcpSummaries::new();
    let mut hand_over = |c: Box<ConnectionResult>| {
        tcp.push(TcpSummary::of(&c.timeline, &c.diagnosis));
        emit(c);
    };
    let mut last_ts = Timestamp::default();
    let mut side = SideResult::default();
    let mut gateways: Vec<GatewayPart> = Vec::new();
    // A connection on a neighbour port goes to the neighbour decoders, not
    // to RDP's; one to a gateway's port is read as a gateway connection.
    let route = |c: Finished,
                 side: &mut SideResult,
                 gateways: &mut Vec<GatewayPart>,
                 keys: Option<&Keys>,
                 end: Timestamp| {
        let ends = c.endpoints();
        let (sp, cp) = (ends.server.port(), ends.client.port());
        let rdp = opts.ports.contains(&sp) || opts.ports.contains(&cp);
        if c.by_port() && !rdp && gateway_ports.contains(&sp) {
            gateways.push(gateway_part(&c.into_connection(), end, keys));
            side.tcp_streams += 1;
            return None;
        }
        // Either side on a neighbour port: a capture started mid-connection
        // may have taken the roles the other way round.
        match neighbour_service(sp).or_else(|| neighbour_service(cp)) {
            Some(service) if c.by_port() && !rdp => {
                let flipped = neighbour_service(sp).is_none();
                side.neighbours
                    .on_connection(&c.into_connection(), service, flipped);
                side.tcp_streams += 1;
                None
            }
            _ => Some(c),
        }
    };

    // Key logs of Decryption Secrets Blocks, handed over as they are read;
    // they join the keys given for the connections finished after them.
    // (`arrived` is all a frame checks: one load on the path without them.)
    let blocks: Rc<RefCell<Vec<Vec<u8>>>> = Rc::default();
    let arrived: Rc<Cell<bool>> = Rc::default();
    let sink = {
        let (blocks, arrived) = (Rc::clone(&blocks), Rc::clone(&arrived));
        Box::new(move |_offset: u64, text: &[u8]| {
            blocks.borrow_mut().push(text.to_vec());
            arrived.set(true);
        })
    };
    let mut keys = opts.keys.clone();
    let mut capture_key_logs = Vec::new();

    let read = capture::read_capture_with_secrets(
        src,
        |frame| {
            if arrived.replace(false) {
                let mut k = keys.as_deref().cloned().unwrap_or_default();
                for text in blocks.borrow_mut().drain(..) {
                    let index = capture_key_logs.len();
                    let text = String::from_utf8_lossy(&text);
                    capture_key_logs.push(k.add_key_log(&text, Origin::CaptureBlock { index }));
                }
                keys = Some(Arc::new(k));
            }
            last_ts = last_ts.max(frame.ts);
            match slicer.slice(frame) {
                Sliced::Packet(p) => {
                    if let Some(d) = flows.on_packet(frame.number, frame.ts, frame.orig_len, &p) {
                        on_datagram(&mut side.neighbours, &d, &opts.ports);
                    }
                }
                Sliced::Skip(s) => skipped.count(s),
            }
            flows.drain_finished_states(&mut drained);
            for c in drained.drain(..) {
                if let Some(c) = route(c, &mut side, &mut gateways, keys.as_deref(), last_ts) {
                    pending.push((c, last_ts));
                }
            }
            if pending.len() >= BATCH {
                // A sweep may hand on thousands at once: they are diagnosed
                // a batch at a time, in stream order, each handed over
                // before the next is diagnosed.
                sort_by_stream(&mut pending);
                // Drained, not taken: the vector keeps its room for the
                // next sweep's connections, where a new one grew anew
                // (reallocated and copied) a few times each sweep.
                let mut left = pending.drain(..).peekable();
                while left.peek().is_some() {
                    let batch: Vec<_> = left.by_ref().take(BATCH).collect();
                    order.note(batch.len() + left.len());
                    // What is still to come: a live connection, or the
                    // next finished one still to be diagnosed.
                    let next = left.peek().map(|(c, _)| c.stream());
                    let open = match (flows.lowest_open_stream(), next) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                    let keys = keys.as_deref();
                    let split = opts.split_batches;
                    process_batch(batch, keys, split, open, &mut order, &mut hand_over);
                }
            }
        },
        sink,
    );
    // An ETW trace has no magic of its own to tell it by: its name does.
    let mut read = capture::name_the_format(read, path);
    skipped.fragment_datagrams_discarded = slicer.fragments_discarded();
    skipped.fragment_datagrams_incomplete = slicer.fragments_pending() as u64;
    let (rest, mut flow) = flows.finish_in_order();
    let end = match &read {
        Ok(s) => s.last_ts.unwrap_or(last_ts),
        Err(_) => last_ts,
    };
    // Nothing is live any more: diagnose what is left (those waiting for
    // a batch and those the table still held, both in stream order) in
    // batches, in stream order, each handed over before the next is
    // diagnosed, so the end of the file holds a batch, not every
    // connection still open.
    sort_by_stream(&mut pending);
    let mut left = merge_by_stream(pending.into_iter(), rest.map(|c| (c, end)))
        .filter_map(|(c, end)| {
            route(c, &mut side, &mut gateways, keys.as_deref(), end).map(|c| (c, end))
        })
        .peekable();
    while left.peek().is_some() {
        let batch: Vec<_> = left.by_ref().take(BATCH).collect();
        order.note(batch.len());
        let next = left.peek().map(|(c, _)| c.stream());
        let (keys, split) = (keys.as_deref(), opts.split_batches);
        process_batch(batch, keys, split, next, &mut order, &mut hand_over);
    }
    order.release_all(&mut hand_over);
    // The flow stage selected the neighbours' TCP connections by port:
    // they are not RDP connections analysed.
    flow.analysed_streams = flow.analysed_streams.saturating_sub(side.tcp_streams);
    side.neighbours.finish();
    gateways.sort_by_key(|g| g.stream);
    let (attempts, fault) =
        diagnose::neighbours::cross_attempts_kept(&side.neighbours, tcp, gateways, &opts.gateways);
    side.attempts = attempts;
    if let Some(fault) = fault {
        warn(&mut read, &fault);
    }
    let file = FileResult {
        path: path.to_string(),
        read,
        skipped,
        flow,
        connections: Vec::new(),
        capture_key_logs,
        side,
    };
    (
        file,
        Held {
            connections_peak: order.peak,
        },
    )
}

/// Tell a failure of the temporary file of the connections' summaries
/// among the file's warnings: what it cost the attempts across protocols.
fn warn(read: &mut Result<ReadSummary, OpenError>, fault: &SummaryFault) {
    // Without a summary nothing was read, so nothing was kept either.
    if let Ok(s) = read {
        s.warnings_total += 1;
        if s.warnings.len() < MAX_WARNINGS {
            s.warnings.push(CaptureWarning {
                offset: s.bytes,
                frame: None,
                kind: WarningKind::Other,
                message: fault.to_string(),
            });
        }
    }
}

/// Put finished connections in stream order. The table mostly hands
/// them on in that order already: checked first, sorted only when
/// needed.
fn sort_by_stream(pending: &mut [(Finished, Timestamp)]) {
    if pending
        .windows(2)
        .any(|w| w[0].0.stream() > w[1].0.stream())
    {
        pending.sort_by_key(|(c, _)| c.stream());
    }
}

/// Two sequences of finished connections, each in stream order, as one
/// in stream order (a connection is in one of them only).
fn merge_by_stream(
    a: impl Iterator<Item = (Finished, Timestamp)>,
    b: impl Iterator<Item = (Finished, Timestamp)>,
) -> impl Iterator<Item = (Finished, Timestamp)> {
    let (mut a, mut b) = (a.peekable(), b.peekable());
    std::iter::from_fn(move || match (a.peek(), b.peek()) {
        (Some((x, _)), Some((y, _))) if y.stream() < x.stream() => b.next(),
        (Some(_), _) => a.next(),
        (None, _) => b.next(),
    })
}

/// Diagnosed connections waiting for the connections numbered before
/// them.
#[derive(Default)]
struct Reorder {
    /// Boxed: the map's nodes then hold a pointer per connection, not a
    /// whole connection per slot, used or not.
    waiting: std::collections::BTreeMap<u64, Box<ConnectionResult>>,
    peak: usize,
    /// Every connection numbered below this was handed over by the flow
    /// table when it was last asked. It never decreases: a new
    /// connection is numbered above every earlier one.
    below: u64,
}

impl Reorder {
    /// `batch` more connections are about to be diagnosed.
    fn note(&mut self, batch: usize) {
        self.peak = self.peak.max(self.waiting.len() + batch);
    }

    /// A batch is about to be diagnosed, whose last (highest) stream is
    /// `last`: what neither `open` (the lowest live connection, or the
    /// lowest finished one still to be diagnosed) nor a connection still
    /// waiting precedes may be handed over as the batch's results come
    /// ([`Reorder::take`], in stream order). The table tells its lowest
    /// live connection in amortised constant time, so this runs before
    /// every batch: a connection waits only while one numbered before it
    /// is live or undiagnosed.
    fn open(&mut self, open: Option<u64>, last: Option<u64>) {
        // Nothing open: everything finished so far may go (a later
        // connection is numbered above all of them).
        let open = open.unwrap_or_else(|| {
            let waiting = self.waiting.last_key_value().map(|(k, _)| *k);
            waiting.max(last).map_or(0, |k| k.saturating_add(1))
        });
        self.below = self.below.max(open);
    }

    /// Take one result of the batch (in stream order): a connection
    /// whose turn has come goes at once, after those waiting before it,
    /// without waiting in the map (most do, as the table hands them on in
    /// the order they started); another waits.
    fn take(&mut self, r: Box<ConnectionResult>, emit: &mut impl FnMut(Box<ConnectionResult>)) {
        let stream = r.timeline.stream;
        if stream < self.below {
            self.release_below_key(stream, emit);
            emit(r);
        } else {
            self.waiting.insert(stream, r);
        }
    }

    /// The batch is done: hand over what waits numbered below the
    /// bound [`Reorder::open`] set.
    fn close(&mut self, emit: &mut impl FnMut(Box<ConnectionResult>)) {
        self.release_below_key(self.below, emit);
    }

    /// Hand over, in order, what waits numbered below `stream`.
    fn release_below_key(&mut self, stream: u64, emit: &mut impl FnMut(Box<ConnectionResult>)) {
        while let Some(e) = self.waiting.first_entry() {
            if *e.key() >= stream {
                break;
            }
            emit(e.remove());
        }
    }

    /// Hand over everything, in order (the end of the file).
    fn release_all(&mut self, emit: &mut impl FnMut(Box<ConnectionResult>)) {
        self.below = u64::MAX;
        self.release_below_key(u64::MAX, emit);
    }
}

/// Decode one datagram on a neighbour port or an RDP port (RDP-UDP).
fn on_datagram(n: &mut Neighbours, d: &crate::flow::Datagram<'_>, rdp_ports: &[u16]) {
    let by_port = |p: u16| {
        if rdp_ports.contains(&p) {
            Some(Service::RdpUdp)
        } else {
            neighbour_service(p)
        }
    };
    // The server is the side on a known port (the destination first: a
    // client may pick a source port that is also a known port).
    let found = [d.to.port(), d.from.port()]
        .into_iter()
        .find_map(|p| by_port(p).map(|s| (s, p)));
    if let Some((service, port)) = found {
        n.on_datagram(d, service, port);
    }
}

/// Decode, build the timeline and diagnose each connection of a batch
/// (in stream order), in parallel when `split`
/// ([`Options::split_batches`]), and hand the results to `order` (`open`:
/// see [`Reorder::open`]). Each result is boxed as it is made (it is 600
/// bytes or more: only the box moves on) and, not split, goes to `order`
/// at once.
fn process_batch(
    conns: Vec<(Finished, Timestamp)>,
    keys: Option<&Keys>,
    split: bool,
    open: Option<u64>,
    order: &mut Reorder,
    emit: &mut impl FnMut(Box<ConnectionResult>),
) {
    order.open(open, conns.last().map(|(c, _)| c.stream()));
    let one = |(c, capture_end): (Finished, Timestamp)| {
        Box::new(analyze_finished(c.into_connection(), capture_end, keys))
    };
    if split {
        let results: Vec<Box<ConnectionResult>> = conns.into_par_iter().map(one).collect();
        debug_assert!(results
            .windows(2)
            .all(|w| w[0].timeline.stream < w[1].timeline.stream));
        for r in results {
            order.take(r, emit);
        }
    } else {
        for c in conns {
            order.take(one(c), emit);
        }
    }
    order.close(emit);
}

/// Decode one connection and diagnose it.
pub fn analyze_connection(c: &Connection, capture_end: Timestamp) -> ConnectionResult {
    analyze_connection_with(c, capture_end, None)
}

/// A connection's holes and snap-length holes per direction, as the
/// decoders take them (`[to server, to client]`).
pub struct StreamHoles {
    holes: [Vec<(u64, u64)>; 2],
    hidden: [Vec<(u64, u64)>; 2],
}

impl StreamHoles {
    pub fn of(c: &Connection) -> Self {
        // Most connections have no hole: nothing to look at or collect.
        if c.half.iter().all(|h| h.gaps.is_empty()) {
            return StreamHoles {
                holes: [Vec::new(), Vec::new()],
                hidden: [Vec::new(), Vec::new()],
            };
        }
        let kept = |i: usize, snaplen_only: bool| -> Vec<(u64, u64)> {
            c.half[i]
                .gaps
                .iter()
                .filter(|g| g.offset < c.half[i].data.len() as u64)
                .filter(|g| !snaplen_only || g.kind == GapKind::Snaplen)
                .map(|g| (g.offset, g.len))
                .collect()
        };
        StreamHoles {
            holes: [kept(0, false), kept(1, false)],
            hidden: [kept(0, true), kept(1, true)],
        }
    }

    /// Direction `i` (0: to server, 1: to client) as decoder input.
    pub fn input<'a>(&'a self, c: &'a Connection, i: usize) -> StreamInput<'a> {
        StreamInput {
            data: &c.half[i].data,
            holes: &self.holes[i],
            limit: c.half[i].limit,
            from_start: c.half[i].from_start,
            hidden: &self.hidden[i],
        }
    }
}

/// Decode one connection (decrypting it when keys are given) and
/// diagnose it.
pub fn analyze_connection_with(
    c: &Connection,
    capture_end: Timestamp,
    keys: Option<&Keys>,
) -> ConnectionResult {
    let (decoded, decryption) = decode_connection_with(c, keys);
    diagnosed(Timeline::build(c, decoded, capture_end), decryption)
}

/// [`analyze_connection_with`] of a connection no longer needed once
/// analysed (a finished one from the flow table): what its timeline
/// keeps of it is moved, not copied.
fn analyze_finished(
    c: Connection,
    capture_end: Timestamp,
    keys: Option<&Keys>,
) -> ConnectionResult {
    let (decoded, decryption) = decode_connection_with(&c, keys);
    diagnosed(Timeline::build_from(c, decoded, capture_end), decryption)
}

/// A connection's protocol events, decrypted too when keys are given,
/// and what decryption gave.
fn decode_connection_with(
    c: &Connection,
    keys: Option<&Keys>,
) -> (Vec<proto::Decoded>, Option<Box<DecryptSummary>>) {
    let sh = StreamHoles::of(c);
    let mut decoded = proto::decode_connection(sh.input(c, 0), sh.input(c, 1));
    let decryption = keys.map(|k| {
        let d = decrypt::decrypt_connection(sh.input(c, 0), sh.input(c, 1), k);
        // The plaintext is read as the negotiated protocol says: CredSSP
        // first under HYBRID/HYBRID_EX, RDP at once under SSL; without a
        // Connection Confirm its first bytes tell.
        let selected = decoded
            .iter()
            .find_map(|e| match &e.event {
                proto::ProtoEvent::X224(proto::X224Event::ConnectionConfirm(
                    proto::x224::ConnectionConfirm::Selected { selected, .. },
                )) => Some(selected.0),
                _ => None,
            })
            .unwrap_or(proto::inner::SELECTED_UNKNOWN);
        let inner =
            decrypt::decode_plaintext(&d, |a, b| proto::inner::decode_inner(a, b, selected));
        decoded.extend(d.events.iter().cloned());
        decoded.extend(inner);
        Box::new(d.summary)
    });
    (decoded, decryption)
}

/// A timeline with its diagnosis.
fn diagnosed(timeline: Timeline, decryption: Option<Box<DecryptSummary>>) -> ConnectionResult {
    let diagnosis = diagnose::diagnose(&timeline);
    ConnectionResult {
        timeline,
        diagnosis,
        decryption,
    }
}

/// Read a connection to a possible RD Gateway: its TCP and TLS in clear
/// text, and with keys the HTTP heads of its plaintext.
fn gateway_part(c: &Connection, capture_end: Timestamp, keys: Option<&Keys>) -> GatewayPart {
    let sh = StreamHoles::of(c);
    let mut decoded: Vec<proto::Decoded> = proto::decode_connection(sh.input(c, 0), sh.input(c, 1))
        .into_iter()
        // Only the TLS layer: the RDP decoders' reading of HTTPS is noise.
        .filter(|d| matches!(d.event, proto::ProtoEvent::Tls(_)))
        .collect();
    if let Some(k) = keys {
        let d = decrypt::decrypt_connection(sh.input(c, 0), sh.input(c, 1), k);
        decoded.extend(d.events.iter().cloned());
        decoded.extend(decrypt::decode_plaintext(&d, proto::http::decode_http));
    }
    GatewayPart::of(&Timeline::build(c, decoded, capture_end))
}

/// Analyse one capture file (`-` for standard input).
pub fn analyze_path(path: &str, opts: &Options) -> FileResult {
    if path == "-" {
        return analyze_reader(path, std::io::stdin().lock(), opts);
    }
    match std::fs::File::open(path) {
        Ok(f) => analyze_reader(path, f, opts),
        Err(e) => FileResult {
            path: path.to_string(),
            read: Err(OpenError::Io(e)),
            skipped: SkipCounts::default(),
            flow: FlowStats::default(),
            connections: Vec::new(),
            capture_key_logs: Vec::new(),
            side: SideResult::default(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A legacy pcap (Ethernet, microseconds) of IPv4/TCP packets:
    /// (seconds, source port, destination port, flags).
    fn pcap(packets: &[(u32, u16, u16, u8)]) -> Vec<u8> {
        let mut v = Vec::new();
        for w in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65535, 1] {
            v.extend_from_slice(&w.to_le_bytes());
        }
        v.truncate(20);
        v.extend_from_slice(&1u32.to_le_bytes());
        for &(secs, sport, dport, flags) in packets {
            let mut f = vec![0u8; 12];
            f.extend_from_slice(&[0x08, 0x00]);
            let (src, dst) = if dport == 3389 || dport == 80 {
                ([192, 0, 2, 10], [198, 51, 100, 20])
            } else {
                ([198, 51, 100, 20], [192, 0, 2, 10])
            };
            f.extend_from_slice(&[0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0]);
            f.extend_from_slice(&src);
            f.extend_from_slice(&dst);
            f.extend_from_slice(&sport.to_be_bytes());
            f.extend_from_slice(&dport.to_be_bytes());
            f.extend_from_slice(&1000u32.to_be_bytes());
            f.extend_from_slice(&(if flags & 0x10 != 0 { 1u32 } else { 0 }).to_be_bytes());
            f.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
            for w in [secs, 0, f.len() as u32, f.len() as u32] {
                v.extend_from_slice(&w.to_le_bytes());
            }
            v.extend_from_slice(&f);
        }
        v
    }

    #[test]
    fn connections_are_handed_over_in_stream_order_around_a_long_one() {
        // Stream 0 opens first and stays open while 300 refused
        // connections come and go (batches of them diagnosed while it is
        // live: they wait), then it is reset mid-capture (those after it
        // go as soon as they are diagnosed).
        let mut packets = vec![(0, 40000, 3389, 0x02)];
        for i in 1..=300u16 {
            let secs = 1 + u32::from(i) / 15;
            if secs == 10 && packets.iter().all(|p| p.1 != 3389 || p.2 != 40000) {
                packets.push((10, 3389, 40000, 0x14));
            }
            packets.push((secs, 40000 + i, 3389, 0x02));
            packets.push((secs, 3389, 40000 + i, 0x14));
        }
        let r = analyze_reader("t.pcap", &pcap(&packets)[..], &Options::default());
        assert!(r.complete(), "{:?}", r.read);
        let streams: Vec<u64> = r.connections.iter().map(|c| c.timeline.stream).collect();
        assert_eq!(streams, (0..=300).collect::<Vec<u64>>());
    }

    #[test]
    fn a_fragmented_datagram_never_completed_is_counted() {
        let mut bytes = pcap(&[(0, 40000, 3389, 0x02)]);
        // The IPv4 flags and fragment offset of the only frame (24-byte
        // file header, 16-byte record header, 14-byte Ethernet header, then
        // bytes 6-7 of IPv4): the last fragment, at offset 64. The fragments
        // before it never come.
        bytes[24 + 16 + 14 + 6] = 0x00;
        bytes[24 + 16 + 14 + 7] = 0x08;
        let r = analyze_reader("t.pcap", &bytes[..], &Options::default());
        assert_eq!(r.skipped.fragments_held, 1, "{:?}", r.skipped);
        assert_eq!(r.skipped.fragment_datagrams_incomplete, 1);
        assert_eq!(r.skipped.fragment_datagrams_discarded, 0);
        assert!(r.connections.is_empty());
    }

    #[test]
    fn a_connection_finished_mid_capture_knows_the_capture_ran_on() {
        // A refused connection at t=0; unrelated traffic at 300 s (past the
        // 120 s linger: the connection is finished there) and at 1000 s.
        let bytes = pcap(&[
            (0, 40000, 3389, 0x02),
            (0, 3389, 40000, 0x14),
            (300, 40001, 80, 0x02),
            (1000, 40002, 80, 0x02),
        ]);
        let r = analyze_reader("t.pcap", &bytes[..], &Options::default());
        assert!(r.complete(), "{:?}", r.read);
        assert_eq!(r.connections.len(), 1);
        let tl = &r.connections[0].timeline;
        assert_eq!(tl.last_ts, Timestamp::from_secs_nanos(0, 0));
        // Not its own last packet, and not the end of a capture it did not
        // wait for: the time it was finished.
        assert_eq!(tl.capture_end, Timestamp::from_secs_nanos(300, 0));
        // Still open at the end: the real end of the capture.
        let bytes = pcap(&[(0, 40000, 3389, 0x02), (100, 40002, 80, 0x02)]);
        let r = analyze_reader("t.pcap", &bytes[..], &Options::default());
        assert_eq!(
            r.connections[0].timeline.capture_end,
            Timestamp::from_secs_nanos(100, 0)
        );
    }
}
