//! What the classic-control envs share: glibc's `pow` for Gymnasium's `**2`,
//! and their checkpoint form (a few doubles and the reset generator).

use super::EnvSnapshot;
use super::np_random::EnvRng;

/// `x**2` as Python computes it on a float: C `pow(x, 2.0)`, which glibc does
/// not round as `x*x` does. The exponent is hidden from the optimiser, which
/// would otherwise fold `powf(2.0)` into a multiplication in optimised builds.
#[inline]
pub fn pow2(x: f64) -> f64 {
    x.powf(std::hint::black_box(2.0))
}

/// `x**2` on a NumPy float32: C `powf(x, 2.0)`.
#[inline]
pub fn pow2f(x: f32) -> f32 {
    x.powf(std::hint::black_box(2.0))
}

/// A classic-control env's exact state.
pub struct ClassicState {
    pub env_id: String,
    pub state: Vec<f64>,
    pub rng: EnvRng,
}

impl From<ClassicState> for EnvSnapshot {
    fn from(c: ClassicState) -> Self {
        EnvSnapshot::Classic { env_id: c.env_id, state: c.state, rng: c.rng }
    }
}

impl ClassicState {
    /// The state of `snapshot` if it is `env_id`'s with `n` finite values.
    pub fn from_snapshot(snapshot: &EnvSnapshot, env_id: &str, n: usize) -> Result<Self, String> {
        let EnvSnapshot::Classic { env_id: id, state, rng } = snapshot else {
            return Err(format!("a {} env's state cannot be restored into {env_id}", snapshot.kind()));
        };
        if id != env_id {
            return Err(format!("a {id} env's state cannot be restored into {env_id}"));
        }
        if state.len() != n || state.iter().any(|v| !v.is_finite()) {
            return Err(format!("the checkpointed {env_id} state {state:?} is not {n} finite values"));
        }
        Ok(Self { env_id: id.clone(), state: state.clone(), rng: rng.clone() })
    }
}
