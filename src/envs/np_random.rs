//! Gymnasium's env generator, reproduced: `np.random.Generator(PCG64(SeedSequence(seed)))`
//! as `gymnasium.utils.seeding.np_random` builds it, with the draws the envs
//! use (`uniform`, `integers`) computed as NumPy computes them, so an env's
//! `reset(seed=s)` starts Gymnasium's episode s.
//!
//! An env checkpointed before this generator existed keeps the one it was
//! written with ([`EnvRng::Legacy`]), so its resume stays exact.

use crate::rng::Rng;
use serde::{Deserialize, Serialize};

const PCG_MULT: u128 = 0x2360_ed05_1fc6_5da4_4385_df64_9fcc_f645;

/// NumPy's PCG64 (XSL-RR 128/64) bit generator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pcg64 {
    /// The 128-bit state and increment, high word first.
    state: [u64; 2],
    inc: [u64; 2],
    /// The high half of a 64-bit draw kept for the next 32-bit one (NumPy's `has_uint32`/`uinteger`).
    #[serde(default)]
    spare_u32: Option<u32>,
}

fn join(w: [u64; 2]) -> u128 {
    ((w[0] as u128) << 64) | w[1] as u128
}

fn split(x: u128) -> [u64; 2] {
    [(x >> 64) as u64, x as u64]
}

/// `SeedSequence(entropy).generate_state(4, np.uint64)` for a non-negative integer seed.
fn seed_sequence_state(seed: u64) -> [u64; 4] {
    const INIT_A: u32 = 0x43b0_d7e5;
    const MULT_A: u32 = 0x931e_8875;
    const INIT_B: u32 = 0x8b51_f9dd;
    const MULT_B: u32 = 0x58f3_8ded;
    const MIX_MULT_L: u32 = 0xca01_f9dd;
    const MIX_MULT_R: u32 = 0x4973_f715;
    const XSHIFT: u32 = 16;
    const POOL: usize = 4;
    // The seed as little-endian 32-bit words (0 is one zero word).
    let entropy: Vec<u32> = if seed >> 32 == 0 { vec![seed as u32] } else { vec![seed as u32, (seed >> 32) as u32] };
    let mut hash_const = INIT_A;
    let mut hashmix = |mut value: u32| {
        value ^= hash_const;
        hash_const = hash_const.wrapping_mul(MULT_A);
        value = value.wrapping_mul(hash_const);
        value ^ (value >> XSHIFT)
    };
    let mix = |x: u32, y: u32| {
        let r = MIX_MULT_L.wrapping_mul(x).wrapping_sub(MIX_MULT_R.wrapping_mul(y));
        r ^ (r >> XSHIFT)
    };
    let mut pool = [0u32; POOL];
    for (i, p) in pool.iter_mut().enumerate() {
        *p = hashmix(entropy.get(i).copied().unwrap_or(0));
    }
    for src in 0..POOL {
        for dst in 0..POOL {
            if src != dst {
                let h = hashmix(pool[src]);
                pool[dst] = mix(pool[dst], h);
            }
        }
    }
    for &e in entropy.iter().skip(POOL) {
        for dst in 0..POOL {
            let h = hashmix(e);
            pool[dst] = mix(pool[dst], h);
        }
    }
    let mut hash_const = INIT_B;
    let mut words = [0u32; 8];
    for (i, w) in words.iter_mut().enumerate() {
        let mut v = pool[i % POOL] ^ hash_const;
        hash_const = hash_const.wrapping_mul(MULT_B);
        v = v.wrapping_mul(hash_const);
        *w = v ^ (v >> XSHIFT);
    }
    std::array::from_fn(|i| words[2 * i] as u64 | (words[2 * i + 1] as u64) << 32)
}

impl Pcg64 {
    /// `PCG64(SeedSequence(seed))`.
    pub fn from_seed(seed: u64) -> Self {
        let s = seed_sequence_state(seed);
        let (initstate, initseq) = (((s[0] as u128) << 64) | s[1] as u128, ((s[2] as u128) << 64) | s[3] as u128);
        let inc = (initseq << 1) | 1;
        let mut state = 0u128.wrapping_mul(PCG_MULT).wrapping_add(inc);
        state = state.wrapping_add(initstate);
        state = state.wrapping_mul(PCG_MULT).wrapping_add(inc);
        Self { state: split(state), inc: split(inc), spare_u32: None }
    }

