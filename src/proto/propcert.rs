//! The server's proprietary certificate under Standard RDP Security
//! ([MS-RDPBCGR] 2.2.1.4.3.1.1) and its signature by the Terminal
//! Services signing key ([MS-RDPBCGR] 5.3.3.1).

use super::tpkt::{PduResult, Reader};
use md5::Digest as _;
use num_bigint::BigUint;

/// RSA_PUBLIC_KEY magic "RSA1" ([MS-RDPBCGR] 2.2.1.4.3.1.1.1).
pub const RSA1_MAGIC: u32 = 0x3141_5352;
/// wPublicKeyBlobType BB_RSA_KEY_BLOB and wSignatureBlobType
/// BB_RSA_SIGNATURE_BLOB ([MS-RDPBCGR] 2.2.1.4.3.1.1).
pub const BB_RSA_KEY_BLOB: u16 = 0x0006;
pub const BB_RSA_SIGNATURE_BLOB: u16 = 0x0008;

/// The Terminal Services signing key ([MS-RDPBCGR] 5.3.3.1.1): a 512-bit
/// RSA key Microsoft publishes, private exponent included, with which
/// every proprietary certificate is signed. Little-endian, as printed in
/// the specification.
pub const TSSK_MODULUS: [u8; 64] = [
    0x3d, 0x3a, 0x5e, 0xbd, 0x72, 0x43, 0x3e, 0xc9, 0x4d, 0xbb, 0xc1, 0x1e, 0x4a, 0xba, 0x5f, 0xcb,
    0x3e, 0x88, 0x20, 0x87, 0xef, 0xf5, 0xc1, 0xe2, 0xd7, 0xb7, 0x6b, 0x9a, 0xf2, 0x52, 0x45, 0x95,
    0xce, 0x63, 0x65, 0x6b, 0x58, 0x3a, 0xfe, 0xef, 0x7c, 0xe7, 0xbf, 0xfe, 0x3d, 0xf6, 0x5c, 0x7d,
    0x6c, 0x5e, 0x06, 0x09, 0x1a, 0xf5, 0x61, 0xbb, 0x20, 0x93, 0x09, 0x5f, 0x05, 0x6d, 0xea, 0x87,
];
/// Its public exponent, little-endian (0xc0887b5b).
pub const TSSK_EXPONENT: [u8; 4] = [0x5b, 0x7b, 0x88, 0xc0];
/// Its private exponent, little-endian: only the tests use it, to sign a
/// certificate as a Terminal Server does ([MS-RDPBCGR] 5.3.3.1.2).
#[cfg(test)]
pub const TSSK_PRIVATE_EXPONENT: [u8; 64] = [
    0x87, 0xa7, 0x19, 0x32, 0xda, 0x11, 0x87, 0x55, 0x58, 0x00, 0x16, 0x16, 0x25, 0x65, 0x68, 0xf8,
    0x24, 0x3e, 0xe6, 0xfa, 0xe9, 0x67, 0x49, 0x94, 0xcf, 0x92, 0xcc, 0x33, 0x99, 0xe8, 0x08, 0x60,
    0x17, 0x9a, 0x12, 0x9f, 0x24, 0xdd, 0xb1, 0x24, 0x99, 0xc7, 0x3a, 0xb8, 0x0a, 0x7b, 0x0d, 0xdd,
    0x35, 0x07, 0x79, 0x17, 0x0b, 0x51, 0x9b, 0xb3, 0xc7, 0x10, 0x01, 0x13, 0xe7, 0x3f, 0xf3, 0x5f,
];

/// Whether the certificate's signature is the Terminal Services signing
/// key's signature over its first six fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureCheck {
    /// Verifies: a client accepts the certificate.
    Valid,
    /// Does not verify: a client rejects it (mstsc ends the connection).
    Invalid,
    /// Not checkable: the signature blob is missing, cut or not of the
    /// signing key's size.
    NotChecked,
}

impl SignatureCheck {
    pub fn name(self) -> &'static str {
        match self {
            SignatureCheck::Valid => "valid",
            SignatureCheck::Invalid => "invalid",
            SignatureCheck::NotChecked => "not_checked",
        }
    }
}

