//! The window's frame pace: background work (training events, the live evaluation view,
//! scans, the meter) redraws the window at most once per pace; input still redraws at once.
//! Each frame costs CPU that trainings need: little with a GPU, much on a software renderer
//! (Mesa's llvmpipe rasterises the whole window, spread over every core). So the pace
//! follows what a frame costs on this machine, as the meter measures it: redraws for
//! background work take at most [`BUDGET`] of one core.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// The share of one core background redraws may take.
pub const BUDGET: f64 = 0.03;
/// The fastest pace (10 frames a second): live plots look live at it.
pub const FASTEST: Duration = Duration::from_millis(100);
/// The slowest pace: the progress still moves.
pub const SLOWEST: Duration = Duration::from_secs(5);

/// The pace in ms; 0 = no window (tests, benchmarks): background work wakes at once and
/// trainings are paced at [`FASTEST`].
static PACE_MS: AtomicU64 = AtomicU64::new(0);
/// Set by `RL_RESEARCH_FRAME_MS`: the pace no longer adapts.
static FIXED: AtomicBool = AtomicBool::new(false);
/// Frames the window drew so far.
static FRAMES: AtomicU64 = AtomicU64::new(0);
/// The smoothed CPU seconds of one frame, as f64 bits (0 = not measured yet).
static FRAME_COST: AtomicU64 = AtomicU64::new(0);

/// Sets the pace when the window opens: `RL_RESEARCH_FRAME_MS` if set, else a first guess
/// (two seconds on a software renderer, [`FASTEST`] otherwise) until frames are measured.
pub fn start(software_renderer: bool) -> Duration {
    let fixed = std::env::var("RL_RESEARCH_FRAME_MS").ok().and_then(|v| v.trim().parse::<u64>().ok());
    FIXED.store(fixed.is_some(), Ordering::Relaxed);
    let ms = match fixed {
        Some(ms) => ms.clamp(10, 10_000),
        None if software_renderer => 2_000,
        None => FASTEST.as_millis() as u64,
    };
    PACE_MS.store(ms, Ordering::Relaxed);
    Duration::from_millis(ms)
}

/// Whether a window is open (its pace set).
pub fn windowed() -> bool {
    PACE_MS.load(Ordering::Relaxed) != 0
}

/// The current pace ([`FASTEST`] without a window).
pub fn current() -> Duration {
    match PACE_MS.load(Ordering::Relaxed) {
        0 => FASTEST,
        ms => Duration::from_millis(ms),
    }
}

/// Counts a frame (the window calls it once per frame).
pub fn frame_drawn() {
    FRAMES.fetch_add(1, Ordering::Relaxed);
}

/// Frames drawn so far.
pub fn frames() -> u64 {
    FRAMES.load(Ordering::Relaxed)
}

/// The smoothed CPU cost of one frame, once measured.
pub fn frame_cost() -> Option<Duration> {
    let secs = f64::from_bits(FRAME_COST.load(Ordering::Relaxed));
    (secs > 0.0).then(|| Duration::from_secs_f64(secs))
}

/// The meter reports the window's CPU seconds (every thread but the trainings') and the
/// frames drawn over one sample; the pace follows the smoothed cost of a frame.
pub fn observe(window_cpu_secs: f64, frames: u64) {
    if frames == 0 || !windowed() {
        return;
    }
    let sample = window_cpu_secs.max(0.0) / frames as f64;
    let old = f64::from_bits(FRAME_COST.load(Ordering::Relaxed));
    let cost = if old > 0.0 { 0.7 * old + 0.3 * sample } else { sample };
    FRAME_COST.store(cost.to_bits(), Ordering::Relaxed);
    if !FIXED.load(Ordering::Relaxed) {
        PACE_MS.store(pace_for(cost).as_millis() as u64, Ordering::Relaxed);
    }
}

/// The pace at which frames costing `frame_cpu_secs` each take [`BUDGET`] of one core.
pub fn pace_for(frame_cpu_secs: f64) -> Duration {
    let secs = (frame_cpu_secs / BUDGET).clamp(FASTEST.as_secs_f64(), SLOWEST.as_secs_f64());
    Duration::from_millis((secs * 1e3).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pace_keeps_background_frames_within_the_budget() {
        // A frame drawn by a GPU (a few ms) keeps the live pace.
        assert_eq!(pace_for(0.002), FASTEST);
        // 30 ms a frame: one a second is 3% of a core.
        assert_eq!(pace_for(0.030), Duration::from_secs(1));
        // A software renderer's quarter second a frame: as slow as allowed.
        assert_eq!(pace_for(0.25), SLOWEST);
        assert!(pace_for(0.06) > pace_for(0.03));
    }
}
