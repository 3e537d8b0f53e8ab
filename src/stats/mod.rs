//! Honest statistics over seeds, after Agarwal et al., "Deep RL at the Edge of
//! the Statistical Precipice" (NeurIPS 2021) and their `rliable` library.
//!
//! Scores form a matrix of `runs x tasks` (here: seeds x environments; a seed
//! group is one task). The aggregate estimators are rliable's, point for point:
//! - [`aggregate_mean`]: mean over tasks of each task's mean over runs;
//! - [`aggregate_median`]: median over tasks of each task's mean over runs
//!   (with one task this is the mean; for the median *over seeds* use [`median`]);
//! - [`aggregate_iqm`]: interquartile mean of all scores (SciPy's `trim_mean`
//!   with 25% cut from each end, `int(0.25 * n)` scores each side);
//! - [`aggregate_optimality_gap`]: `gamma - mean(min(score, gamma))`: how far
//!   the scores fall short of a reference score `gamma`;
//! - [`probability_of_improvement`]: P(X > Y) per task (the Mann-Whitney U
//!   statistic over all pairs, ties counted as 1/2), averaged over tasks.
//!
//! Confidence intervals are percentile bootstraps: [`stratified_bootstrap_ci`]
//! resamples runs with replacement within each task (rliable's
//! `StratifiedBootstrap`), [`independent_bootstrap_ci`] resamples both sides of
//! a comparison independently (`StratifiedIndependentBootstrap`). Both are
//! seeded, so the same scores always give the same interval. Nothing here reads
//! files: callers pass numbers.

pub mod curves;

use crate::rng::Rng;
use serde::{Deserialize, Serialize};

/// A point estimate with its confidence interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

/// Scores of `runs` runs on `tasks` tasks, run-major (`scores[run * tasks + task]`),
/// as rliable's `(num_runs, num_tasks)` arrays.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoreMatrix {
    pub runs: usize,
    pub tasks: usize,
    pub scores: Vec<f64>,
}

impl ScoreMatrix {
    /// One task's scores (a seed group's final scores).
    pub fn single_task(scores: &[f64]) -> Self {
        Self { runs: scores.len(), tasks: 1, scores: scores.to_vec() }
    }
    /// From rows of `tasks` scores each; `None` if the rows differ in length or there are none.
    pub fn from_rows(rows: &[Vec<f64>]) -> Option<Self> {
        let tasks = rows.first()?.len();
        if tasks == 0 || rows.iter().any(|r| r.len() != tasks) {
            return None;
        }
        Some(Self { runs: rows.len(), tasks, scores: rows.concat() })
    }
    pub fn get(&self, run: usize, task: usize) -> f64 {
        self.scores[run * self.tasks + task]
    }
    /// Task `task`'s scores over runs.
    pub fn column(&self, task: usize) -> Vec<f64> {
        (0..self.runs).map(|r| self.get(r, task)).collect()
    }
    fn task_means(&self) -> Vec<f64> {
        (0..self.tasks).map(|t| mean(&self.column(t))).collect()
    }
}

pub fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// The sample standard deviation (n - 1 in the denominator: with a handful of
/// seeds the population formula understates the spread); 0 for one value.
pub fn sample_std(xs: &[f64]) -> f64 {
    match xs.len() {
        0 => f64::NAN,
        1 => 0.0,
        n => {
            let m = mean(xs);
            (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        }
    }
}

fn sorted(xs: &[f64]) -> Vec<f64> {
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    v
}

/// NumPy's `median`: the middle value, or the mean of the two middle values.
pub fn median(xs: &[f64]) -> f64 {
    let v = sorted(xs);
    let n = v.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => v[n / 2],
        _ => 0.5 * (v[n / 2 - 1] + v[n / 2]),
    }
}

/// The interquartile mean: the mean of the scores left after cutting
/// `int(0.25 * n)` from each end (SciPy's `trim_mean(x, 0.25)`, rliable's IQM).
/// With fewer than 4 scores nothing is cut and it is the mean.
pub fn iqm(xs: &[f64]) -> f64 {
    let v = sorted(xs);
    let cut = v.len() / 4;
    mean(&v[cut..v.len() - cut])
}

pub fn min(xs: &[f64]) -> f64 {
    xs.iter().copied().fold(f64::NAN, f64::min)
}

pub fn max(xs: &[f64]) -> f64 {
    xs.iter().copied().fold(f64::NAN, f64::max)
}

/// `gamma - mean(min(score, gamma))` for one list of scores.
pub fn optimality_gap(xs: &[f64], gamma: f64) -> f64 {
    gamma - mean(&xs.iter().map(|&x| x.min(gamma)).collect::<Vec<_>>())
}

/// P(x > y) + P(x = y) / 2 over all pairs: the normalized Mann-Whitney U.
pub fn prob_greater(x: &[f64], y: &[f64]) -> f64 {
    if x.is_empty() || y.is_empty() {
        return f64::NAN;
    }
    let mut u = 0.0;
    for &a in x {
        for &b in y {
            u += if a > b {
                1.0
            } else if a == b {
                0.5
            } else {
                0.0
            };
        }
    }
    u / (x.len() * y.len()) as f64
}