/// PROPRIETARYSERVERCERTIFICATE ([MS-RDPBCGR] 2.2.1.4.3.1.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProprietaryCert {
    /// dwSigAlgId and dwKeyAlgId (both 1, RSA, per the specification).
    pub sig_alg: u32,
    pub key_alg: u32,
    /// RSA_PUBLIC_KEY magic (RSA1 expected).
    pub magic: u32,
    /// bitlen: the modulus size in bits as the key states it.
    pub key_bits: u32,
    /// pubExp.
    pub public_exponent: u32,
    /// The modulus, little-endian, without the 8 padding bytes.
    pub modulus: Vec<u8>,
    pub signature: SignatureCheck,
}

/// Decode a proprietary certificate (`cert` starts at dwVersion). Fields
/// before a cut are not kept: `Err` when the public key is cut short. A
/// missing or cut signature blob leaves the signature `NotChecked`.
pub fn decode(cert: &[u8]) -> PduResult<ProprietaryCert> {
    let mut r = Reader::new(cert);
    let _version = r.u32_le()?;
    let sig_alg = r.u32_le()?;
    let key_alg = r.u32_le()?;
    let _blob_type = r.u16_le()?;
    let blob_len = r.u16_le()? as usize;
    let blob = r.take(blob_len)?;
    let signed = cert.get(..r.pos()).unwrap_or(cert);
    let mut k = Reader::new(blob);
    let magic = k.u32_le()?;
    let keylen = k.u32_le()? as usize;
    let key_bits = k.u32_le()?;
    let _datalen = k.u32_le()?;
    let public_exponent = k.u32_le()?;
    let modulus_padded = k.take(keylen.min(k.remaining()))?;
    // The modulus is keylen bytes, of which the last 8 are zero padding.
    let modulus_len = ((key_bits as usize).div_ceil(8)).min(modulus_padded.len());
    let modulus = modulus_padded.get(..modulus_len).unwrap_or(&[]).to_vec();
    let signature = (|| -> PduResult<SignatureCheck> {
        let _sig_type = r.u16_le()?;
        let sig_len = r.u16_le()? as usize;
        let sig = r.take(sig_len)?;
        Ok(verify(signed, sig))
    })()
    .unwrap_or(SignatureCheck::NotChecked);
    Ok(ProprietaryCert {
        sig_alg,
        key_alg,
        magic,
        key_bits,
        public_exponent,
        modulus,
        signature,
    })
}

/// The 63 bytes a signature must decrypt to ([MS-RDPBCGR] 5.3.3.1.2): the
/// MD5 hash of the signed fields, 0x00, 45 bytes 0xff, 0x01 (little-endian
/// order, as everything in the certificate).
fn signed_block(signed: &[u8]) -> [u8; 63] {
    let mut block = [0xffu8; 63];
    let hash = md5::Md5::digest(signed);
    block[..16].copy_from_slice(&hash);
    block[16] = 0x00;
    block[62] = 0x01;
    block
}

/// Check `sig` (the SignatureBlob: 64 bytes and 8 bytes of zero padding)
/// against `signed` (dwVersion to the end of PublicKeyBlob) with the
/// Terminal Services signing key.
pub fn verify(signed: &[u8], sig: &[u8]) -> SignatureCheck {
    let Some(s) = sig.get(..TSSK_MODULUS.len()) else {
        return SignatureCheck::NotChecked;
    };
    let n = BigUint::from_bytes_le(&TSSK_MODULUS);
    let s = BigUint::from_bytes_le(s);
    if s >= n {
        return SignatureCheck::Invalid;
    }
    let m = s.modpow(&BigUint::from_bytes_le(&TSSK_EXPONENT), &n);
    let want = BigUint::from_bytes_le(&signed_block(signed));
    if m == want {
        SignatureCheck::Valid
    } else {
        SignatureCheck::Invalid
    }
}

