//! Stage 5: one ordered list of events per connection.
//!
//! Merges the flow stage's TCP events with the decoders' protocol events,
//! placing each protocol event at the frame that carried its last byte (as
//! Wireshark shows a reassembled PDU), and keeps the per-direction counters
//! diagnosis needs. A [`Timeline`] can also be built by hand, which is how
//! every diagnosis rule is unit-tested.

pub mod neighbours;

use crate::common::{Dir, Duration, Endpoints, KeepLimit, Timestamp};
use crate::flow::{Connection, HalfStream, RoleSource, TcpEvent, TcpEventKind};
use crate::packet::CapturePoint;
use crate::proto::cert::CertInfo;
use crate::proto::credssp::{CredsspEvent, CredsspLeg};
use crate::proto::mcs::{ClientGcc, McsEvent, ServerGcc};
use crate::proto::tls::{ClientHello, ServerHello, TlsEvent};
use crate::proto::x224::{ConnectionConfirm, ConnectionRequest, X224Event};
use crate::proto::{Decoded, ProtoEvent};

/// What an event is.
#[derive(Clone, Debug, PartialEq)]
pub enum EventKind {
    Tcp(TcpEventKind),
    Proto(ProtoEvent),
}

/// One event: every event carries its frame (1-based), time and direction.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub frame: u64,
    pub ts: Timestamp,
    pub dir: Dir,
    pub kind: EventKind,
}

/// Counters and IP facts of one direction (no payload).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DirSummary {
    pub packets: u64,
    pub frame_bytes: u64,
    pub payload_bytes: u64,
    pub from_start: bool,
    pub limit: Option<KeepLimit>,
    pub stream_len: u64,
    pub last_payload: Option<(u64, Timestamp)>,
    pub ttls: Vec<(u8, u64)>,
    pub last_ip_id: Option<u16>,
    pub mss: Option<u16>,
    pub max_segment: u32,
    /// Frames that were copies of a packet already seen at another
    /// capture point (not analysed; counted in `packets`, not in
    /// `payload_bytes`).
    pub vantage_copies: u64,
    /// Payload bytes the snap length cut from the capture (sent, not
    /// captured), within the bytes kept.
    pub snaplen_hidden: u64,
}

impl DirSummary {
    pub fn from_half(h: &HalfStream) -> Self {
        DirSummary {
            packets: h.packets,
            frame_bytes: h.frame_bytes,
            payload_bytes: h.payload_bytes,
            from_start: h.from_start,
            limit: h.limit,
            stream_len: h.stream_len,
            last_payload: h.last_payload,
            ttls: h.ttls.clone(),
            last_ip_id: h.last_ip_id,
            mss: h.mss,
            max_segment: h.max_segment,
            vantage_copies: h.vantage_copies,
            snaplen_hidden: h
                .gaps
                .iter()
                .filter(|g| g.kind == crate::flow::GapKind::Snaplen)
                .map(|g| g.len)
                .sum(),
        }
    }

    /// The most frequent TTL in this direction.
    /// Packets as the endpoint sent them: copies of one packet seen at a
    /// second capture point counted once.
    pub fn sent_packets(&self) -> u64 {
        self.packets.saturating_sub(self.vantage_copies)
    }

    pub fn usual_ttl(&self) -> Option<u8> {
        self.ttls.iter().max_by_key(|(_, n)| *n).map(|(t, _)| *t)
    }
}

/// Everything known about one connection, in order.
#[derive(Clone, Debug, PartialEq)]
pub struct Timeline {
    /// Wireshark's `tcp.stream`.
    pub stream: u64,
    pub endpoints: Endpoints,
    pub roles: RoleSource,
    pub first_frame: u64,
    pub first_ts: Timestamp,
    pub last_frame: u64,
    pub last_ts: Timestamp,
    /// The capture's own last timestamp (to tell "capture ended" from
    /// "connection went quiet").
    pub capture_end: Timestamp,
    /// [to server, to client], by [`Dir::index`].
    pub dirs: [DirSummary; 2],
    pub max_idle: Option<(Duration, u64)>,
    pub events: Vec<Event>,
    /// TCP events not kept (bounded per connection).
    pub events_dropped: u64,
    /// Capture points the connection's frames were seen at (the first 8,
    /// in order); more than one when the capture holds it as seen from
    /// several interfaces.
    pub capture_points: Vec<CapturePoint>,
}

