//! One direction of a TCP connection reassembled into a byte stream.
//!
//! Sequence numbers are mapped to 64-bit stream offsets (0 = the first
//! byte after the SYN, or the first sequence number seen when the
//! handshake is missing) with wrapping 32-bit arithmetic around a moving
//! reference point, so streams longer than 4 GiB and sequence wrap-around
//! are handled. Bytes are written in place into one buffer of at most
//! `depth_cap` bytes: holes are zero-filled and remembered, so out-of-order
//! data needs no separate pending buffer and memory is bounded by the cap.
//! The first copy of a byte wins (what a receiver keeps); later copies
//! only count.

use super::{Gap, GapKind, Segment};
use crate::common::{Duration, KeepLimit, Timestamp};
use std::num::NonZeroU64;

/// A hole filled sooner than this after the front last advanced is
/// reordering, not loss, when the handshake RTT is unknown (Wireshark's
/// default out-of-order threshold).
pub(crate) const REORDER_THRESHOLD: Duration = Duration::from_millis(3);

/// Holes tracked at once per direction; a segment that would open one more
/// ends in-depth reassembly of the direction (its `limit` is set).
pub(crate) const MAX_HOLES: usize = 1024;

/// Bytes kept zero-filled in holes at once per direction; a hole that would
/// pass it ends in-depth reassembly of the direction, like [`MAX_HOLES`].
/// Without it, sparse segments make a connection hold its whole depth cap
/// in zeros (1,000 connections of two one-byte segments 1 MiB apart: 1 GB
/// held for 100 kB of capture).
pub(crate) const MAX_HOLE_BYTES: u64 = 256 << 10;

/// An uncovered byte range inside `data`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Hole {
    start: u64,
    end: u64,
    /// The frame where the hole showed (the segment after it, or the
    /// truncated frame).
    frame: u64,
    ts: Timestamp,
    /// Cut by the snap length rather than missing.
    snaplen: bool,
    /// The first peer ACK that covered bytes of this hole.
    acked: Option<(u64, Timestamp)>,
}

/// What is missing from a direction.
#[derive(Clone, Debug, Default)]
struct Lost {
    /// Uncovered ranges of `data`, in stream order.
    holes: Vec<Hole>,
    /// Closed gap records (holes filled by a retransmission).
    gaps: Vec<Gap>,
    /// Bytes now in holes (zero-filled in `data`), bounded by
    /// [`MAX_HOLE_BYTES`].
    hole_bytes: u64,
}

/// What an insertion did, for the caller's event classification.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Inserted {
    /// The segment started above the highest byte seen (left a hole).
    pub above_hole: bool,
    /// The segment started below the highest byte seen.
    pub below_front: bool,
    /// Every byte of the segment below the front filled a hole, within
    /// the reordering window of the front's last advance (reordering).
    pub fast_fill: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct Reassembler {
    depth_cap: usize,
    /// The reference for mapping: a sequence number (none before the
    /// direction is anchored) and its stream offset. Two fields, not an
    /// `Option` of the pair: 16 bytes instead of 24 (the pair has no
    /// niche), which with `max_ack` keeps a connection's state within
    /// 1,024 bytes, one allocator size class.
    anchor_seq: Option<u32>,
    anchor_off: u64,
    pub data: Vec<u8>,
    pub segments: Vec<Segment>,
    /// Holes and gaps, made at the first hole: most directions never
    /// have one, and the two empty vectors and the count inline would
    /// cost 48 bytes a direction.
    lost: Option<Box<Lost>>,
    /// Highest stream offset seen + 1.
    pub high: u64,
    /// When `high` last advanced.
    front_ts: Timestamp,
    /// Set once a bound stopped bytes from being kept (the most telling
    /// one: a hole limit or the budget outranks the depth cap).
    pub limit: Option<KeepLimit>,
    /// In-depth reassembly ended because [`MAX_HOLES`] was reached. (The
    /// depth cap alone does not end it: bytes below the cap that arrive
    /// after a segment past it are still kept.)
    holes_full: bool,
    /// Highest offset the peer acknowledged, and the frame that did.
    /// Only offsets past 0 are recorded, so the offset is non-zero and
    /// the `Option` costs nothing.
    max_ack: Option<(NonZeroU64, u64, Timestamp)>,
}

