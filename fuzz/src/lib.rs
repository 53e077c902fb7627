//! The fuzz harnesses: one function per fuzz target, each a thin driver
//! over library functions. `tests/fuzz_regressions.rs` includes this very
//! file (`#[path]`), so `cargo test` replays every saved input through the
//! same code the fuzzer ran.
//!
//! Besides "no panic", each harness checks the few invariants the library
//! documents for its outputs (frame numbers rise, reassembly stays under
//! its cap, ...): a violated bound is as much a bug as a crash.

use rdptriage::analyze::{self, Options};
use rdptriage::capture::{self, Frame, LinkType, MAX_WARNINGS};
use rdptriage::common::{Dir, Duration, KeepLimit, Timestamp};
use rdptriage::flow::{Connection, FlowConfig, FlowTable};
use rdptriage::packet::{
    IcmpError, IpInfo, Packet, QuotedTcp, Sliced, Slicer, SlicerConfig, TcpFlags, TcpSegment,
    Transport,
};
use rdptriage::proto::{self, cert, mcs, tls, tpkt, x224, StreamInput};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Link types the packet target picks from with its first byte (the
/// sliced ones, and one it does not slice).
pub const LINK_TYPES: [LinkType; 11] = [
    LinkType::NULL,
    LinkType::ETHERNET,
    LinkType::RAW_12,
    LinkType::RAW_14,
    LinkType::RAW,
    LinkType::LOOP,
    LinkType::LINUX_SLL,
    LinkType::IPV4,
    LinkType::IPV6,
    LinkType::LINUX_SLL2,
    LinkType(147),
];

/// Separates the frames of one packet-target input.
pub const FRAME_SEPARATOR: &[u8; 4] = b"\xF5FR\xF5";

/// Split `data` on `sep` (no allocation of the pieces).
fn split_on<'a>(mut data: &'a [u8], sep: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    while let Some(i) = data.windows(sep.len()).position(|w| w == sep) {
        out.push(&data[..i]);
        data = &data[i + sep.len()..];
    }
    out.push(data);
    out
}

/// Target `capture_read`: the capture reader (pcap, pcapng, gzip, zstd)
/// over the bytes of a file.
pub fn capture_read(data: &[u8]) {
    let mut last = 0u64;
    let mut delivered = 0u64;
    let r = capture::read_capture(data, |f| {
        assert!(f.number > last, "frame numbers must rise");
        assert!(f.data.len() as u64 <= u64::from(f.orig_len));
        last = f.number;
        delivered += 1;
    });
    if let Ok(s) = r {
        assert!(s.packets >= delivered);
        assert!(s.warnings.len() <= MAX_WARNINGS);
        assert!(s.warnings.len() as u64 <= s.warnings_total);
        if let Some(w) = &s.incomplete {
            assert!(w.offset <= s.bytes, "incomplete offset past the bytes read");
        }
    }
}

/// Target `packet_slice`: the first byte picks the link type
/// ([`LINK_TYPES`]); the rest is one or more frames separated by
/// [`FRAME_SEPARATOR`], sliced in order by one [`Slicer`] with small
/// fragment bounds (so the bounds are reached).
pub fn packet_slice(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let link = LINK_TYPES[sel as usize % LINK_TYPES.len()];
    let cfg = SlicerConfig {
        max_fragment_datagrams: 4,
        max_fragment_bytes: 4096,
    };
    let mut slicer = Slicer::new(cfg);
    for (i, bytes) in split_on(rest, FRAME_SEPARATOR).into_iter().enumerate() {
        let frame = Frame {
            number: i as u64 + 1,
            ts: Timestamp(i as i64 * 1_000_000),
            link,
            interface: 0,
            orig_len: bytes.len() as u32,
            data: bytes,
        };
        if let Sliced::Packet(p) = slicer.slice(&frame) {
            if let Transport::Tcp(t) = p.transport {
                assert!(t.payload.len() as u64 <= u64::from(t.payload_len));
            }
        }
        assert!(slicer.fragments_pending() <= cfg.max_fragment_datagrams);
    }
}

/// Length of one segment record's header in the flow target's input.
pub const SEG_HEADER: usize = 17;