impl Timeline {
    /// An empty timeline, for building by hand in tests.
    pub fn new(stream: u64, endpoints: Endpoints, first_ts: Timestamp) -> Self {
        Timeline {
            stream,
            endpoints,
            roles: RoleSource::Syn,
            first_frame: 1,
            first_ts,
            last_frame: 1,
            last_ts: first_ts,
            capture_end: first_ts,
            dirs: [DirSummary::default(), DirSummary::default()],
            max_idle: None,
            events: Vec::new(),
            events_dropped: 0,
            capture_points: Vec::new(),
        }
    }

    /// Append an event (tests and builders); keeps `last_*` and
    /// `capture_end` up to date.
    pub fn push(&mut self, frame: u64, ts: Timestamp, dir: Dir, kind: EventKind) -> &mut Self {
        if self.events.is_empty() {
            self.first_frame = frame;
            self.first_ts = ts;
        }
        self.last_frame = self.last_frame.max(frame);
        self.last_ts = self.last_ts.max(ts);
        self.capture_end = self.capture_end.max(ts);
        self.events.push(Event {
            frame,
            ts,
            dir,
            kind,
        });
        self
    }

    pub fn dir(&self, d: Dir) -> &DirSummary {
        &self.dirs[d.index()]
    }

    /// Frames of both directions that were copies of a packet seen at
    /// another capture point: the capture holds the connection twice (or
    /// more), e.g. a router captured on both interfaces. Copies were
    /// ignored by the TCP analysis; `packets` still counts them.
    pub fn vantage_copies(&self) -> u64 {
        self.dirs.iter().map(|d| d.vantage_copies).sum()
    }

    /// TLS records framed in this direction: (records whose header was
    /// read, records whose body the snap length cut, times the framing
    /// was lost to a header the snap length hid), from
    /// [`TlsEvent::Records`].
    pub fn tls_records(&self, d: Dir) -> Option<(u64, u64, u64)> {
        self.proto_events().find_map(|(e, p)| match p {
            ProtoEvent::Tls(TlsEvent::Records {
                records,
                body_cut,
                headers_hidden,
                ..
            }) if e.dir == d => Some((*records, *body_cut, *headers_hidden)),
            _ => None,
        })
    }

    /// Whether the snap length hid payload in this direction: bytes cut
    /// ([`DirSummary::snaplen_hidden`]) or PDUs whose content it hid.
    pub fn snaplen_hid_payload(&self, d: Dir) -> bool {
        self.dir(d).snaplen_hidden > 0
            || self.proto_events().any(|(e, p)| {
                e.dir == d
                    && matches!(
                        p,
                        ProtoEvent::HiddenBySnaplen { .. }
                            | ProtoEvent::Tls(TlsEvent::HiddenRecord { .. })
                    )
            })
    }

    /// Whether the capture started after this direction's TLS handshake:
    /// its first record seen was already protected, so every record of
    /// the direction is encrypted (alerts included) and its handshake is
    /// not in the capture ([`TlsEvent::HandshakeNotCaptured`]).
    pub fn encrypted_from_start(&self, d: Dir) -> bool {
        self.proto_events().any(|(e, p)| {
            e.dir == d && matches!(p, ProtoEvent::Tls(TlsEvent::HandshakeNotCaptured))
        })
    }

    /// Whether every (or nearly every) packet was seen at two or more
    /// capture points: at least one copy per two frames of the packets
    /// analysed.
    pub fn seen_from_several_points(&self) -> bool {
        let copies = self.vantage_copies();
        let packets: u64 = self.dirs.iter().map(|d| d.packets).sum();
        copies > 0 && copies * 2 >= packets.saturating_sub(copies)
    }

    /// Build from a finished connection and its decoded events.
    pub fn build(conn: &Connection, decoded: Vec<Decoded>, capture_end: Timestamp) -> Timeline {
        Self::build_with(conn, conn.events.iter().cloned(), decoded, capture_end)
    }

