//! FlowTable tests with packets built by hand.

use super::*;
use crate::common::Duration;
use crate::packet::{IpInfo, Packet, QuotedTcp, TcpFlags, TcpSegment, Transport};
use proptest::prelude::*;
use std::net::IpAddr;

const SYN: u16 = TcpFlags::SYN;
const ACK: u16 = TcpFlags::ACK;
const FIN: u16 = TcpFlags::FIN;
const RST: u16 = TcpFlags::RST;
const PSH: u16 = TcpFlags::PSH;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

const CLIENT: (&str, u16) = ("10.0.0.1", 50000);
const SERVER: (&str, u16) = ("10.0.0.2", 3389);

#[derive(Clone, Debug)]
struct Pk {
    src: (IpAddr, u16),
    dst: (IpAddr, u16),
    seq: u32,
    ack: u32,
    flags: u16,
    payload: Vec<u8>,
    payload_len: Option<u32>,
    window: u16,
    ttl: u8,
    ip_id: u16,
    mss: Option<u16>,
    ws: Option<u8>,
    point: crate::packet::CapturePoint,
}

fn pk(src: (&str, u16), dst: (&str, u16), seq: u32, ack: u32, flags: u16, payload: &[u8]) -> Pk {
    Pk {
        src: (ip(src.0), src.1),
        dst: (ip(dst.0), dst.1),
        seq,
        ack,
        flags,
        payload: payload.to_vec(),
        payload_len: None,
        window: 1000,
        ttl: 64,
        ip_id: 1,
        mss: None,
        ws: None,
        point: Default::default(),
    }
}

fn c2s(seq: u32, ack: u32, flags: u16, payload: &[u8]) -> Pk {
    pk(CLIENT, SERVER, seq, ack, flags, payload)
}

fn s2c(seq: u32, ack: u32, flags: u16, payload: &[u8]) -> Pk {
    pk(SERVER, CLIENT, seq, ack, flags, payload)
}

impl Pk {
    /// Its IP header, for `plen` bytes of payload.
    fn ip_info(&self, plen: u32) -> IpInfo {
        IpInfo {
            src: self.src.0,
            dst: self.dst.0,
            ttl: self.ttl,
            ip_id: Some(self.ip_id),
            dont_fragment: true,
            total_len: 40 + plen,
            reassembled: false,
        }
    }

    /// Its TCP segment, `plen` bytes of payload by its headers.
    fn segment(&self, plen: u32) -> TcpSegment<'_> {
        TcpSegment {
            src_port: self.src.1,
            dst_port: self.dst.1,
            seq: self.seq,
            ack: self.ack,
            flags: TcpFlags(self.flags),
            window: self.window,
            mss: self.mss,
            window_scale: self.ws,
            sack: false,
            payload: &self.payload,
            payload_len: plen,
        }
    }

    fn win(mut self, w: u16) -> Self {
        self.window = w;
        self
    }
    fn ttl(mut self, t: u8, id: u16) -> Self {
        self.ttl = t;
        self.ip_id = id;
        self
    }
    fn cut_from(mut self, wire_len: u32) -> Self {
        self.payload_len = Some(wire_len);
        self
    }
    /// Captured on pcapng interface `i`.
    fn on_if(mut self, i: u32) -> Self {
        self.point.interface = i;
        self
    }
    fn opts(mut self, mss: u16, ws: u8) -> Self {
        self.mss = Some(mss);
        self.ws = Some(ws);
        self
    }
}

struct Sim {
    t: FlowTable,
    frame: u64,
    ms: i64,
    out: Vec<Connection>,
}

impl Sim {
    fn new(cfg: FlowConfig) -> Self {
        Sim {
            t: FlowTable::new(cfg),
            frame: 0,
            ms: 0,
            out: Vec::new(),
        }
    }

    fn at(&mut self, ms: i64) -> &mut Self {
        self.ms = ms;
        self
    }

    fn ts(&self) -> Timestamp {
        Timestamp(self.ms * 1_000_000)
    }

    /// Feed a packet; returns its frame number.
    fn send(&mut self, p: Pk) -> u64 {
        self.frame += 1;
        let plen = p.payload_len.unwrap_or(p.payload.len() as u32);
        let pkt = Packet {
            ip: p.ip_info(plen),
            transport: Transport::Tcp(p.segment(plen)),
            point: p.point,
        };
        let ts = self.ts();
        self.t.on_packet(self.frame, ts, 54 + plen, &pkt);
        self.t.drain_finished(&mut self.out);
        self.frame
    }

    fn icmp(&mut self, quoted: QuotedTcp) -> u64 {
        self.frame += 1;
        let pkt = Packet {
            ip: IpInfo {
                src: ip("10.0.0.254"),
                dst: quoted.src,
                ttl: 60,
                ip_id: Some(9),
                dont_fragment: false,
                total_len: 56,
                reassembled: false,
            },
            transport: Transport::IcmpError(IcmpError {
                v6: false,
                icmp_type: 3,
                code: 13,
                mtu: None,
                quoted: Some(quoted),
            }),
            point: Default::default(),
        };
        let ts = self.ts();
        self.t.on_packet(self.frame, ts, 70, &pkt);
        self.t.drain_finished(&mut self.out);
        self.frame
    }

    fn finish(self) -> (Vec<Connection>, FlowStats) {
        let (rest, stats) = self.t.finish();
        let mut out = self.out;
        out.extend(rest);
        out.sort_by_key(|c| c.stream);
        (out, stats)
    }
}

fn kinds(c: &Connection) -> Vec<TcpEventKind> {
    c.events.iter().map(|e| e.kind.clone()).collect()
}

/// SYN, SYN/ACK, ACK with client ISN 100 and server ISN 5000.
fn handshake(sim: &mut Sim) {
    sim.send(c2s(100, 0, SYN, b"").opts(1460, 7));
    sim.send(s2c(5000, 101, SYN | ACK, b"").opts(1400, 8));
    sim.send(c2s(101, 5001, ACK, b""));
}

fn only(sim: Sim) -> Connection {
    let (mut conns, _) = sim.finish();
    assert_eq!(conns.len(), 1, "{conns:?}");
    conns.remove(0)
}

#[test]
fn full_connection_from_the_syn() {
    let mut sim = Sim::new(FlowConfig::default());
    handshake(&mut sim);
    sim.at(10).send(c2s(101, 5001, PSH | ACK, b"hello"));
    sim.at(20).send(s2c(5001, 106, PSH | ACK, b"world!"));
    sim.at(30).send(c2s(106, 5007, FIN | ACK, b""));
    sim.at(40).send(s2c(5007, 107, FIN | ACK, b""));
    sim.at(1040).send(c2s(107, 5008, ACK, b""));
    let c = only(sim);
    assert_eq!(c.stream, 0);
    assert_eq!(c.roles, RoleSource::Syn);
    assert_eq!(c.endpoints.client.to_string(), "10.0.0.1:50000");
    assert_eq!(c.endpoints.server.to_string(), "10.0.0.2:3389");
    assert!(c.by_port);
    let (up, down) = (c.half(Dir::ToServer), c.half(Dir::ToClient));
    assert_eq!(up.data, b"hello");
    assert_eq!(down.data, b"world!");
    assert!(up.from_start && down.from_start);
    assert_eq!((up.isn, down.isn), (Some(100), Some(5000)));
    assert_eq!((up.mss, up.window_scale), (Some(1460), Some(7)));
    assert_eq!((down.mss, down.window_scale), (Some(1400), Some(8)));
    assert_eq!((up.packets, down.packets), (5, 3));
    assert_eq!(up.frame_bytes, 5 * 54 + 5);
    assert_eq!((up.payload_bytes, down.payload_bytes), (5, 6));
    assert_eq!(up.last_payload.map(|p| p.0), Some(4));
    assert_eq!(up.segments.first().map(|s| s.frame), Some(4));
    assert!(up.gaps.is_empty() && down.gaps.is_empty());
    assert_eq!(up.ttls, vec![(64, 5)]);
    assert_eq!((c.first_frame, c.last_frame), (1, 8));
    assert_eq!(c.max_idle, Some((Duration::from_millis(1000), 8)));
    assert_eq!(
        kinds(&c),
        vec![
            TcpEventKind::Syn {
                retransmission: false
            },
            TcpEventKind::SynAck {
                retransmission: false
            },
            TcpEventKind::HandshakeAck,
            TcpEventKind::Fin,
            TcpEventKind::Fin,
        ]
    );
    assert_eq!(c.events[1].dir, Dir::ToClient);
}

