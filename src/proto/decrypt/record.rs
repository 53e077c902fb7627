//! Record protection of one direction: CBC with MAC-then-encrypt
//! (RFC 2246/4346/5246 §6.2.3.2) or encrypt-then-MAC (RFC 7366), AES-GCM
//! (RFC 5288), ChaCha20-Poly1305 (RFC 7905) and TLS 1.3's AEAD records
//! (RFC 8446 §5.2-5.3). Every MAC and tag is checked before a byte of
//! plaintext is returned.

use super::schedule::{hmac, Cipher, DirKeys, Suite};
use aes::cipher::{BlockCipherDecrypt, KeyInit};
use aes_gcm::aead::{AeadInOut, Nonce, Tag};
use zeroize::Zeroizing;

/// Why a record gave no plaintext.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordError {
    /// The record is shorter than its protection needs.
    TooShort,
    /// The CBC ciphertext is not a whole number of blocks.
    NotBlockAligned,
    /// The CBC padding is malformed.
    BadPadding,
    /// The HMAC or AEAD tag does not verify.
    BadMac,
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RecordError::TooShort => "record too short for its protection",
            RecordError::NotBlockAligned => "CBC ciphertext not a whole number of blocks",
            RecordError::BadPadding => "CBC padding malformed",
            RecordError::BadMac => "MAC or authentication tag does not verify",
        })
    }
}

/// The protection state of one direction.
pub struct RecordState {
    suite: Suite,
    /// The record-header version (TLS 1.0-1.2) that the MAC covers.
    version: u16,
    keys: DirKeys,
    seq: u64,
    encrypt_then_mac: bool,
    tls13: bool,
    /// TLS 1.0 CBC: the IV of the next record (the last ciphertext block
    /// of the previous one).
    chained_iv: Option<Zeroizing<Vec<u8>>>,
}

impl RecordState {
    pub fn new(
        suite: Suite,
        version: u16,
        keys: DirKeys,
        encrypt_then_mac: bool,
        tls13: bool,
    ) -> Self {
        let chained_iv = (version <= 0x0301 && matches!(suite.cipher, Cipher::AesCbc { .. }))
            .then(|| keys.iv.clone());
        RecordState {
            suite,
            version,
            keys,
            seq: 0,
            encrypt_then_mac,
            tls13,
            chained_iv,
        }
    }

    /// The sequence number of the next record.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Decrypt one record (`header` is its 5 bytes, `body` what follows).
    /// The sequence number advances whether or not the record verifies,
    /// as the sender's did. TLS 1.3 returns the inner plaintext with its
    /// content type still last (see `split_inner`).
    pub fn open(&mut self, header: &[u8; 5], body: &[u8]) -> Result<Vec<u8>, RecordError> {
        let seq = self.seq;
        self.seq = self.seq.wrapping_add(1);
        match self.suite.cipher {
            Cipher::AesCbc { key_len, mac } => self.open_cbc(header[0], body, seq, key_len, mac),
            Cipher::AesGcm { .. } | Cipher::ChaCha20Poly1305 => self.open_aead(header, body, seq),
        }
    }

    fn mac_input_header(&self, ty: u8, seq: u64, len: usize) -> [u8; 13] {
        let mut h = [0u8; 13];
        h[..8].copy_from_slice(&seq.to_be_bytes());
        h[8] = ty;
        h[9..11].copy_from_slice(&self.version.to_be_bytes());
        h[11..13].copy_from_slice(&(len as u16).to_be_bytes());
        h
    }

    fn open_cbc(
        &mut self,
        ty: u8,
        body: &[u8],
        seq: u64,
        key_len: usize,
        mac: super::schedule::Hash,
    ) -> Result<Vec<u8>, RecordError> {
        let mac_len = mac.output_len();
        let explicit_iv = self.chained_iv.is_none();
        let (cipher_part, mac_part) = if self.encrypt_then_mac {
            if body.len() < mac_len {
                return Err(RecordError::TooShort);
            }
            body.split_at(body.len() - mac_len)
        } else {
            (body, &[][..])
        };
        if cipher_part.is_empty() || cipher_part.len() % 16 != 0 {
            return Err(RecordError::NotBlockAligned);
        }
        if self.encrypt_then_mac {
            // RFC 7366 §3: MAC(seq || type || version || length || IV || ciphertext).
            let want = hmac(
                mac,
                &self.keys.mac_key,
                &[
                    &self.mac_input_header(ty, seq, cipher_part.len()),
                    cipher_part,
                ],
            );
            if !ct_eq(&want, mac_part) {
                self.chain(cipher_part);
                return Err(RecordError::BadMac);
            }
        }
        let (iv, ct): (Vec<u8>, &[u8]) = match &self.chained_iv {
            Some(iv) => (iv.to_vec(), cipher_part),
            None => (cipher_part[..16].to_vec(), &cipher_part[16..]),
        };
        self.chain(cipher_part);
        let mut pt = cbc_decrypt(&self.keys.enc_key, key_len, &iv, ct);
        // Padding: the last byte says how many bytes precede it with the
        // same value (RFC 5246 §6.2.3.2).
        let pad = *pt.last().ok_or(RecordError::TooShort)? as usize;
        let need = pad + 1 + if self.encrypt_then_mac { 0 } else { mac_len };
        if pt.len() < need || explicit_iv && ct.is_empty() {
            return Err(RecordError::BadPadding);
        }
        if pt[pt.len() - 1 - pad..].iter().any(|&b| b as usize != pad) {
            return Err(RecordError::BadPadding);
        }
        pt.truncate(pt.len() - 1 - pad);
        if !self.encrypt_then_mac {
            let data_len = pt.len() - mac_len;
            let want = hmac(
                mac,
                &self.keys.mac_key,
                &[&self.mac_input_header(ty, seq, data_len), &pt[..data_len]],
            );
            if !ct_eq(&want, &pt[data_len..]) {
                return Err(RecordError::BadMac);
            }
            pt.truncate(data_len);
        }
        Ok(pt)
    }