    /// [`Timeline::build`] of a connection its caller no longer needs:
    /// its TCP events, TTL counts and capture points move into the
    /// timeline instead of being copied (a few allocations per
    /// connection, a good part of what a short one costs here).
    pub fn build_from(
        mut conn: Connection,
        decoded: Vec<Decoded>,
        capture_end: Timestamp,
    ) -> Timeline {
        let events = std::mem::take(&mut conn.events);
        let ttls = conn.half.each_mut().map(|h| std::mem::take(&mut h.ttls));
        let points = std::mem::take(&mut conn.capture_points);
        // Taken out first, so that the lists copied below are empty.
        let mut tl = Self::build_with(&conn, events.into_iter(), decoded, capture_end);
        for (d, t) in tl.dirs.iter_mut().zip(ttls) {
            d.ttls = t;
        }
        tl.capture_points = points;
        tl
    }

    /// Build from a connection's places and summaries, its TCP events
    /// (`tcp`, in frame order) and its decoded events.
    fn build_with(
        conn: &Connection,
        tcp: impl Iterator<Item = TcpEvent>,
        decoded: Vec<Decoded>,
        capture_end: Timestamp,
    ) -> Timeline {
        // Place protocol events at the frame carrying their last byte.
        let mut proto: Vec<Event> = decoded
            .into_iter()
            .map(|d| {
                let half = conn.half(d.dir);
                let at = d.end.saturating_sub(1).max(d.start);
                let (frame, ts) = frame_of_offset(half, at)
                    .or_else(|| frame_of_hidden(half, at))
                    .unwrap_or((conn.last_frame, conn.last_ts));
                Event {
                    frame,
                    ts,
                    dir: d.dir,
                    kind: EventKind::Proto(d.event),
                }
            })
            .collect();
        // Stable sort: within a direction decoders emit in stream order.
        // Usually in frame order already (one direction, or directions
        // that alternate): checked first, as an event is 150 bytes to move.
        if proto.windows(2).any(|w| w[0].frame > w[1].frame) {
            proto.sort_by_key(|e| e.frame);
        }

        let events = merge(tcp, proto);

        Timeline {
            stream: conn.stream,
            endpoints: conn.endpoints,
            roles: conn.roles,
            first_frame: conn.first_frame,
            first_ts: conn.first_ts,
            last_frame: conn.last_frame,
            last_ts: conn.last_ts,
            capture_end: capture_end.max(conn.last_ts),
            dirs: [
                DirSummary::from_half(&conn.half[0]),
                DirSummary::from_half(&conn.half[1]),
            ],
            max_idle: conn.max_idle,
            events,
            events_dropped: conn.events_dropped,
            capture_points: conn.capture_points.clone(),
        }
    }

    // ---- derived views (no state of their own) ----

    /// Protocol events with their place.
    pub fn proto_events(&self) -> impl Iterator<Item = (&Event, &ProtoEvent)> {
        self.events.iter().filter_map(|e| match &e.kind {
            EventKind::Proto(p) => Some((e, p)),
            _ => None,
        })
    }

    /// TCP events with their place.
    pub fn tcp_events(&self) -> impl Iterator<Item = (&Event, &TcpEventKind)> {
        self.events.iter().filter_map(|e| match &e.kind {
            EventKind::Tcp(t) => Some((e, t)),
            _ => None,
        })
    }

    pub fn connection_request(&self) -> Option<(&Event, &ConnectionRequest)> {
        self.proto_events().find_map(|(e, p)| match p {
            ProtoEvent::X224(X224Event::ConnectionRequest(r)) => Some((e, r)),
            _ => None,
        })
    }

    pub fn connection_confirm(&self) -> Option<(&Event, &ConnectionConfirm)> {
        self.proto_events().find_map(|(e, p)| match p {
            ProtoEvent::X224(X224Event::ConnectionConfirm(c)) => Some((e, c)),
            _ => None,
        })
    }

    pub fn client_hello(&self) -> Option<(&Event, &ClientHello)> {
        self.proto_events().find_map(|(e, p)| match p {
            ProtoEvent::Tls(TlsEvent::ClientHello(h)) => Some((e, &**h)),
            _ => None,
        })
    }