#[test]
fn roles_from_a_syn_ack_without_its_syn() {
    let mut sim = Sim::new(FlowConfig::default());
    sim.send(s2c(5000, 101, SYN | ACK, b""));
    sim.send(c2s(101, 5001, ACK, b"x"));
    let c = only(sim);
    assert_eq!(c.roles, RoleSource::SynAck);
    assert_eq!(c.endpoints.client.to_string(), "10.0.0.1:50000");
    assert!(c.half[0].from_start);
    assert_eq!(c.half[0].isn, Some(100));
    assert_eq!(c.half[0].data, b"x");
    assert!(!kinds(&c).contains(&TcpEventKind::MidStream));
}

#[test]
fn mid_stream_start_uses_the_port_and_first_seen_seq() {
    let mut sim = Sim::new(FlowConfig::default());
    // The server (port 3389) speaks first in the capture.
    sim.send(s2c(7000, 300, PSH | ACK, b"abc"));
    sim.send(c2s(300, 7003, ACK, b""));
    sim.send(s2c(7003, 300, PSH | ACK, b"def"));
    let c = only(sim);
    assert_eq!(c.roles, RoleSource::Port);
    assert_eq!(c.endpoints.server.port(), 3389);
    let down = c.half(Dir::ToClient);
    assert!(!down.from_start);
    assert_eq!(down.isn, Some(6999));
    assert_eq!(down.data, b"abcdef");
    assert_eq!(c.events[0].kind, TcpEventKind::MidStream);
    assert_eq!(c.events[0].dir, Dir::ToClient);
}

#[test]
fn mid_stream_without_selected_port_takes_the_destination_as_server() {
    fn accept(_: &[u8]) -> bool {
        true
    }
    let mut sim = Sim::new(FlowConfig {
        first_payload: Some(accept),
        ..FlowConfig::default()
    });
    sim.send(pk(
        ("10.0.0.5", 4000),
        ("10.0.0.6", 8080),
        1,
        1,
        ACK | PSH,
        b"q",
    ));
    let c = only(sim);
    assert_eq!(c.roles, RoleSource::Port);
    assert_eq!(c.endpoints.server.to_string(), "10.0.0.6:8080");
    assert!(!c.by_port);
}

#[test]
fn reused_four_tuple_with_a_new_isn_is_a_new_connection() {
    let mut sim = Sim::new(FlowConfig::default());
    handshake(&mut sim);
    sim.send(c2s(101, 5001, FIN | ACK, b""));
    sim.send(s2c(5001, 102, FIN | ACK, b""));
    sim.send(c2s(102, 5002, ACK, b""));
    assert!(sim.out.is_empty());
    // A SYN with another ISN on the same 4-tuple: a new connection, and
    // the old one is handed out at once.
    sim.at(5000).send(c2s(900, 0, SYN, b""));
    assert_eq!(sim.out.len(), 1, "the old connection is finished at once");
    assert_eq!(sim.out[0].stream, 0);
    sim.at(6000).send(c2s(900, 0, SYN, b""));
    sim.send(s2c(3000, 901, SYN | ACK, b""));
    let (conns, stats) = sim.finish();
    assert_eq!(conns.len(), 2);
    assert_eq!(conns[1].stream, 1);
    assert_eq!(
        kinds(&conns[1])[..2],
        [
            TcpEventKind::Syn {
                retransmission: false
            },
            TcpEventKind::Syn {
                retransmission: true
            }
        ]
    );
    assert_eq!(conns[1].half[0].isn, Some(900));
    assert_eq!(stats.tcp_streams, 2);
}

#[test]
fn streams_are_numbered_over_all_ports() {
    let mut sim = Sim::new(FlowConfig::default());
    sim.send(pk(("10.0.0.1", 1000), ("10.0.0.9", 80), 1, 0, SYN, b""));
    sim.send(c2s(100, 0, SYN, b""));
    sim.send(pk(
        ("10.0.0.9", 80),
        ("10.0.0.1", 1000),
        9,
        2,
        SYN | ACK,
        b"",
    ));
    sim.send(pk(("10.0.0.1", 1001), ("10.0.0.9", 22), 1, 0, SYN, b""));
    sim.send(pk(("10.0.0.3", 1002), ("10.0.0.2", 3389), 1, 0, SYN, b""));
    let (conns, stats) = sim.finish();
    assert_eq!(
        conns.iter().map(|c| c.stream).collect::<Vec<_>>(),
        vec![1, 3]
    );
    assert_eq!(stats.tcp_streams, 4);
    assert_eq!(stats.analysed_streams, 2);
    assert_eq!(stats.tcp_packets, 5);
}

#[test]
fn resets_carry_ttl_and_whether_they_fit_the_stream() {
    let mut sim = Sim::new(FlowConfig::default());
    handshake(&mut sim);
    sim.send(s2c(5001, 101, ACK, b"abc").ttl(128, 77));
    sim.send(s2c(5004, 0, RST, b"").ttl(60, 0).win(0));
    sim.send(s2c(1, 0, RST, b"").ttl(60, 0).win(0));
    let c = only(sim);
    let rsts: Vec<_> = kinds(&c)
        .into_iter()
        .filter(|k| matches!(k, TcpEventKind::Rst { .. }))
        .collect();
    assert_eq!(
        rsts,
        vec![
            TcpEventKind::Rst {
                ttl: 60,
                ip_id: Some(0),
                window: 0,
                seq_in_window: true
            },
            TcpEventKind::Rst {
                ttl: 60,
                ip_id: Some(0),
                window: 0,
                seq_in_window: false
            },
        ]
    );
    // The IP ID before the reset is kept; a RST is no zero window.
    assert_eq!(c.half[1].last_ip_id, Some(77));
    assert_eq!(c.half[1].ttls, vec![(64, 1), (128, 1), (60, 2)]);
    assert!(!kinds(&c).contains(&TcpEventKind::ZeroWindow));
}

#[test]
fn reset_answering_a_syn_is_in_window_when_it_acks_the_syn() {
    let mut sim = Sim::new(FlowConfig::default());
    sim.send(c2s(100, 0, SYN, b""));
    sim.send(s2c(0, 101, RST | ACK, b"").win(0));
    let c = only(sim);
    assert!(matches!(
        c.events[1].kind,
        TcpEventKind::Rst {
            seq_in_window: true,
            ..
        }
    ));
}

