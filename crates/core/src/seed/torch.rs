//! PyTorch's CPU random permutation, reproduced exactly, so that a split drawn with a seed in
//! kindling holds out the very rows that fastai's `RandomSplitter(valid_pct, seed)` holds out.

/// The 32-bit Mersenne Twister (MT19937) that `torch.manual_seed(seed)` seeds.
pub struct Mt19937 {
    state: [u32; 624],
    index: usize,
}

impl Mt19937 {
    /// Seeded as `std::mt19937(seed)` and torch's CPU generator (the low 32 bits of `seed`).
    pub fn new(seed: u64) -> Self {
        let mut state = [0u32; 624];
        state[0] = seed as u32;
        for i in 1..624 {
            let prev = state[i - 1];
            state[i] = 1_812_433_253u32.wrapping_mul(prev ^ (prev >> 30)).wrapping_add(i as u32);
        }
        Self { state, index: 624 }
    }

    /// The next 32-bit output.
    pub fn next_u32(&mut self) -> u32 {
        if self.index >= 624 {
            self.twist();
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    fn twist(&mut self) {
        for i in 0..624 {
            let y = (self.state[i] & 0x8000_0000) | (self.state[(i + 1) % 624] & 0x7fff_ffff);
            let mut next = self.state[(i + 397) % 624] ^ (y >> 1);
            if y & 1 != 0 {
                next ^= 0x9908_b0df;
            }
            self.state[i] = next;
        }
        self.index = 0;
    }
}

/// `torch.manual_seed(seed); torch.randperm(n)` on CPU: the swap loop of ATen's
/// `randperm_cpu`, drawing `random() % (n - i)` for position `i`.
///
/// ```
/// // torch.manual_seed(42); torch.randperm(10) -> [2, 6, 1, 8, 4, 5, 0, 9, 3, 7]
/// assert_eq!(kindling_core::seed::torch_randperm(10, 42), [2, 6, 1, 8, 4, 5, 0, 9, 3, 7]);
/// ```
pub fn torch_randperm(n: usize, seed: u64) -> Vec<usize> {
    let mut mt = Mt19937::new(seed);
    let mut r: Vec<usize> = (0..n).collect();
    for i in 0..n.saturating_sub(1) {
        let z = mt.next_u32() as usize % (n - i);
        r.swap(i, i + z);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mersenne_twister_matches_the_reference_sequence() {
        // std::mt19937 with its default seed 5489: first output, and the 10,000th (the C++
        // standard's check value).
        let mut mt = Mt19937::new(5489);
        assert_eq!(mt.next_u32(), 3_499_211_612);
        let mut mt = Mt19937::new(5489);
        let last = (0..10_000).map(|_| mt.next_u32()).last();
        assert_eq!(last, Some(4_123_659_995));
    }

    #[test]
    fn randperm_matches_torch() {
        // Printed by torch 2.15: torch.manual_seed(42); torch.randperm(n)[:8] (with fastai's
        // peer environment, see ../shared/peer).
        assert_eq!(torch_randperm(32561, 42)[..8], [26459, 14308, 30129, 7933, 23325, 4624, 24726, 19755]);
        assert_eq!(torch_randperm(100_000, 42)[..8], [37542, 60279, 68544, 70051, 15790, 14785, 72904, 31383]);
        assert_eq!(torch_randperm(1000, 42)[..8], [542, 618, 816, 68, 94, 215, 60, 585]);
        let p = torch_randperm(1000, 7);
        let mut sorted = p.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..1000).collect::<Vec<_>>());
        assert!(torch_randperm(0, 1).is_empty() && torch_randperm(1, 1) == [0]);
    }
}
