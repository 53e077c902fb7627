//! Bounded fragment reassembly: IPv4 (RFC 791 section 3.2, "Fragmentation
//! and reassembly") and IPv6 (RFC 8200 section 4.5), with RFC 815 hole
//! accounting done as an 8-octet block bitmap.
//!
//! Bounds: at most `max_fragment_datagrams` partial datagrams and
//! `max_fragment_bytes` buffered bytes; a partial datagram whose first
//! fragment is more than [`MAX_AGE_FRAMES`] frames old is discarded.
//! Overlapping fragments that disagree about a byte discard the datagram
//! (a classic evasion; the capture cannot tell which copy the host used).

use super::ip::{Frag6, V4, V6};
use super::{IpInfo, SlicerConfig};
use std::net::IpAddr;

/// A partial datagram older than this many frames is discarded.
pub(crate) const MAX_AGE_FRAMES: u64 = 10_000;

/// Largest IPv4 payload: 65535 minus the minimal header.
const MAX_PAYLOAD_V4: usize = 65_535 - 20;
/// Largest IPv6 fragmentable part: 65535 minus the Fragment header.
const MAX_PAYLOAD_V6: usize = 65_535 - 8;

/// 8-octet blocks covering [`MAX_PAYLOAD`].
const BLOCKS: usize = 65_536 / 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Key {
    src: IpAddr,
    dst: IpAddr,
    id: u32,
    protocol: u8,
}

/// One fragment, of either IP version.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fragment<'a> {
    key: Key,
    /// Offset of `payload` in the datagram's payload, in bytes.
    offset: usize,
    more: bool,
    /// The captured fragment data.
    payload: &'a [u8],
    /// Its length per the IP header.
    payload_len: usize,
    max_end: usize,
    info: IpInfo,
    /// Bytes of headers before the fragment data.
    header_len: usize,
}

impl<'a> Fragment<'a> {
    pub(crate) fn v4(h: &V4<'a>) -> Self {
        Fragment {
            key: Key {
                src: h.info.src,
                dst: h.info.dst,
                id: h.info.ip_id.unwrap_or(0) as u32,
                protocol: h.protocol,
            },
            offset: h.frag_offset as usize,
            more: h.more_fragments,
            payload: h.payload,
            payload_len: h.payload_len as usize,
            max_end: MAX_PAYLOAD_V4,
            info: h.info,
            header_len: h.header_len,
        }
    }

    pub(crate) fn v6(h: &V6<'a>, f: Frag6) -> Self {
        Fragment {
            key: Key {
                src: h.info.src,
                dst: h.info.dst,
                id: f.id,
                protocol: h.protocol,
            },
            offset: f.offset as usize,
            more: f.more,
            payload: h.payload,
            payload_len: h.payload_len as usize,
            max_end: MAX_PAYLOAD_V6,
            info: h.info,
            header_len: h.header_len,
        }
    }
}

#[derive(Debug)]
struct Partial {
    key: Key,
    first_frame: u64,
    /// Facts of the fragment at offset 0, once seen.
    first: Option<IpInfo>,
    header_len: u32,
    data: Vec<u8>,
    have: Box<[u64; BLOCKS / 64]>,
    /// Payload length, once the last fragment (MF clear) is seen.
    total: Option<usize>,
}

impl Partial {
    fn has(&self, block: usize) -> bool {
        self.have
            .get(block / 64)
            .is_some_and(|w| w & (1u64 << (block % 64)) != 0)
    }
    fn set(&mut self, block: usize) {
        if let Some(w) = self.have.get_mut(block / 64) {
            *w |= 1u64 << (block % 64);
        }
    }
    fn complete(&self) -> bool {
        match self.total {
            Some(t) => (0..t.div_ceil(8)).all(|b| self.has(b)),
            None => false,
        }
    }
}

/// What happened to a fragment.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Held,
    Dropped,
    /// The datagram is whole: its payload is in [`Defrag::done`].
    Complete {
        info: IpInfo,
        protocol: u8,
    },
}

#[derive(Debug, Default)]
pub(crate) struct Defrag {
    parts: Vec<Partial>,
    bytes: usize,
    /// The payload of the datagram completed last.
    pub(crate) done: Vec<u8>,
    /// Held fragments' datagrams discarded by age or conflict.
    pub(crate) discarded: u64,
}

impl Defrag {
    fn remove(&mut self, i: usize) {
        if i < self.parts.len() {
            let p = self.parts.swap_remove(i);
            self.bytes = self.bytes.saturating_sub(p.data.len());
        }
    }