#[test]
fn zero_window_probe_and_update() {
    let mut sim = Sim::new(FlowConfig::default());
    handshake(&mut sim);
    sim.send(c2s(101, 5001, PSH | ACK, b"0123"));
    sim.send(s2c(5001, 105, ACK, b"").win(0));
    sim.send(s2c(5001, 105, ACK, b"").win(0));
    sim.send(c2s(105, 5001, ACK, b"4"));
    sim.send(c2s(105, 5001, ACK, b"")); // Linux style: next - 1 ... here next
    sim.send(s2c(5001, 106, ACK, b"").win(3));
    let c = only(sim);
    let k = kinds(&c);
    assert_eq!(
        k.iter().filter(|k| **k == TcpEventKind::ZeroWindow).count(),
        1
    );
    assert!(k.contains(&TcpEventKind::ZeroWindowProbe));
    // Window scaled by the server's shift (8): both sides announced one.
    assert!(k.contains(&TcpEventKind::WindowUpdate { window: 3 << 8 }));
    assert_eq!(c.half[0].data, b"01234");
}

#[test]
fn keep_alives_are_not_data_and_their_answers_not_dup_acks() {
    let mut sim = Sim::new(FlowConfig::default());
    handshake(&mut sim);
    sim.send(c2s(101, 5001, PSH | ACK, b"ab"));
    sim.send(s2c(5001, 103, ACK, b""));
    for _ in 0..4 {
        sim.send(c2s(102, 5001, ACK, b"\0"));
        sim.send(s2c(5001, 103, ACK, b""));
    }
    let c = only(sim);
    let k = kinds(&c);
    assert_eq!(
        k.iter().filter(|k| **k == TcpEventKind::KeepAlive).count(),
        4
    );
    // Each keep-alive was answered.
    assert_eq!(
        k.iter()
            .filter(|k| **k == TcpEventKind::KeepAliveAck)
            .count(),
        4
    );
    assert!(!k.iter().any(|k| matches!(k, TcpEventKind::DupAck { .. })));
    assert!(!k
        .iter()
        .any(|k| matches!(k, TcpEventKind::Retransmission { .. })));
    assert_eq!(c.half[0].data, b"ab");
}

#[test]
fn unanswered_keep_alives_get_no_ack_event() {
    let mut sim = Sim::new(FlowConfig::default());
    handshake(&mut sim);
    sim.send(c2s(101, 5001, PSH | ACK, b"ab"));
    sim.send(s2c(5001, 103, ACK, b""));
    // The path goes away: two keep-alives, nothing back, then a reset.
    sim.send(c2s(102, 5001, ACK, b""));
    sim.send(c2s(102, 5001, ACK, b""));
    sim.send(c2s(103, 5001, RST | ACK, b""));
    let c = only(sim);
    let k = kinds(&c);
    assert_eq!(
        k.iter().filter(|k| **k == TcpEventKind::KeepAlive).count(),
        2
    );
    assert!(!k.contains(&TcpEventKind::KeepAliveAck));
}

#[test]
fn third_and_later_duplicate_acks() {
    let mut sim = Sim::new(FlowConfig::default());
    handshake(&mut sim);
    sim.send(c2s(101, 5001, ACK, b"aaaa"));
    sim.send(c2s(109, 5001, ACK, b"cccc"));
    sim.send(s2c(5001, 105, ACK, b""));
    for _ in 0..4 {
        sim.send(s2c(5001, 105, ACK, b""));
    }
    let c = only(sim);
    let dups: Vec<_> = kinds(&c)
        .into_iter()
        .filter(|k| matches!(k, TcpEventKind::DupAck { .. }))
        .collect();
    assert_eq!(
        dups,
        vec![
            TcpEventKind::DupAck { count: 3 },
            TcpEventKind::DupAck { count: 4 }
        ]
    );
}

#[test]
fn out_of_order_retransmission_and_network_loss() {
    let mut sim = Sim::new(FlowConfig::default());
    handshake(&mut sim);
    sim.at(0).send(c2s(101, 5001, ACK, b"aaaaa"));
    let f_ooo = sim.at(1).send(c2s(111, 5001, ACK, b"ccccc"));
    let f_re = sim.at(300).send(c2s(106, 5001, ACK, b"bbbbb"));
    sim.at(301).send(c2s(101, 5001, ACK, b"XXXXX"));
    let c = only(sim);
    let up = c.half(Dir::ToServer);
    assert_eq!(up.data, b"aaaaabbbbbccccc");
    assert_eq!(
        up.gaps,
        vec![Gap {
            offset: 5,
            len: 5,
            kind: GapKind::NetworkLoss,
            frame: f_ooo,
            ts: Timestamp(1_000_000)
        }]
    );
    let k: Vec<_> = c.events.iter().map(|e| (e.frame, e.kind.clone())).collect();
    assert!(k.contains(&(f_ooo, TcpEventKind::OutOfOrder { offset: 10, len: 5 })));
    assert!(k.contains(&(f_re, TcpEventKind::Retransmission { offset: 5, len: 5 })));
    assert!(k.contains(&(f_re + 1, TcpEventKind::Retransmission { offset: 0, len: 5 })));
    assert!(k.contains(&(f_ooo, TcpEventKind::Gap(up.gaps[0]))));
    let frames: Vec<u64> = c.events.iter().map(|e| e.frame).collect();
    assert!(frames.windows(2).all(|w| w[0] <= w[1]), "frame order");
}

#[test]
fn capture_loss_snaplen_and_unknown_gaps() {
    let mut sim = Sim::new(FlowConfig::default());
    handshake(&mut sim);
    sim.send(c2s(101, 5001, ACK, b"aaaa"));
    // 4 bytes never captured, then a segment cut by the snap length.
    let cut = sim.send(c2s(109, 5001, ACK, b"cc").cut_from(4));
    let ack = sim.send(s2c(5001, 113, ACK, b""));
    // Server data with a hole nobody acknowledges.
    sim.send(s2c(5001, 113, ACK, b"xy"));
    let unk = sim.send(s2c(5006, 113, ACK, b"z"));
    let c = only(sim);
    let up = c.half(Dir::ToServer);
    assert_eq!(up.data, b"aaaa\0\0\0\0cc\0\0");
    assert_eq!(
        up.gaps
            .iter()
            .map(|g| (g.offset, g.len, g.kind, g.frame))
            .collect::<Vec<_>>(),
        vec![
            (4, 4, GapKind::CaptureLoss, ack),
            (10, 2, GapKind::Snaplen, cut)
        ]
    );
    let down = c.half(Dir::ToClient);
    assert_eq!(
        down.gaps
            .iter()
            .map(|g| (g.offset, g.len, g.kind, g.frame))
            .collect::<Vec<_>>(),
        vec![(2, 3, GapKind::Unknown, unk)]
    );
    assert_eq!(
        c.events
            .iter()
            .filter(|e| matches!(e.kind, TcpEventKind::Gap(_)))
            .count(),
        3
    );
}

#[test]
fn depth_cap_keeps_counters_only() {
    let mut sim = Sim::new(FlowConfig {
        depth_cap: 8,
        ..FlowConfig::default()
    });
    handshake(&mut sim);
    sim.send(c2s(101, 5001, ACK, b"0123456789"));
    let last = sim.send(c2s(111, 5001, ACK, b"abcdefghij"));
    let (conns, stats) = sim.finish();
    let up = conns[0].half(Dir::ToServer);
    assert_eq!(up.data, b"01234567");
    assert_eq!(up.limit, Some(KeepLimit::DepthCap { bytes: 8 }));
    assert_eq!(conns[0].half(Dir::ToClient).limit, None);
    assert_eq!((stats.depth_capped, stats.hole_limited), (1, 0));
    assert_eq!(up.stream_len, 20);
    assert_eq!(up.payload_bytes, 20);
    assert_eq!(up.last_payload.map(|p| p.0), Some(last));
    assert_eq!(up.max_segment, 10);
}