impl Reassembler {
    pub fn new(depth_cap: usize) -> Self {
        Reassembler {
            depth_cap,
            anchor_seq: None,
            anchor_off: 0,
            data: Vec::new(),
            segments: Vec::new(),
            lost: None,
            high: 0,
            front_ts: Timestamp(0),
            limit: None,
            holes_full: false,
            max_ack: None,
        }
    }

    /// The holes now open (none before the first).
    fn holes(&self) -> &[Hole] {
        self.lost.as_deref().map_or(&[], |l| &l.holes)
    }

    /// What is missing, made at the first use.
    fn lost(&mut self) -> &mut Lost {
        self.lost.get_or_insert_with(Box::default)
    }

    pub fn anchored(&self) -> bool {
        self.anchor_seq.is_some()
    }

    /// Set the sequence number of stream offset 0 (once).
    pub fn anchor_at(&mut self, seq0: u32) {
        if self.anchor_seq.is_none() {
            self.anchor_seq = Some(seq0);
            self.anchor_off = 0;
        }
    }

    /// Stream offset of a sequence number (negative: before offset 0).
    /// `None` before the direction is anchored.
    pub fn offset_of(&self, seq: u32) -> Option<i64> {
        let (rseq, roff) = (self.anchor_seq?, self.anchor_off);
        let delta = seq.wrapping_sub(rseq) as i32 as i64;
        Some((roff as i64).saturating_add(delta))
    }

    /// Move the reference forward so later sequence numbers stay within
    /// 2^31 of it.
    fn advance_anchor(&mut self, seq: u32, off: i64) {
        if self.anchor_seq.is_some() && off > self.anchor_off as i64 {
            self.anchor_seq = Some(seq);
            self.anchor_off = off as u64;
        }
    }

    /// Insert a segment whose first payload byte has sequence number
    /// `seq`. `payload` is what was captured; `payload_len` what the
    /// headers say (larger when the snap length cut it). Holes filled
    /// less than `reorder` after the front last advanced count as
    /// reordering; later fills as network loss.
    pub fn insert(
        &mut self,
        seq: u32,
        payload: &[u8],
        payload_len: u32,
        frame: u64,
        ts: Timestamp,
        reorder: Duration,
    ) -> Inserted {
        let mut out = Inserted::default();
        let Some(off) = self.offset_of(seq) else {
            return out;
        };
        let cap_len = payload.len().min(payload_len as usize);
        let wire_len = i64::from(payload_len);
        if wire_len == 0 {
            return out;
        }
        let end = off.saturating_add(wire_len);
        if end <= 0 {
            // Entirely before offset 0 (mid-stream start): an old copy.
            out.below_front = true;
            return out;
        }
        let end = end as u64;
        let start = off.max(0) as u64;
        let old_high = self.high;
        out.above_hole = start > old_high;
        out.below_front = start < old_high || off < 0;
        // Captured bytes at offsets >= 0.
        let skip = usize::try_from(start as i64 - off).unwrap_or(usize::MAX);
        let bytes = payload.get(skip..cap_len).unwrap_or(&[]);
        let captured_end = start + bytes.len() as u64;
        let mut fill = Fill::default();
        if !self.holes_full {
            let fast = ts.since(self.front_ts) < reorder;
            fill = self.write(start, bytes, frame, ts, fast);
            if captured_end < end && !self.holes_full {
                self.cut(captured_end, end, frame, ts);
            }
        }
        if end > self.high {
            self.high = end;
            self.front_ts = ts;
        }
        if self.high > self.depth_cap as u64 {
            self.set_limit(KeepLimit::DepthCap {
                bytes: self.depth_cap as u64,
            });
        }
        self.advance_anchor(seq.wrapping_add(payload_len), end as i64);
        // Fast fill: bytes below the old front all filled recent holes.
        let below_bytes = old_high.min(end).saturating_sub(start);
        out.fast_fill = out.below_front
            && off >= 0
            && below_bytes > 0
            && fill.filled == below_bytes
            && fill.all_fast;
        out
    }

