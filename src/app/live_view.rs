//! Beside the live plots: the latest evaluation episode of each training run,
//! played in a loop and replaced at every evaluation, so users watch the agent
//! improve while it trains.

use super::jobs::Job;
use super::replay::FrameTexture;
use egui::{RichText, Ui};
use std::collections::HashMap;

/// Playback state of one run's live episode.
struct Player {
    /// Timesteps the episode was recorded at (a new one restarts playback).
    at: Option<u64>,
    frame: usize,
    clock: f64,
    texture: FrameTexture,
}

#[derive(Default)]
pub struct LiveView {
    players: HashMap<String, Player>,
}

/// Size of each live view, 3:2 like the envs' frames.
const VIEW: egui::Vec2 = egui::vec2(264.0, 176.0);

impl LiveView {
    /// Runs with an episode, newest first; animates while any is training.
    /// Redraws at the episodes' frame rate, or every `pace` when that is longer (frames are
    /// then skipped: playback stays in real time).
    pub fn live_ui(&mut self, ui: &mut Ui, jobs: &[Job], pace: std::time::Duration) {
        ui.heading("Latest evaluation");
        let shown: Vec<&Job> = jobs.iter().rev().filter(|j| j.live_episode.is_some()).take(4).collect();
        if shown.is_empty() {
            ui.label(RichText::new("Each evaluation's first episode plays here while a run trains.").weak());
            return;
        }
        let dt = ui.input(|i| i.stable_dt).min(pace.as_secs_f32().max(0.1)) as f64;
        let mut animate = false;
        // The fastest frame rate among the episodes shown: the next repaint is due after one of its frames.
        let mut fps: f64 = 1.0;
        for job in shown {
            let Some((t, ep)) = &job.live_episode else { continue };
            let p =
                self.players.entry(job.name.clone()).or_insert(Player { at: None, frame: 0, clock: 0.0, texture: FrameTexture::default() });
            if p.at != Some(*t) {
                p.at = Some(*t);
                // A new evaluation: start its episode from the beginning.
                p.frame = 0;
                p.clock = 0.0;
            } else if job.running() {
                p.clock += dt * ep.render_fps();
                let adv = p.clock.floor() as usize;
                p.clock -= adv as f64;
                // Loop, holding the last frame for half a second.
                let hold = (ep.render_fps() / 2.0) as usize;
                p.frame = (p.frame + adv) % (ep.n_frames() + hold);
            }
            animate |= job.running();
            fps = fps.max(ep.render_fps());
            let shown_frame = p.frame.min(ep.n_frames().saturating_sub(1));
            ui.label(RichText::new(&job.name).strong());
            if let Some(tex) = p.texture.show(ui.ctx(), &format!("live_{}", job.name), ep, *t, shown_frame) {
                ui.add(egui::Image::new(tex).fit_to_exact_size(VIEW));
            }
            let ret = ep.return_before(shown_frame);
            ui.label(
                RichText::new(format!("eval @ {t} steps · step {shown_frame}/{} · return {ret:.1} of {:.1}", ep.length, ep.episode_return))
                    .small(),
            );
            ui.add_space(6.0);
        }
        self.players.retain(|name, _| jobs.iter().any(|j| &j.name == name));
        if animate {
            ui.ctx().request_repaint_after(std::time::Duration::from_secs_f64(1.0 / fps).max(pace));
        }
    }
}