#[test]
fn eviction_keeps_the_table_bounded() {
    let mut sim = Sim::new(FlowConfig {
        max_live: 2,
        ..FlowConfig::default()
    });
    for i in 0..5u16 {
        sim.at(i64::from(i))
            .send(pk(("10.0.0.1", 1000 + i), SERVER, 1, 0, SYN, b""));
        assert!(sim.t.live() <= 2);
    }
    let (conns, stats) = sim.finish();
    assert_eq!(stats.evicted, 3);
    // Evicted selected connections are handed out, not lost.
    assert_eq!(
        conns.iter().map(|c| c.stream).collect::<Vec<_>>(),
        vec![0, 1, 2, 3, 4]
    );
}

#[test]
fn closed_connections_finish_after_linger_and_idle_ones_after_idle_finish() {
    let mut sim = Sim::new(FlowConfig {
        linger: Duration::from_secs(2),
        idle_finish: Duration::from_secs(60),
        ..FlowConfig::default()
    });
    handshake(&mut sim);
    sim.send(s2c(5001, 101, RST, b""));
    // An idle connection on another 4-tuple.
    sim.send(pk(("10.0.0.7", 2000), SERVER, 1, 0, SYN, b""));
    sim.at(1000)
        .send(pk(("10.0.0.8", 2000), SERVER, 1, 0, SYN, b""));
    assert!(sim.out.is_empty());
    sim.at(2500)
        .send(pk(("10.0.0.8", 2000), SERVER, 1, 0, SYN, b""));
    assert_eq!(
        sim.out.iter().map(|c| c.stream).collect::<Vec<_>>(),
        vec![0]
    );
    sim.at(61_000)
        .send(pk(("10.0.0.8", 2000), SERVER, 1, 0, SYN, b""));
    assert_eq!(
        sim.out.iter().map(|c| c.stream).collect::<Vec<_>>(),
        vec![0, 1]
    );
    assert_eq!(sim.t.live(), 1);
    let (conns, _) = sim.finish();
    assert_eq!(conns.len(), 3);
}

#[test]
fn a_closed_connection_is_handed_on_after_the_grace_and_leaves_a_tombstone() {
    let mut sim = Sim::new(FlowConfig {
        linger: Duration::from_secs(10),
        close_grace: Duration::from_secs(3),
        ..FlowConfig::default()
    });
    handshake(&mut sim);
    sim.send(s2c(5001, 101, RST | ACK, b""));
    // In flight when the RST was sent: still part of the connection.
    sim.at(500).send(c2s(101, 5001, ACK, b"late"));
    // Another conversation moves capture time past the grace: the closed
    // one is handed on, its entry stays (two live entries).
    sim.at(4000)
        .send(pk(("10.0.0.8", 2000), SERVER, 1, 0, SYN, b""));
    assert_eq!(sim.out.len(), 1);
    assert_eq!(sim.out[0].stream, 0);
    assert_eq!(sim.out[0].half[0].payload_bytes, 4, "the in-flight segment");
    assert_eq!(sim.t.live(), 2);
    // A packet after the grace hits the tombstone: counted, not a new
    // conversation (Wireshark keeps it in stream 0 too).
    sim.at(5000).send(c2s(105, 5001, ACK, b"more"));
    assert_eq!(sim.t.last_stream(), Some(0));
    assert_eq!(sim.t.stats().after_close, 1);
    // A new SYN with another sequence number is a new conversation, as
    // the tombstone keeps the base sequence numbers.
    sim.at(6000).send(c2s(9000, 0, SYN, b""));
    assert_eq!(sim.t.last_stream(), Some(2));
    let (conns, stats) = sim.finish();
    assert_eq!(stats.tcp_streams, 3);
    assert_eq!(stats.after_close, 1);
    assert_eq!(
        conns.iter().map(|c| c.stream).collect::<Vec<_>>(),
        vec![0, 1, 2],
        "stream 0 handed on once, at the grace"
    );
}

#[test]
fn events_are_bounded() {
    let mut sim = Sim::new(FlowConfig {
        max_events: 3,
        ..FlowConfig::default()
    });
    handshake(&mut sim);
    for _ in 0..5 {
        sim.send(c2s(100, 0, SYN, b""));
    }
    let c = only(sim);
    assert_eq!(c.events.len(), 4);
    assert_eq!(c.events[3].kind, TcpEventKind::EventsTruncated);
    assert_eq!(c.events_dropped, 5);
}

#[test]
fn icmp_errors_quoting_a_connection() {
    let mut sim = Sim::new(FlowConfig::default());
    sim.send(c2s(100, 0, SYN, b""));
    let f = sim.icmp(QuotedTcp {
        src: ip(CLIENT.0),
        dst: ip(SERVER.0),
        src_port: CLIENT.1,
        dst_port: SERVER.1,
        seq: 100,
    });
    let (conns, stats) = sim.finish();
    assert_eq!(stats.icmp_errors, 1);
    let e = conns[0].events.last().unwrap();
    assert_eq!(e.frame, f);
    assert_eq!(e.dir, Dir::ToServer);
    assert!(matches!(e.kind, TcpEventKind::Icmp(i) if i.code == 13));
    assert_eq!(conns[0].half[0].packets, 1);
}

#[test]
fn first_payload_predicate_selects_other_ports() {
    fn x224(b: &[u8]) -> bool {
        b.starts_with(&[3, 0])
    }
    let mut sim = Sim::new(FlowConfig {
        first_payload: Some(x224),
        ..FlowConfig::default()
    });
    let a = ("10.0.0.1", 40000);
    let b = ("10.0.0.2", 8443);
    sim.send(pk(a, b, 10, 0, SYN, b""));
    sim.send(pk(b, a, 20, 11, SYN | ACK, b""));
    sim.send(pk(a, b, 11, 21, ACK, b""));
    sim.send(pk(a, b, 11, 21, ACK | PSH, &[3, 0, 0, 11]));
    let other = ("10.0.0.3", 40001);
    sim.send(pk(other, b, 10, 0, SYN, b""));
    sim.send(pk(other, b, 11, 0, ACK | PSH, b"GET /"));
    let (conns, stats) = sim.finish();
    assert_eq!(conns.len(), 1);
    assert!(!conns[0].by_port);
    assert_eq!(conns[0].roles, RoleSource::Syn);
    assert_eq!(conns[0].half[0].data, [3, 0, 0, 11]);
    assert_eq!(conns[0].half[0].packets, 3);
    assert_eq!(stats.analysed_streams, 1);
    assert_eq!(stats.tcp_streams, 2);
}

#[test]
fn sequence_numbers_wrap_inside_a_connection() {
    let mut sim = Sim::new(FlowConfig::default());
    let isn = u32::MAX - 2;
    sim.send(c2s(isn, 0, SYN, b""));
    sim.send(s2c(5000, isn.wrapping_add(1), SYN | ACK, b""));
    sim.send(c2s(isn.wrapping_add(1), 5001, ACK, b"abcd"));
    sim.send(c2s(isn.wrapping_add(5), 5001, ACK, b"efgh"));
    sim.send(s2c(5001, isn.wrapping_add(9), ACK, b""));
    let c = only(sim);
    assert_eq!(c.half[0].data, b"abcdefgh");
    assert!(c.half[0].gaps.is_empty());
}

