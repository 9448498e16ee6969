//! `HeldOut`: a seeded, exact fraction of the C(pool, n) n-subsets of `0..pool`, held out
//! for testing, with no table. Subsets are ranked in the combinatorial number system; a
//! seeded Feistel permutation (cycle-walked onto `0..C`) maps ranks to slots, and the
//! subsets whose slot is below `count` are held out. Membership and sampling are O(1).
use crate::error::{Error, Result};

const ROUNDS: u32 = 6;

/// The held-out n-subsets of `0..pool`.
#[derive(Debug, Clone)]
pub struct HeldOut {
    pool: usize,
    n: usize,
    /// `binom[c][k]` = C(c, k) for c in 0..=pool, k in 0..=n.
    binom: Vec<Vec<u64>>,
    total: u64,
    count: u64,
    half_bits: u32,
    key: u64,
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn binomial(c: usize, k: usize) -> Option<u64> {
    if k > c {
        return Some(0);
    }
    (0..k).try_fold(1u64, |acc, i| {
        Some(acc.checked_mul((c - i) as u64)? / (i as u64 + 1))
    })
}

impl HeldOut {
    /// How many sets `fraction` holds out: round(fraction · C(pool, n)), which must be at
    /// least 1 and leave at least 1 for training.
    pub fn count_for(pool: usize, n: usize, fraction: f64) -> Result<u64> {
        let total = binomial(pool, n).unwrap_or(u64::MAX);
        let count = (fraction * total as f64).round() as u64;
        if count == 0 || count >= total {
            return Err(Error::Config(format!(
                "task.test_fraction = {fraction} holds out {count} of the C({pool}, {n}) = \
                 {total} symbol sets: it must hold out at least 1 and leave at least 1 \
                 for training"
            )));
        }
        Ok(count)
    }

    /// The held-out sets chosen by `seed`.
    pub fn new(pool: usize, n: usize, fraction: f64, seed: u64) -> Result<HeldOut> {
        let count = Self::count_for(pool, n, fraction)?;
        let binom: Vec<Vec<u64>> = (0..=pool)
            .map(|c| {
                (0..=n)
                    .map(|k| binomial(c, k).unwrap_or(u64::MAX))
                    .collect()
            })
            .collect();
        let total = binom[pool][n]; // count_for succeeded, so total fits
        let bits = 64 - (total - 1).leading_zeros();
        let half_bits = bits.div_ceil(2).max(1);
        if half_bits > 31 {
            return Err(Error::Config(format!(
                "C({pool}, {n}) = {total} symbol sets is too many to split"
            )));
        }
        Ok(HeldOut {
            pool,
            n,
            binom,
            total,
            count,
            half_bits,
            key: splitmix(seed ^ splitmix(0x5E7_u64 ^ ((n as u64) << 32) ^ pool as u64)),
        })
    }

    /// C(pool, n).
    pub fn total(&self) -> u64 {
        self.total
    }
    /// Number of held-out sets.
    pub fn count(&self) -> u64 {
        self.count
    }

    fn round_fn(&self, round: u32, x: u64) -> u64 {
        splitmix(self.key ^ (u64::from(round) << 40) ^ x) & ((1 << self.half_bits) - 1)
    }

    fn feistel(&self, x: u64) -> u64 {
        let h = self.half_bits;
        let m = (1u64 << h) - 1;
        let (mut l, mut r) = (x >> h, x & m);
        for i in 0..ROUNDS {
            (l, r) = (r, l ^ self.round_fn(i, r));
        }
        (l << h) | r
    }

    fn feistel_inv(&self, y: u64) -> u64 {
        let h = self.half_bits;
        let m = (1u64 << h) - 1;
        let (mut l, mut r) = (y >> h, y & m);
        for i in (0..ROUNDS).rev() {
            (l, r) = (r ^ self.round_fn(i, l), l);
        }
        (l << h) | r
    }

    /// The slot of a rank: a seeded bijection of `0..total` (cycle walking).
    fn slot(&self, rank: u64) -> u64 {
        let mut y = self.feistel(rank);
        while y >= self.total {
            y = self.feistel(y);
        }
        y
    }