/// One TCP segment (or ICMP error) of the flow target, before encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegSpec {
    /// Which of four connections (0, 1: server port 3389; 2, 3: ports
    /// 5002/5003, kept only if the client opens with an X.224 request).
    pub conn: u8,
    /// Sent by the server (else by the client).
    pub from_server: bool,
    pub ipv6: bool,
    /// An ICMP error quoting this connection instead of a segment.
    pub icmp: bool,
    pub sack: bool,
    pub flags: u8,
    pub seq: u32,
    pub ack: u32,
    pub window: u16,
    pub ttl: u8,
    /// Capture-time step before this packet in 50 ms units; 255 steps one
    /// second back.
    pub step: u8,
    /// Payload bytes the headers claim beyond the captured ones (snap length).
    pub cut: u8,
    pub payload: Vec<u8>,
}

impl SegSpec {
    /// The record as the flow target reads it.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(SEG_HEADER + self.payload.len());
        v.push(
            u8::from(self.from_server)
                | (self.conn & 3) << 1
                | u8::from(self.icmp) << 3
                | u8::from(self.cut != 0) << 4
                | u8::from(self.ipv6) << 5
                | u8::from(self.sack) << 6,
        );
        v.push(self.flags);
        v.extend_from_slice(&self.seq.to_le_bytes());
        v.extend_from_slice(&self.ack.to_le_bytes());
        v.extend_from_slice(&self.window.to_le_bytes());
        v.push(self.ttl);
        v.push(self.step);
        let len = self.payload.len().min(0xffff) as u16;
        v.extend_from_slice(&len.to_le_bytes());
        v.push(self.cut);
        v.extend_from_slice(&self.payload[..len as usize]);
        v
    }

    /// Read one record; the payload is cut to what the input holds.
    pub fn decode(data: &[u8]) -> Option<(SegSpec, &[u8])> {
        let h = data.get(..SEG_HEADER)?;
        let rest = &data[SEG_HEADER..];
        let u32_at = |o: usize| u32::from_le_bytes([h[o], h[o + 1], h[o + 2], h[o + 3]]);
        let len = (u16::from_le_bytes([h[14], h[15]]) as usize).min(rest.len());
        let (payload, rest) = rest.split_at(len);
        let spec = SegSpec {
            from_server: h[0] & 1 != 0,
            conn: (h[0] >> 1) & 3,
            icmp: h[0] & 8 != 0,
            ipv6: h[0] & 32 != 0,
            sack: h[0] & 64 != 0,
            cut: if h[0] & 16 != 0 { h[16] } else { 0 },
            flags: h[1],
            seq: u32_at(2),
            ack: u32_at(6),
            window: u16::from_le_bytes([h[10], h[11]]),
            ttl: h[12],
            step: h[13],
            payload: payload.to_vec(),
        };
        Some((spec, rest))
    }

    /// Hand this record to `table` as frame `frame` at time `ts`.
    pub fn feed(&self, table: &mut FlowTable, frame: u64, ts: Timestamp) {
        let (src, sp, dst, dp) = self.endpoints();
        let payload_len = self.payload.len() as u32 + u32::from(self.cut);
        let ip = IpInfo {
            src,
            dst,
            ttl: self.ttl,
            ip_id: if self.ipv6 { None } else { Some(frame as u16) },
            dont_fragment: !self.ipv6,
            total_len: 40 + payload_len,
            reassembled: false,
        };
        let transport = if self.icmp {
            // An error from a router about a packet of this direction.
            Transport::IcmpError(IcmpError {
                v6: self.ipv6,
                icmp_type: self.flags & 0x0f,
                code: self.flags >> 4,
                mtu: (self.window != 0).then_some(u32::from(self.window)),
                quoted: Some(QuotedTcp {
                    src,
                    dst,
                    src_port: sp,
                    dst_port: dp,
                    seq: self.seq,
                }),
            })
        } else {
            let syn = self.flags & TcpFlags::SYN as u8 != 0;
            Transport::Tcp(TcpSegment {
                src_port: sp,
                dst_port: dp,
                seq: self.seq,
                ack: self.ack,
                flags: TcpFlags(u16::from(self.flags)),
                window: self.window,
                mss: syn.then_some(1460),
                window_scale: syn.then_some(self.ttl & 15),
                sack: self.sack,
                payload: &self.payload,
                payload_len,
            })
        };
        let pkt = Packet {
            ip,
            transport,
            point: Default::default(),
        };
        table.on_packet(frame, ts, 54 + payload_len, &pkt);
    }

    fn endpoints(&self) -> (IpAddr, u16, IpAddr, u16) {
        let c = self.conn & 3;
        let (client, server): (IpAddr, IpAddr) = if self.ipv6 {
            (
                IpAddr::V6(Ipv6Addr::new(
                    0x2001,
                    0xdb8,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0x10 + u16::from(c),
                )),
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
            )
        } else {
            (
                IpAddr::V4(Ipv4Addr::new(10, 0, 0, 10 + c)),
                IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            )
        };
        let cport = 40000 + u16::from(c);
        let sport = if c < 2 { 3389 } else { 5000 + u16::from(c) };
        if self.from_server {
            (server, sport, client, cport)
        } else {
            (client, cport, server, sport)
        }
    }
}

