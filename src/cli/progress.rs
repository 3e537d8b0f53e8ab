//! The CLI's progress bar, drawn from runner events on stderr.

use crate::runner::RunEvent;
use crate::runner::group::GroupProgress;
use std::io::{IsTerminal, Write};
use std::sync::mpsc::Receiver;

pub use crate::runner::format_duration;

pub fn print_events(rx: Receiver<RunEvent>) {
    let tty = std::io::stderr().is_terminal();
    let mut err = std::io::stderr();
    let mut last_decile = None;
    let mut best: Option<f64> = None;
    let mut group: Option<GroupBar> = None;
    for event in rx {
        match event {
            RunEvent::GroupStarted { group_dir, seeds, parallel, batched } => {
                let state = GroupProgress::new(seeds, parallel, batched);
                let _ = writeln!(err, "seed group: {}  seeds {:?}, {}", group_dir.display(), state.seeds, state.execution());
                group = Some(GroupBar { state, last_decile: None });
            }
            RunEvent::Seed { seed, event } => {
                if let Some(g) = &mut group {
                    g.event(seed, *event, tty, &mut err);
                }
            }
            RunEvent::Started { run_dir, device, note } => {
                if let Some(n) = note {
                    let _ = writeln!(err, "{n}");
                }
                let _ = writeln!(err, "run directory: {}  device: {device}", run_dir.display());
            }
            RunEvent::Progress { timesteps, total_timesteps, steps_per_sec, mean_reward } => {
                let frac = (timesteps as f64 / total_timesteps.max(1) as f64).min(1.0);
                let eta = (total_timesteps.saturating_sub(timesteps)) as f64 / steps_per_sec.max(1e-9);
                let reward = mean_reward.map(|r| format!(" | ep_rew_mean {r:.1}")).unwrap_or_default();
                let best = best.map(|b| format!(" | best eval {b:.1}")).unwrap_or_default();
                if tty {
                    let width = 30;
                    let filled = (frac * width as f64) as usize;
                    let _ = write!(
                        err,
                        "\r[{}{}] {:5.1}% {timesteps}/{total_timesteps} | {:.0} steps/s | ETA {}{reward}{best}\x1b[K",
                        "#".repeat(filled),
                        "-".repeat(width - filled),
                        frac * 100.0,
                        steps_per_sec,
                        format_duration(eta)
                    );
                    let _ = err.flush();
                } else {
                    let decile = (frac * 10.0) as u32;
                    if last_decile != Some(decile) {
                        last_decile = Some(decile);
                        let _ = writeln!(
                            err,
                            "{:3.0}% {timesteps}/{total_timesteps} | {:.0} steps/s | ETA {}{reward}{best}",
                            frac * 100.0,
                            steps_per_sec,
                            format_duration(eta)
                        );
                    }
                }
            }
            RunEvent::Evaluated { timesteps, mean_reward, std_reward, new_best, .. } => {
                if new_best {
                    best = Some(mean_reward);
                }
                if tty {
                    let _ = write!(err, "\r\x1b[K");
                }
                let _ = writeln!(
                    err,
                    "eval @ {timesteps}: mean reward {mean_reward:.2} +/- {std_reward:.2}{}",
                    if new_best { "  (new best, saved models/best_model.zip)" } else { "" }
                );
            }
            RunEvent::Metrics { .. } | RunEvent::EvalEpisode { .. } => {}
            RunEvent::Note { message } => {
                if tty {
                    let _ = write!(err, "\r\x1b[K");
                }
                let _ = writeln!(err, "{message}");
            }
            RunEvent::Finished { .. } => {
                if tty {
                    let _ = writeln!(err);
                }
            }
        }
    }
}

/// A seed group's progress: one bar over all seeds, each seed's evaluations
/// and notes on their own lines, prefixed with the seed.
struct GroupBar {
    state: GroupProgress,
    last_decile: Option<u32>,
}

impl GroupBar {
    fn event(&mut self, seed: u64, event: RunEvent, tty: bool, err: &mut std::io::Stderr) {
        let clear = if tty { "\r\x1b[K" } else { "" };
        self.state.seed_event(seed, &event);
        match event {
            RunEvent::Started { run_dir, device, .. } => {
                let _ = writeln!(err, "{clear}seed {seed}: {}  device: {device}", run_dir.display());
            }
            RunEvent::Progress { .. } => self.draw(tty, err),
            RunEvent::Evaluated { timesteps, mean_reward, std_reward, .. } => {
                let _ = writeln!(err, "{clear}seed {seed} eval @ {timesteps}: mean reward {mean_reward:.2} +/- {std_reward:.2}");
            }
            RunEvent::Note { message } => {
                let _ = writeln!(err, "{clear}seed {seed}: {message}");
            }
            RunEvent::Finished { status, .. } => {
                let (done, n) = (self.state.finished.len(), self.state.seeds.len());
                let _ = writeln!(err, "{clear}seed {seed} {} ({done}/{n} seeds finished)", status.as_str());
            }
            _ => {}
        }
    }

    fn draw(&mut self, tty: bool, err: &mut std::io::Stderr) {
        let t = self.state.totals();
        // Nothing training (a resume counting its finished seeds): no rate to tell.
        if t.running == 0 {
            return;
        }
        let (done, total) = (t.timesteps, t.total_timesteps);
        let frac = (done as f64 / total.max(1) as f64).min(1.0);
        let eta = total.saturating_sub(done) as f64 / t.steps_per_sec.max(1e-9);
        let line = format!(
            "{:5.1}% {done}/{total} steps over {} seeds | {} running | {:.0} steps/s | ETA {}",
            frac * 100.0,
            self.state.seeds.len(),
            t.running,
            t.steps_per_sec,
            format_duration(eta)
        );
        if tty {
            let _ = write!(err, "\r{line}\x1b[K");
            let _ = err.flush();
        } else {
            let decile = (frac * 10.0) as u32;
            if self.last_decile != Some(decile) {
                self.last_decile = Some(decile);
                let _ = writeln!(err, "{line}");
            }
        }
    }
}
