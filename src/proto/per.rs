//! The few ALIGNED PER forms (ITU-T X.691) that T.125 domain PDUs and the
//! T.124 GCC Conference Create Request/Response use: length determinants
//! and constrained 16-bit integers.

use super::tpkt::{invalid, PduResult, Reader};

/// A length determinant (X.691 10.9): one octet below 128, two octets with
/// the top bits `10` up to 16383. Fragmented lengths (`11`) are not used
/// by RDP and are refused.
pub fn read_length(r: &mut Reader<'_>) -> PduResult<usize> {
    let b = r.u8()?;
    match b & 0xc0 {
        0x80 => Ok((((b & 0x3f) as usize) << 8) | r.u8()? as usize),
        0xc0 => invalid("PER fragmented length"),
        _ => Ok(b as usize),
    }
}

/// A constrained whole number of range above 256 and at most 64K
/// (X.691 10.5.7.3): two aligned octets, plus the lower bound.
pub fn read_u16(r: &mut Reader<'_>, min: u16) -> PduResult<u16> {
    Ok(r.u16_be()?.wrapping_add(min))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::tpkt::PduError;

    #[test]
    fn lengths() {
        assert_eq!(read_length(&mut Reader::new(&[0x2a])), Ok(0x2a));
        assert_eq!(read_length(&mut Reader::new(&[0x81, 0x2a])), Ok(0x12a));
        assert_eq!(
            read_length(&mut Reader::new(&[0x81])),
            Err(PduError::Incomplete)
        );
        assert!(matches!(
            read_length(&mut Reader::new(&[0xc1])),
            Err(PduError::Invalid(_))
        ));
    }

    #[test]
    fn user_ids() {
        assert_eq!(read_u16(&mut Reader::new(&[0x00, 0x06]), 1001), Ok(1007));
        assert_eq!(
            read_u16(&mut Reader::new(&[0x00]), 1001),
            Err(PduError::Incomplete)
        );
    }
}
