//! Key schedules: the TLS 1.0-1.2 PRF and key block (RFC 2246 §5-6.3,
//! RFC 4346 §5, RFC 5246 §5-6.3, RFC 7627 §4) and TLS 1.3's
//! HKDF-Expand-Label (RFC 8446 §7.1-7.3), with the cipher-suite table.

use hmac::{Hmac, KeyInit, Mac};
use zeroize::Zeroizing;

/// A hash function the schedules and record MACs use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hash {
    Md5,
    Sha1,
    Sha256,
    Sha384,
}

impl Hash {
    pub fn output_len(self) -> usize {
        match self {
            Hash::Md5 => 16,
            Hash::Sha1 => 20,
            Hash::Sha256 => 32,
            Hash::Sha384 => 48,
        }
    }
}

impl std::fmt::Display for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Hash::Md5 => "MD5",
            Hash::Sha1 => "SHA-1",
            Hash::Sha256 => "SHA-256",
            Hash::Sha384 => "SHA-384",
        })
    }
}

fn mac_of<M: Mac + KeyInit>(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    // HMAC takes keys of any length: new_from_slice cannot fail.
    let mut m = <M as KeyInit>::new_from_slice(key).expect("HMAC accepts any key length");
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().to_vec()
}

/// HMAC over the concatenation of `parts`.
pub fn hmac(h: Hash, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    match h {
        Hash::Md5 => mac_of::<Hmac<md5::Md5>>(key, parts),
        Hash::Sha1 => mac_of::<Hmac<sha1::Sha1>>(key, parts),
        Hash::Sha256 => mac_of::<Hmac<sha2::Sha256>>(key, parts),
        Hash::Sha384 => mac_of::<Hmac<sha2::Sha384>>(key, parts),
    }
}

/// A plain digest of `data`.
pub fn digest(h: Hash, data: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    match h {
        Hash::Md5 => md5::Md5::digest(data).to_vec(),
        Hash::Sha1 => sha1::Sha1::digest(data).to_vec(),
        Hash::Sha256 => sha2::Sha256::digest(data).to_vec(),
        Hash::Sha384 => sha2::Sha384::digest(data).to_vec(),
    }
}

/// P_hash(secret, seed) of RFC 5246 §5, `len` bytes.
fn p_hash(h: Hash, secret: &[u8], seed: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + h.output_len());
    let mut a = hmac(h, secret, &[seed]);
    while out.len() < len {
        out.extend_from_slice(&hmac(h, secret, &[&a, seed]));
        a = hmac(h, secret, &[&a]);
    }
    out.truncate(len);
    out
}

/// Which PRF a connection uses: TLS 1.0/1.1's MD5 xor SHA-1, or TLS 1.2's
/// P_hash with the suite's hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prf {
    Md5Sha1,
    Tls12(Hash),
}

impl Prf {
    /// PRF(secret, label, seed) to `len` bytes.
    pub fn derive(self, secret: &[u8], label: &str, seed: &[u8], len: usize) -> Zeroizing<Vec<u8>> {
        let mut ls = label.as_bytes().to_vec();
        ls.extend_from_slice(seed);
        Zeroizing::new(match self {
            Prf::Tls12(h) => p_hash(h, secret, &ls, len),
            Prf::Md5Sha1 => {
                // RFC 2246 §5: S1 and S2 are the halves of the secret, the
                // middle byte shared when its length is odd.
                let half = secret.len().div_ceil(2);
                let (s1, s2) = (&secret[..half], &secret[secret.len() - half..]);
                let md5 = p_hash(Hash::Md5, s1, &ls, len);
                let sha = p_hash(Hash::Sha1, s2, &ls, len);
                md5.iter().zip(&sha).map(|(a, b)| a ^ b).collect()
            }
        })
    }

    /// The session hash of the extended master secret (RFC 7627 §3):
    /// the handshake hash the Finished messages use.
    pub fn session_hash(self, transcript: &[u8]) -> Vec<u8> {
        match self {
            Prf::Tls12(h) => digest(h, transcript),
            Prf::Md5Sha1 => {
                let mut v = digest(Hash::Md5, transcript);
                v.extend(digest(Hash::Sha1, transcript));
                v
            }
        }
    }
}

/// HKDF-Expand-Label(secret, label, context, len) of RFC 8446 §7.1.
pub fn hkdf_expand_label(
    h: Hash,
    secret: &[u8],
    label: &str,
    context: &[u8],
    len: usize,
) -> Option<Zeroizing<Vec<u8>>> {
    let full = format!("tls13 {label}");
    let mut info = Vec::with_capacity(4 + full.len() + context.len());
    info.extend_from_slice(&(len as u16).to_be_bytes());
    info.push(full.len() as u8);
    info.extend_from_slice(full.as_bytes());
    info.push(context.len() as u8);
    info.extend_from_slice(context);
    let mut out = Zeroizing::new(vec![0u8; len]);
    let ok = match h {
        Hash::Sha256 => hkdf::Hkdf::<sha2::Sha256>::from_prk(secret)
            .ok()?
            .expand(&info, &mut out)
            .is_ok(),
        Hash::Sha384 => hkdf::Hkdf::<sha2::Sha384>::from_prk(secret)
            .ok()?
            .expand(&info, &mut out)
            .is_ok(),
        Hash::Md5 | Hash::Sha1 => false,
    };
    ok.then_some(out)
}

