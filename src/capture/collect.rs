//! Bookkeeping shared by the pcap and pcapng readers: frame numbering,
//! warnings (bounded), link-type counts and timestamp order.

use super::{CaptureInterface, CaptureWarning, Frame, LinkType, WarningKind, MAX_WARNINGS};
use crate::common::Timestamp;

pub(crate) struct Collector<F> {
    on_frame: F,
    /// Last frame number given out (every packet record counts).
    pub(crate) packets: u64,
    pub(crate) first_ts: Option<Timestamp>,
    pub(crate) max_ts: Option<Timestamp>,
    prev_ts: Option<Timestamp>,
    /// Inside a run of frames going back in time (warned once per run).
    backwards: bool,
    pub(crate) warnings: Vec<CaptureWarning>,
    pub(crate) warnings_total: u64,
    pub(crate) link_types: Vec<(LinkType, u64)>,
    /// Index into `link_types` of the previous frame's link type.
    last_link: usize,
    /// pcapng interfaces, the first [`MAX_INTERFACES`] of them.
    pub(crate) interfaces: Vec<CaptureInterface>,
    /// Who takes the TLS key logs of Decryption Secrets Blocks, if anyone.
    pub(crate) on_secrets: Option<super::SecretsSink>,
}

/// Interfaces described in a [`super::ReadSummary`]; past this they are
/// only counted (`CaptureFormat::PcapNg::interfaces`).
pub(crate) const MAX_INTERFACES: usize = 256;

impl<F: FnMut(&Frame<'_>)> Collector<F> {
    pub(crate) fn new(on_frame: F) -> Self {
        Collector {
            on_frame,
            packets: 0,
            first_ts: None,
            max_ts: None,
            prev_ts: None,
            backwards: false,
            warnings: Vec::new(),
            warnings_total: 0,
            link_types: Vec::new(),
            last_link: 0,
            interfaces: Vec::new(),
            on_secrets: None,
        }
    }

    /// A pcapng interface was described (`id` numbered across sections).
    pub(crate) fn interface(&mut self, id: u32, link: LinkType, name: Option<String>) {
        if self.interfaces.len() < MAX_INTERFACES {
            self.interfaces.push(CaptureInterface { id, link, name });
        }
    }

    /// Number the next packet record.
    pub(crate) fn next_number(&mut self) -> u64 {
        self.packets += 1;
        self.packets
    }

    pub(crate) fn warn(
        &mut self,
        offset: u64,
        frame: Option<u64>,
        kind: WarningKind,
        message: String,
    ) {
        self.warnings_total += 1;
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(CaptureWarning {
                offset,
                frame,
                kind,
                message,
            });
        }
    }

    /// Hand a frame (already numbered) to the caller, after the checks that
    /// concern every frame. `offset` is the stream offset of its record.
    pub(crate) fn deliver(&mut self, offset: u64, frame: &Frame<'_>) {
        self.count_link(offset, frame.number, frame.link);
        self.check_time(offset, frame.number, frame.ts);
        (self.on_frame)(frame);
    }

    fn count_link(&mut self, offset: u64, number: u64, link: LinkType) {
        if let Some(e) = self.link_types.get_mut(self.last_link) {
            if e.0 == link {
                e.1 += 1;
                return;
            }
        }
        if let Some(i) = self.link_types.iter().position(|e| e.0 == link) {
            self.last_link = i;
            if let Some(e) = self.link_types.get_mut(i) {
                e.1 += 1;
            }
            return;
        }
        self.last_link = self.link_types.len();
        self.link_types.push((link, 1));
        if !link.is_sliced() {
            self.warn(
                offset,
                Some(number),
                WarningKind::UnsupportedLinkType(link),
                format!(
                    "frame {number} (byte offset {offset}): link type {} is not supported; \
                     its packets are counted and skipped",
                    link.name()
                ),
            );
        }
    }

    fn check_time(&mut self, offset: u64, number: u64, ts: Timestamp) {
        if self.first_ts.is_none() {
            self.first_ts = Some(ts);
        }
        match self.max_ts {
            Some(m) if m >= ts => {}
            _ => self.max_ts = Some(ts),
        }
        match self.prev_ts {
            Some(prev) if ts < prev => {
                if !self.backwards {
                    self.backwards = true;
                    self.warn(
                        offset,
                        Some(number),
                        WarningKind::TimeWentBackwards,
                        format!(
                            "frame {number} (byte offset {offset}): timestamp {} is {} before \
                             the previous frame's",
                            ts.to_rfc3339(),
                            prev.since(ts)
                        ),
                    );
                }
            }
            _ => self.backwards = false,
        }
        self.prev_ts = Some(ts);
    }
}