pub fn aggregate_mean(m: &ScoreMatrix) -> f64 {
    mean(&m.task_means())
}

pub fn aggregate_median(m: &ScoreMatrix) -> f64 {
    median(&m.task_means())
}

pub fn aggregate_iqm(m: &ScoreMatrix) -> f64 {
    iqm(&m.scores)
}

pub fn aggregate_optimality_gap(m: &ScoreMatrix, gamma: f64) -> f64 {
    optimality_gap(&m.scores, gamma)
}

/// rliable's `probability_of_improvement`: P(X_m > Y_m) averaged over tasks.
pub fn probability_of_improvement(x: &ScoreMatrix, y: &ScoreMatrix) -> f64 {
    if x.tasks != y.tasks {
        return f64::NAN;
    }
    mean(&(0..x.tasks).map(|t| prob_greater(&x.column(t), &y.column(t))).collect::<Vec<_>>())
}

/// How intervals are computed: replications, coverage and the generator's seed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bootstrap {
    pub reps: usize,
    /// Coverage, e.g. 0.95.
    pub confidence: f64,
    pub seed: u64,
}

impl Default for Bootstrap {
    fn default() -> Self {
        Self { reps: 2000, confidence: 0.95, seed: 0 }
    }
}

/// NumPy's `percentile` (linear interpolation) of sorted values, `q` in 0..=100.
pub fn percentile_sorted(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let pos = q / 100.0 * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

fn percentile_interval(mut values: Vec<f64>, confidence: f64, point: f64) -> Interval {
    values.retain(|v| v.is_finite());
    values.sort_by(|a, b| a.total_cmp(b));
    let tail = (1.0 - confidence) / 2.0 * 100.0;
    Interval { value: point, low: percentile_sorted(&values, tail), high: percentile_sorted(&values, 100.0 - tail) }
}

/// A resample of `m`: within each task, `runs` runs drawn with replacement.
fn resample(m: &ScoreMatrix, rng: &mut Rng, out: &mut ScoreMatrix) {
    for t in 0..m.tasks {
        for r in 0..m.runs {
            out.scores[r * m.tasks + t] = m.get(rng.below(m.runs), t);
        }
    }
}

/// `statistic(m)` with its percentile-bootstrap interval, resampling runs
/// within each task (rliable's `StratifiedBootstrap`, `task_bootstrap=False`).
pub fn stratified_bootstrap_ci(m: &ScoreMatrix, statistic: &dyn Fn(&ScoreMatrix) -> f64, b: Bootstrap) -> Interval {
    let point = statistic(m);
    if m.runs == 0 || b.reps == 0 {
        return Interval { value: point, low: f64::NAN, high: f64::NAN };
    }
    let mut rng = Rng::derive(b.seed, 0x5eed_b007);
    let mut sample = m.clone();
    let values = (0..b.reps)
        .map(|_| {
            resample(m, &mut rng, &mut sample);
            statistic(&sample)
        })
        .collect();
    percentile_interval(values, b.confidence, point)
}

/// `statistic(x, y)` with its percentile-bootstrap interval, resampling the
/// runs of `x` and of `y` independently (rliable's `StratifiedIndependentBootstrap`).
pub fn independent_bootstrap_ci(
    x: &ScoreMatrix,
    y: &ScoreMatrix,
    statistic: &dyn Fn(&ScoreMatrix, &ScoreMatrix) -> f64,
    b: Bootstrap,
) -> Interval {
    let point = statistic(x, y);
    if x.runs == 0 || y.runs == 0 || b.reps == 0 {
        return Interval { value: point, low: f64::NAN, high: f64::NAN };
    }
    let mut rng = Rng::derive(b.seed, 0x1d9e_b007);
    let (mut sx, mut sy) = (x.clone(), y.clone());
    let values = (0..b.reps)
        .map(|_| {
            resample(x, &mut rng, &mut sx);
            resample(y, &mut rng, &mut sy);
            statistic(&sx, &sy)
        })
        .collect();
    percentile_interval(values, b.confidence, point)
}

/// A seed group's final scores summarized: what the CLI table, `compare`, the
/// GUI's Compare view and group.json show.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FinalScores {
    /// Seeds whose final score is known (completed seeds with an evaluation).
    pub n_seeds: usize,
    pub scores: Vec<f64>,
    pub iqm: Interval,
    pub mean: Interval,
    /// The median over seeds (its interval from the same bootstrap).
    pub median: Interval,
    pub std: f64,
    pub min: f64,
    pub max: f64,
    /// Against `reference_score` (e.g. 500 for CartPole-v1).
    pub optimality_gap: Option<Interval>,
    pub reference_score: Option<f64>,
}