/// How the pre-master secret is agreed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyExchange {
    /// The client encrypts it to the server certificate's RSA key: the
    /// server's private key recovers it.
    Rsa,
    /// (EC)DHE: only a key log recovers the secrets.
    Ephemeral,
    /// TLS 1.3: only a key log's traffic secrets.
    Tls13,
}

/// The record protection a suite uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cipher {
    /// AES-CBC with HMAC (`key_len` 16 or 32).
    AesCbc {
        key_len: usize,
        mac: Hash,
    },
    AesGcm {
        key_len: usize,
    },
    ChaCha20Poly1305,
}

impl Cipher {
    pub fn key_len(self) -> usize {
        match self {
            Cipher::AesCbc { key_len, .. } | Cipher::AesGcm { key_len } => key_len,
            Cipher::ChaCha20Poly1305 => 32,
        }
    }
}

/// One cipher suite this decryptor supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Suite {
    pub id: u16,
    pub kx: KeyExchange,
    pub cipher: Cipher,
    /// The TLS 1.2 PRF hash (and TLS 1.3's HKDF hash).
    pub prf_hash: Hash,
}

const fn cbc(id: u16, kx: KeyExchange, key_len: usize, mac: Hash, prf_hash: Hash) -> Suite {
    Suite {
        id,
        kx,
        cipher: Cipher::AesCbc { key_len, mac },
        prf_hash,
    }
}

const fn gcm(id: u16, kx: KeyExchange, key_len: usize, prf_hash: Hash) -> Suite {
    Suite {
        id,
        kx,
        cipher: Cipher::AesGcm { key_len },
        prf_hash,
    }
}

const fn chacha(id: u16, kx: KeyExchange) -> Suite {
    Suite {
        id,
        kx,
        cipher: Cipher::ChaCha20Poly1305,
        prf_hash: Hash::Sha256,
    }
}

use Hash::{Sha1, Sha256, Sha384};
use KeyExchange::{Ephemeral, Rsa, Tls13};

/// The supported suites (IANA TLS Cipher Suites registry; RFC 5246
/// appendix A.5, RFC 5288, RFC 5289, RFC 7905, RFC 8446 §B.4). Suites with
/// SHA-1 or SHA-256 MACs use the SHA-256 PRF in TLS 1.2 (RFC 5246 §5).
pub const SUITES: &[Suite] = &[
    cbc(0x002f, Rsa, 16, Sha1, Sha256),
    cbc(0x0035, Rsa, 32, Sha1, Sha256),
    cbc(0x003c, Rsa, 16, Sha256, Sha256),
    cbc(0x003d, Rsa, 32, Sha256, Sha256),
    cbc(0x0033, Ephemeral, 16, Sha1, Sha256),
    cbc(0x0039, Ephemeral, 32, Sha1, Sha256),
    cbc(0x0067, Ephemeral, 16, Sha256, Sha256),
    cbc(0x006b, Ephemeral, 32, Sha256, Sha256),
    cbc(0xc009, Ephemeral, 16, Sha1, Sha256),
    cbc(0xc00a, Ephemeral, 32, Sha1, Sha256),
    cbc(0xc013, Ephemeral, 16, Sha1, Sha256),
    cbc(0xc014, Ephemeral, 32, Sha1, Sha256),
    cbc(0xc023, Ephemeral, 16, Sha256, Sha256),
    cbc(0xc024, Ephemeral, 32, Sha384, Sha384),
    cbc(0xc027, Ephemeral, 16, Sha256, Sha256),
    cbc(0xc028, Ephemeral, 32, Sha384, Sha384),
    gcm(0x009c, Rsa, 16, Sha256),
    gcm(0x009d, Rsa, 32, Sha384),
    gcm(0x009e, Ephemeral, 16, Sha256),
    gcm(0x009f, Ephemeral, 32, Sha384),
    gcm(0xc02b, Ephemeral, 16, Sha256),
    gcm(0xc02c, Ephemeral, 32, Sha384),
    gcm(0xc02f, Ephemeral, 16, Sha256),
    gcm(0xc030, Ephemeral, 32, Sha384),
    chacha(0xcca8, Ephemeral),
    chacha(0xcca9, Ephemeral),
    chacha(0xccaa, Ephemeral),
    gcm(0x1301, Tls13, 16, Sha256),
    gcm(0x1302, Tls13, 32, Sha384),
    chacha(0x1303, Tls13),
];

/// The suite with this id, if supported.
pub fn suite(id: u16) -> Option<Suite> {
    SUITES.iter().copied().find(|s| s.id == id)
}