    pub fn server_hello(&self) -> Option<(&Event, &ServerHello)> {
        self.proto_events().find_map(|(e, p)| match p {
            ProtoEvent::Tls(TlsEvent::ServerHello(h)) => Some((e, h)),
            _ => None,
        })
    }

    /// The server's certificate chain: from the TLS Certificate message or,
    /// under Standard RDP Security, from the GCC server security data.
    /// The server's certificate chain: its TLS Certificate message, or the
    /// X.509 chain of Standard RDP Security's Server Security Data.
    pub fn certificates(&self) -> Option<(&Event, &[CertInfo])> {
        self.proto_events().find_map(|(e, p)| match p {
            ProtoEvent::Tls(TlsEvent::Certificate(c)) if e.dir == Dir::ToClient => {
                Some((e, c.as_slice()))
            }
            ProtoEvent::Mcs(McsEvent::ConnectResponse(g)) => match &g.security {
                Some(crate::proto::mcs::ServerSecurity {
                    certificate: Some(crate::proto::mcs::ServerCertificate::X509(c)),
                    ..
                }) => Some((e, c.as_slice())),
                _ => None,
            },
            _ => None,
        })
    }

    /// The clear TLS messages in capture order, one letter each (see
    /// `TlsEvent::history_letter`), upper case when the client sent it: a
    /// ServerHello is a HelloRetryRequest when the decoder flagged it so
    /// in the same frame.
    pub fn tls_history(&self) -> String {
        let hrr: Vec<u64> = self
            .proto_events()
            .filter(|(_, p)| {
                matches!(
                    p,
                    ProtoEvent::Anomaly {
                        what: crate::proto::Anomaly::HelloRetryRequest
                    }
                )
            })
            .map(|(e, _)| e.frame)
            .collect();
        self.proto_events()
            .filter_map(|(e, p)| match p {
                ProtoEvent::Tls(t) => {
                    let letter = t.history_letter(hrr.contains(&e.frame))?;
                    Some(match e.dir {
                        Dir::ToServer => letter.to_ascii_uppercase(),
                        Dir::ToClient => letter,
                    })
                }
                _ => None,
            })
            .collect()
    }

    /// The chain the client sent in its own TLS Certificate message (a
    /// server that asked for one with CertificateRequest); may be empty.
    pub fn client_certificates(&self) -> Option<(&Event, &[CertInfo])> {
        self.proto_events().find_map(|(e, p)| match p {
            ProtoEvent::Tls(TlsEvent::Certificate(c)) if e.dir == Dir::ToServer => {
                Some((e, c.as_slice()))
            }
            _ => None,
        })
    }

    pub fn client_gcc(&self) -> Option<(&Event, &ClientGcc)> {
        self.proto_events().find_map(|(e, p)| match p {
            ProtoEvent::Mcs(McsEvent::ConnectInitial(g)) => Some((e, g.as_ref())),
            _ => None,
        })
    }

    pub fn server_gcc(&self) -> Option<(&Event, &ServerGcc)> {
        self.proto_events().find_map(|(e, p)| match p {
            ProtoEvent::Mcs(McsEvent::ConnectResponse(g)) => Some((e, g.as_ref())),
            _ => None,
        })
    }

    /// CredSSP legs in order.
    pub fn credssp_legs(&self) -> impl Iterator<Item = (&Event, CredsspLeg)> {
        self.proto_events().filter_map(|(e, p)| match p {
            ProtoEvent::Credssp(CredsspEvent::Leg { leg, .. }) => Some((e, *leg)),
            _ => None,
        })
    }

    /// The first event of this kind from this direction.
    pub fn first_tcp(&self, pred: impl Fn(&TcpEventKind) -> bool) -> Option<&Event> {
        self.tcp_events().find(|(_, k)| pred(k)).map(|(e, _)| e)
    }
}