proptest! {
    /// Arbitrary headers in arbitrary order never panic, and the results
    /// keep their bounds.
    #[test]
    fn arbitrary_packets_never_panic(
        pkts in proptest::collection::vec(
            (any::<bool>(), any::<u32>(), any::<u32>(), 0u16..0x200, 0usize..40, 0u32..80, any::<u16>(), -5i64..50),
            0..120,
        ),
        small_seq in any::<bool>(),
        by_payload in any::<bool>(),
    ) {
        fn starts_with_a(b: &[u8]) -> bool {
            b.first() == Some(&0x41)
        }
        let cfg = FlowConfig {
            ports: if by_payload { vec![] } else { vec![3389] },
            first_payload: if by_payload { Some(starts_with_a) } else { None },
            depth_cap: 64,
            max_events: 16,
            max_live: 4,
            max_buffered: 1 << 20,
            shared_budget: None,
            linger: Duration::from_millis(10),
            idle_finish: Duration::from_millis(100),
            close_grace: Duration::from_millis(5),
            datagram_ports: Vec::new(),
        };
        let mut sim = Sim::new(cfg);
        let payload = [0x41u8; 40];
        let mut t = 0i64;
        for (to_server, seq, ack, flags, caplen, extra, window, dt) in pkts {
            t += dt;
            let (seq, ack) = if small_seq { (seq % 200, ack % 200) } else { (seq, ack) };
            let p = if to_server { c2s(seq, ack, flags, &payload[..caplen]) } else { s2c(seq, ack, flags, &payload[..caplen]) };
            sim.at(t).send(p.win(window).cut_from(caplen as u32 + extra));
        }
        let (conns, _) = sim.finish();
        for c in &conns {
            prop_assert!(c.events.len() <= 17);
            prop_assert!(c.events.windows(2).all(|w| w[0].frame <= w[1].frame));
            for h in &c.half {
                prop_assert!(h.data.len() <= 64);
                let mut at = 0;
                for s in &h.segments {
                    prop_assert!(s.offset >= at);
                    at = s.offset + u64::from(s.len);
                }
                prop_assert!(at <= h.data.len() as u64);
            }
        }
    }
}

#[test]
fn fast_retransmission_after_dup_acks_is_loss_even_when_quick() {
    let mut sim = Sim::new(FlowConfig::default());
    sim.at(0).send(c2s(100, 0, SYN, b""));
    sim.at(0).send(s2c(5000, 101, SYN | ACK, b""));
    sim.at(10).send(c2s(101, 5001, ACK, b"")); // RTT 10 ms
    sim.at(20).send(c2s(101, 5001, ACK, b"aaaa"));
    let hole = sim.at(20).send(c2s(109, 5001, ACK, b"cccc"));
    for _ in 0..3 {
        sim.at(20).send(s2c(5001, 105, ACK, b""));
    }
    // 1 ms later, inside the RTT, but the receiver asked for it.
    let fr = sim.at(21).send(c2s(105, 5001, ACK, b"bbbb"));
    let c = only(sim);
    assert!(c
        .events
        .iter()
        .any(|e| e.frame == fr
            && matches!(e.kind, TcpEventKind::Retransmission { offset: 4, len: 4 })));
    assert_eq!(
        c.half[0]
            .gaps
            .iter()
            .map(|g| (g.offset, g.kind, g.frame))
            .collect::<Vec<_>>(),
        vec![(4, GapKind::NetworkLoss, hole)]
    );
}

#[test]
fn reordering_within_the_handshake_rtt_is_not_loss() {
    let mut sim = Sim::new(FlowConfig::default());
    sim.at(0).send(c2s(100, 0, SYN, b""));
    sim.at(0).send(s2c(5000, 101, SYN | ACK, b""));
    sim.at(50).send(c2s(101, 5001, ACK, b"")); // RTT 50 ms
    sim.at(60).send(c2s(101, 5001, ACK, b"aaaa"));
    sim.at(60).send(c2s(109, 5001, ACK, b"cccc"));
    // 20 ms later: more than Wireshark's default 3 ms, less than the RTT.
    let late = sim.at(80).send(c2s(105, 5001, ACK, b"bbbb"));
    let c = only(sim);
    assert_eq!(c.half[0].data, b"aaaabbbbcccc");
    assert!(c.half[0].gaps.is_empty());
    assert!(!c.events.iter().any(|e| e.frame == late));
}

#[test]
fn keep_alive_before_any_data_sits_at_the_isn() {
    let mut sim = Sim::new(FlowConfig::default());
    handshake(&mut sim);
    // Linux keep-alive: seq = snd_nxt - 1 = ISN, no data sent yet.
    let ka = sim.send(c2s(100, 5001, ACK, b""));
    sim.send(s2c(5001, 101, ACK, b""));
    let c = only(sim);
    assert!(c
        .events
        .iter()
        .any(|e| e.frame == ka && e.kind == TcpEventKind::KeepAlive));
    assert!(c.half[0].data.is_empty());
}

/// Cost per packet of the table (run with optimisations:
/// `CARGO_PROFILE_DEV_OPT_LEVEL=2 cargo test --lib flow::tests::bench -- --ignored --nocapture`).
#[test]
#[ignore]
fn bench_packets_per_second() {
    fn accept_none(_: &[u8]) -> bool {
        false
    }
    for (label, first_payload) in [
        ("ports only", None),
        (
            "with first-payload predicate",
            Some(accept_none as FirstPayloadFilter),
        ),
    ] {
        let mut t = FlowTable::new(FlowConfig {
            first_payload,
            ..FlowConfig::default()
        });
        let payload = vec![0x17u8; 1400];
        let conns = 20_000u32;
        let rounds = 50u32;
        let mut frame = 0u64;
        let mut out = Vec::new();
        let start = std::time::Instant::now();
        for r in 0..rounds {
            for c in 0..conns {
                let port = if c % 100 == 0 { 3389 } else { 443 };
                let src = IpAddr::from([10, 1, (c >> 8) as u8, c as u8]);
                let (flags, seq, data): (u16, u32, &[u8]) = if r == 0 {
                    (SYN, 1000, &[])
                } else {
                    (ACK, 1001 + (r - 1) * 1400, &payload)
                };
                frame += 1;
                let pkt = Packet {
                    ip: IpInfo {
                        src,
                        dst: IpAddr::from([10, 2, 0, 1]),
                        ttl: 64,
                        ip_id: Some(1),
                        dont_fragment: true,
                        total_len: 1440,
                        reassembled: false,
                    },
                    transport: Transport::Tcp(TcpSegment {
                        src_port: 40000,
                        dst_port: port,
                        seq,
                        ack: 1,
                        flags: TcpFlags(flags),
                        window: 1000,
                        mss: None,
                        window_scale: None,
                        sack: false,
                        payload: data,
                        payload_len: data.len() as u32,
                    }),
                    point: Default::default(),
                };
                t.on_packet(
                    frame,
                    Timestamp(i64::from(r) * 10_000_000 + i64::from(c) * 100),
                    1454,
                    &pkt,
                );
                t.drain_finished(&mut out);
            }
        }
        let el = start.elapsed();
        let (conns_out, stats) = t.finish();
        println!(
            "{label}: {frame} packets in {:?}: {:.0} ns/packet, {:.2} GB/s of 1454-byte frames; {} analysed, {} streams",
            el,
            el.as_nanos() as f64 / frame as f64,
            frame as f64 * 1454.0 / el.as_secs_f64() / 1e9,
            conns_out.len() + out.len(),
            stats.tcp_streams
        );
    }
}