/// Flow bounds of the flow target: small, so that every cap is reached.
pub fn flow_config() -> FlowConfig {
    FlowConfig {
        ports: vec![3389],
        first_payload: Some(proto::session::looks_like_rdp_request),
        depth_cap: 4096,
        max_events: 64,
        max_live: 3,
        max_buffered: 2 * 4096,
        shared_budget: None,
        linger: Duration::from_secs(1),
        idle_finish: Duration::from_secs(10),
        // Below the linger, so that tombstones are reached too.
        close_grace: Duration::from_millis(500),
        datagram_ports: vec![53, 88],
    }
}

/// Target `flow_reassembly`: a sequence of [`SegSpec`] records fed to one
/// [`FlowTable`]; every connection it hands out is then decoded, placed on
/// a timeline and diagnosed.
pub fn flow_reassembly(data: &[u8]) {
    let cfg = flow_config();
    let mut table = FlowTable::new(cfg.clone());
    let mut done: Vec<Connection> = Vec::new();
    let mut ts = Timestamp(1_600_000_000_000_000_000);
    let mut rest = data;
    let mut frame = 0u64;
    while let Some((s, r)) = SegSpec::decode(rest) {
        rest = r;
        frame += 1;
        ts = if s.step == 255 {
            Timestamp(ts.0 - 1_000_000_000)
        } else {
            Timestamp(ts.0 + i64::from(s.step) * 50_000_000)
        };
        s.feed(&mut table, frame, ts);
        assert!(
            table.live() <= cfg.max_live,
            "live connections above max_live"
        );
        table.drain_finished(&mut done);
    }
    let (rest_conns, stats) = table.finish();
    done.extend(rest_conns);
    assert!(stats.analysed_streams <= stats.tcp_streams);
    for c in &done {
        for h in &c.half {
            assert!(h.data.len() <= cfg.depth_cap, "reassembled past depth_cap");
            assert!(h.data.len() as u64 <= h.stream_len.max(h.data.len() as u64));
        }
        // The EventsTruncated marker comes on top of `max_events`.
        assert!(
            c.events.len() <= cfg.max_events + 1,
            "events past max_events"
        );
        analyze::analyze_connection(c, ts);
    }
}

/// Target `x224_mcs`: the first byte picks a decoder of the X.224 / MCS /
/// GCC layer (TPKT framing, X.224 TPDUs, the Connection Request and
/// Confirm bodies, MCS connect and domain PDUs, client info, licensing,
/// BER and PER readers); the rest is its input.
pub fn x224_mcs(data: &[u8]) {
    let Some((&sel, d)) = data.split_first() else {
        return;
    };
    let mut anomalies = Vec::new();
    let mut out = Vec::new();
    match sel % 12 {
        0 => {
            let _ = x224::decode_tpkt(d);
        }
        1 => {
            let _ = x224::decode_connection_request(d, &mut anomalies);
        }
        2 => {
            let _ = x224::decode_connection_confirm(d, &mut anomalies);
        }
        3 | 4 => {
            // With and without a Connect Response's context.
            let mut ctx = mcs::SlowPathContext::default();
            if sel % 12 == 4 {
                ctx.encryption_level = Some(u32::from(sel >> 4));
                ctx.io_channel = Some(1003);
            }
            let _ = mcs::decode_mcs(d, &mut ctx, &mut out);
        }
        5 => {
            let _ = mcs::decode_connect_initial(d, &mut out);
        }
        6 => {
            let _ = mcs::decode_connect_response(d, &mut out);
        }
        7 => {
            let _ = mcs::decode_client_info(d);
        }
        8 => {
            let _ = mcs::decode_licensing(d);
        }
        9 => {
            if let Ok(f) = tpkt::find_size(d) {
                let _ = f.len();
            }
            let _ = x224::looks_like_connection_request(d);
        }
        10 => {
            let mut r = tpkt::Reader::new(d);
            while let Ok(t) = proto::ber::read_tlv(&mut r) {
                let _ = proto::ber::uint(t.value);
            }
        }
        _ => {
            let mut r = tpkt::Reader::new(d);
            while proto::per::read_length(&mut r).is_ok() {}
        }
    }
    // A whole TPKT packet through every layer, as the session decoder does.
    if let Ok(t) = x224::decode_tpkt(d) {
        if let x224::Tpdu::Data { user_data, .. } = t.tpdu {
            let mut ctx = mcs::SlowPathContext::default();
            let _ = mcs::decode_mcs(user_data, &mut ctx, &mut out);
        }
    }
}