impl FinalScores {
    /// `None` without scores.
    pub fn of(scores: &[f64], reference_score: Option<f64>, b: Bootstrap) -> Option<Self> {
        if scores.is_empty() {
            return None;
        }
        let m = ScoreMatrix::single_task(scores);
        let per_seed_median = |m: &ScoreMatrix| median(&m.scores);
        Some(Self {
            n_seeds: scores.len(),
            scores: scores.to_vec(),
            iqm: stratified_bootstrap_ci(&m, &aggregate_iqm, b),
            mean: stratified_bootstrap_ci(&m, &aggregate_mean, b),
            median: stratified_bootstrap_ci(&m, &per_seed_median, b),
            std: sample_std(scores),
            min: min(scores),
            max: max(scores),
            optimality_gap: reference_score.map(|g| stratified_bootstrap_ci(&m, &|m: &ScoreMatrix| aggregate_optimality_gap(m, g), b)),
            reference_score,
        })
    }
}

/// P(X > Y) of two groups' final scores, with its interval.
pub fn improvement(x: &[f64], y: &[f64], b: Bootstrap) -> Interval {
    independent_bootstrap_ci(&ScoreMatrix::single_task(x), &ScoreMatrix::single_task(y), &probability_of_improvement, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn point_estimates_by_hand() {
        let x = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0];
        assert!(close(mean(&x), 31.0 / 8.0));
        assert!(close(median(&x), 3.5));
        // n = 8: 2 cut from each end of 1 1 2 3 4 5 6 9 -> 2 3 4 5.
        assert!(close(iqm(&x), 3.5));
        // n = 5: 1 cut each side of 1 2 3 4 100 -> 2 3 4.
        assert!(close(iqm(&[100.0, 2.0, 1.0, 4.0, 3.0]), 3.0));
        // n = 3: nothing cut.
        assert!(close(iqm(&[1.0, 2.0, 9.0]), 4.0));
        assert!(close(sample_std(&[1.0, 2.0, 3.0, 4.0]), (5.0f64 / 3.0).sqrt()));
        assert_eq!(sample_std(&[7.0]), 0.0);
        assert!(close(optimality_gap(&[500.0, 400.0, 600.0], 500.0), 500.0 - (500.0 + 400.0 + 500.0) / 3.0));
        assert_eq!((min(&x), max(&x)), (1.0, 9.0));
        assert!(mean(&[]).is_nan() && median(&[]).is_nan());
    }

    #[test]
    fn probability_of_improvement_counts_pairs_and_ties() {
        // Pairs (x, y): (2,1) win, (2,2) tie, (2,3) loss, (4,*) 3 wins -> 4.5 / 6.
        assert!(close(prob_greater(&[2.0, 4.0], &[1.0, 2.0, 3.0]), 4.5 / 6.0));
        assert!(close(prob_greater(&[1.0, 2.0], &[1.0, 2.0]), 0.5));
        let x = ScoreMatrix::from_rows(&[vec![1.0, 10.0], vec![2.0, 20.0]]).unwrap();
        let y = ScoreMatrix::from_rows(&[vec![0.0, 30.0], vec![0.0, 40.0]]).unwrap();
        // Task 0: X always better (1.0); task 1: always worse (0.0).
        assert!(close(probability_of_improvement(&x, &y), 0.5));
    }

    #[test]
    fn matrix_aggregates_follow_rliable() {
        let m = ScoreMatrix::from_rows(&[vec![1.0, 10.0, 0.0], vec![3.0, 30.0, 2.0]]).unwrap();
        // Task means 2, 20, 1.
        assert!(close(aggregate_mean(&m), 23.0 / 3.0));
        assert!(close(aggregate_median(&m), 2.0));
        // All 6 scores: 0 1 2 3 10 30, cut 1 each side -> 1 2 3 10.
        assert!(close(aggregate_iqm(&m), 4.0));
        assert!(ScoreMatrix::from_rows(&[vec![1.0], vec![1.0, 2.0]]).is_none());
    }

    #[test]
    fn percentiles_interpolate_like_numpy() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert!(close(percentile_sorted(&v, 2.5), 1.075));
        assert!(close(percentile_sorted(&v, 97.5), 3.925));
        assert!(close(percentile_sorted(&v, 50.0), 2.5));
    }

    #[test]
    fn bootstrap_is_seeded_and_brackets_the_estimate() {
        let scores = [480.0, 500.0, 350.0, 500.0, 420.0];
        let b = Bootstrap::default();
        let a = FinalScores::of(&scores, Some(500.0), b).unwrap();
        assert_eq!(a, FinalScores::of(&scores, Some(500.0), b).unwrap());
        for i in [a.iqm, a.mean, a.median] {
            assert!(i.low <= i.value && i.value <= i.high, "{i:?}");
            assert!(i.low >= 350.0 && i.high <= 500.0, "{i:?}");
        }
        assert!(close(a.iqm.value, (420.0 + 480.0 + 500.0) / 3.0));
        let gap = a.optimality_gap.unwrap();
        assert!(close(gap.value, 500.0 - 450.0));
        // A constant sample has a zero-width interval.
        let c = FinalScores::of(&[5.0, 5.0, 5.0], None, b).unwrap();
        assert_eq!((c.mean.low, c.mean.high), (5.0, 5.0));
        let p = improvement(&[10.0, 11.0, 12.0], &[1.0, 2.0, 3.0], b);
        assert_eq!((p.value, p.low, p.high), (1.0, 1.0, 1.0));
    }
}