    fn expire(&mut self, frame: u64) {
        let mut i = 0;
        while i < self.parts.len() {
            let old = self
                .parts
                .get(i)
                .is_some_and(|p| frame.saturating_sub(p.first_frame) > MAX_AGE_FRAMES);
            if old {
                self.remove(i);
                self.discarded += 1;
            } else {
                i += 1;
            }
        }
    }

    /// Number of partial datagrams held.
    pub(crate) fn held(&self) -> usize {
        self.parts.len()
    }

    /// Add one fragment seen in frame `frame`.
    pub(crate) fn insert(&mut self, cfg: &SlicerConfig, frame: u64, f: &Fragment<'_>) -> Outcome {
        self.expire(frame);
        let len = f.payload.len();
        let off = f.offset;
        let end = off + len;
        // A fragment cut by the snap length cannot be reassembled; a
        // non-final fragment must be a multiple of 8 octets.
        if len < f.payload_len || end > f.max_end || (f.more && (len == 0 || len % 8 != 0)) {
            return Outcome::Dropped;
        }
        let key = f.key;
        let idx = match self.parts.iter().position(|p| p.key == key) {
            Some(i) => i,
            None => {
                if self.parts.len() >= cfg.max_fragment_datagrams {
                    return Outcome::Dropped;
                }
                self.parts.push(Partial {
                    key,
                    first_frame: frame,
                    first: None,
                    header_len: 20,
                    data: Vec::new(),
                    have: Box::new([0; BLOCKS / 64]),
                    total: None,
                });
                self.parts.len() - 1
            }
        };
        let Some(p) = self.parts.get_mut(idx) else {
            return Outcome::Dropped;
        };
        let growth = end.saturating_sub(p.data.len());
        if self.bytes + growth > cfg.max_fragment_bytes {
            if p.data.is_empty() {
                self.remove(idx);
            }
            return Outcome::Dropped;
        }
        // Conflicts: a second, different end; data past the end; bytes
        // that disagree with ones already held.
        let conflict = if !f.more {
            p.total.is_some_and(|t| t != end) || p.data.len() > end
        } else {
            p.total.is_some_and(|t| end > t)
        } || (off / 8..end.div_ceil(8)).any(|b| {
            p.has(b) && {
                let lo = b * 8;
                let hi = (lo + 8).min(end).min(p.data.len());
                p.data.get(lo..hi) != f.payload.get(lo - off..hi - off)
            }
        });
        if conflict {
            self.remove(idx);
            self.discarded += 1;
            return Outcome::Dropped;
        }
        if growth > 0 {
            p.data.resize(end, 0);
            self.bytes += growth;
        }
        if let Some(dst) = p.data.get_mut(off..end) {
            dst.copy_from_slice(f.payload);
        }
        for b in off / 8..end.div_ceil(8) {
            p.set(b);
        }
        if !f.more {
            p.total = Some(end);
        }
        if off == 0 {
            p.first = Some(f.info);
            p.header_len = f.header_len as u32;
        }
        if !p.complete() {
            return Outcome::Held;
        }
        let (Some(total), Some(mut info)) = (p.total, p.first) else {
            return Outcome::Held;
        };
        self.done.clear();
        self.done
            .extend_from_slice(p.data.get(..total).unwrap_or(&[]));
        info.reassembled = true;
        info.total_len = p.header_len + total as u32;
        info.dont_fragment = false;
        let protocol = p.key.protocol;
        self.remove(idx);
        Outcome::Complete { info, protocol }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::ip::{tests::v4_packet, v4};

    fn frag(id: u16, off: usize, mf: bool, data: &[u8]) -> Vec<u8> {
        let field = ((off / 8) as u16) | if mf { 0x2000 } else { 0 };
        v4_packet(6, id, field, data)
    }

    fn feed(d: &mut Defrag, cfg: &SlicerConfig, n: u64, pkt: &[u8]) -> Outcome {
        d.insert(cfg, n, &Fragment::v4(&v4(pkt).unwrap()))
    }

    fn payload() -> Vec<u8> {
        (0..40u8).collect()
    }

    #[test]
    fn in_order_and_out_of_order() {
        let cfg = SlicerConfig::default();
        let p = payload();
        let frags = [
            frag(1, 0, true, &p[..16]),
            frag(1, 16, true, &p[16..32]),
            frag(1, 32, false, &p[32..]),
        ];
        for order in [[0, 1, 2], [2, 0, 1], [1, 2, 0], [2, 1, 0]] {
            let mut d = Defrag::default();
            let mut last = Outcome::Held;
            for (k, &i) in order.iter().enumerate() {
                last = feed(&mut d, &cfg, k as u64 + 1, &frags[i]);
                if k < 2 {
                    assert_eq!(last, Outcome::Held);
                }
            }
            match last {
                Outcome::Complete { info, protocol } => {
                    assert_eq!(protocol, 6);
                    assert!(info.reassembled);
                    assert_eq!(info.total_len, 60);
                }
                other => panic!("{other:?}"),
            }
            assert_eq!(d.done, p);
            assert_eq!(d.held(), 0);
            assert_eq!(d.bytes, 0);
        }
    }

    #[test]
    fn overlaps_duplicates_and_conflicts() {
        let cfg = SlicerConfig::default();
        let p = payload();
        let mut d = Defrag::default();
        assert_eq!(
            feed(&mut d, &cfg, 1, &frag(2, 0, true, &p[..24])),
            Outcome::Held
        );
        // Exact duplicate and an agreeing overlap are fine.
        assert_eq!(
            feed(&mut d, &cfg, 2, &frag(2, 0, true, &p[..24])),
            Outcome::Held
        );
        assert_eq!(
            feed(&mut d, &cfg, 3, &frag(2, 16, true, &p[16..32])),
            Outcome::Held
        );
        assert!(matches!(
            feed(&mut d, &cfg, 4, &frag(2, 32, false, &p[32..])),
            Outcome::Complete { .. }
        ));
        assert_eq!(d.done, p);
        // A disagreeing overlap drops the datagram.
        let mut bad = p[8..24].to_vec();
        bad[3] ^= 0xff;
        assert_eq!(
            feed(&mut d, &cfg, 5, &frag(3, 0, true, &p[..16])),
            Outcome::Held
        );
        assert_eq!(
            feed(&mut d, &cfg, 6, &frag(3, 8, true, &bad)),
            Outcome::Dropped
        );
        assert_eq!(d.held(), 0);
        // Two different ends drop it too.
        assert_eq!(
            feed(&mut d, &cfg, 7, &frag(4, 16, false, &p[16..24])),
            Outcome::Held
        );
        assert_eq!(
            feed(&mut d, &cfg, 8, &frag(4, 16, false, &p[16..32])),
            Outcome::Dropped
        );
        // A non-final fragment not a multiple of 8 is invalid.
        assert_eq!(
            feed(&mut d, &cfg, 9, &frag(5, 0, true, &p[..10])),
            Outcome::Dropped
        );
    }

    #[test]
    fn bounds_are_enforced() {
        let cfg = SlicerConfig {
            max_fragment_datagrams: 2,
            max_fragment_bytes: 40,
        };
        let p = payload();
        let mut d = Defrag::default();
        assert_eq!(
            feed(&mut d, &cfg, 1, &frag(1, 0, true, &p[..16])),
            Outcome::Held
        );
        assert_eq!(
            feed(&mut d, &cfg, 2, &frag(2, 0, true, &p[..16])),
            Outcome::Held
        );
        assert_eq!(
            feed(&mut d, &cfg, 3, &frag(3, 0, true, &p[..16])),
            Outcome::Dropped
        );
        // Byte bound: 32 held, 16 more would exceed 40.
        assert_eq!(
            feed(&mut d, &cfg, 4, &frag(1, 16, true, &p[16..32])),
            Outcome::Dropped
        );
        assert_eq!(d.held(), 2);
        // Age: a fragment far later expires both.
        assert_eq!(
            feed(&mut d, &cfg, 5 + MAX_AGE_FRAMES, &frag(9, 0, true, &p[..8])),
            Outcome::Held
        );
        assert_eq!(d.held(), 1);
        assert_eq!(d.discarded, 2);
        assert_eq!(d.bytes, 8);
        // A fragment cut by the snap length is dropped.
        let f = frag(7, 0, true, &p[..16]);
        assert_eq!(
            feed(&mut d, &cfg, 6 + MAX_AGE_FRAMES, &f[..30]),
            Outcome::Dropped
        );
        // Offsets past 65535 are dropped.
        let f = frag(8, 65528, false, &p[..16]);
        assert_eq!(feed(&mut d, &cfg, 7 + MAX_AGE_FRAMES, &f), Outcome::Dropped);
    }
}