/// A conversation selected by the first-payload predicate ends up exactly
/// as the same conversation selected by its port: the packets before the
/// payload are replayed, whether few (headers kept) or many (tracked in
/// depth past the limit).
#[test]
fn predicate_selection_replays_what_came_before() {
    fn any(_: &[u8]) -> bool {
        true
    }
    for early_acks in [2usize, 40] {
        let run = |cfg: FlowConfig| {
            let mut sim = Sim::new(cfg);
            let a = ("10.0.0.1", 40000);
            let b = ("10.0.0.2", 8443);
            sim.at(0).send(pk(a, b, 10, 0, SYN, b"").opts(1460, 2));
            sim.at(1000).send(pk(a, b, 10, 0, SYN, b"").opts(1460, 2));
            sim.at(1001)
                .send(pk(b, a, 20, 11, SYN | ACK, b"").opts(1400, 3));
            sim.at(1002).send(pk(a, b, 11, 21, ACK, b""));
            sim.icmp(QuotedTcp {
                src: ip(a.0),
                dst: ip(b.0),
                src_port: a.1,
                dst_port: b.1,
                seq: 11,
            });
            for i in 0..early_acks {
                sim.at(2000 + i as i64)
                    .send(pk(b, a, 21, 11, ACK, b"").win(0).ttl(50, i as u16));
            }
            sim.at(5000).send(pk(a, b, 11, 21, ACK | PSH, b"hello"));
            sim.at(5001)
                .send(pk(b, a, 21, 16, ACK | PSH, b"world").win(9));
            let (mut conns, stats) = sim.finish();
            assert_eq!(conns.len(), 1);
            assert_eq!(stats.analysed_streams, 1);
            conns.remove(0)
        };
        let by_port = run(FlowConfig {
            ports: vec![8443],
            ..FlowConfig::default()
        });
        let by_payload = run(FlowConfig {
            ports: vec![],
            first_payload: Some(any),
            ..FlowConfig::default()
        });
        assert!(by_port.by_port && !by_payload.by_port);
        assert_eq!(by_port.events, by_payload.events);
        assert_eq!(by_port.roles, by_payload.roles);
        assert_eq!(by_port.endpoints, by_payload.endpoints);
        assert_eq!(
            (by_port.first_frame, by_port.last_frame, by_port.max_idle),
            (
                by_payload.first_frame,
                by_payload.last_frame,
                by_payload.max_idle
            )
        );
        for (x, y) in by_port.half.iter().zip(&by_payload.half) {
            assert_eq!(format!("{x:?}"), format!("{y:?}"));
        }
        assert!(by_port
            .events
            .iter()
            .any(|e| matches!(e.kind, TcpEventKind::Icmp(_))));
        assert_eq!(by_port.half[1].packets, 2 + early_acks as u64);
    }
}

#[test]
fn icmp_quoting_an_unknown_pair_opens_a_conversation_like_wireshark() {
    let mut sim = Sim::new(FlowConfig::default());
    sim.send(pk(("10.0.0.9", 1000), ("10.0.0.8", 80), 1, 0, SYN, b""));
    sim.icmp(QuotedTcp {
        src: ip(CLIENT.0),
        dst: ip(SERVER.0),
        src_port: CLIENT.1,
        dst_port: SERVER.1,
        seq: 100,
    });
    assert_eq!(sim.t.stats().tcp_streams, 2);
    sim.send(c2s(101, 5001, ACK, b"late"));
    assert_eq!(sim.t.last_stream(), Some(1));
    let (conns, stats) = sim.finish();
    assert_eq!(stats.tcp_streams, 2);
    assert_eq!(conns.len(), 1);
    assert_eq!(conns[0].stream, 1);
    assert_eq!(conns[0].roles, RoleSource::Port);
    assert_eq!(conns[0].endpoints.server.port(), 3389);
    assert!(matches!(conns[0].events[0].kind, TcpEventKind::Icmp(_)));
    assert_eq!(conns[0].half[0].data, b"late");
}

#[test]
fn a_total_budget_stops_connections_from_keeping_more() {
    // Five connections, each sending 1000 bytes, under a 2500-byte budget:
    // the first two keep everything, the third fills the budget with its
    // first segment and keeps nothing more; while the total is at or past
    // the budget the last two keep nothing. Each one that stopped is
    // counted.
    let mut sim = Sim::new(FlowConfig {
        max_buffered: 2500,
        ..FlowConfig::default()
    });
    for i in 0..5u16 {
        let c = ("10.0.0.1", 50000 + i);
        sim.send(pk(c, SERVER, 100, 0, SYN, b""));
        sim.send(pk(SERVER, c, 5000, 101, SYN | ACK, b""));
        sim.send(pk(c, SERVER, 101, 5001, ACK, b""));
        sim.send(pk(c, SERVER, 101, 5001, PSH | ACK, &[7u8; 500]));
        sim.send(pk(c, SERVER, 601, 5001, PSH | ACK, &[7u8; 500]));
    }
    let over = sim.t.stats().over_budget;
    let (conns, stats) = sim.finish();
    assert_eq!(conns.len(), 5);
    let held: Vec<usize> = conns.iter().map(|c| c.half[0].data.len()).collect();
    assert_eq!(held, vec![1000, 1000, 500, 0, 0]);
    let budget = Some(KeepLimit::MemoryBudget { bytes: 2500 });
    assert!(conns[2..].iter().all(|c| c.half[0].limit == budget));
    assert!(conns[..2].iter().all(|c| c.half[0].limit.is_none()));
    assert_eq!(over, 3);
    assert_eq!(stats.over_budget, 3);
    // What was not kept is still counted.
    assert!(conns.iter().all(|c| c.half[0].stream_len == 1000));
}

#[test]
fn a_shared_budget_is_one_budget_for_several_tables() {
    // Two tables (two files on two threads) share a 1500-byte budget: the
    // first keeps 1000 bytes, the second only what is left, and once both
    // are done the shared total is back to zero.
    let shared: std::sync::Arc<std::sync::atomic::AtomicUsize> = Default::default();
    let cfg = FlowConfig {
        max_buffered: 1500,
        shared_budget: Some(shared.clone()),
        ..FlowConfig::default()
    };
    let feed = |sim: &mut Sim| {
        let c = ("10.0.0.1", 50000);
        sim.send(pk(c, SERVER, 100, 0, SYN, b""));
        sim.send(pk(SERVER, c, 5000, 101, SYN | ACK, b""));
        sim.send(pk(c, SERVER, 101, 5001, ACK, b""));
        sim.send(pk(c, SERVER, 101, 5001, PSH | ACK, &[7u8; 500]));
        sim.send(pk(c, SERVER, 601, 5001, PSH | ACK, &[7u8; 500]));
    };
    let mut a = Sim::new(cfg.clone());
    let mut b = Sim::new(cfg);
    feed(&mut a);
    assert_eq!(shared.load(std::sync::atomic::Ordering::Relaxed), 1000);
    feed(&mut b);
    let (ca, _) = a.finish();
    let (cb, sb) = b.finish();
    assert_eq!(ca[0].half[0].data.len(), 1000);
    assert_eq!(cb[0].half[0].data.len(), 500);
    assert_eq!(sb.over_budget, 1);
    assert_eq!(shared.load(std::sync::atomic::Ordering::Relaxed), 0);
}

#[test]
fn sparse_segments_cannot_fill_the_depth_cap_with_holes() {
    // Two one-byte segments 1 MiB apart: the hole would be 1 MiB of zeros.
    let mut sim = Sim::new(FlowConfig::default());
    handshake(&mut sim);
    sim.send(c2s(101, 5001, PSH | ACK, b"\x03"));
    sim.send(c2s(101 + (1 << 20) - 2, 5001, PSH | ACK, b"\x00"));
    let (conns, stats) = sim.finish();
    let c = &conns[0];
    assert_eq!(c.half[0].data, b"\x03");
    // Named as the hole limit: bytes were lost below the depth cap.
    assert_eq!(
        c.half[0].limit,
        Some(KeepLimit::HoleBytes { max: 256 << 10 })
    );
    assert_eq!((stats.depth_capped, stats.hole_limited), (0, 1));
    assert_eq!(c.half[0].stream_len, (1 << 20) - 1);
}

