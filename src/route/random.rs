//! The `random` strategy: the `k` instances with the smallest key
//! `hash(seed, id)`. A key depends only on the seed and the instance's id, so
//! the sample is the same for any thread count, batch size or row order, and a
//! larger budget routes a superset of a smaller one. It is the baseline every
//! router is measured against, and the way to pick the seed set a team sends
//! to humans first.

/// The instance's key: FNV-1a of the id's bytes, mixed with the seed by
/// SplitMix64's finaliser (both fixed algorithms, so keys never change
/// between builds or platforms).
pub fn random_key(seed: u64, id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut z = h ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Membership vector of the `k` instances with the smallest keys (equal keys:
/// the smaller id, then the lower index).
pub fn random_routing(ids: &[&str], k: usize, seed: u64) -> Vec<bool> {
    let keys: Vec<u64> = ids.iter().map(|id| random_key(seed, id)).collect();
    let mut order: Vec<usize> = (0..ids.len()).collect();
    order.sort_unstable_by(|&a, &b| keys[a].cmp(&keys[b]).then_with(|| ids[a].cmp(ids[b])).then(a.cmp(&b)));
    let mut human = vec![false; ids.len()];
    for &i in order.iter().take(k) {
        human[i] = true;
    }
    human
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_depends_on_ids_and_seed_not_on_row_order() {
        let ids: Vec<String> = (0..200).map(|i| format!("id{i}")).collect();
        let fwd: Vec<&str> = ids.iter().map(String::as_str).collect();
        let rev: Vec<&str> = fwd.iter().rev().copied().collect();
        let a = random_routing(&fwd, 50, 7);
        let mut b = random_routing(&rev, 50, 7);
        b.reverse();
        assert_eq!(a, b);
        assert_eq!(a.iter().filter(|h| **h).count(), 50);
        assert_ne!(a, random_routing(&fwd, 50, 8));
        // Nested: a larger budget keeps the smaller one's sample.
        let big = random_routing(&fwd, 120, 7);
        assert!(a.iter().zip(&big).all(|(s, l)| !s || *l));
        // Fixed algorithm: the key of a known id never changes.
        assert_eq!(random_key(42, "a"), random_key(42, "a"));
        assert_ne!(random_key(42, "a"), random_key(42, "b"));
    }
}
