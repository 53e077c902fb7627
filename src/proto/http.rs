//! The HTTP heads of an RD Gateway connection, read from its decrypted
//! plaintext: the request line of each request and the status line of
//! each response (RFC 9112 3, 4), and the one header the diagnosis needs
//! (`Upgrade`). Nothing else of a head is kept: its `Authorization`
//! header carries the NTLM or Kerberos token of the user
//! ([MS-TSGU] 3.3.5.1) and is skipped like every other header.
//!
//! A gateway's first exchange on a connection says whether the gateway
//! took the client: the method names the transport (`RDG_OUT_DATA` and
//! `RDG_IN_DATA`: MS-TSGU's HTTP transport, with or without a WebSocket
//! upgrade, [MS-TSGU] 2.2.3.3; `RPC_IN_DATA` and `RPC_OUT_DATA`: RPC over
//! HTTP, [MS-RPCH] 2.1.2.1), the status whether it was accepted. After a
//! head whose body length is not given by `Content-Length` (a tunnel, a
//! WebSocket, a chunked body) the rest of the direction is the tunnel's
//! and is not read.

use super::{Decoded, ProtoEvent, StreamInput};
use crate::common::Dir;

/// A head longer than this is not read (RFC 9112 leaves the limit to the
/// implementation; IIS, which serves RD Gateway, refuses request heads
/// over 16 KiB by default: MaxRequestBytes).
pub const MAX_HEAD: usize = 16 * 1024;

/// At most this many heads are read per direction: a gateway's
/// authentication takes two round trips on one connection (401 with the
/// challenge, then the answer), far below it.
pub const MAX_HEADS: usize = 8;

/// The request method, typed where it names a gateway transport.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HttpMethod {
    RdgOutData,
    RdgInData,
    RpcInData,
    RpcOutData,
    Other(String),
}

impl HttpMethod {
    fn parse(s: &str) -> Self {
        match s {
            "RDG_OUT_DATA" => HttpMethod::RdgOutData,
            "RDG_IN_DATA" => HttpMethod::RdgInData,
            "RPC_IN_DATA" => HttpMethod::RpcInData,
            "RPC_OUT_DATA" => HttpMethod::RpcOutData,
            o => HttpMethod::Other(o.to_string()),
        }
    }

    /// Whether the method is one only an RD Gateway client sends.
    pub fn is_gateway(&self) -> bool {
        !matches!(self, HttpMethod::Other(_))
    }
}

impl std::fmt::Display for HttpMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HttpMethod::RdgOutData => "RDG_OUT_DATA",
            HttpMethod::RdgInData => "RDG_IN_DATA",
            HttpMethod::RpcInData => "RPC_IN_DATA",
            HttpMethod::RpcOutData => "RPC_OUT_DATA",
            HttpMethod::Other(m) => m,
        })
    }
}

/// One HTTP head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HttpEvent {
    Request {
        method: HttpMethod,
        path: String,
        /// `Upgrade: websocket` was asked for.
        websocket: bool,
    },
    Response {
        status: u16,
        reason: String,
    },
}

impl std::fmt::Display for HttpEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpEvent::Request {
                method,
                path,
                websocket,
            } => {
                write!(f, "HTTP request {method} {path}")?;
                if *websocket {
                    f.write_str(" (WebSocket upgrade)")?;
                }
                Ok(())
            }
            HttpEvent::Response { status, reason } => {
                write!(f, "HTTP response {status} {reason}")
            }
        }
    }
}

/// Decode the heads of both directions of a decrypted connection.
pub fn decode_http(to_server: StreamInput<'_>, to_client: StreamInput<'_>) -> Vec<Decoded> {
    let mut out = heads(Dir::ToServer, to_server.contiguous());
    out.extend(heads(Dir::ToClient, to_client.contiguous()));
    out
}

/// The heads of one direction, from its start, each placed at its bytes.
fn heads(dir: Dir, data: &[u8]) -> Vec<Decoded> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while out.len() < MAX_HEADS && at < data.len() {
        let rest = &data[at..];
        let window = &rest[..rest.len().min(MAX_HEAD)];
        let Some(end) = find(window, b"\r\n\r\n").map(|e| e + 4) else {
            break;
        };
        let Some((event, body)) = head(dir, &window[..end]) else {
            break;
        };
        out.push(Decoded {
            dir,
            start: at as u64,
            end: (at + end) as u64,
            event: ProtoEvent::Http(event),
        });
        match body {
            Some(n) => at = at.saturating_add(end).saturating_add(n),
            None => break,
        }
    }
    out
}