/// The keys of one direction.
#[derive(Clone)]
pub struct DirKeys {
    pub mac_key: Zeroizing<Vec<u8>>,
    pub enc_key: Zeroizing<Vec<u8>>,
    /// CBC in TLS 1.0: the first record's IV; GCM: the 4-byte salt;
    /// ChaCha20 and TLS 1.3: the 12-byte IV.
    pub iv: Zeroizing<Vec<u8>>,
}

/// The TLS 1.0-1.2 key block split per direction (RFC 5246 §6.3):
/// `[client write, server write]`.
pub fn key_block(
    prf: Prf,
    suite: Suite,
    version: u16,
    master: &[u8],
    client_random: &[u8],
    server_random: &[u8],
) -> [DirKeys; 2] {
    let (mac_len, iv_len) = match suite.cipher {
        Cipher::AesCbc { mac, .. } => (mac.output_len(), if version <= 0x0301 { 16 } else { 0 }),
        Cipher::AesGcm { .. } => (0, 4),
        Cipher::ChaCha20Poly1305 => (0, 12),
    };
    let key_len = suite.cipher.key_len();
    let mut seed = server_random.to_vec();
    seed.extend_from_slice(client_random);
    let kb = prf.derive(
        master,
        "key expansion",
        &seed,
        2 * (mac_len + key_len + iv_len),
    );
    let mut at = 0;
    let mut take = |n: usize| {
        let v = Zeroizing::new(kb[at..at + n].to_vec());
        at += n;
        v
    };
    let (cm, sm) = (take(mac_len), take(mac_len));
    let (ck, sk) = (take(key_len), take(key_len));
    let (ci, si) = (take(iv_len), take(iv_len));
    [
        DirKeys {
            mac_key: cm,
            enc_key: ck,
            iv: ci,
        },
        DirKeys {
            mac_key: sm,
            enc_key: sk,
            iv: si,
        },
    ]
}

/// The TLS 1.3 key and IV of a traffic secret (RFC 8446 §7.3).
pub fn tls13_keys(suite: Suite, secret: &[u8]) -> Option<DirKeys> {
    let h = suite.prf_hash;
    Some(DirKeys {
        mac_key: Zeroizing::new(Vec::new()),
        enc_key: hkdf_expand_label(h, secret, "key", b"", suite.cipher.key_len())?,
        iv: hkdf_expand_label(h, secret, "iv", b"", 12)?,
    })
}

/// The next traffic secret after a KeyUpdate (RFC 8446 §7.2).
pub fn tls13_next_secret(suite: Suite, secret: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    hkdf_expand_label(
        suite.prf_hash,
        secret,
        "traffic upd",
        b"",
        suite.prf_hash.output_len(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// The TLS 1.2 PRF (SHA-256) test vector published on the IETF TLS
    /// list (Joseph Birr-Pixton's "TLS 1.2 PRF test vectors", also in
    /// Go's crypto/tls and mbed TLS test suites).
    #[test]
    fn tls12_prf_sha256_vector() {
        let secret = hex("9b be 43 6b a9 40 f0 17 b1 76 52 84 9a 71 db 35");
        let seed = hex("a0 ba 9f 93 6c da 31 18 27 a6 f7 96 ff d5 19 8c");
        let out = Prf::Tls12(Hash::Sha256).derive(&secret, "test label", &seed, 100);
        let want = hex(
            "e3 f2 29 ba 72 7b e1 7b 8d 12 26 20 55 7c d4 53 c2 aa b2 1d 07 c3 d4 95 32 9b 52 d4 e6 1e db 5a
             6b 30 17 91 e9 0d 35 c9 c9 a4 6b 4e 14 ba f9 af 0f a0 22 f7 07 7d ef 17 ab fd 37 97 c0 56 4b ab
             4f bc 91 66 6e 9d ef 9b 97 fc e3 4f 79 67 89 ba a4 80 82 d1 22 ee 42 c5 a7 2e 5a 51 10 ff f7 01
             87 34 7b 66",
        );
        assert_eq!(&out[..], &want[..]);
    }

    /// RFC 8448 §3 (Simple 1-RTT Handshake): the server handshake traffic
    /// secret gives the published key and IV.
    #[test]
    fn rfc8448_server_handshake_key_and_iv() {
        let s = suite(0x1301).unwrap();
        let secret = hex(
            "b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 e9 c9 12 bc de d9 10 5d 42 be fd 59 d3 91 ad 38",
        );
        let k = tls13_keys(s, &secret).unwrap();
        assert_eq!(
            &k.enc_key[..],
            &hex("3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc")[..]
        );
        assert_eq!(&k.iv[..], &hex("5d 31 3e b2 67 12 76 ee 13 00 0b 30")[..]);
    }

    #[test]
    fn every_suite_is_listed_once() {
        for (i, s) in SUITES.iter().enumerate() {
            assert!(SUITES[i + 1..].iter().all(|t| t.id != s.id), "{:04x}", s.id);
        }
    }
}