    /// TLS 1.0 chains the IV across records.
    fn chain(&mut self, cipher_part: &[u8]) {
        if let Some(iv) = self.chained_iv.as_mut() {
            if cipher_part.len() >= 16 {
                **iv = cipher_part[cipher_part.len() - 16..].to_vec();
            }
        }
    }

    fn open_aead(&self, header: &[u8; 5], body: &[u8], seq: u64) -> Result<Vec<u8>, RecordError> {
        let gcm12 = matches!(self.suite.cipher, Cipher::AesGcm { .. }) && !self.tls13;
        let explicit = if gcm12 { 8 } else { 0 };
        if body.len() < explicit + 16 {
            return Err(RecordError::TooShort);
        }
        let mut nonce = [0u8; 12];
        if gcm12 {
            // RFC 5288 §3: salt (4) || explicit nonce (8).
            nonce[..4].copy_from_slice(&self.keys.iv[..4]);
            nonce[4..].copy_from_slice(&body[..8]);
        } else {
            // RFC 7905 §2, RFC 8446 §5.3: IV xor the padded sequence number.
            nonce.copy_from_slice(&self.keys.iv[..12]);
            for (n, s) in nonce[4..].iter_mut().zip(seq.to_be_bytes()) {
                *n ^= s;
            }
        }
        let ct = &body[explicit..body.len() - 16];
        let tag = &body[body.len() - 16..];
        let aad: Vec<u8> = if self.tls13 {
            header.to_vec()
        } else {
            self.mac_input_header(header[0], seq, ct.len()).to_vec()
        };
        let mut buf = ct.to_vec();
        let key = &self.keys.enc_key[..];
        let ok = match self.suite.cipher {
            Cipher::AesGcm { key_len: 16 } => {
                aead_open::<aes_gcm::Aes128Gcm>(key, &nonce, &aad, &mut buf, tag)
            }
            Cipher::AesGcm { .. } => {
                aead_open::<aes_gcm::Aes256Gcm>(key, &nonce, &aad, &mut buf, tag)
            }
            Cipher::ChaCha20Poly1305 => {
                aead_open::<chacha20poly1305::ChaCha20Poly1305>(key, &nonce, &aad, &mut buf, tag)
            }
            Cipher::AesCbc { .. } => false,
        };
        if ok {
            Ok(buf)
        } else {
            Err(RecordError::BadMac)
        }
    }
}

fn aead_open<A: AeadInOut + KeyInit>(
    key: &[u8],
    nonce: &[u8; 12],
    aad: &[u8],
    buf: &mut [u8],
    tag: &[u8],
) -> bool {
    let Ok(cipher) = A::new_from_slice(key) else {
        return false;
    };
    let (Ok(nonce), Ok(tag)) = (<&Nonce<A>>::try_from(&nonce[..]), <&Tag<A>>::try_from(tag)) else {
        return false;
    };
    cipher
        .decrypt_inout_detached(nonce, aad, buf.into(), tag)
        .is_ok()
}

/// AES-CBC decryption of whole blocks.
fn cbc_decrypt(key: &[u8], key_len: usize, iv: &[u8], ct: &[u8]) -> Vec<u8> {
    fn run<C: BlockCipherDecrypt + KeyInit>(key: &[u8], iv: &[u8], ct: &[u8]) -> Vec<u8> {
        let Ok(c) = C::new_from_slice(key) else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(ct.len());
        let mut prev: &[u8] = iv;
        for block in ct.chunks_exact(16) {
            let Ok(mut b) = aes::cipher::Block::<C>::try_from(block) else {
                return Vec::new();
            };
            c.decrypt_block(&mut b);
            out.extend(b.iter().zip(prev).map(|(x, p)| x ^ p));
            prev = block;
        }
        out
    }
    if key_len == 16 {
        run::<aes::Aes128>(key, iv, ct)
    } else {
        run::<aes::Aes256>(key, iv, ct)
    }
}

/// Equality of two MACs without an early exit.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// TLS 1.3 inner plaintext (RFC 8446 §5.2): content, then the real
/// content type, then zero padding. None if it is all zeros.
pub fn split_inner(mut pt: Vec<u8>) -> Option<(u8, Vec<u8>)> {
    while let Some(&b) = pt.last() {
        pt.pop();
        if b != 0 {
            return Some((b, pt));
        }
    }
    None
}
