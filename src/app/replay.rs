//! The replay panel: a run's recorded evaluation episodes, frame by frame, with
//! the policy's view, and Export Video in the background.

use crate::runner::replay::{load_episodes, write_episodes_video, EpisodeRecord, RENDER_FPS};
use crate::runs::RunDir;
use egui::{ColorImage, Key, TextureHandle, TextureOptions, Ui};
use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver};
use std::time::Instant;

enum Export {
    Running { rx: Receiver<Result<PathBuf, String>>, started: Instant },
}

pub struct Replay {
    pub run: Option<PathBuf>,
    pub episodes: Vec<EpisodeRecord>,
    pub episode: usize,
    pub frame: usize,
    pub playing: bool,
    pub speed: f64,
    play_clock: f64,
    texture: Option<(TextureHandle, usize, usize)>,
    export: Option<Export>,
    pub message: Option<String>,
}

impl Default for Replay {
    fn default() -> Self {
        Self { run: None, episodes: Vec::new(), episode: 0, frame: 0, playing: false, speed: 1.0, play_clock: 0.0, texture: None, export: None, message: None }
    }
}

impl Replay {
    pub fn open(&mut self, run: PathBuf) {
        let path = RunDir::at(&run).eval_episodes();
        match load_episodes(&path) {
            Ok(eps) if !eps.is_empty() => {
                self.episodes = eps;
                self.message = None;
            }
            Ok(_) => {
                self.episodes.clear();
                self.message = Some(format!("{} holds no episodes", path.display()));
            }
            Err(e) => {
                self.episodes.clear();
                self.message = Some(format!("no replay data: {e} (train with experiment.video_episodes ≥ 1, or run `rl-research video`)"));
            }
        }
        self.run = Some(run);
        self.episode = 0;
        self.frame = 0;
        self.texture = None;
    }

    fn poll_export(&mut self) {
        if let Some(Export::Running { rx, started }) = &self.export {
            if let Ok(r) = rx.try_recv() {
                self.message = Some(match r {
                    Ok(p) => format!("Exported {} in {:.1} s", p.display(), started.elapsed().as_secs_f64()),
                    Err(e) => format!("Export failed: {e}"),
                });
                self.export = None;
            }
        }
    }

