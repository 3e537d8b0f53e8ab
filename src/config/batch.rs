//! Batching: `experiment.batch_seeds` (how a seed group's seeds execute)
//! and which configs may train as one batch at all. Agents of one batch share
//! every network shape and the loop's structure (rollout length, minibatches,
//! replay schedule); the scalars an update only multiplies or compares by
//! (learning rate, clip range, discount, loss coefficients, gradient clip,
//! exploration schedule) may differ per agent, so sweep trials that vary only
//! those train together.

use super::{AlgorithmConfig, Config};
use serde::{Deserialize, Serialize};
use std::fmt;

/// `experiment.batch_seeds`: true, false or auto (written as YAML/JSON does:
/// a boolean, or the string "auto").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BatchSeeds {
    /// Batched where that measured faster: on a GPU, and PPO on the CPU (one
    /// batch per core); DQN on the CPU one thread per seed.
    #[default]
    Auto,
    On,
    Off,
}

impl BatchSeeds {
    /// Whether `n_seeds` agents of `algorithm` on a GPU (`on_gpu`) or the CPU train batched.
    pub fn batches(self, n_seeds: usize, on_gpu: bool, algorithm: &AlgorithmConfig) -> bool {
        n_seeds > 1
            && match self {
                BatchSeeds::On => true,
                BatchSeeds::Off => false,
                // A GPU round trip costs the same whatever the batch, so there
                // it always pays; on the CPU the algorithm's descriptor says
                // (what `bench --seeds` measured for it).
                BatchSeeds::Auto => on_gpu || algorithm.spec().batch_seeds_on_cpu,
            }
    }
}

impl fmt::Display for BatchSeeds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BatchSeeds::Auto => "auto",
            BatchSeeds::On => "true",
            BatchSeeds::Off => "false",
        })
    }
}

/// `auto`, `true` or `false` (any case): what `experiment.batch_seeds` and
/// `sweep.batch_trials` accept as text.
impl std::str::FromStr for BatchSeeds {
    type Err = ();
    fn from_str(v: &str) -> Result<Self, ()> {
        match v.to_ascii_lowercase().as_str() {
            "auto" => Ok(BatchSeeds::Auto),
            "true" => Ok(BatchSeeds::On),
            "false" => Ok(BatchSeeds::Off),
            _ => Err(()),
        }
    }
}

impl Serialize for BatchSeeds {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            BatchSeeds::Auto => s.serialize_str("auto"),
            BatchSeeds::On => s.serialize_bool(true),
            BatchSeeds::Off => s.serialize_bool(false),
        }
    }
}

impl<'de> Deserialize<'de> for BatchSeeds {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = BatchSeeds;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("true, false or auto")
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<BatchSeeds, E> {
                Ok(if v { BatchSeeds::On } else { BatchSeeds::Off })
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<BatchSeeds, E> {
                v.parse().map_err(|()| E::custom(format!("'{v}' is not a batch_seeds choice: expected true, false or auto")))
            }
        }
        d.deserialize_any(V)
    }
}

impl Config {
    /// What must be equal for two runs to train as one batch: everything but
    /// the algorithm's per-agent scalars, the run's name and its seed.
    pub fn batch_key(&self) -> Config {
        let mut c = self.clone();
        c.algorithm = c.algorithm.batch_shape();
        c.experiment.name = String::new();
        c.experiment.seed = 0;
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trials_differing_in_scalars_share_a_batch_key_and_shapes_do_not() {
        let base = Config::default();
        let mut lr = base.clone();
        let AlgorithmConfig::Ppo(p) = &mut lr.algorithm else { unreachable!() };
        p.learning_rate = crate::config::Schedule::Constant(3e-4);
        p.gamma = 0.9;
        p.ent_coef = 0.01;
        lr.experiment.seed = 7;
        assert_eq!(lr.batch_key(), base.batch_key());
        let mut wide = base.clone();
        let AlgorithmConfig::Ppo(p) = &mut wide.algorithm else { unreachable!() };
        p.net_arch = vec![128, 128];
        assert_ne!(wide.batch_key(), base.batch_key());
        let mut longer = base.clone();
        longer.experiment.total_timesteps += 1;
        assert_ne!(longer.batch_key(), base.batch_key());
    }
}