    /// The rank in a slot (inverse of `slot`).
    fn rank_in_slot(&self, slot: u64) -> u64 {
        let mut x = self.feistel_inv(slot);
        while x >= self.total {
            x = self.feistel_inv(x);
        }
        x
    }

    /// Rank of an n-subset (any order; None unless n distinct values below `pool`).
    pub fn rank(&self, set: &[usize]) -> Option<u64> {
        let mut s = set.to_vec();
        s.sort_unstable();
        s.dedup();
        if s.len() != self.n || s.iter().any(|&c| c >= self.pool) {
            return None;
        }
        Some(
            s.iter()
                .enumerate()
                .map(|(i, &c)| self.binom[c][i + 1])
                .sum(),
        )
    }

    /// The sorted n-subset with a given rank (`rank < total`).
    pub fn unrank(&self, mut rank: u64) -> Vec<usize> {
        let mut out = vec![0; self.n];
        let mut hi = self.pool;
        for k in (1..=self.n).rev() {
            // Largest c < hi with C(c, k) <= rank; c = k-1 always qualifies (C = 0).
            let c = (k - 1..hi)
                .rev()
                .find(|&c| self.binom[c][k] <= rank)
                .unwrap_or(k - 1);
            rank -= self.binom[c][k];
            out[k - 1] = c;
            hi = c;
        }
        out
    }

    /// Whether an n-subset (any order) is held out; false for anything that is not one.
    pub fn contains(&self, set: &[usize]) -> bool {
        self.rank(set).is_some_and(|r| self.slot(r) < self.count)
    }

    /// A uniform sorted subset: among the held-out ones when `held_out`, else among the
    /// others.
    pub fn sample<R: rand::Rng + ?Sized>(&self, held_out: bool, rng: &mut R) -> Vec<usize> {
        let slot = if held_out {
            rng.random_range(0..self.count)
        } else {
            rng.random_range(self.count..self.total)
        };
        self.unrank(self.rank_in_slot(slot))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_unrank_bijection_small() {
        let h = HeldOut::new(7, 3, 0.2, 1).unwrap();
        assert_eq!(h.total(), 35);
        for r in 0..35 {
            let s = h.unrank(r);
            assert!(s.windows(2).all(|w| w[0] < w[1]) && s[2] < 7, "{s:?}");
            assert_eq!(h.rank(&s), Some(r));
        }
        let slots: std::collections::BTreeSet<u64> = (0..35).map(|r| h.slot(r)).collect();
        assert_eq!(slots.len(), 35);
        assert!((0..35).all(|r| h.rank_in_slot(h.slot(r)) == r));
        assert_eq!(h.count(), 7);
        assert_eq!((0..35).filter(|&r| h.contains(&h.unrank(r))).count(), 7);
        // Sampling covers each side exactly.
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(9);
        let mut seen = std::collections::BTreeSet::new();
        for held in [true, false] {
            for _ in 0..2000 {
                let s = h.sample(held, &mut rng);
                assert_eq!(h.contains(&s), held, "{s:?}");
                seen.insert(s);
            }
        }
        assert_eq!(seen.len(), 35);
    }

    #[test]
    fn exact_fraction_and_seed_dependence() {
        let a = HeldOut::new(62, 1, 0.2, 1).unwrap();
        let b = HeldOut::new(62, 1, 0.2, 2).unwrap();
        let held = |h: &HeldOut| -> Vec<usize> { (0..62).filter(|&i| h.contains(&[i])).collect() };
        assert_eq!(held(&a).len(), 12);
        assert_ne!(held(&a), held(&b));
    }

    #[test]
    fn large_is_fast_and_consistent() {
        let t = std::time::Instant::now();
        let h = HeldOut::new(62, 5, 0.2, 3).unwrap();
        assert_eq!(h.total(), 6_471_002);
        assert!(t.elapsed().as_millis() < 50);
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(5);
        for _ in 0..200 {
            assert!(h.contains(&h.sample(true, &mut rng)));
            assert!(!h.contains(&h.sample(false, &mut rng)));
        }
        assert!(!h.contains(&[1, 1, 2, 3, 4]) && !h.contains(&[1, 2, 3, 4, 62]));
    }
}