    /// Write captured bytes at `start` (first copy wins).
    fn write(&mut self, start: u64, bytes: &[u8], frame: u64, ts: Timestamp, fast: bool) -> Fill {
        let cap = self.depth_cap as u64;
        let end = start.saturating_add(bytes.len() as u64).min(cap);
        let mut fill = Fill {
            filled: 0,
            all_fast: true,
        };
        if start >= end {
            return fill;
        }
        let old_len = self.data.len() as u64;
        if start < old_len {
            fill = self.fill_holes(start, end.min(old_len), start, bytes, frame, ts, fast);
        }
        if end > old_len {
            let from = start.max(old_len);
            if from > old_len {
                if !self.room_for_hole(from - old_len) {
                    return fill;
                }
                self.lost().holes.push(Hole {
                    start: old_len,
                    end: from,
                    frame,
                    ts,
                    snaplen: false,
                    acked: None,
                });
                self.data.resize(from as usize, 0);
            }
            let a = (from - start) as usize;
            let b = (end - start) as usize;
            if let Some(chunk) = bytes.get(a..b) {
                self.data.extend_from_slice(chunk);
                self.push_segment(from, chunk.len() as u32, frame, ts);
            }
        }
        fill
    }

    /// Copy the bytes of `[lo, hi)` that fall into holes; split the holes.
    /// `fast`: in time to be reordering.
    #[allow(clippy::too_many_arguments)]
    fn fill_holes(
        &mut self,
        lo: u64,
        hi: u64,
        seg_start: u64,
        bytes: &[u8],
        frame: u64,
        ts: Timestamp,
        fast: bool,
    ) -> Fill {
        let mut fill = Fill {
            filled: 0,
            all_fast: true,
        };
        let first = self.holes().partition_point(|h| h.end <= lo);
        let mut i = first;
        while let Some(h) = self.holes().get(i).copied() {
            if h.start >= hi {
                break;
            }
            let x = h.start.max(lo);
            let y = h.end.min(hi);
            let splits = x > h.start && y < h.end;
            if splits && self.holes().len() >= MAX_HOLES {
                // Keep the bound: these bytes stay missing, and say why.
                self.set_limit(KeepLimit::Holes {
                    max: MAX_HOLES as u64,
                });
                fill.all_fast = false;
                i += 1;
                continue;
            }
            let src = bytes.get((x - seg_start) as usize..(y - seg_start) as usize);
            let dst = self.data.get_mut(x as usize..y as usize);
            let (Some(src), Some(dst)) = (src, dst) else {
                i += 1;
                continue;
            };
            dst.copy_from_slice(src);
            self.push_segment(x, (y - x) as u32, frame, ts);
            fill.filled += y - x;
            let lost = self.lost();
            lost.hole_bytes = lost.hole_bytes.saturating_sub(y - x);
            let fast = fast && !h.snaplen && h.acked.is_none();
            if !fast {
                fill.all_fast = false;
                if !h.snaplen && h.acked.is_none() {
                    self.record_network_loss(x, y - x, h.frame, h.ts);
                }
            }
            // Replace the hole by what is left of it.
            let mut rest = Vec::with_capacity(2);
            if x > h.start {
                rest.push(Hole { end: x, ..h });
            }
            if y < h.end {
                rest.push(Hole { start: y, ..h });
            }
            let n = rest.len();
            self.lost().holes.splice(i..i + 1, rest);
            i += n;
        }
        fill
    }

    fn record_network_loss(&mut self, offset: u64, len: u64, frame: u64, ts: Timestamp) {
        let gaps = &mut self.lost().gaps;
        if let Some(last) = gaps.last_mut() {
            if last.kind == GapKind::NetworkLoss
                && last.frame == frame
                && last.offset + last.len == offset
            {
                last.len += len;
                return;
            }
        }
        gaps.push(Gap {
            offset,
            len,
            kind: GapKind::NetworkLoss,
            frame,
            ts,
        });
    }

    /// Bytes `[from, to)` announced by the headers but cut by the snap
    /// length.
    fn cut(&mut self, from: u64, to: u64, frame: u64, ts: Timestamp) {
        let len = self.data.len() as u64;
        let to = to.min(self.depth_cap as u64);
        let from = from.max(len);
        if from >= to || from > len {
            return;
        }
        if !self.room_for_hole(to - from) {
            return;
        }
        self.lost().holes.push(Hole {
            start: from,
            end: to,
            frame,
            ts,
            snaplen: true,
            acked: None,
        });
        self.data.resize(to as usize, 0);
    }

