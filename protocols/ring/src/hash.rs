//! The specified hash: xxh3 (64-bit) with fixed, documented seeds.
//!
//! Placement must be identical on every node, every process and every platform, so the hash is
//! pinned: `xxhash_rust::xxh3::xxh3_64_with_seed` over little-endian bytes, with one seed per
//! purpose so that key positions, virtual-node positions and rendezvous scores are independent.
//! Never `std::collections::hash_map::DefaultHasher`: its algorithm is unspecified and may change
//! between Rust releases.

use xxhash_rust::xxh3::xxh3_64_with_seed;

/// Seed for key hashes: `key_hash(k) = xxh3_64(k.to_le_bytes(), KEY_SEED)`.
pub const KEY_SEED: u64 = 0x6b65_795f_7269_6e67; // "key_ring"
/// Seed for virtual-node positions: `xxh3_64(node.to_le_bytes() ++ index.to_le_bytes(), VNODE_SEED)`.
pub const VNODE_SEED: u64 = 0x766e_6f64_655f_706f; // "vnode_po"
/// Base seed for rendezvous scores: `xxh3_64(key_hash.to_le_bytes(), RENDEZVOUS_SEED + node)`.
pub const RENDEZVOUS_SEED: u64 = 0x6872_775f_7363_6f72; // "hrw_scor"

/// The hash of a key.
#[inline]
pub fn key_hash(key: u64) -> u64 {
    xxh3_64_with_seed(&key.to_le_bytes(), KEY_SEED)
}

/// The position of virtual node `index` of physical node `node`, before truncation to the ring's
/// token width.
#[inline]
pub fn vnode_hash(node: u32, index: u32) -> u64 {
    let mut bytes = [0u8; 8];
    bytes[..4].copy_from_slice(&node.to_le_bytes());
    bytes[4..].copy_from_slice(&index.to_le_bytes());
    xxh3_64_with_seed(&bytes, VNODE_SEED)
}

/// The rendezvous (highest random weight) score of `node` for a key hash.
#[inline]
pub fn rendezvous_score(key_hash: u64, node: u32) -> u64 {
    xxh3_64_with_seed(&key_hash.to_le_bytes(), RENDEZVOUS_SEED.wrapping_add(u64::from(node)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_pinned() {
        // If these change, every stored placement and every recorded trace changes: the values are
        // part of the format.
        // The values agree with the reference xxh3 (python-xxhash) over the documented bytes.
        let hex = |h: u64| format!("{h:016x}");
        assert_eq!(hex(key_hash(0)), "18e3a66c2da3fa1c");
        assert_eq!(hex(key_hash(42)), "fad11800a422e2c9");
        assert_eq!(hex(vnode_hash(3, 17)), "b6323063e706ba48");
        assert_eq!(hex(rendezvous_score(key_hash(5), 2)), "5a20fa21793ef753");
        assert_ne!(key_hash(0), key_hash(1));
        assert_ne!(vnode_hash(0, 1), vnode_hash(1, 0));
        assert_ne!(rendezvous_score(5, 0), rendezvous_score(5, 1));
        assert_eq!(key_hash(42), xxh3_64_with_seed(&42u64.to_le_bytes(), KEY_SEED));
    }
}