/// The two streams of one connection for [`proto_connection`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnSpec {
    pub to_server: Vec<u8>,
    pub to_client: Vec<u8>,
    /// Per direction: capped, from_start, and one hole (offset, len).
    pub capped: [bool; 2],
    pub from_start: [bool; 2],
    pub hole: [Option<(u16, u16)>; 2],
}

/// Header length of a [`ConnSpec`] encoding.
pub const CONN_HEADER: usize = 11;

impl ConnSpec {
    /// A clean connection (both directions from the start, no holes).
    pub fn clean(to_server: Vec<u8>, to_client: Vec<u8>) -> Self {
        ConnSpec {
            to_server,
            to_client,
            capped: [false; 2],
            from_start: [true; 2],
            hole: [None; 2],
        }
    }

    /// flags(1) split(2) hole0(2+2) hole1(2+2), then the client's bytes
    /// (as many as `split` says) and the server's.
    pub fn encode(&self) -> Vec<u8> {
        let mut flags = 0u8;
        for i in 0..2 {
            flags |= u8::from(self.capped[i]) << i;
            flags |= u8::from(self.from_start[i]) << (2 + i);
            flags |= u8::from(self.hole[i].is_some()) << (4 + i);
        }
        let n = self.to_server.len().min(0xffff);
        let mut v = vec![flags];
        v.extend_from_slice(&(n as u16).to_le_bytes());
        for h in self.hole {
            let (o, l) = h.unwrap_or((0, 0));
            v.extend_from_slice(&o.to_le_bytes());
            v.extend_from_slice(&l.to_le_bytes());
        }
        v.extend_from_slice(&self.to_server[..n]);
        v.extend_from_slice(&self.to_client);
        v
    }

    pub fn decode(data: &[u8]) -> Option<ConnSpec> {
        let h = data.get(..CONN_HEADER)?;
        let body = &data[CONN_HEADER..];
        let u16_at = |o: usize| u16::from_le_bytes([h[o], h[o + 1]]);
        let n = (u16_at(1) as usize).min(body.len());
        let flags = h[0];
        let hole = |i: usize| {
            (flags & (1 << (4 + i)) != 0).then(|| (u16_at(3 + 4 * i), u16_at(5 + 4 * i)))
        };
        Some(ConnSpec {
            to_server: body[..n].to_vec(),
            to_client: body[n..].to_vec(),
            capped: [flags & 1 != 0, flags & 2 != 0],
            from_start: [flags & 4 != 0, flags & 8 != 0],
            hole: [hole(0), hole(1)],
        })
    }
}

