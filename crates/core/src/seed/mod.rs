//! Seeded randomness. Every random choice in kindling (splits, shuffles, augmentations,
//! initialisation) draws from a [`Rng`] derived from the user's seed, so a run on CPU is
//! repeatable, and work spread over threads draws the same numbers as work done serially.

use rand::SeedableRng;

mod torch;

pub use torch::{Mt19937, torch_randperm};

/// The random generator kindling uses everywhere: xoshiro256++, a fixed, named algorithm whose
/// output does not change between library versions, and whose state can be checkpointed.
pub type Rng = rand::rngs::Xoshiro256PlusPlus;

/// A generator for `seed`, further separated by a `stream` of words (epoch, item index …).
///
/// Different streams give independent generators; the same seed and stream always give the
/// same numbers.
///
/// ```
/// use rand::RngExt;
/// let a: u64 = kindling_core::seed::rng(42, &[1, 7]).random();
/// let b: u64 = kindling_core::seed::rng(42, &[1, 7]).random();
/// let c: u64 = kindling_core::seed::rng(42, &[1, 8]).random();
/// assert_eq!(a, b);
/// assert_ne!(a, c);
/// ```
pub fn rng(seed: u64, stream: &[u64]) -> Rng {
    Rng::seed_from_u64(mix(seed, stream))
}

/// Hashes a seed and stream words into one 64-bit seed (SplitMix64 finaliser per word).
pub fn mix(seed: u64, stream: &[u64]) -> u64 {
    let mut h = splitmix(seed ^ 0x6b69_6e64_6c69_6e67); // "kindling"
    for &w in stream {
        h = splitmix(h ^ splitmix(w.wrapping_add(0x9e37_79b9_7f4a_7c15)));
    }
    h
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A seeded Fisher–Yates permutation of `0..n`.
pub fn permutation(n: usize, rng: &mut Rng) -> Vec<usize> {
    use rand::seq::SliceRandom;
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(rng);
    idx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_is_a_permutation_and_repeatable() {
        let p = permutation(100, &mut rng(3, &[]));
        let mut sorted = p.clone();
        sorted.sort();
        assert_eq!(sorted, (0..100).collect::<Vec<_>>());
        assert_eq!(p, permutation(100, &mut rng(3, &[])));
        assert_ne!(p, permutation(100, &mut rng(4, &[])));
    }
}
