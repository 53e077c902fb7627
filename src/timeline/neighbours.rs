//! The neighbour messages of a capture (DNS, Kerberos, RDP-UDP handshake)
//! placed at their frames, each with its client and server: the
//! timeline of what happened around the RDP connections.
//!
//! Datagrams are decoded as they come and TCP connections on neighbour
//! ports when they finish; only the decoded summary is kept, up to
//! [`MAX_EVENTS`] (the rest is counted in [`Neighbours::dropped`]).
//! RDP-UDP datagrams after the handshake are counted per flow, not kept.

use crate::common::{Dir, Timestamp};
use crate::flow::{Connection, Datagram};
use crate::proto::neighbour::{self, Service, SideMessage, UdpKind};
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// Neighbour messages kept per capture.
pub const MAX_EVENTS: usize = 1 << 16;

/// How a neighbour message travelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Carrier {
    Udp,
    /// In the TCP connection of this `tcp.stream`.
    Tcp {
        stream: u64,
    },
}

impl std::fmt::Display for Carrier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Carrier::Udp => f.write_str("udp"),
            Carrier::Tcp { stream } => write!(f, "tcp.stream {stream}"),
        }
    }
}

/// One neighbour message at its frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SideEvent {
    pub frame: u64,
    pub ts: Timestamp,
    /// The side that is not on the service port, and the side that is.
    pub client: SocketAddr,
    pub server: SocketAddr,
    /// ToServer: a query or request; ToClient: an answer.
    pub dir: Dir,
    pub carrier: Carrier,
    pub service: Service,
    pub msg: SideMessage,
}

/// RDP-UDP datagrams after the handshake, per flow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UdpFlowCount {
    pub to_server: u64,
    pub to_client: u64,
    pub first_frame: u64,
    pub last_frame: u64,
}

/// Everything decoded on neighbour ports in one capture.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Neighbours {
    /// In frame order once [`Neighbours::finish`]ed.
    pub events: Vec<SideEvent>,
    /// Messages decoded but not kept (past [`MAX_EVENTS`]).
    pub dropped: u64,
    /// Datagrams whose payload the capture cut (snap length).
    pub cut: u64,
    /// RDP-UDP data after the handshake, by (client, server).
    pub udp_flows: BTreeMap<(SocketAddr, SocketAddr), UdpFlowCount>,
}

impl Neighbours {
    fn push(&mut self, e: SideEvent) {
        if self.events.len() < MAX_EVENTS {
            self.events.push(e);
        } else {
            self.dropped += 1;
        }
    }

    /// A datagram on a neighbour port; `server_port` says which side
    /// serves.
    pub fn on_datagram(&mut self, d: &Datagram<'_>, service: Service, server_port: u16) {
        let (client, server, dir) = if d.to.port() == server_port {
            (d.from, d.to, Dir::ToServer)
        } else {
            (d.to, d.from, Dir::ToClient)
        };
        if !d.complete {
            self.cut += 1;
        }
        let msg = neighbour::decode_datagram(service, d.payload);
        if let SideMessage::RdpUdp(h) = &msg {
            if h.kind == UdpKind::Other {
                let c = self.udp_flows.entry((client, server)).or_default();
                if c.first_frame == 0 {
                    c.first_frame = d.frame;
                }
                c.last_frame = d.frame;
                match dir {
                    Dir::ToServer => c.to_server += 1,
                    Dir::ToClient => c.to_client += 1,
                }
                return;
            }
        }
        self.push(SideEvent {
            frame: d.frame,
            ts: d.ts,
            client,
            server,
            dir,
            carrier: Carrier::Udp,
            service,
            msg,
        });
    }

    /// A finished TCP connection on a neighbour port: each framed message
    /// of each direction at the frame that carried its last byte.
    /// `flipped`: the flow stage's client is the side on the service port
    /// (a capture started mid-connection), so the roles are swapped here.
    pub fn on_connection(&mut self, c: &Connection, service: Service, flipped: bool) {
        let (client, server) = match flipped {
            false => (c.endpoints.client, c.endpoints.server),
            true => (c.endpoints.server, c.endpoints.client),
        };
        for dir in [Dir::ToServer, Dir::ToClient] {
            let half = c.half(dir);
            // Only the bytes before the first hole are framed.
            let end = half
                .gaps
                .iter()
                .map(|g| g.offset as usize)
                .min()
                .unwrap_or(half.data.len())
                .min(half.data.len());
            for (off, msg) in neighbour::decode_stream(service, &half.data[..end]) {
                let Some((frame, ts)) = super::frame_of_offset(half, off.saturating_sub(1)) else {
                    continue;
                };
                self.push(SideEvent {
                    frame,
                    ts,
                    client,
                    server,
                    dir: if flipped { dir.reverse() } else { dir },
                    carrier: Carrier::Tcp { stream: c.stream },
                    service,
                    msg,
                });
            }
        }
    }

    /// Put the events in frame order.
    pub fn finish(&mut self) {
        self.events.sort_by_key(|e| e.frame);
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.udp_flows.is_empty()
    }
}