    pub fn next_u64(&mut self) -> u64 {
        let state = join(self.state).wrapping_mul(PCG_MULT).wrapping_add(join(self.inc));
        self.state = split(state);
        let (hi, lo) = ((state >> 64) as u64, state as u64);
        (hi ^ lo).rotate_right((hi >> 58) as u32)
    }

    /// NumPy's `next_uint32`: half of a 64-bit draw, the low half first.
    pub fn next_u32(&mut self) -> u32 {
        if let Some(v) = self.spare_u32.take() {
            return v;
        }
        let v = self.next_u64();
        self.spare_u32 = Some((v >> 32) as u32);
        v as u32
    }

    /// NumPy's `next_double`: 53 random bits in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
    }
}

/// An env's generator: Gymnasium's, or the one a checkpoint written before it was made with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EnvRng {
    Pcg64(Pcg64),
    Legacy(Rng),
}

impl EnvRng {
    /// Gymnasium's `np_random(seed)`.
    pub fn seeded(seed: u64) -> Self {
        EnvRng::Pcg64(Pcg64::from_seed(seed))
    }

    /// Gymnasium's `reset(seed=...)`: a seed starts a fresh generator, `None` continues this one.
    pub fn reseed(&mut self, seed: Option<u64>) {
        if let Some(seed) = seed {
            *self = Self::seeded(seed);
        }
    }

    /// `np_random.uniform(low, high)`: `low + (high - low) * next_double`.
    pub fn uniform(&mut self, low: f64, high: f64) -> f64 {
        match self {
            EnvRng::Pcg64(g) => low + (high - low) * g.next_f64(),
            EnvRng::Legacy(r) => r.uniform(low, high),
        }
    }

    /// `np_random.integers(low, high)` (high exclusive) for a range below 2^32:
    /// NumPy's 32-bit Lemire draw.
    pub fn integers(&mut self, low: i64, high: i64) -> i64 {
        let g = match self {
            EnvRng::Pcg64(g) => g,
            EnvRng::Legacy(r) => return low + r.below((high - low).max(1) as usize) as i64,
        };
        let rng = (high - low - 1).max(0) as u64;
        if rng == 0 {
            return low;
        }
        let mut next32 = || g.next_u32();
        let rng_excl = rng + 1;
        let mut m = next32() as u64 * rng_excl;
        let mut leftover = m & 0xffff_ffff;
        if leftover < rng_excl {
            let threshold = (u32::MAX as u64 - rng) % rng_excl;
            while leftover < threshold {
                m = next32() as u64 * rng_excl;
                leftover = m & 0xffff_ffff;
            }
        }
        low + (m >> 32) as i64
    }
}

impl Default for EnvRng {
    fn default() -> Self {
        Self::seeded(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values NumPy gives: `np.random.default_rng(0).random()` etc. are PCG64(SeedSequence(0)).
    #[test]
    fn seed_zero_draws_numpys_first_doubles() {
        let mut g = Pcg64::from_seed(0);
        // np.random.default_rng(0).random(2) -> [0.6369616873214543, 0.2697867137638703]
        assert_eq!(g.next_f64(), 0.6369616873214543);
        assert_eq!(g.next_f64(), 0.2697867137638703);
        // A seed above 2^32 (two entropy words).
        assert_eq!(Pcg64::from_seed((1 << 40) + 7).next_f64(), 0.829812891829413);
        // [int(np.random.default_rng(5).integers(-9999, 9999)) for _ in range(5)]
        let mut r = EnvRng::seeded(5);
        let ints: Vec<i64> = (0..5).map(|_| r.integers(-9999, 9999)).collect();
        assert_eq!(ints, [3415, 6099, -9546, 6158, -623]);
    }

    /// A checkpoint's generator from before this one reads back as the old
    /// generator (so its resume continues with it); a new one as PCG64.
    #[test]
    fn checkpointed_generators_read_back_as_what_they_were() {
        let old = Rng::seed_from_u64(3);
        let back: EnvRng = rmp_serde::from_slice(&rmp_serde::to_vec_named(&old).unwrap()).unwrap();
        assert_eq!(back, EnvRng::Legacy(old));
        let mut new = EnvRng::seeded(3);
        new.integers(0, 10);
        let back: EnvRng = rmp_serde::from_slice(&rmp_serde::to_vec_named(&new).unwrap()).unwrap();
        assert_eq!(back, new, "the spare 32-bit half travels too");
    }
}