    /// Whether one more hole of `len` bytes may be kept. If not, in-depth
    /// reassembly of the direction ends here (`limit` is set): the bounds on
    /// holes are what keep memory proportional to the captured bytes.
    fn room_for_hole(&mut self, len: u64) -> bool {
        let held = self.lost.as_deref().map_or(0, |l| l.hole_bytes);
        let limit = if self.holes().len() >= MAX_HOLES {
            KeepLimit::Holes {
                max: MAX_HOLES as u64,
            }
        } else if held.saturating_add(len) > MAX_HOLE_BYTES {
            KeepLimit::HoleBytes {
                max: MAX_HOLE_BYTES,
            }
        } else {
            self.lost().hole_bytes += len;
            return true;
        };
        self.set_limit(limit);
        self.holes_full = true;
        false
    }

    /// Record why bytes were not kept. The depth cap is the usual end of
    /// a long connection; any other limit means bytes were lost below it
    /// and is the one worth telling, so it replaces the depth cap.
    fn set_limit(&mut self, limit: KeepLimit) {
        match self.limit {
            None => self.limit = Some(limit),
            Some(old) if !old.lost_in_depth() && limit.lost_in_depth() => self.limit = Some(limit),
            Some(_) => {}
        }
    }

    /// Bytes held for this direction (kept data and zero-filled holes).
    pub fn held(&self) -> usize {
        self.data.len()
    }

    /// Stop keeping bytes (a total memory budget was reached): what is
    /// held stays, the rest is counted only.
    pub fn stop_keeping(&mut self, budget: u64) {
        self.set_limit(KeepLimit::MemoryBudget { bytes: budget });
        self.holes_full = true;
    }

    fn push_segment(&mut self, offset: u64, len: u32, frame: u64, ts: Timestamp) {
        let seg = Segment {
            offset,
            len,
            frame,
            ts,
        };
        match self.segments.last() {
            Some(last) if last.offset > offset => {
                let at = self.segments.partition_point(|s| s.offset < offset);
                self.segments.insert(at, seg);
            }
            _ => super::push_tight(&mut self.segments, seg),
        }
    }

    /// A segment without payload (an ACK or a FIN) at sequence number
    /// `seq` says its sender has sent every byte before `seq`. Bytes past
    /// the highest one captured are missing: open a hole for them (within
    /// the depth cap) and move the front. Returns whether it did.
    pub fn note_sent_before(&mut self, seq: u32, frame: u64, ts: Timestamp) -> bool {
        let Some(off) = self.offset_of(seq) else {
            return false;
        };
        if off <= self.high as i64 {
            return false;
        }
        let end = off as u64;
        self.high = end;
        self.front_ts = ts;
        self.advance_anchor(seq, off);
        let len = self.data.len() as u64;
        let to = end.min(self.depth_cap as u64);
        if !self.holes_full && to > len && self.room_for_hole(to - len) {
            self.lost().holes.push(Hole {
                start: len,
                end: to,
                frame,
                ts,
                snaplen: false,
                acked: None,
            });
            self.data.resize(to as usize, 0);
        }
        if self.high > self.depth_cap as u64 {
            self.set_limit(KeepLimit::DepthCap {
                bytes: self.depth_cap as u64,
            });
        }
        true
    }

    /// The peer acknowledged up to sequence number `ack` (exclusive).
    pub fn on_ack(&mut self, ack: u32, frame: u64, ts: Timestamp) {
        let Some(off) = self.offset_of(ack) else {
            return;
        };
        let Some(nonzero) = u64::try_from(off).ok().and_then(NonZeroU64::new) else {
            return;
        };
        let off = nonzero.get();
        if matches!(self.max_ack, Some((a, _, _)) if a.get() >= off) {
            return;
        }
        self.max_ack = Some((nonzero, frame, ts));
        let holes = self
            .lost
            .as_deref_mut()
            .map_or(&mut [][..], |l| &mut l.holes[..]);
        for h in holes.iter_mut() {
            if h.start >= off {
                break;
            }
            if h.acked.is_none() && !h.snaplen {
                h.acked = Some((frame, ts));
            }
        }
    }