/// Every packet seen at two capture points (a router captured on both
/// interfaces: the copy on the second has the TTL one lower), the second
/// interface's frames written in batches after the first's.
#[test]
fn copies_seen_at_another_capture_point_are_not_retransmissions() {
    let mut sim = Sim::new(FlowConfig::default());
    let mut batch: Vec<(i64, Pk)> = Vec::new();
    let send = |sim: &mut Sim, batch: &mut Vec<(i64, Pk)>, p: Pk, id: u16| {
        let p = p.ttl(64, id);
        sim.send(p.clone().on_if(0));
        // Seen 20 µs earlier or later on the other interface.
        batch.push((sim.ms, p.ttl(63, id).on_if(1)));
    };
    send(&mut sim, &mut batch, c2s(100, 0, SYN, b""), 1);
    send(&mut sim, &mut batch, s2c(5000, 101, SYN | ACK, b""), 0);
    send(&mut sim, &mut batch, c2s(101, 5001, ACK, b""), 2);
    send(&mut sim, &mut batch, c2s(101, 5001, PSH | ACK, b"hello"), 3);
    for (t, p) in batch.drain(..) {
        sim.at(t).send(p);
    }
    sim.at(10);
    send(
        &mut sim,
        &mut batch,
        s2c(5001, 106, PSH | ACK, b"world!"),
        7,
    );
    // A real retransmission 300 ms later (a new IP ID), also seen twice.
    sim.at(300);
    send(
        &mut sim,
        &mut batch,
        s2c(5001, 106, PSH | ACK, b"world!"),
        8,
    );
    // Keep-alives with an unchanged IP ID (as a stack sending ID 0 does),
    // one second apart: the second is a repeat at the same point.
    sim.at(400);
    send(&mut sim, &mut batch, c2s(105, 5007, ACK, b""), 0);
    sim.at(1400);
    send(&mut sim, &mut batch, c2s(105, 5007, ACK, b""), 0);
    for (t, p) in batch.drain(..) {
        sim.at(t).send(p);
    }
    let (conns, stats) = sim.finish();
    let c = &conns[0];
    let k = kinds(c);
    let count = |f: &dyn Fn(&TcpEventKind) -> bool| k.iter().filter(|e| f(e)).count();
    assert_eq!(
        count(&|e| matches!(
            e,
            TcpEventKind::Retransmission { .. }
                | TcpEventKind::Syn {
                    retransmission: true
                }
        )),
        1,
        "{k:?}"
    );
    assert_eq!(
        count(&|e| matches!(
            e,
            TcpEventKind::SynAck {
                retransmission: true
            }
        )),
        0
    );
    assert_eq!(count(&|e| matches!(e, TcpEventKind::KeepAlive)), 2, "{k:?}");
    assert_eq!(count(&|e| matches!(e, TcpEventKind::OutOfOrder { .. })), 0);
    assert_eq!(count(&|e| matches!(e, TcpEventKind::DupAck { .. })), 0);
    let (up, down) = (c.half(Dir::ToServer), c.half(Dir::ToClient));
    assert_eq!(up.data, b"hello");
    assert_eq!(down.data, b"world!");
    assert_eq!((up.vantage_copies, down.vantage_copies), (5, 3));
    assert_eq!((up.packets, down.packets), (10, 6));
    assert_eq!((up.payload_bytes, down.payload_bytes), (5, 12));
    // TTLs are those at the first point only: no second population.
    assert_eq!(
        (up.ttls.clone(), down.ttls.clone()),
        (vec![(64, 5)], vec![(64, 3)])
    );
    assert_eq!(c.capture_points.len(), 2);
    assert_eq!(stats.vantage_copies, 8);
}

/// A copy differing only in TTL (two capture points one file cannot tell
/// apart, e.g. a merged legacy pcap) is a copy; a RST first seen at the
/// second point gets the TTL of the sender's reference point.
#[test]
fn copies_by_ttl_and_a_reset_seen_first_at_the_second_point() {
    let mut sim = Sim::new(FlowConfig::default());
    handshake(&mut sim);
    sim.at(5).send(c2s(101, 5001, ACK, b"").ttl(63, 1));
    sim.at(10)
        .send(c2s(101, 5001, PSH | ACK, b"abc").ttl(64, 2));
    sim.at(11)
        .send(c2s(101, 5001, PSH | ACK, b"abc").ttl(63, 2));
    // The reset: first at the point beyond the router (TTL 63), then at
    // the reference point (64).
    sim.at(20)
        .send(c2s(104, 5001, RST, b"").ttl(63, 0).on_if(1));
    sim.at(20).send(c2s(104, 5001, RST, b"").ttl(64, 0));
    let c = only(sim);
    let up = c.half(Dir::ToServer);
    assert_eq!(up.vantage_copies, 3);
    assert_eq!(up.ttls, vec![(64, 4)]);
    let rst: Vec<_> = c
        .events
        .iter()
        .filter_map(|e| match e.kind {
            TcpEventKind::Rst { ttl, .. } => Some((e.frame, ttl)),
            _ => None,
        })
        .collect();
    assert_eq!(rst, vec![(7, 64)]);
    assert!(!kinds(&c)
        .iter()
        .any(|k| matches!(k, TcpEventKind::Retransmission { .. })));
}

/// The same packet twice at the same point (and TTL) is the sender's
/// repeat, not a copy: a duplicate ACK stays one.
#[test]
fn a_repeat_at_the_same_point_is_no_copy() {
    let mut sim = Sim::new(FlowConfig::default());
    handshake(&mut sim);
    sim.at(10).send(s2c(5001, 101, PSH | ACK, b"x"));
    sim.at(11).send(s2c(5003, 101, PSH | ACK, b"z"));
    for t in 12..16 {
        sim.at(t).send(c2s(101, 5002, ACK, b""));
    }
    let c = only(sim);
    assert_eq!(c.half(Dir::ToServer).vantage_copies, 0);
    assert!(kinds(&c)
        .iter()
        .any(|k| matches!(k, TcpEventKind::DupAck { count: 3 })));
}

/// At a steady 1,000 refused connections a second (SYN, then RST/ACK), the
/// table holds whole states only for the connections closed less than
/// the grace ago (and the second between two sweeps), and entries for
/// those closed less than the linger ago: the same whether the capture
/// lasts 20 or 40 seconds, and every connection is handed on.
#[test]
fn closed_connections_hold_a_state_for_the_grace_only() {
    const RATE: i64 = 1000;
    fn run(secs: i64) -> (usize, usize, usize) {
        let mut sim = Sim::new(FlowConfig::default());
        let (mut live_peak, mut handed) = (0, 0);
        for i in 0..secs * RATE {
            // One millisecond apart; a 4-tuple comes back after 60 s.
            let client = ("10.0.0.1", 1024 + (i % 60_000) as u16);
            sim.at(i).send(pk(client, SERVER, 7, 0, SYN, b""));
            sim.send(pk(SERVER, client, 0, 8, RST | ACK, b""));
            live_peak = live_peak.max(sim.t.live());
            handed += sim.out.len();
            sim.out.clear();
        }
        let (rest, stats) = sim.t.finish();
        assert_eq!(handed + rest.len(), (secs * RATE) as usize);
        (stats.states_peak, live_peak, rest.len())
    }
    let per_s = |d: Duration| (RATE * d.0 / 1_000_000_000) as usize;
    let cfg = FlowConfig::default();
    for secs in [20, 40] {
        let (states, live, rest) = run(secs);
        // Closed less than the grace ago, or swept less than 2 s ago.
        assert!(states >= per_s(cfg.close_grace), "{secs} s: {states}");
        assert!(
            states <= per_s(cfg.close_grace) + 2 * RATE as usize,
            "{secs} s: {states} states"
        );
        assert!(rest <= per_s(cfg.close_grace) + 2 * RATE as usize);
        assert!(
            live <= per_s(cfg.linger) + 2 * RATE as usize,
            "{secs} s: {live}"
        );
    }
}