/// Target `proto_connection`: [`proto::decode_connection`] over two
/// streams split from the input ([`ConnSpec`]), holes zero-filled as the
/// flow stage leaves them (a hole may run past the end of the data).
pub fn proto_connection(data: &[u8]) {
    let Some(mut c) = ConnSpec::decode(data) else {
        return;
    };
    let mut holes: [Vec<(u64, u64)>; 2] = [Vec::new(), Vec::new()];
    for (i, d) in [&mut c.to_server, &mut c.to_client].into_iter().enumerate() {
        if let Some((o, l)) = c.hole[i] {
            let (o, l) = (usize::from(o), usize::from(l).max(1));
            if o < d.len() {
                for b in d.iter_mut().skip(o).take(l) {
                    *b = 0;
                }
                holes[i].push((o as u64, l as u64));
            }
        }
    }
    let input = |i: usize| StreamInput {
        data: if i == 0 { &c.to_server } else { &c.to_client },
        holes: &holes[i],
        limit: c.capped[i].then_some(KeepLimit::DepthCap {
            bytes: if i == 0 {
                c.to_server.len()
            } else {
                c.to_client.len()
            } as u64,
        }),
        from_start: c.from_start[i],
        hidden: &[],
    };
    let decoded = proto::decode_connection(input(0), input(1));
    for d in &decoded {
        assert!(d.start <= d.end, "event ends before it starts");
        let len = match d.dir {
            Dir::ToServer => c.to_server.len(),
            Dir::ToClient => c.to_client.len(),
        };
        assert!(
            d.end <= len as u64,
            "event past the end of its stream: {d:?}"
        );
    }
}

/// Target `proto_inner`: decrypted plaintext. The first byte picks the
/// selected protocol (SSL, HYBRID, HYBRID_EX, unknown: low two bits); the
/// next two (little-endian) how many of the remaining bytes are the
/// client's; the rest is the server's.
pub fn proto_inner(data: &[u8]) {
    let [sel, a, b, rest @ ..] = data else {
        return;
    };
    let selected = [
        x224::Protocols::SSL,
        x224::Protocols::HYBRID,
        x224::Protocols::HYBRID_EX,
        proto::SELECTED_UNKNOWN,
    ][usize::from(sel & 3)];
    let split = usize::from(u16::from_le_bytes([*a, *b])).min(rest.len());
    let (c, s) = rest.split_at(split);
    let input = |d| StreamInput {
        data: d,
        holes: &[],
        limit: None,
        from_start: true,
        hidden: &[],
    };
    for d in proto::decode_inner(input(c), input(s), selected) {
        assert!(d.start <= d.end, "event ends before it starts");
        let len = match d.dir {
            Dir::ToServer => c.len(),
            Dir::ToClient => s.len(),
        };
        assert!(
            d.end <= len as u64,
            "event past the end of its stream: {d:?}"
        );
    }
}

/// Target `tls_direction`: the first byte picks the direction (bit 0),
/// TLS 1.3 mode (bit 1) and a base offset (the other bits); the rest is
/// the direction's bytes.
pub fn tls_direction(data: &[u8]) {
    let Some((&sel, d)) = data.split_first() else {
        return;
    };
    let dir = if sel & 1 == 0 {
        Dir::ToServer
    } else {
        Dir::ToClient
    };
    let base = u64::from(sel >> 2) * 1000;
    let r = tls::decode_direction(dir, d, base, sel & 2 != 0);
    assert!(r.encrypted_records.len() <= tls::MAX_RECORD_REFS);
    for e in &r.events {
        assert!(e.start >= base && e.start <= e.end);
        assert!(e.end <= base + d.len() as u64, "event past the end: {e:?}");
    }
    let _ = tls::find_record_boundary(d, 4096);
}

/// Target `cert_summarize`: one DER certificate.
pub fn cert_summarize(data: &[u8]) {
    if let Ok(c) = cert::summarize(data) {
        let _ = format!("{c:?}");
    }
}

/// Target `analyze_file`: the whole pipeline on the bytes of a file, the
/// grouping into attempts, then the report in every format.
pub fn analyze_file(data: &[u8]) {
    use rdptriage::report::{self, Format, Input, ReportOptions, TermStyle};
    let mut r = analyze::analyze_reader("fuzz.pcap", data, &Options::default());
    // Attempts are grouped and verdicts corrected as the command line does.
    let attempts = rdptriage::cli::group_and_relabel(&mut r);
    let inputs = [Input {
        result: &r,
        sha256: None,
        attempts: Some(&attempts),
        found: false,
    }];
    for (format, redact) in [
        (Format::Json, false),
        (Format::Table, true),
        (Format::Markdown, false),
    ] {
        let opts = ReportOptions {
            format,
            style: TermStyle {
                color: false,
                terminal: false,
                quiet: false,
                // A narrow terminal: the table and the wrapping run too.
                width: 72,
            },
            redact,
        };
        let _ = report::render(&inputs, &opts);
    }
}