/// Merge a connection's TCP events (in frame order) with its placed
/// protocol events (in frame order) by frame. Within one frame:
/// handshake/loss events first, then protocol events, then FIN/RST (they
/// end what the frame carried).
///
/// The next protocol event is compared where it lies and moved once, in
/// runs: an [`Event`] is 150 bytes, which a `Peekable` would copy into its
/// slot before each move out.
fn merge(tcp: impl Iterator<Item = TcpEvent>, proto: Vec<Event>) -> Vec<Event> {
    let mut events = Vec::with_capacity(tcp.size_hint().0 + proto.len());
    let mut pro = proto.into_iter();
    for t in tcp {
        let ends = matches!(t.kind, TcpEventKind::Fin | TcpEventKind::Rst { .. });
        let before = pro
            .as_slice()
            .iter()
            .take_while(|p| p.frame < t.frame || (p.frame == t.frame && ends))
            .count();
        if before > 0 {
            events.extend(pro.by_ref().take(before));
        }
        events.push(Event {
            frame: t.frame,
            ts: t.ts,
            dir: t.dir,
            kind: EventKind::Tcp(t.kind),
        });
    }
    events.extend(pro);
    events
}

/// The frame that carried stream byte `offset` of `half` when the snap
/// length cut it from the capture (the frame of the cut).
pub fn frame_of_hidden(half: &HalfStream, offset: u64) -> Option<(u64, Timestamp)> {
    half.gaps
        .iter()
        .find(|g| {
            g.kind == crate::flow::GapKind::Snaplen
                && g.offset <= offset
                && offset < g.offset.saturating_add(g.len)
        })
        .map(|g| (g.frame, g.ts))
}