/// One packet of a conversation on port 3389 for the property test below:
/// its kind, whether it carries a byte, its capture point, TTL, IP ID and
/// the milliseconds since the previous one. A client SYN starts a new
/// conversation only after the jump of the last kind (all have sequence
/// number 100, the base the others set).
fn early_packet(kind: u8, byte: bool, point: u32, ttl: u8, id: u16) -> Pk {
    let data: &[u8] = if byte { b"x" } else { b"" };
    let p = match kind {
        0 => c2s(100, 0, SYN, b""),
        1 => s2c(5000, 101, SYN | ACK, b""),
        2 => c2s(101, 5001, ACK, data),
        3 => s2c(0, 101, RST | ACK, b""),
        4 => c2s(101, 0, RST, b""),
        5 => c2s(101, 5001, FIN | ACK, b""),
        6 => s2c(5001, 101, ACK, data),
        _ => c2s(90_000, 5001, ACK, b""),
    };
    p.on_if(point).ttl(ttl, id)
}

/// Send `pkts` to `sim`, each its delay (ms) after the one before.
fn send_all(sim: &mut Sim, pkts: &[(Pk, i64)]) {
    let mut ms = 0;
    for (p, dt) in pkts {
        ms += dt;
        sim.at(ms).send(p.clone());
    }
}

/// The oracle of a state made late: roles as the first packet tells
/// them (a SYN, a SYN/ACK, else, when selected by port, a packet from
/// port 3389 is the server's), and a state made at that packet and fed
/// every packet directly, stopped before each when `budget_spent`.
fn state_made_at_once(
    pkts: &[(Pk, i64)],
    by_port: bool,
    cfg: &FlowConfig,
    budget_spent: bool,
) -> Box<conn::ConnState> {
    let first = &pkts[0].0;
    let (src, dst) = (
        std::net::SocketAddr::new(first.src.0, first.src.1),
        std::net::SocketAddr::new(first.dst.0, first.dst.1),
    );
    let syn = first.flags & SYN != 0;
    let ack = first.flags & ACK != 0;
    let (endpoints, role) = if syn && !ack {
        (
            Endpoints {
                client: src,
                server: dst,
            },
            RoleSource::Syn,
        )
    } else if syn {
        (
            Endpoints {
                client: dst,
                server: src,
            },
            RoleSource::SynAck,
        )
    } else if by_port && first.src.1 == 3389 {
        (
            Endpoints {
                client: dst,
                server: src,
            },
            RoleSource::Port,
        )
    } else {
        (
            Endpoints {
                client: src,
                server: dst,
            },
            RoleSource::Port,
        )
    };
    let mut c = Box::new(conn::ConnState::new(
        0,
        endpoints,
        role,
        by_port,
        1,
        Timestamp(pkts[0].1 * 1_000_000),
        cfg.depth_cap,
        cfg.max_events,
    ));
    let mut ms = 0;
    for (frame, (p, dt)) in pkts.iter().enumerate() {
        ms += dt;
        if budget_spent && !c.over_budget {
            c.over_budget = true;
            c.stop_keeping(0);
        }
        let plen = p.payload.len() as u32;
        let (ip_info, seg) = (p.ip_info(plen), p.segment(plen));
        let dir = c.dir_of(std::net::SocketAddr::new(p.src.0, p.src.1));
        let ts = Timestamp(ms * 1_000_000);
        c.on_tcp(
            frame as u64 + 1,
            ts,
            54 + plen,
            &ip_info,
            &seg,
            dir,
            p.point,
        );
    }
    c
}

proptest! {
    /// A connection selected by port is the same whether its state is
    /// made at its first packet (as before: here a state fed directly) or
    /// later from the packets kept until then (its first payload, a
    /// second packet a direction, a SYN/ACK, the byte budget, or when it
    /// is made whole): the same connection, the same counts.
    #[test]
    fn a_state_made_late_is_the_state_made_at_once(
        pkts in proptest::collection::vec(
            (0u8..8, any::<bool>(), 0u32..2, 63u8..65, 1u16..3, 0i64..3),
            1..7,
        ),
        budget_spent in any::<bool>(),
    ) {
        let cfg = FlowConfig {
            max_buffered: if budget_spent { 0 } else { 256 << 20 },
            ..FlowConfig::default()
        };
        let mut sim = Sim::new(cfg.clone());
        let pkts: Vec<(Pk, i64)> = pkts
            .into_iter()
            .map(|(k, b, pt, ttl, id, dt)| (early_packet(k, b, pt, ttl, id), dt))
            .collect();
        send_all(&mut sim, &pkts);
        let (conns, stats) = sim.finish();

        // The oracle: a state made at the first packet, every packet fed
        // to it, stopped before each packet when the budget is spent.
        let c = state_made_at_once(&pkts, true, &cfg, budget_spent);
        let kept = c.kept();
        let expected = c.into_connection();

        // A SYN after the jump starts a second conversation: numbering,
        // which the flow table decides before any state, is not compared.
        prop_assume!(stats.tcp_streams == 1);
        prop_assert_eq!(conns.len(), 1);
        prop_assert_eq!(format!("{:?}", conns[0]), format!("{expected:?}"));
        prop_assert_eq!(stats.analysed_streams, 1);
        prop_assert_eq!(stats.over_budget, u64::from(budget_spent));
        let copies: u64 = kept.iter().map(|(n, _)| n).sum();
        prop_assert_eq!(stats.vantage_copies, copies);
        let capped = kept
            .iter()
            .filter(|(_, l)| matches!(l, Some(KeepLimit::DepthCap { .. })))
            .count() as u64;
        prop_assert_eq!(stats.depth_capped, capped);
        let limited = kept
            .iter()
            .filter(|(_, l)| matches!(l, Some(KeepLimit::Holes { .. } | KeepLimit::HoleBytes { .. })))
            .count() as u64;
        prop_assert_eq!(stats.hole_limited, limited);
    }
}

proptest! {
    /// A conversation waiting for its first payload on a port not
    /// selected keeps its packets until then (past the two held inline,
    /// and past `MAX_EARLY`, when it is tracked in depth
    /// meanwhile): once its client's first payload selects it, it is the
    /// connection a state made at its first packet and fed every packet
    /// would be.
    #[test]
    fn a_conversation_selected_by_its_first_payload_is_the_state_made_at_once(
        pkts in proptest::collection::vec(
            (0u8..8, 0u32..2, 63u8..65, 1u16..3, 0i64..3),
            0..20,
        ),
    ) {
        let cfg = FlowConfig {
            ports: Vec::new(),
            first_payload: Some(|p: &[u8]| p == b"x"),
            ..FlowConfig::default()
        };
        let mut sim = Sim::new(cfg.clone());
        let mut pkts: Vec<(Pk, i64)> = pkts
            .into_iter()
            .map(|(k, pt, ttl, id, dt)| (early_packet(k, false, pt, ttl, id), dt))
            .collect();
        pkts.push((c2s(101, 5001, ACK | PSH, b"x"), 1));
        send_all(&mut sim, &pkts);
        let (conns, stats) = sim.finish();

        // The oracle: a state made at the first packet, every packet fed
        // to it.
        let c = state_made_at_once(&pkts, false, &cfg, false);
        let client = c.endpoints.client;
        let expected = c.into_connection();

        // A SYN after the jump starts a second conversation, and a
        // payload from the server's side is no client's: neither is
        // compared.
        prop_assume!(stats.tcp_streams == 1);
        prop_assume!(client == std::net::SocketAddr::new(ip(CLIENT.0), CLIENT.1));
        prop_assert_eq!(conns.len(), 1);
        prop_assert_eq!(format!("{:?}", conns[0]), format!("{expected:?}"));
        prop_assert_eq!(stats.analysed_streams, 1);
    }
}