    pub fn replay_ui(&mut self, ui: &mut Ui) {
        self.poll_export();
        let Some(run) = self.run.clone() else {
            ui.label("Pick a run in the Runs tab and press Replay.");
            return;
        };
        ui.horizontal(|ui| {
            ui.strong(run.display().to_string());
            if ui.button("Reload").clicked() {
                self.open(run.clone());
            }
        });
        if let Some(m) = &self.message {
            ui.label(m);
        }
        if self.episodes.is_empty() {
            return;
        }
        self.episode = self.episode.min(self.episodes.len() - 1);
        let n_frames = self.episodes[self.episode].n_frames();
        self.frame = self.frame.min(n_frames - 1);
        ui.horizontal(|ui| {
            egui::ComboBox::from_label("episode").selected_text(format!("{}", self.episode)).show_ui(ui, |ui| {
                for (i, e) in self.episodes.iter().enumerate() {
                    if ui.selectable_label(self.episode == i, format!("{i}: return {:.1}, {} steps", e.episode_return, e.length)).clicked() {
                        self.episode = i;
                        self.frame = 0;
                    }
                }
            });
            if ui.button("Step back").on_hover_text("Step back (Left arrow key)").clicked() {
                self.frame = self.frame.saturating_sub(1);
            }
            if ui.button(if self.playing { "Pause" } else { "Play" }).on_hover_text("Play / pause (space)").clicked() {
                self.playing = !self.playing;
            }
            if ui.button("Step forward").on_hover_text("Step forward (Right arrow key)").clicked() {
                self.frame = (self.frame + 1).min(n_frames - 1);
            }
            egui::ComboBox::from_label("speed").selected_text(format!("{}x", self.speed)).show_ui(ui, |ui| {
                for s in [0.25, 0.5, 1.0, 2.0, 4.0] {
                    ui.selectable_value(&mut self.speed, s, format!("{s}x"));
                }
            });
            let exporting = self.export.is_some();
            if ui.add_enabled(!exporting, egui::Button::new("Export Video")).on_hover_text("Write this episode as MP4 into the run's videos/").clicked() {
                let ep = self.episodes[self.episode].clone();
                let out = RunDir::at(&run).videos_dir().join(format!("episode_{}.mp4", self.episode));
                let (tx, rx) = channel();
                let ctx = ui.ctx().clone();
                std::thread::spawn(move || {
                    let r = write_episodes_video(std::slice::from_ref(&ep), &out, RENDER_FPS, &mut |_, _| {}).map(|s| s.path);
                    let _ = tx.send(r);
                    ctx.request_repaint();
                });
                self.export = Some(Export::Running { rx, started: Instant::now() });
                self.message = Some("Exporting…".into());
            }
        });
        ui.input(|i| {
            if i.key_pressed(Key::Space) {
                self.playing = !self.playing;
            }
            if i.key_pressed(Key::ArrowRight) {
                self.frame = (self.frame + 1).min(n_frames - 1);
            }
            if i.key_pressed(Key::ArrowLeft) {
                self.frame = self.frame.saturating_sub(1);
            }
        });
        ui.spacing_mut().slider_width = (ui.available_width() - 160.0).clamp(200.0, 900.0);
        ui.add(egui::Slider::new(&mut self.frame, 0..=n_frames - 1).text("frame"));
        if self.playing {
            let dt = ui.input(|i| i.stable_dt) as f64;
            self.play_clock += dt * RENDER_FPS * self.speed;
            let adv = self.play_clock.floor() as usize;
            self.play_clock -= adv as f64;
            self.frame = (self.frame + adv).min(n_frames - 1);
            if self.frame == n_frames - 1 {
                self.playing = false;
            }
            ui.ctx().request_repaint();
        }
        let ep = &self.episodes[self.episode];
        ui.horizontal_top(|ui| {
            let needs = self.texture.as_ref().is_none_or(|(_, e, f)| (*e, *f) != (self.episode, self.frame));
            if needs {
                if let Some(frame) = ep.frame(self.frame) {
                    let img = ColorImage::from_rgb([frame.width as usize, frame.height as usize], &frame.rgb);
                    let tex = ui.ctx().load_texture("replay_frame", img, TextureOptions::LINEAR);
                    self.texture = Some((tex, self.episode, self.frame));
                }
            }
            if let Some((tex, _, _)) = &self.texture {
                ui.add(egui::Image::new(tex).fit_to_exact_size(egui::vec2(600.0, 400.0)));
            }
            ui.vertical(|ui| {
                ui.label(format!("frame {} / {}", self.frame, n_frames - 1));
                // (+ 0.0: an empty f64 sum is -0.0)
                let ret: f64 = ep.steps[..self.frame].iter().map(|s| s.reward).sum::<f64>() + 0.0;
                ui.label(format!("return so far {ret:.2}"));
                // Frame k shows the state after step k-1; the step about to happen is k.
                if let Some(step) = ep.steps.get(self.frame) {
                    ui.label(format!("next action {}  reward {:.3}", step.action, step.reward));
                    if let Some(probs) = &step.policy.probs {
                        for (a, p) in probs.iter().enumerate() {
                            ui.add(egui::ProgressBar::new(*p).text(format!("a{a}: {p:.2}")).desired_width(180.0));
                        }
                    } else {
                        for (a, q) in step.policy.scores.iter().enumerate() {
                            ui.label(format!("Q(a{a}) = {q:.3}"));
                        }
                    }
                    if let Some(v) = step.policy.value {
                        ui.label(format!("V(s) = {v:.3}"));
                    }
                } else {
                    ui.label("episode end");
                }
            });
        });
    }
}
