//! A fast hasher for the maps looked up once or more per packet or per
//! connection, keyed by addresses and ports or a packet's signature: the
//! flow table's conversations, a connection's recent sightings, and later
//! stages' maps of clients and servers (the
//! attempt grouper, the summaries of the attempts across protocols).
//! The default SipHash cost several hundred instructions per look-up of
//! such a key, a few per cent of a short connection's cost.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// FxHash-style multiply hasher with a final avalanche (the key is not
/// attacker-chosen in a way that matters: a capture is a fixed input,
/// and the maps it serves are bounded by the live connections or the
/// file's addresses).
#[derive(Default, Clone, Copy)]
pub struct FastHasher(u64);

/// A map hashed with [`FastHasher`].
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

const K: u64 = 0x517c_c1b7_2722_0a95;

impl FastHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
    }
}

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            if let Some(dst) = b.get_mut(..chunk.len()) {
                dst.copy_from_slice(chunk);
            }
            self.add(u64::from_le_bytes(b));
        }
    }
    // Integers as one word each: the derived `Hash` of an address or an
    // enum writes its parts one at a time.
    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }
    fn write_u16(&mut self, n: u16) {
        self.add(u64::from(n));
    }
    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
    fn write_isize(&mut self, n: isize) {
        self.add(n as u64);
    }
    fn finish(&self) -> u64 {
        // murmur3 fmix64
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::{BuildHasher, Hash};
    use std::net::{IpAddr, SocketAddr};

    /// Bucket spread of `n` keys: distinct low 12 bits and top 7 bits
    /// (hashbrown's bucket index and control byte).
    fn spread<T: Hash>(keys: impl Iterator<Item = T>) -> (usize, usize) {
        let b = BuildHasherDefault::<FastHasher>::default();
        let mut low = std::collections::HashSet::new();
        let mut top = std::collections::HashSet::new();
        for k in keys {
            let h = b.hash_one(k);
            low.insert(h & 0xfff);
            top.insert(h >> 57);
        }
        (low.len(), top.len())
    }

    #[test]
    fn client_and_server_pairs_spread_over_buckets() {
        let server = SocketAddr::from(([192, 0, 2, 1], 3389));
        let pairs = (0..4096u32).map(|c| {
            let client = IpAddr::from([10, 1, (c >> 8) as u8, c as u8]);
            (client, server)
        });
        // 4096 keys into 4096 buckets: a good hash fills about 63%.
        let (low, top) = spread(pairs);
        assert!(low > 2400, "{low} distinct buckets");
        assert_eq!(top, 128);
        let v6 = (0..4096u32).map(|c| IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, c as u16]));
        let (low, _) = spread(v6);
        assert!(low > 2400, "{low} distinct buckets");
    }
}