/// The frame (and its time) that carried stream byte `offset` of `half`.
pub fn frame_of_offset(half: &HalfStream, offset: u64) -> Option<(u64, Timestamp)> {
    let segs = &half.segments;
    let i = segs.partition_point(|s| s.offset + s.len as u64 <= offset);
    segs.get(i)
        .filter(|s| s.offset <= offset)
        .or_else(|| {
            segs.get(i.saturating_sub(1))
                .filter(|_| i > 0 && i == segs.len())
        })
        .map(|s| (s.frame, s.ts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::Segment;

    fn half(segs: &[(u64, u32, u64)]) -> HalfStream {
        HalfStream {
            segments: segs
                .iter()
                .map(|&(offset, len, frame)| Segment {
                    offset,
                    len,
                    frame,
                    ts: Timestamp(frame as i64),
                })
                .collect(),
            ..Default::default()
        }
    }

    /// An event moves in at most 128 bytes, which a move copies without
    /// a call to `memcpy`: a ClientHello inline made it 152.
    #[test]
    fn an_event_fits_128_bytes() {
        assert!(std::mem::size_of::<Event>() <= 128);
        assert!(std::mem::size_of::<ProtoEvent>() <= 96);
    }

    #[test]
    fn a_timeline_built_from_a_connection_it_takes_is_the_one_built_from_a_borrowed_one() {
        let at = |frame: u64, dir: Dir, kind: TcpEventKind| TcpEvent {
            frame,
            ts: Timestamp(frame as i64),
            dir,
            kind,
        };
        let mut to_server = half(&[(0, 10, 4), (10, 5, 7)]);
        to_server.ttls = vec![(64, 3)];
        let mut to_client = half(&[(0, 5, 6)]);
        to_client.ttls = vec![(128, 2), (127, 1)];
        let conn = Connection {
            stream: 3,
            endpoints: Endpoints {
                client: "10.0.0.1:50000".parse().expect("address"),
                server: "10.0.0.2:3389".parse().expect("address"),
            },
            roles: RoleSource::Syn,
            first_frame: 1,
            first_ts: Timestamp(1),
            last_frame: 9,
            last_ts: Timestamp(9),
            half: [to_server, to_client],
            events: vec![
                at(
                    1,
                    Dir::ToServer,
                    TcpEventKind::Syn {
                        retransmission: false,
                    },
                ),
                at(6, Dir::ToClient, TcpEventKind::Fin),
                at(7, Dir::ToServer, TcpEventKind::KeepAlive),
            ],
            events_dropped: 1,
            max_idle: Some((Duration(3), 7)),
            by_port: true,
            capture_points: vec![
                CapturePoint::default(),
                CapturePoint {
                    interface: 1,
                    ..Default::default()
                },
            ],
        };
        let not_rdp = |dir, start, end| Decoded {
            dir,
            start,
            end,
            event: ProtoEvent::NotRdp {
                why: format!("{start}"),
            },
        };
        let decoded = vec![
            not_rdp(Dir::ToServer, 0, 12),
            not_rdp(Dir::ToClient, 0, 5),
            not_rdp(Dir::ToServer, 12, 15),
        ];
        let borrowed = Timeline::build(&conn, decoded.clone(), Timestamp(20));
        assert_eq!(borrowed.events.len(), 6);
        assert_eq!(Timeline::build_from(conn, decoded, Timestamp(20)), borrowed);
    }

    /// The merge as it was first written (a `Peekable` on each side):
    /// the oracle for [`merge`].
    fn merge_by_peeking(tcp: Vec<TcpEvent>, proto: Vec<Event>) -> Vec<Event> {
        let mut tcp = tcp.into_iter().peekable();
        let mut pro = proto.into_iter().peekable();
        let mut events = Vec::new();
        loop {
            let take_tcp = match (tcp.peek(), pro.peek()) {
                (None, None) => break,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (Some(t), Some(p)) => {
                    if t.frame != p.frame {
                        t.frame < p.frame
                    } else {
                        !matches!(t.kind, TcpEventKind::Fin | TcpEventKind::Rst { .. })
                    }
                }
            };
            if take_tcp {
                let t = tcp.next().expect("peeked");
                events.push(Event {
                    frame: t.frame,
                    ts: t.ts,
                    dir: t.dir,
                    kind: EventKind::Tcp(t.kind),
                });
            } else {
                events.push(pro.next().expect("peeked"));
            }
        }
        events
    }

    #[test]
    fn the_merge_orders_events_as_peeking_at_both_sides_did() {
        let kinds = [
            TcpEventKind::Syn {
                retransmission: false,
            },
            TcpEventKind::HandshakeAck,
            TcpEventKind::Fin,
            TcpEventKind::Rst {
                ttl: 64,
                ip_id: None,
                window: 0,
                seq_in_window: true,
            },
            TcpEventKind::KeepAlive,
        ];
        let mut seed = 0x5eed_u64;
        for round in 0..3000 {
            // Few frames, so that both sides often share one.
            let frames = 1 + round % 7;
            let frame_list = |n: u64, seed: &mut u64| -> Vec<u64> {
                let mut v: Vec<u64> = (0..n)
                    .map(|_| 1 + crate::common::xorshift(seed) % frames)
                    .collect();
                v.sort_unstable();
                v
            };
            let n_tcp = crate::common::xorshift(&mut seed) % 6;
            let n_pro = crate::common::xorshift(&mut seed) % 5;
            let tcp: Vec<TcpEvent> = frame_list(n_tcp, &mut seed)
                .into_iter()
                .map(|frame| TcpEvent {
                    frame,
                    ts: Timestamp(frame as i64),
                    dir: Dir::ToServer,
                    kind: kinds[(crate::common::xorshift(&mut seed) % 5) as usize].clone(),
                })
                .collect();
            let proto: Vec<Event> = frame_list(n_pro, &mut seed)
                .into_iter()
                .enumerate()
                .map(|(i, frame)| Event {
                    frame,
                    ts: Timestamp(frame as i64),
                    dir: Dir::ToClient,
                    // Told apart by their text, to check the order within a frame.
                    kind: EventKind::Proto(ProtoEvent::NotRdp {
                        why: format!("{round}.{i}"),
                    }),
                })
                .collect();
            assert_eq!(
                merge(tcp.clone().into_iter(), proto.clone()),
                merge_by_peeking(tcp.clone(), proto.clone()),
                "{tcp:?} {proto:?}"
            );
        }
    }

    #[test]
    fn offsets_map_to_the_frame_that_carried_them() {
        let h = half(&[(0, 10, 4), (10, 5, 6), (20, 5, 9)]);
        assert_eq!(frame_of_offset(&h, 0).unwrap().0, 4);
        assert_eq!(frame_of_offset(&h, 9).unwrap().0, 4);
        assert_eq!(frame_of_offset(&h, 10).unwrap().0, 6);
        assert_eq!(frame_of_offset(&h, 24).unwrap().0, 9);
        // inside the hole 15..20: no frame carried it
        assert_eq!(frame_of_offset(&h, 16), None);
        // past the end: the last segment
        assert_eq!(frame_of_offset(&h, 99).unwrap().0, 9);
    }
}
