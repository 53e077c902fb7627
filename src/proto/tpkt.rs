//! Framing of the RDP byte stream: TPKT (RFC 1006 section 6) and the
//! fast-path PDU header ([MS-RDPBCGR] 2.2.8.1.2 / 2.2.9.1.2). The first
//! byte tells them apart: a TPKT header starts with version 3 (action bits
//! `11`), a fast-path header with action `00`.
//!
//! Framing (`find_size`) is kept apart from decoding: it only says how many
//! bytes the next PDU takes, so a caller can wait for more bytes, skip a PDU
//! or resynchronise without decoding it.
//!
//! Also the shared checked cursor ([`Reader`]) and the error type used by
//! the RDP decoders of this crate.

/// Why a PDU could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PduError {
    /// The bytes end before the PDU does.
    Incomplete,
    /// The bytes are not this PDU.
    Invalid(String),
}

pub type PduResult<T> = Result<T, PduError>;

pub(crate) fn invalid<T>(what: impl Into<String>) -> PduResult<T> {
    Err(PduError::Invalid(what.into()))
}

/// A zero-copy cursor over a byte slice; every read checks its length first
/// and gives [`PduError::Incomplete`] when the bytes run out.
#[derive(Clone, Copy, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }
    pub fn pos(&self) -> usize {
        self.pos
    }
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }
    /// The bytes not read yet.
    pub fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }
    pub fn take(&mut self, n: usize) -> PduResult<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or(PduError::Incomplete)?;
        let s = self.buf.get(self.pos..end).ok_or(PduError::Incomplete)?;
        self.pos = end;
        Ok(s)
    }
    pub fn skip(&mut self, n: usize) -> PduResult<()> {
        self.take(n).map(|_| ())
    }
    pub fn u8(&mut self) -> PduResult<u8> {
        Ok(self.take(1)?[0])
    }
    pub fn peek_u8(&self) -> PduResult<u8> {
        self.buf.get(self.pos).copied().ok_or(PduError::Incomplete)
    }
    pub fn u16_le(&mut self) -> PduResult<u16> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    pub fn u16_be(&mut self) -> PduResult<u16> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    pub fn u32_le(&mut self) -> PduResult<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// TPKT header length (RFC 1006 section 6).
pub const TPKT_HEADER_LEN: usize = 4;
/// The largest TPKT packet (the length field is 16 bits).
pub const TPKT_MAX_LEN: usize = 0xffff;

/// How the next PDU of an RDP stream is framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame {
    /// A TPKT packet of `len` bytes, header included.
    Tpkt { len: usize },
    /// A fast-path PDU of `len` bytes, header included
    /// ([MS-RDPBCGR] 2.2.8.1.2 TS_FP_INPUT_PDU / 2.2.9.1.2 TS_FP_UPDATE_PDU).
    FastPath {
        len: usize,
        /// FASTPATH_INPUT_ENCRYPTED / FASTPATH_OUTPUT_ENCRYPTED (0x2 in
        /// the two-bit flags field).
        encrypted: bool,
    },
}

impl Frame {
    pub fn len(self) -> usize {
        match self {
            Frame::Tpkt { len } | Frame::FastPath { len, .. } => len,
        }
    }
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }
}

/// Size of the PDU at the start of `buf`, from its header only.
/// `Incomplete` when the header itself is cut.
pub fn find_size(buf: &[u8]) -> PduResult<Frame> {
    let first = *buf.first().ok_or(PduError::Incomplete)?;
    match first & 0x03 {
        // RFC 1006: version 3, reserved 0, 16-bit big-endian length.
        0x03 => {
            if first != 3 {
                return invalid(format!("TPKT version {first}, expected 3"));
            }
            let hdr = buf.get(..TPKT_HEADER_LEN).ok_or(PduError::Incomplete)?;
            let len = u16::from_be_bytes([hdr[2], hdr[3]]) as usize;
            // The shortest useful TPKT carries a 3-byte X.224 Data header.
            if len < TPKT_HEADER_LEN + 3 {
                return invalid(format!("TPKT length {len} too short"));
            }
            Ok(Frame::Tpkt { len })
        }
        // [MS-RDPBCGR] 2.2.9.1.2: fpOutputHeader (action 0, 4 bits
        // reserved/numEvents, 2 bits flags), then length1 and, when its top
        // bit is set, length2 (a 15-bit big-endian length).
        0x00 => {
            let l1 = *buf.get(1).ok_or(PduError::Incomplete)?;
            let (len, hdr) = if l1 & 0x80 != 0 {
                let l2 = *buf.get(2).ok_or(PduError::Incomplete)?;
                ((((l1 & 0x7f) as usize) << 8) | l2 as usize, 3)
            } else {
                (l1 as usize, 2)
            };
            if len < hdr + 1 {
                return invalid(format!("fast-path length {len} too short"));
            }
            let encrypted = (first >> 6) & 0x02 != 0;
            Ok(Frame::FastPath { len, encrypted })
        }
        a => invalid(format!("framing action {a} is neither TPKT nor fast-path")),
    }
}

/// Test vectors are written as hex strings (whitespace ignored).
#[cfg(test)]
pub(crate) fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| b.is_ascii_hexdigit()).collect();
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

/// A TPKT packet's bytes cut to `n` with its length field rewritten to
/// match, so that the layer inside sees a consistent but short PDU.
#[cfg(test)]
pub(crate) fn relength(pkt: &[u8], n: usize) -> Vec<u8> {
    let mut v = pkt[..n].to_vec();
    if v.len() >= 4 {
        v[2..4].copy_from_slice(&(n as u16).to_be_bytes());
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tpkt_header() {
        let b = [0x03, 0x00, 0x00, 0x13, 0x0e, 0xd0];
        assert_eq!(find_size(&b), Ok(Frame::Tpkt { len: 0x13 }));
        for n in 0..4 {
            assert_eq!(find_size(&b[..n]), Err(PduError::Incomplete), "cut at {n}");
        }
    }

    #[test]
    fn tpkt_bad_version_and_length() {
        assert!(matches!(
            find_size(&[0x07, 0, 0, 0x13]),
            Err(PduError::Invalid(_))
        ));
        assert!(matches!(
            find_size(&[0x03, 0, 0, 0x04]),
            Err(PduError::Invalid(_))
        ));
        // TLS handshake record header: action bits 10.
        assert!(matches!(
            find_size(&[0x16, 3, 1, 0, 5]),
            Err(PduError::Invalid(_))
        ));
    }

    #[test]
    fn fast_path_lengths() {
        // One-byte length, encrypted flag (0x80 in the first byte).
        assert_eq!(
            find_size(&[0x80, 0x0b]),
            Ok(Frame::FastPath {
                len: 11,
                encrypted: true
            })
        );
        // Two-byte length 0x0123, not encrypted.
        assert_eq!(
            find_size(&[0x00, 0x81, 0x23]),
            Ok(Frame::FastPath {
                len: 0x123,
                encrypted: false
            })
        );
        assert_eq!(find_size(&[0x00]), Err(PduError::Incomplete));
        assert_eq!(find_size(&[0x00, 0x81]), Err(PduError::Incomplete));
        assert!(matches!(
            find_size(&[0x00, 0x02]),
            Err(PduError::Invalid(_))
        ));
    }

    #[test]
    fn reader_checks_lengths() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u16_le(), Ok(0x0201));
        assert_eq!(r.u16_le(), Err(PduError::Incomplete));
        assert_eq!(r.u8(), Ok(3));
        assert_eq!(r.u8(), Err(PduError::Incomplete));
        assert_eq!(r.take(usize::MAX), Err(PduError::Incomplete));
    }
}
