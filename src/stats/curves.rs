//! Learning curves of several seeds summarized step by step: the band a
//! seed group's plot draws and `aggregate.csv`'s rows.
//!
//! Evaluations happen at the same timesteps in every seed of a group (the
//! same `eval_freq`), so `eval/mean_reward` is aligned on its exact steps.
//! Training curves (`rollout/ep_rew_mean`) are logged whenever episodes end,
//! so they are put on a common grid first: at each grid step, each seed's
//! latest value at or before it ([`on_grid`]); a seed that has not logged yet,
//! or whose log already ended (a failed seed), is left out of that step and
//! `n_seeds` says how many seeds a step covers.

use super::{Bootstrap, ScoreMatrix, iqm, max, mean, median, min, sample_std, stratified_bootstrap_ci};
use serde::{Deserialize, Serialize};

/// One step of a metric over seeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    pub timesteps: u64,
    pub n_seeds: usize,
    pub mean: f64,
    pub mean_ci: (f64, f64),
    pub median: f64,
    pub iqm: f64,
    pub iqm_ci: (f64, f64),
    pub std: f64,
    pub min: f64,
    pub max: f64,
}

impl CurvePoint {
    pub fn of(timesteps: u64, values: &[f64], b: Bootstrap) -> Self {
        let m = ScoreMatrix::single_task(values);
        // One bootstrap seed per step, so a step's band does not depend on the others.
        let b = Bootstrap { seed: b.seed ^ timesteps.wrapping_mul(0x9e37_79b9_7f4a_7c15), ..b };
        let mean_ci = stratified_bootstrap_ci(&m, &|m: &ScoreMatrix| mean(&m.scores), b);
        let iqm_ci = stratified_bootstrap_ci(&m, &|m: &ScoreMatrix| iqm(&m.scores), b);
        Self {
            timesteps,
            n_seeds: values.len(),
            mean: mean_ci.value,
            mean_ci: (mean_ci.low, mean_ci.high),
            median: median(values),
            iqm: iqm_ci.value,
            iqm_ci: (iqm_ci.low, iqm_ci.high),
            std: sample_std(values),
            min: min(values),
            max: max(values),
        }
    }
}

/// Aligns on exact timesteps: each step that any seed logged, over the seeds that logged it.
pub fn on_exact_steps(seeds: &[Vec<(u64, f64)>], b: Bootstrap) -> Vec<CurvePoint> {
    let mut steps: Vec<u64> = seeds.iter().flat_map(|s| s.iter().map(|(t, _)| *t)).collect();
    steps.sort_unstable();
    steps.dedup();
    steps
        .into_iter()
        .map(|t| {
            let values: Vec<f64> = seeds.iter().filter_map(|s| s.iter().rev().find(|(st, _)| *st == t).map(|(_, v)| *v)).collect();
            CurvePoint::of(t, &values, b)
        })
        .collect()
}

/// `points` evenly spaced steps up to `total` (the last one is `total`).
pub fn grid(total: u64, points: u64) -> Vec<u64> {
    let points = points.clamp(1, total.max(1));
    (1..=points).map(|i| total * i / points).collect()
}

/// One seed's logged values and how far it trained (its `timesteps_done`):
/// its curve holds its latest value up to there and no further.
pub struct SeedCurve {
    pub values: Vec<(u64, f64)>,
    pub end: u64,
}

/// Each seed's latest value at or before each grid step (see the module docs).
pub fn on_grid(seeds: &[SeedCurve], grid: &[u64], b: Bootstrap) -> Vec<CurvePoint> {
    grid.iter()
        .filter_map(|&t| {
            let values: Vec<f64> = seeds
                .iter()
                .filter(|s| t <= s.end)
                .filter_map(|s| s.values.iter().rev().find(|(st, _)| *st <= t).map(|(_, v)| *v))
                .collect();
            (!values.is_empty()).then(|| CurvePoint::of(t, &values, b))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_steps_cover_the_seeds_that_logged_them() {
        let seeds = vec![vec![(10, 1.0), (20, 3.0)], vec![(10, 3.0), (20, 5.0)], vec![(10, 2.0)]];
        let c = on_exact_steps(&seeds, Bootstrap::default());
        assert_eq!(c.len(), 2);
        assert_eq!((c[0].timesteps, c[0].n_seeds, c[0].mean, c[0].median), (10, 3, 2.0, 2.0));
        assert_eq!((c[1].timesteps, c[1].n_seeds, c[1].mean, c[1].min, c[1].max), (20, 2, 4.0, 3.0, 5.0));
        assert!(c[1].mean_ci.0 >= 3.0 && c[1].mean_ci.1 <= 5.0);
    }

    #[test]
    fn grid_holds_the_latest_value_and_drops_ended_seeds() {
        assert_eq!(grid(100, 4), vec![25, 50, 75, 100]);
        assert_eq!(grid(3, 100), vec![1, 2, 3]);
        // Seed b logs until step 40 only (it failed): it is left out from step 50 on.
        let seeds = vec![
            SeedCurve { values: vec![(5, 1.0), (30, 2.0), (90, 4.0)], end: 100 },
            SeedCurve { values: vec![(20, 10.0), (40, 20.0)], end: 45 },
        ];
        let c = on_grid(&seeds, &grid(100, 4), Bootstrap::default());
        let at = |t: u64| c.iter().find(|p| p.timesteps == t).unwrap();
        assert_eq!((at(25).n_seeds, at(25).mean), (2, 5.5));
        assert_eq!((at(50).n_seeds, at(50).mean), (1, 2.0));
        assert_eq!((at(100).n_seeds, at(100).mean), (1, 4.0));
    }
}