/// One head: its event and the length of the body after it when
/// `Content-Length` gives it (None: the rest is not HTTP heads).
fn head(dir: Dir, h: &[u8]) -> Option<(HttpEvent, Option<usize>)> {
    let text = std::str::from_utf8(h).ok()?;
    let mut lines = text.split("\r\n");
    let first = lines.next()?;
    let mut websocket = false;
    let mut length = None;
    for l in lines {
        let Some((name, value)) = l.split_once(':') else {
            continue;
        };
        let name = name.trim();
        if name.eq_ignore_ascii_case("upgrade") {
            websocket = value.trim().eq_ignore_ascii_case("websocket");
        } else if name.eq_ignore_ascii_case("content-length") {
            length = value.trim().parse::<usize>().ok();
        }
    }
    let mut words = first.splitn(3, ' ');
    let (a, b, c) = (words.next()?, words.next()?, words.next().unwrap_or(""));
    let event = match dir {
        // The path without its query: RPC over HTTP names the target
        // there (`/rpc/rpcproxy.dll?host:3388`, [MS-RPCH] 2.2.2), which
        // the diagnosis does not need and `--redact` could not find.
        Dir::ToServer if c.starts_with("HTTP/") && !a.is_empty() => HttpEvent::Request {
            method: HttpMethod::parse(a),
            path: printable(b.split('?').next().unwrap_or("")),
            websocket,
        },
        Dir::ToClient if a.starts_with("HTTP/") && b.len() == 3 => HttpEvent::Response {
            status: b.parse().ok()?,
            reason: printable(c),
        },
        _ => return None,
    };
    Some((event, length))
}

/// A request target or reason phrase as printed: control characters
/// escaped, at most 256 characters.
fn printable(s: &str) -> String {
    s.chars().take(256).flat_map(char::escape_debug).collect()
}

fn find(h: &[u8], needle: &[u8]) -> Option<usize> {
    h.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(data: &[u8]) -> StreamInput<'_> {
        StreamInput::whole(data)
    }

    fn events(req: &[u8], resp: &[u8]) -> Vec<(Dir, u64, u64, HttpEvent)> {
        decode_http(input(req), input(resp))
            .into_iter()
            .map(|d| match d.event {
                ProtoEvent::Http(e) => (d.dir, d.start, d.end, e),
                o => panic!("{o:?}"),
            })
            .collect()
    }

    #[test]
    fn a_gateway_request_and_its_refusal() {
        let req = b"RDG_OUT_DATA /remoteDesktopGateway/ HTTP/1.1\r\nHost: gw\r\n\
            Upgrade: websocket\r\nAuthorization: NTLM TlRMTVNTUAABAAAA\r\n\r\n";
        let resp = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";
        let got = events(req, resp);
        assert_eq!(
            got,
            [
                (
                    Dir::ToServer,
                    0,
                    req.len() as u64,
                    HttpEvent::Request {
                        method: HttpMethod::RdgOutData,
                        path: "/remoteDesktopGateway/".into(),
                        websocket: true,
                    }
                ),
                (
                    Dir::ToClient,
                    0,
                    resp.len() as u64,
                    HttpEvent::Response {
                        status: 403,
                        reason: "Forbidden".into()
                    }
                ),
            ]
        );
        assert!(!format!("{got:?}").contains("TlRM"));
    }

    #[test]
    fn heads_after_a_sized_body_are_read_and_a_tunnel_stops_reading() {
        let resp = b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 3\r\n\r\nabc\
            HTTP/1.1 200 OK\r\n\r\nHTTP/1.1 500 Not read\r\n\r\n";
        let got = events(b"", resp);
        let st: Vec<u16> = got
            .iter()
            .map(|e| match &e.3 {
                HttpEvent::Response { status, .. } => *status,
                _ => 0,
            })
            .collect();
        assert_eq!(st, [401, 200]);
    }

    #[test]
    fn the_query_naming_the_target_is_not_kept() {
        let got = events(
            b"RPC_IN_DATA /rpc/rpcproxy.dll?rdsh7.corp.example:3388 HTTP/1.1\r\n\r\n",
            b"",
        );
        assert_eq!(
            got[0].3,
            HttpEvent::Request {
                method: HttpMethod::RpcInData,
                path: "/rpc/rpcproxy.dll".into(),
                websocket: false,
            }
        );
    }

    #[test]
    fn what_is_not_http_gives_nothing() {
        assert!(events(
            b"\x16\x03\x01\x00\x05hello\r\n\r\n",
            b"HTTP/1.1 4x3 No\r\n\r\n"
        )
        .is_empty());
        assert!(events(b"RDG_OUT_DATA / HTTP/1.1\r\nno end", b"").is_empty());
    }
}
