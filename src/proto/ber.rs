//! The few BER forms (ITU-T X.690 section 8) that MCS Connect-Initial and
//! Connect-Response use (T.125 section 7, part 1 is BER-encoded): an
//! identifier (low- or high-tag-number form), a definite length (short or
//! long form), and the value.

use super::tpkt::{invalid, PduError, PduResult, Reader};

/// One BER TLV: identifier class and constructed bit, tag number, value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// Bits 8-7 of the identifier: 0 universal, 1 application, 2 context,
    /// 3 private.
    pub class: u8,
    pub constructed: bool,
    pub tag: u32,
    pub value: &'a [u8],
}

/// Tag numbers used by T.125 (universal class).
pub const TAG_BOOLEAN: u32 = 1;
pub const TAG_INTEGER: u32 = 2;
pub const TAG_OCTET_STRING: u32 = 4;
pub const TAG_ENUMERATED: u32 = 10;
pub const TAG_SEQUENCE: u32 = 16;

/// Read an identifier and a definite length; `Incomplete` if the value is
/// cut.
pub fn read_tlv<'a>(r: &mut Reader<'a>) -> PduResult<Tlv<'a>> {
    let id = r.u8()?;
    let class = id >> 6;
    let constructed = id & 0x20 != 0;
    let mut tag = (id & 0x1f) as u32;
    if tag == 0x1f {
        // High-tag-number form: base-128 digits, top bit = more.
        tag = 0;
        for i in 0.. {
            let b = r.u8()?;
            if i >= 4 {
                return invalid("BER tag number too long");
            }
            tag = (tag << 7) | (b & 0x7f) as u32;
            if b & 0x80 == 0 {
                break;
            }
        }
    }
    let len = read_length(r)?;
    let value = r.take(len)?;
    Ok(Tlv {
        class,
        constructed,
        tag,
        value,
    })
}

/// A definite length (X.690 8.1.3): short form, or long form of up to four
/// octets. The indefinite form is not used by T.125.
pub fn read_length(r: &mut Reader<'_>) -> PduResult<usize> {
    let b = r.u8()?;
    if b & 0x80 == 0 {
        return Ok(b as usize);
    }
    let n = (b & 0x7f) as usize;
    if n == 0 {
        return invalid("BER indefinite length");
    }
    if n > 4 {
        return invalid(format!("BER length of {n} octets"));
    }
    let mut len = 0usize;
    for _ in 0..n {
        len = (len << 8) | r.u8()? as usize;
    }
    Ok(len)
}

/// The value of an unsigned INTEGER or ENUMERATED of at most 4 octets.
pub fn uint(value: &[u8]) -> PduResult<u32> {
    if value.is_empty() || value.len() > 5 {
        return invalid(format!("BER integer of {} octets", value.len()));
    }
    let mut v: u64 = 0;
    for &b in value {
        v = (v << 8) | b as u64;
    }
    u32::try_from(v).map_err(|_| PduError::Invalid("BER integer too large".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn application_tag_101_long_length() {
        // Connect-Initial header: [APPLICATION 101] constructed, length 0x0190.
        let mut v = vec![0x7f, 0x65, 0x82, 0x00, 0x03, 0x04, 0x01, 0x01];
        let mut r = Reader::new(&v);
        let t = read_tlv(&mut r).unwrap();
        assert_eq!((t.class, t.constructed, t.tag), (1, true, 101));
        assert_eq!(t.value, &[0x04, 0x01, 0x01]);
        for n in 0..v.len() {
            assert_eq!(
                read_tlv(&mut Reader::new(&v[..n])),
                Err(PduError::Incomplete)
            );
        }
        v[2] = 0x80;
        assert!(matches!(
            read_tlv(&mut Reader::new(&v)),
            Err(PduError::Invalid(_))
        ));
    }

    #[test]
    fn integers() {
        assert_eq!(uint(&[0x00, 0xff, 0xff]), Ok(0xffff));
        assert_eq!(uint(&[0x01]), Ok(1));
        assert!(uint(&[]).is_err());
        assert!(uint(&[1, 0, 0, 0, 0]).is_err());
    }
}