    /// Close the direction: the kept bytes, who delivered them, and the
    /// classified gaps (sorted by offset). `fin` is whether a FIN was seen.
    /// The direction's bytes, segments and gaps, taken out (the
    /// reassembler is left empty).
    pub fn finish(&mut self, fin: bool) -> (Vec<u8>, Vec<Segment>, Vec<Gap>) {
        let Lost {
            mut gaps, holes, ..
        } = self.lost.take().map(|l| *l).unwrap_or_default();
        for h in &holes {
            let (kind, frame, ts) = if h.snaplen {
                (GapKind::Snaplen, h.frame, h.ts)
            } else if let Some((f, t)) = h.acked {
                (GapKind::CaptureLoss, f, t)
            } else {
                (GapKind::Unknown, h.frame, h.ts)
            };
            gaps.push(Gap {
                offset: h.start,
                len: h.end - h.start,
                kind,
                frame,
                ts,
            });
        }
        // The peer acknowledged bytes past the last one captured. One
        // byte more without a FIN seen is most likely the FIN itself.
        if let Some((a, frame, ts)) = self.max_ack {
            let a = a.get();
            let expected = self.high + u64::from(fin);
            if a > expected && (fin || a != self.high + 1) {
                gaps.push(Gap {
                    offset: self.high,
                    len: a - expected,
                    kind: GapKind::CaptureLoss,
                    frame,
                    ts,
                });
            }
        }
        gaps.sort_by_key(|g| (g.offset, g.frame));
        let mut merged: Vec<Gap> = Vec::with_capacity(gaps.len());
        for g in gaps {
            match merged.last_mut() {
                Some(last) if last.kind == g.kind && last.offset + last.len == g.offset => {
                    last.len += g.len;
                }
                _ => merged.push(g),
            }
        }
        (
            std::mem::take(&mut self.data),
            std::mem::take(&mut self.segments),
            merged,
        )
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Fill {
    /// Bytes written into holes.
    filled: u64,
    /// Every hole filled was filled quickly (reordering).
    all_fast: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ISN: u32 = 1000;

    fn r(cap: usize) -> Reassembler {
        let mut r = Reassembler::new(cap);
        r.anchor_at(ISN + 1);
        r
    }

    fn ms(n: i64) -> Timestamp {
        Timestamp(n * 1_000_000)
    }

    fn ins(r: &mut Reassembler, off: u32, bytes: &[u8], frame: u64, t: i64) -> Inserted {
        r.insert(
            ISN + 1 + off,
            bytes,
            bytes.len() as u32,
            frame,
            ms(t),
            REORDER_THRESHOLD,
        )
    }

    #[test]
    fn in_order_segments_concatenate() {
        let mut r = r(100);
        let a = ins(&mut r, 0, b"hello ", 1, 0);
        let b = ins(&mut r, 6, b"world", 2, 1);
        assert_eq!(a, Inserted::default());
        assert_eq!(b, Inserted::default());
        let (data, segs, gaps) = r.finish(false);
        assert_eq!(data, b"hello world");
        assert_eq!(
            segs.iter()
                .map(|s| (s.offset, s.len, s.frame))
                .collect::<Vec<_>>(),
            vec![(0, 6, 1), (6, 5, 2)]
        );
        assert!(gaps.is_empty());
    }

    #[test]
    fn out_of_order_fast_fill_is_reordering() {
        let mut r = r(100);
        ins(&mut r, 0, b"aa", 1, 0);
        let above = ins(&mut r, 4, b"cc", 2, 0);
        assert!(above.above_hole && !above.below_front);
        let fill = ins(&mut r, 2, b"bb", 3, 1);
        assert!(fill.below_front && fill.fast_fill);
        let (data, segs, gaps) = r.finish(false);
        assert_eq!(data, b"aabbcc");
        assert_eq!(
            segs.iter().map(|s| (s.offset, s.frame)).collect::<Vec<_>>(),
            vec![(0, 1), (2, 3), (4, 2)]
        );
        assert!(gaps.is_empty());
    }

    #[test]
    fn slow_fill_is_network_loss() {
        let mut r = r(100);
        ins(&mut r, 0, b"aa", 1, 0);
        ins(&mut r, 4, b"cc", 2, 1);
        let fill = ins(&mut r, 2, b"bb", 3, 300);
        assert!(fill.below_front && !fill.fast_fill);
        let (data, _, gaps) = r.finish(false);
        assert_eq!(data, b"aabbcc");
        assert_eq!(
            gaps,
            vec![Gap {
                offset: 2,
                len: 2,
                kind: GapKind::NetworkLoss,
                frame: 2,
                ts: ms(1)
            }]
        );
    }

    #[test]
    fn overlap_first_copy_wins() {
        let mut r = r(100);
        ins(&mut r, 0, b"abcd", 1, 0);
        ins(&mut r, 6, b"gh", 2, 0);
        // Overlaps "cd", fills the hole "ef", overlaps "g".
        let x = ins(&mut r, 2, b"XXefX", 3, 100);
        assert!(x.below_front && !x.fast_fill);
        let (data, segs, gaps) = r.finish(false);
        assert_eq!(data, b"abcdefgh");
        assert_eq!(
            segs.iter()
                .map(|s| (s.offset, s.len, s.frame))
                .collect::<Vec<_>>(),
            vec![(0, 4, 1), (4, 2, 3), (6, 2, 2)]
        );
        assert_eq!(gaps.len(), 1);
        assert_eq!(gaps[0].kind, GapKind::NetworkLoss);
        // A whole duplicate changes nothing.
        let mut r2 = Reassembler::new(100);
        r2.anchor_at(5);
        r2.insert(5, b"abc", 3, 1, ms(0), REORDER_THRESHOLD);
        let d = r2.insert(5, b"XYZ", 3, 2, ms(1), REORDER_THRESHOLD);
        assert!(d.below_front && !d.fast_fill);
        assert_eq!(r2.finish(false).0, b"abc");
    }

    #[test]
    fn unfilled_hole_is_unknown_or_capture_loss() {
        let mut r1 = r(100);
        ins(&mut r1, 0, b"aa", 1, 0);
        ins(&mut r1, 5, b"ff", 2, 0);
        let (data, _, gaps) = r1.finish(false);
        assert_eq!(data, b"aa\0\0\0ff");
        assert_eq!(
            (gaps[0].offset, gaps[0].len, gaps[0].kind, gaps[0].frame),
            (2, 3, GapKind::Unknown, 2)
        );

        let mut r2 = r(100);
        ins(&mut r2, 0, b"aa", 1, 0);
        ins(&mut r2, 5, b"ff", 2, 0);
        r2.on_ack(ISN + 1 + 7, 3, ms(5));
        let (_, _, gaps) = r2.finish(false);
        assert_eq!(
            (gaps[0].offset, gaps[0].len, gaps[0].kind, gaps[0].frame),
            (2, 3, GapKind::CaptureLoss, 3)
        );
    }

    #[test]
    fn a_bare_ack_past_the_front_opens_a_hole() {
        // Lab capture 20 (MTU black hole, client side): the server's 19-byte
        // Connection Confirm arrives, its 1206-byte flight never does, then
        // its ACKs carry the sequence number after that flight.
        let mut a = r(1 << 20);
        ins(&mut a, 0, &[7u8; 19], 6, 1);
        assert!(
            !a.note_sent_before(ISN + 1 + 19, 9, ms(2)),
            "at the front: nothing missing"
        );
        assert!(a.note_sent_before(ISN + 1 + 1225, 11, ms(3)));
        assert_eq!(a.high, 1225);
        let (data, _, gaps) = a.finish(false);
        assert_eq!(data.len(), 1225);
        assert_eq!(
            gaps,
            vec![Gap {
                offset: 19,
                len: 1206,
                kind: GapKind::Unknown,
                frame: 11,
                ts: ms(3),
            }]
        );
    }

    #[test]
    fn a_bare_ack_past_the_front_that_the_peer_acked_is_capture_loss() {
        let mut a = r(1 << 20);
        ins(&mut a, 0, &[7u8; 10], 2, 1);
        a.note_sent_before(ISN + 1 + 110, 3, ms(2));
        a.on_ack(ISN + 1 + 110, 4, ms(3));
        let (_, _, gaps) = a.finish(false);
        assert_eq!(gaps.len(), 1);
        assert_eq!(
            (gaps[0].offset, gaps[0].len, gaps[0].kind),
            (10, 100, GapKind::CaptureLoss)
        );
    }

    #[test]
    fn ack_past_the_end_is_capture_loss() {
        let mut r1 = r(100);
        ins(&mut r1, 0, b"abcd", 1, 0);
        r1.on_ack(ISN + 1 + 10, 2, ms(1));
        let (_, _, gaps) = r1.finish(false);
        assert_eq!(
            gaps,
            vec![Gap {
                offset: 4,
                len: 6,
                kind: GapKind::CaptureLoss,
                frame: 2,
                ts: ms(1)
            }]
        );
        // One byte past the end without a FIN seen: the missed FIN.
        let mut r2 = r(100);
        ins(&mut r2, 0, b"abcd", 1, 0);
        r2.on_ack(ISN + 1 + 5, 2, ms(1));
        assert!(r2.finish(false).2.is_empty());
        // With the FIN seen, its acknowledgement is no loss either.
        let mut r3 = r(100);
        ins(&mut r3, 0, b"abcd", 1, 0);
        r3.on_ack(ISN + 1 + 5, 2, ms(1));
        assert!(r3.finish(true).2.is_empty());
    }

    #[test]
    fn snaplen_cut_is_a_gap_and_a_retransmission_fills_it() {
        let mut r1 = r(100);
        r1.insert(ISN + 1, b"abc", 8, 1, ms(0), REORDER_THRESHOLD);
        ins(&mut r1, 8, b"ij", 2, 0);
        assert_eq!(r1.high, 10);
        let (data, _, gaps) = r1.finish(false);
        assert_eq!(data, b"abc\0\0\0\0\0ij");
        assert_eq!(
            gaps,
            vec![Gap {
                offset: 3,
                len: 5,
                kind: GapKind::Snaplen,
                frame: 1,
                ts: ms(0)
            }]
        );
        let mut r2 = r(100);
        r2.insert(ISN + 1, b"abc", 8, 1, ms(0), REORDER_THRESHOLD);
        ins(&mut r2, 0, b"abcdefgh", 2, 500);
        let (data, _, gaps) = r2.finish(false);
        assert_eq!(data, b"abcdefgh");
        assert!(gaps.is_empty());
    }

    #[test]
    fn sequence_wraps_around() {
        let mut r = Reassembler::new(100);
        let isn = u32::MAX - 3;
        r.anchor_at(isn.wrapping_add(1));
        r.insert(isn.wrapping_add(1), b"abcd", 4, 1, ms(0), REORDER_THRESHOLD);
        r.insert(isn.wrapping_add(5), b"efgh", 4, 2, ms(0), REORDER_THRESHOLD);
        r.insert(isn.wrapping_add(9), b"ij", 2, 3, ms(0), REORDER_THRESHOLD);
        assert_eq!(r.offset_of(2), Some(5));
        let (data, segs, gaps) = r.finish(false);
        assert_eq!(data, b"abcdefghij");
        assert_eq!(segs.len(), 3);
        assert!(gaps.is_empty());
    }

    #[test]
    fn offsets_go_past_4_gib() {
        let mut r = Reassembler::new(4);
        r.anchor_at(0);
        let chunk = vec![7u8; 60_000];
        let mut seq = 0u32;
        for i in 0..80_000u64 {
            r.insert(seq, &chunk, 60_000, i, ms(0), REORDER_THRESHOLD);
            seq = seq.wrapping_add(60_000);
        }
        assert_eq!(r.high, 80_000 * 60_000);
        assert!(r.high > u64::from(u32::MAX));
        assert!(r.limit.is_some());
        assert_eq!(r.data.len(), 4);
    }

    #[test]
    fn depth_cap_keeps_the_first_bytes_only() {
        let mut r = r(5);
        ins(&mut r, 0, b"abc", 1, 0);
        assert!(r.limit.is_none());
        ins(&mut r, 3, b"defg", 2, 0);
        assert!(r.limit.is_some());
        ins(&mut r, 7, b"hi", 3, 0);
        assert_eq!(r.high, 9);
        let (data, segs, _) = r.finish(false);
        assert_eq!(data, b"abcde");
        assert_eq!(segs.last().map(|s| (s.offset, s.len)), Some((3, 2)));
    }

    #[test]
    fn bytes_before_offset_zero_are_dropped() {
        let mut r = Reassembler::new(100);
        r.anchor_at(500);
        let old = r.insert(490, b"0123456789", 10, 1, ms(0), REORDER_THRESHOLD);
        assert!(old.below_front);
        let part = r.insert(495, b"56789abc", 8, 2, ms(0), REORDER_THRESHOLD);
        assert!(part.below_front);
        let (data, _, _) = r.finish(false);
        assert_eq!(data, b"abc");
    }

    #[test]
    fn holes_are_bounded() {
        let mut r = r(1 << 20);
        for i in 0..(MAX_HOLES as u32 + 10) {
            ins(&mut r, i * 2, b"x", u64::from(i), 0);
        }
        assert!(r.limit.is_some());
        assert!(r.holes().len() <= MAX_HOLES);
        assert!(r.data.len() <= 2 * MAX_HOLES + 1);
    }

    #[test]
    fn unanchored_direction_ignores_everything() {
        let mut r = Reassembler::new(10);
        assert_eq!(
            r.insert(1, b"abc", 3, 1, ms(0), REORDER_THRESHOLD),
            Inserted::default()
        );
        r.on_ack(5, 1, ms(0));
        let (data, segs, gaps) = r.finish(false);
        assert!(data.is_empty() && segs.is_empty() && gaps.is_empty());
    }

    /// A stream of `len` bytes with `holes` never sent, cut into segments
    /// at `cuts`, delivered in a shuffled order with duplicates.
    /// (stream bytes, holes as (start, len), extra copies, ISN).
    type Scenario = (Vec<u8>, Vec<(usize, usize)>, Vec<(usize, usize)>, u32);

    fn scenario() -> impl Strategy<Value = Scenario> {
        (1usize..400, any::<u32>()).prop_flat_map(|(len, isn)| {
            (
                proptest::collection::vec(any::<u8>(), len),
                proptest::collection::vec((0..len, 1usize..40), 0..4),
                proptest::collection::vec((0..len, 1usize..120), 1..60),
                Just(isn),
            )
        })
    }

    proptest! {
        #[test]
        fn any_segmentation_order_and_duplication_gives_the_same_stream(
            (bytes, holes, segs, isn) in scenario(),
            seed in any::<u64>(),
        ) {
            let len = bytes.len();
            let mut missing = vec![false; len];
            for (s, l) in &holes {
                for m in missing.iter_mut().skip(*s).take(*l) {
                    *m = true;
                }
            }
            // Segments: a clean cover of the present bytes plus random
            // (possibly overlapping) copies clipped to present runs.
            let mut pieces: Vec<(usize, usize)> = Vec::new();
            let mut i = 0;
            while i < len {
                if missing[i] { i += 1; continue; }
                let mut j = i;
                while j < len && !missing[j] && j - i < 37 { j += 1; }
                pieces.push((i, j));
                i = j;
            }
            for (s, l) in &segs {
                let mut e = *s;
                while e < len && e < s + l && !missing[e] { e += 1; }
                if e > *s { pieces.push((*s, e)); }
            }
            // Deterministic shuffle from the seed.
            let mut st = seed | 1;
            for k in (1..pieces.len()).rev() {
                st ^= st << 13; st ^= st >> 7; st ^= st << 17;
                pieces.swap(k, (st % (k as u64 + 1)) as usize);
            }
            let mut r = Reassembler::new(1 << 16);
            r.anchor_at(isn);
            for (n, (a, b)) in pieces.iter().enumerate() {
                let seq = isn.wrapping_add(*a as u32);
                r.insert(seq, &bytes[*a..*b], (*b - *a) as u32, n as u64 + 1, Timestamp(0), REORDER_THRESHOLD);
            }
            let end = (0..len).rev().find(|&k| !missing[k]).map_or(0, |k| k + 1);
            let mut expect = bytes[..end].to_vec();
            let mut expect_gaps = Vec::new();
            let mut k = 0;
            while k < end {
                if missing[k] {
                    let s = k;
                    while k < end && missing[k] { expect[k] = 0; k += 1; }
                    expect_gaps.push((s as u64, (k - s) as u64, GapKind::Unknown));
                } else {
                    k += 1;
                }
            }
            let (data, segments, gaps) = r.finish(false);
            prop_assert_eq!(&data, &expect);
            let got: Vec<_> = gaps.iter().map(|g| (g.offset, g.len, g.kind)).collect();
            prop_assert_eq!(got, expect_gaps);
            // Segments are in stream order, disjoint, and inside the data.
            let mut at = 0u64;
            for s in &segments {
                prop_assert!(s.offset >= at);
                at = s.offset + u64::from(s.len);
            }
            prop_assert!(at <= data.len() as u64);
        }
    }
}
