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
use crate::common::{Duration, Timestamp};

/// A hole filled sooner than this after it showed is reordering, not loss
/// (the same threshold Wireshark uses for out-of-order segments).
pub(crate) const REORDER_THRESHOLD: Duration = Duration::from_millis(3);

/// Holes tracked at once per direction; a segment that would open one more
/// ends in-depth reassembly of the direction (it becomes `capped`).
pub(crate) const MAX_HOLES: usize = 1024;

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

/// What an insertion did, for the caller's event classification.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Inserted {
    /// The segment started above the highest byte seen (left a hole).
    pub above_hole: bool,
    /// The segment started below the highest byte seen.
    pub below_front: bool,
    /// Every byte of the segment below the front filled a hole that had
    /// shown less than [`REORDER_THRESHOLD`] before (reordering).
    pub fast_fill: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct Reassembler {
    depth_cap: usize,
    /// (sequence number, its stream offset): the reference for mapping.
    anchor: Option<(u32, u64)>,
    pub data: Vec<u8>,
    pub segments: Vec<Segment>,
    holes: Vec<Hole>,
    /// Closed gap records (holes filled by a retransmission).
    gaps: Vec<Gap>,
    /// Highest stream offset seen + 1.
    pub high: u64,
    pub capped: bool,
    /// Highest offset the peer acknowledged, and the frame that did.
    max_ack: Option<(u64, u64, Timestamp)>,
}

impl Reassembler {
    pub fn new(depth_cap: usize) -> Self {
        Reassembler {
            depth_cap,
            anchor: None,
            data: Vec::new(),
            segments: Vec::new(),
            holes: Vec::new(),
            gaps: Vec::new(),
            high: 0,
            capped: false,
            max_ack: None,
        }
    }

    pub fn anchored(&self) -> bool {
        self.anchor.is_some()
    }

    /// Set the sequence number of stream offset 0 (once).
    pub fn anchor_at(&mut self, seq0: u32) {
        if self.anchor.is_none() {
            self.anchor = Some((seq0, 0));
        }
    }

    /// Stream offset of a sequence number (negative: before offset 0).
    /// `None` before the direction is anchored.
    pub fn offset_of(&self, seq: u32) -> Option<i64> {
        let (rseq, roff) = self.anchor?;
        let delta = seq.wrapping_sub(rseq) as i32 as i64;
        Some((roff as i64).saturating_add(delta))
    }

    /// Move the reference forward so later sequence numbers stay within
    /// 2^31 of it.
    fn advance_anchor(&mut self, seq: u32, off: i64) {
        if let Some((_, roff)) = self.anchor {
            if off > roff as i64 {
                self.anchor = Some((seq, off as u64));
            }
        }
    }

    /// Insert a segment whose first payload byte has sequence number
    /// `seq`. `payload` is what was captured; `payload_len` what the
    /// headers say (larger when the snap length cut it).
    pub fn insert(
        &mut self,
        seq: u32,
        payload: &[u8],
        payload_len: u32,
        frame: u64,
        ts: Timestamp,
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
        if !self.capped {
            fill = self.write(start, bytes, frame, ts);
            if captured_end < end && !self.capped {
                self.cut(captured_end, end, frame, ts);
            }
        }
        if end > self.high {
            self.high = end;
        }
        if self.high > self.depth_cap as u64 {
            self.capped = true;
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
    fn write(&mut self, start: u64, bytes: &[u8], frame: u64, ts: Timestamp) -> Fill {
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
            fill = self.fill_holes(start, end.min(old_len), start, bytes, frame, ts);
        }
        if end > old_len {
            let from = start.max(old_len);
            if from > old_len {
                if self.holes.len() >= MAX_HOLES {
                    self.capped = true;
                    return fill;
                }
                self.holes.push(Hole {
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
    fn fill_holes(
        &mut self,
        lo: u64,
        hi: u64,
        seg_start: u64,
        bytes: &[u8],
        frame: u64,
        ts: Timestamp,
    ) -> Fill {
        let mut fill = Fill {
            filled: 0,
            all_fast: true,
        };
        let first = self.holes.partition_point(|h| h.end <= lo);
        let mut i = first;
        while let Some(h) = self.holes.get(i).copied() {
            if h.start >= hi {
                break;
            }
            let x = h.start.max(lo);
            let y = h.end.min(hi);
            let splits = x > h.start && y < h.end;
            if splits && self.holes.len() >= MAX_HOLES {
                // Keep the bound: these bytes stay missing.
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
            let fast = !h.snaplen && h.acked.is_none() && ts.since(h.ts) < REORDER_THRESHOLD;
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
            self.holes.splice(i..i + 1, rest);
            i += n;
        }
        fill
    }

    fn record_network_loss(&mut self, offset: u64, len: u64, frame: u64, ts: Timestamp) {
        if let Some(last) = self.gaps.last_mut() {
            if last.kind == GapKind::NetworkLoss
                && last.frame == frame
                && last.offset + last.len == offset
            {
                last.len += len;
                return;
            }
        }
        self.gaps.push(Gap {
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
        if self.holes.len() >= MAX_HOLES {
            self.capped = true;
            return;
        }
        self.holes.push(Hole {
            start: from,
            end: to,
            frame,
            ts,
            snaplen: true,
            acked: None,
        });
        self.data.resize(to as usize, 0);
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
            _ => self.segments.push(seg),
        }
    }

    /// The peer acknowledged up to sequence number `ack` (exclusive).
    pub fn on_ack(&mut self, ack: u32, frame: u64, ts: Timestamp) {
        let Some(off) = self.offset_of(ack) else {
            return;
        };
        if off <= 0 {
            return;
        }
        let off = off as u64;
        if matches!(self.max_ack, Some((a, _, _)) if a >= off) {
            return;
        }
        self.max_ack = Some((off, frame, ts));
        for h in self.holes.iter_mut() {
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
    pub fn finish(self, fin: bool) -> (Vec<u8>, Vec<Segment>, Vec<Gap>) {
        let mut gaps = self.gaps;
        for h in &self.holes {
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
        (self.data, self.segments, merged)
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Fill {
    /// Bytes written into holes.
    filled: u64,
    /// Every hole filled was filled quickly (reordering).
    all_fast: bool,
}