/// Sign `signed` as a Terminal Server does ([MS-RDPBCGR] 5.3.3.1.2) with
/// the published private exponent: the 72-byte SignatureBlob.
#[cfg(test)]
pub fn sign(signed: &[u8]) -> Vec<u8> {
    let n = BigUint::from_bytes_le(&TSSK_MODULUS);
    let d = BigUint::from_bytes_le(&TSSK_PRIVATE_EXPONENT);
    let m = BigUint::from_bytes_le(&signed_block(signed));
    let mut out = m.modpow(&d, &n).to_bytes_le();
    out.resize(TSSK_MODULUS.len() + 8, 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::tpkt::hex;

    /// A proprietary certificate around `key` (an RSA_PUBLIC_KEY blob),
    /// signed with the signing key, as [MS-RDPBCGR] 5.3.3.1.2 describes.
    fn build(version: u32, key: &[u8], sig: Option<&[u8]>) -> Vec<u8> {
        let mut c = Vec::new();
        c.extend_from_slice(&version.to_le_bytes());
        c.extend_from_slice(&1u32.to_le_bytes());
        c.extend_from_slice(&1u32.to_le_bytes());
        c.extend_from_slice(&BB_RSA_KEY_BLOB.to_le_bytes());
        c.extend_from_slice(&(key.len() as u16).to_le_bytes());
        c.extend_from_slice(key);
        let signature = match sig {
            Some(s) => s.to_vec(),
            None => sign(&c),
        };
        c.extend_from_slice(&BB_RSA_SIGNATURE_BLOB.to_le_bytes());
        c.extend_from_slice(&(signature.len() as u16).to_le_bytes());
        c.extend_from_slice(&signature);
        c
    }

    /// An RSA_PUBLIC_KEY of 512 bits, exponent 65537, modulus 0x01 0x02...
    fn key512() -> Vec<u8> {
        let mut k = hex("52534131 48000000 00020000 3f000000 01000100");
        k.extend((1..=64u8).collect::<Vec<_>>());
        k.extend([0u8; 8]);
        k
    }

    #[test]
    fn the_published_key_pair_matches() {
        // The private and public exponents of 5.3.3.1.1 invert each other:
        // (x^d)^e = x for a few x.
        let n = BigUint::from_bytes_le(&TSSK_MODULUS);
        let e = BigUint::from_bytes_le(&TSSK_EXPONENT);
        let d = BigUint::from_bytes_le(&TSSK_PRIVATE_EXPONENT);
        for x in [2u32, 0x1234_5678, 65537] {
            let x = BigUint::from(x);
            assert_eq!(x.modpow(&d, &n).modpow(&e, &n), x);
        }
        assert_eq!(e, BigUint::from(0xc088_7b5bu32));
    }

    #[test]
    fn signed_with_the_signing_key_verifies() {
        let c = build(1, &key512(), None);
        let p = decode(&c).unwrap();
        assert_eq!(p.signature, SignatureCheck::Valid);
        assert_eq!((p.key_bits, p.public_exponent), (512, 65537));
        assert_eq!(p.magic, RSA1_MAGIC);
        assert_eq!(p.modulus.len(), 64);
        assert_eq!(p.modulus[0], 1);
    }

    #[test]
    fn a_changed_key_or_signature_does_not_verify() {
        let good = build(1, &key512(), None);
        // One bit of the modulus changed after signing.
        let mut c = good.clone();
        c[16 + 20 + 5] ^= 0x01;
        assert_eq!(decode(&c).unwrap().signature, SignatureCheck::Invalid);
        // One bit of the signature changed.
        let mut c = good.clone();
        let last = c.len() - 9;
        c[last] ^= 0x80;
        assert_eq!(decode(&c).unwrap().signature, SignatureCheck::Invalid);
        // The temporary bit is signed too.
        let mut c = good.clone();
        c[3] |= 0x80;
        assert_eq!(decode(&c).unwrap().signature, SignatureCheck::Invalid);
        // A signature of another size, or none, is not checked.
        let c = build(1, &key512(), Some(&[0u8; 40]));
        assert_eq!(decode(&c).unwrap().signature, SignatureCheck::NotChecked);
        let cut = &good[..good.len() - 30];
        assert_eq!(decode(cut).unwrap().signature, SignatureCheck::NotChecked);
        // A key cut short is no certificate.
        assert!(decode(&good[..30]).is_err());
        // A signature not below the modulus is invalid, not a panic.
        let c = build(1, &key512(), Some(&[0xffu8; 72]));
        assert_eq!(decode(&c).unwrap().signature, SignatureCheck::Invalid);
    }
}
