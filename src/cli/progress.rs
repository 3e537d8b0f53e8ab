//! The CLI's progress bar, drawn from runner events on stderr.

use crate::runner::RunEvent;
use std::io::{IsTerminal, Write};
use std::sync::mpsc::Receiver;

pub use crate::runner::format_duration;

pub fn print_events(rx: Receiver<RunEvent>) {
    let tty = std::io::stderr().is_terminal();
    let mut err = std::io::stderr();
    let mut last_decile = None;
    let mut best: Option<f64> = None;
    for event in rx {
        match event {
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
                        let _ = writeln!(err, "{:3.0}% {timesteps}/{total_timesteps} | {:.0} steps/s | ETA {}{reward}{best}", frac * 100.0, steps_per_sec, format_duration(eta));
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
