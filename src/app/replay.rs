//! The replay panel: a run's recorded evaluation episodes frame by frame, with
//! the policy's view beside the frame, a timeline synced to the scrubber, and
//! Export Video in the background.

use super::pending::Pending;
use crate::envs::ActionValue;
use crate::runner::replay::{EpisodeRecord, episodes_fps, load_episodes, write_episodes_video};
use crate::runs::RunDir;
use egui::{ColorImage, Key, RichText, TextureHandle, TextureOptions, Ui};
use egui_plot::{Line, Plot, PlotPoints, VLine};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// A video export: frames done of the total as it goes, the file at the end.
struct Export {
    task: Pending<Result<PathBuf, String>, (u64, u64)>,
    started: Instant,
    progress: (u64, u64),
}

/// An episode frame as a texture, re-drawn and re-uploaded only when the
/// (episode key, frame) it shows changes (the replay panel and the live view).
#[derive(Default)]
pub(super) struct FrameTexture {
    texture: Option<TextureHandle>,
    shown: Option<(u64, usize)>,
}

impl FrameTexture {
    /// Shows frame `k` of `ep`, which `key` identifies; returns the texture.
    pub(super) fn show(&mut self, ctx: &egui::Context, name: &str, ep: &EpisodeRecord, key: u64, k: usize) -> Option<&TextureHandle> {
        if self.shown != Some((key, k)) || self.texture.is_none() {
            if let Some(f) = ep.frame(k) {
                let img = ColorImage::from_rgb([f.width as usize, f.height as usize], &f.rgb);
                match &mut self.texture {
                    Some(tex) => tex.set(img, TextureOptions::LINEAR),
                    None => self.texture = Some(ctx.load_texture(name, img, TextureOptions::LINEAR)),
                }
                self.shown = Some((key, k));
            }
        }
        self.texture.as_ref()
    }

    /// Forgets what is shown (the episodes were replaced).
    fn reset(&mut self) {
        self.shown = None;
    }
}

/// What the timeline plot shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timeline {
    Return,
    Reward,
    Value,
    /// SAC's and TD3's min over the twin critics of Q(s, a).
    QValue,
    ChosenScore,
}

pub struct Replay {
    pub run: Option<PathBuf>,
    pub episodes: Vec<EpisodeRecord>,
    pub episode: usize,
    pub frame: usize,
    pub playing: bool,
    pub speed: f64,
    pub timeline: Timeline,
    /// Export every episode into one MP4 instead of the chosen one.
    pub export_all: bool,
    /// Where Export Video writes (filled with the run's videos/ on open).
    pub export_path: String,
    play_clock: f64,
    texture: FrameTexture,
    export: Option<Export>,
    /// Episodes being read on a background thread (a long LunarLander file takes a while).
    loading: Option<Pending<Result<Vec<EpisodeRecord>, String>>>,
    /// Wakes the UI when a background task ends (set from the UI's context on each frame).
    waker: Option<Arc<dyn Fn() + Send + Sync>>,
    pub message: Option<String>,
}

impl Default for Replay {
    fn default() -> Self {
        Self {
            run: None,
            episodes: Vec::new(),
            episode: 0,
            frame: 0,
            playing: false,
            speed: 1.0,
            timeline: Timeline::Return,
            export_all: false,
            export_path: String::new(),
            play_clock: 0.0,
            texture: FrameTexture::default(),
            export: None,
            loading: None,
            waker: None,
            message: None,
        }
    }
}

fn default_export_path(run: &Path, episode: usize, all: bool) -> PathBuf {
    RunDir::at(run).videos_dir().join(if all { "all_episodes.mp4".to_string() } else { format!("episode_{episode}.mp4") })
}

impl Replay {
    /// Starts reading a run's recorded episodes in the background.
    pub fn open(&mut self, run: PathBuf) {
        let path = RunDir::at(&run).eval_episodes();
        let hint = format!("train with experiment.video_episodes >= 1, or run `rl-research video {}`", run.display());
        let waker = self.waker.clone().unwrap_or_else(|| Arc::new(|| {}));
        let task = Pending::spawn("load-episodes", waker, move || match load_episodes(&path) {
            Ok(eps) if !eps.is_empty() => Ok(eps),
            Ok(_) => Err(format!("{} holds no episodes ({hint})", path.display())),
            Err(e) => Err(format!("no replay data: {e} ({hint})")),
        });
        self.episodes.clear();
        self.loading = Some(task);
        self.message = Some("loading episodes…".into());
        self.export_path = default_export_path(&run, 0, self.export_all).display().to_string();
        self.run = Some(run);
        self.episode = 0;
        self.frame = 0;
        self.playing = false;
        self.texture.reset();
    }

    /// Whether episodes are still being read.
    pub fn is_loading(&self) -> bool {
        self.loading.is_some()
    }

    fn poll_loading(&mut self, ctx: &egui::Context) {
        if self.waker.is_none() {
            let ctx = ctx.clone();
            self.waker = Some(Arc::new(move || ctx.request_repaint()));
        }
        let Some(task) = &mut self.loading else { return };
        match task.take() {
            Some(Ok(eps)) => {
                self.episodes = eps;
                self.message = None;
                self.loading = None;
            }
            Some(Err(e)) => {
                self.message = Some(e);
                self.loading = None;
            }
            // Opened before the first frame knew the UI's context: no waker, so look again shortly.
            None if task.busy() => ctx.request_repaint_after(std::time::Duration::from_millis(30)),
            None => {
                self.message = Some("reading the episodes failed".into());
                self.loading = None;
            }
        }
    }

    fn poll_export(&mut self) {
        let Some(ex) = &mut self.export else { return };
        if let Some(&last) = ex.task.updates().last() {
            ex.progress = last;
        }
        let done = match ex.task.take() {
            Some(Ok(p)) => format!("Exported {} in {:.1} s", p.display(), ex.started.elapsed().as_secs_f64()),
            Some(Err(e)) => format!("Export failed: {e}"),
            None if ex.task.lost() => "Export failed: the export thread crashed".into(),
            None => return,
        };
        self.message = Some(done);
        self.export = None;
    }

    /// Encodes the chosen episode(s) to `out` on a background thread.
    fn start_export(&mut self, out: PathBuf, ctx: &egui::Context) {
        let episodes: Vec<EpisodeRecord> = if self.export_all { self.episodes.clone() } else { vec![self.episodes[self.episode].clone()] };
        let ctx = ctx.clone();
        let waker: super::pending::Waker = Arc::new(move || ctx.request_repaint());
        let mut task = Pending::spawn_reporting("export-video", waker, move |progress| {
            let mut last = Instant::now();
            let fps = episodes_fps(&episodes);
            let r = write_episodes_video(&episodes, &out, fps, &mut |done, total| {
                if last.elapsed().as_millis() >= 100 {
                    last = Instant::now();
                    progress.send((done, total));
                }
            });
            r.map(|s| s.path)
        });
        if task.lost() {
            self.message = Some("Export failed: cannot start a thread".into());
            return;
        }
        self.export = Some(Export { task, started: Instant::now(), progress: (0, 0) });
        self.message = Some("Exporting…".into());
    }

    /// The panel; `runs` are the runs that have replay data (for the picker).
    pub fn replay_ui(&mut self, ui: &mut Ui, runs: &[PathBuf]) {
        self.poll_export();
        self.poll_loading(ui.ctx());
        ui.horizontal(|ui| {
            let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let current = self.run.as_deref().map(name).unwrap_or_else(|| "pick a run…".into());
            let mut pick = None;
            egui::ComboBox::from_label("run").selected_text(current).width(240.0).show_ui(ui, |ui| {
                if runs.is_empty() {
                    ui.label("no run with recorded episodes yet");
                }
                for r in runs {
                    if ui.selectable_label(self.run.as_ref() == Some(r), name(r)).clicked() {
                        pick = Some(r.clone());
                    }
                }
            });
            if let Some(r) = pick {
                self.open(r);
            }
            if let Some(run) = self.run.clone() {
                if ui.button("Reload").on_hover_text("Read the run's episodes again").clicked() {
                    self.open(run);
                }
            }
        });
        if let Some(m) = &self.message {
            ui.horizontal(|ui| {
                if self.loading.is_some() {
                    ui.spinner();
                }
                ui.label(m);
            });
        }
        if self.run.is_none() {
            ui.label(RichText::new("Pick a run above, or press Replay on a run in the Runs tab.").weak());
            return;
        }
        if self.episodes.is_empty() {
            return;
        }
        self.episode = self.episode.min(self.episodes.len() - 1);
        let n_frames = self.episodes[self.episode].n_frames();
        self.frame = self.frame.min(n_frames - 1);
        self.controls_ui(ui, n_frames);
        self.export_ui(ui);
        ui.separator();
        self.advance(ui, n_frames);
        let frame_h = (ui.available_height() - 190.0).clamp(160.0, 480.0);
        ui.horizontal_top(|ui| {
            let ep = &self.episodes[self.episode];
            if let Some(tex) = self.texture.show(ui.ctx(), "replay_frame", ep, self.episode as u64, self.frame) {
                let [w, h] = tex.size();
                let scale = (frame_h / h as f32).min((ui.available_width() - 300.0).max(200.0) / w as f32);
                ui.add(egui::Image::new(tex).fit_to_exact_size(egui::vec2(w as f32 * scale, h as f32 * scale)));
            }
            ui.vertical(|ui| step_info_ui(ui, &self.episodes[self.episode], self.frame));
        });
        self.timeline_ui(ui);
    }

    fn controls_ui(&mut self, ui: &mut Ui, n_frames: usize) {
        ui.horizontal_wrapped(|ui| {
            let ep = &self.episodes[self.episode];
            let selected = format!("{}: return {:.1}, {} steps", self.episode, ep.episode_return, ep.length);
            egui::ComboBox::from_label("episode").selected_text(selected).width(220.0).show_ui(ui, |ui| {
                for (i, e) in self.episodes.iter().enumerate() {
                    if ui
                        .selectable_label(
                            self.episode == i,
                            format!("{i}: return {:.1}, {} steps, seed {}", e.episode_return, e.length, e.seed),
                        )
                        .clicked()
                    {
                        self.episode = i;
                        self.frame = 0;
                        if !self.export_all {
                            if let Some(run) = &self.run {
                                self.export_path = default_export_path(run, i, false).display().to_string();
                            }
                        }
                    }
                }
            });
            if ui.button("Step back").on_hover_text("One frame back (Left arrow)").clicked() {
                self.frame = self.frame.saturating_sub(1);
                self.playing = false;
            }
            if ui.button(if self.playing { "Pause" } else { "Play" }).on_hover_text("Play / pause (Space)").clicked() {
                self.toggle_play(n_frames);
            }
            if ui.button("Step forward").on_hover_text("One frame forward (Right arrow)").clicked() {
                self.frame = (self.frame + 1).min(n_frames - 1);
                self.playing = false;
            }
            egui::ComboBox::from_label("speed").selected_text(format!("{}x", self.speed)).width(60.0).show_ui(ui, |ui| {
                for s in [0.25, 0.5, 1.0, 2.0, 4.0] {
                    ui.selectable_value(&mut self.speed, s, format!("{s}x"));
                }
            });
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
            if i.key_pressed(Key::Home) {
                self.frame = 0;
            }
            if i.key_pressed(Key::End) {
                self.frame = n_frames - 1;
            }
        });
        ui.horizontal(|ui| {
            ui.spacing_mut().slider_width = (ui.available_width() - 120.0).clamp(200.0, 1400.0);
            let l = ui.label("frame");
            ui.add(egui::Slider::new(&mut self.frame, 0..=n_frames - 1))
                .on_hover_text("Scrub through the episode (Left/Right, Home/End)")
                .labelled_by(l.id);
        });
    }

    fn toggle_play(&mut self, n_frames: usize) {
        if !self.playing && self.frame + 1 >= n_frames {
            self.frame = 0;
        }
        self.playing = !self.playing;
    }

    fn advance(&mut self, ui: &mut Ui, n_frames: usize) {
        if !self.playing {
            self.play_clock = 0.0;
            return;
        }
        let dt = ui.input(|i| i.stable_dt).min(0.1) as f64;
        let fps = self.episodes.get(self.episode).map_or(50.0, EpisodeRecord::render_fps);
        self.play_clock += dt * fps * self.speed;
        let adv = self.play_clock.floor() as usize;
        self.play_clock -= adv as f64;
        self.frame = (self.frame + adv).min(n_frames - 1);
        if self.frame == n_frames - 1 {
            self.playing = false;
        }
        ui.ctx().request_repaint();
    }

    fn export_ui(&mut self, ui: &mut Ui) {
        let Some(run) = self.run.clone() else { return };
        ui.horizontal_wrapped(|ui| {
            let l = ui.label("video file");
            ui.add(egui::TextEdit::singleline(&mut self.export_path).desired_width(320.0))
                .labelled_by(l.id)
                .on_hover_text("Where Export Video writes the MP4");
            if ui.checkbox(&mut self.export_all, "all episodes").on_hover_text("One MP4 with every recorded episode").changed() {
                self.export_path = default_export_path(&run, self.episode, self.export_all).display().to_string();
            }
            let busy = self.export.is_some();
            if ui
                .add_enabled(!busy, egui::Button::new("Save as…"))
                .on_hover_text("Choose the file with the native dialog, then export")
                .clicked()
            {
                let default = PathBuf::from(&self.export_path);
                let dialog = rfd::FileDialog::new()
                    .add_filter("MP4 video", &["mp4"])
                    .set_directory(default.parent().unwrap_or(Path::new(".")))
                    .set_file_name(default.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "episode.mp4".into()));
                match dialog.save_file() {
                    Some(p) => {
                        self.export_path = p.display().to_string();
                        self.start_export(p, ui.ctx());
                    }
                    None => {
                        self.message =
                            Some("no file chosen (if no dialog appeared, edit the video file field and press Export Video)".into())
                    }
                }
            }
            if ui
                .add_enabled(!busy, egui::Button::new("Export Video"))
                .on_hover_text("Encode the chosen episode(s) to the video file (MP4, H.264)")
                .clicked()
            {
                let out = PathBuf::from(self.export_path.trim());
                if out.extension().is_none_or(|e| !e.eq_ignore_ascii_case("mp4")) {
                    self.message = Some(format!("Export failed: '{}' must end in .mp4", out.display()));
                } else {
                    self.start_export(out, ui.ctx());
                }
            }
            if let Some(ex) = &self.export {
                let (done, total) = ex.progress;
                let frac = if total > 0 { done as f32 / total as f32 } else { 0.0 };
                ui.add(egui::ProgressBar::new(frac).text(format!("{done}/{total} frames")).desired_width(180.0));
            }
        });
    }

    fn timeline_ui(&mut self, ui: &mut Ui) {
        let ep = &self.episodes[self.episode];
        let has_value = ep.steps.iter().any(|s| s.policy.value.is_some());
        let has_q = ep.steps.iter().any(|s| s.policy.q_values.is_some());
        ui.horizontal(|ui| {
            ui.label("timeline");
            ui.selectable_value(&mut self.timeline, Timeline::Return, "return");
            ui.selectable_value(&mut self.timeline, Timeline::Reward, "reward");
            if has_value {
                ui.selectable_value(&mut self.timeline, Timeline::Value, "V(s)");
            }
            if has_q {
                ui.selectable_value(&mut self.timeline, Timeline::QValue, "min Q(s, a)");
            }
            let continuous = ep.steps.first().is_some_and(|s| matches!(s.action, ActionValue::Continuous(_)));
            let score = match (continuous, has_value) {
                (true, _) => "action a[0]",
                (false, true) => "p(chosen action)",
                (false, false) => "Q(chosen action)",
            };
            ui.selectable_value(&mut self.timeline, Timeline::ChosenScore, score);
        });
        let mut ret = 0.0;
        let points: Vec<[f64; 2]> = ep
            .steps
            .iter()
            .enumerate()
            .map(|(k, s)| {
                ret += s.reward;
                let y = match self.timeline {
                    Timeline::Return => ret,
                    Timeline::Reward => s.reward,
                    Timeline::Value => s.policy.value.unwrap_or(f32::NAN) as f64,
                    Timeline::QValue => min_q(&s.policy).unwrap_or(f32::NAN) as f64,
                    Timeline::ChosenScore => match (&s.action, &s.policy.probs) {
                        (ActionValue::Discrete(a), Some(p)) => p.get(*a).copied().unwrap_or(f32::NAN) as f64,
                        (ActionValue::Discrete(a), None) => s.policy.scores.get(*a).copied().unwrap_or(f32::NAN) as f64,
                        // A continuous action: its first component.
                        (ActionValue::Continuous(v), _) => v.first().copied().unwrap_or(f32::NAN) as f64,
                    },
                };
                // Return is shown at the frame after the step; the rest at the step's own frame.
                [if self.timeline == Timeline::Return { k as f64 + 1.0 } else { k as f64 }, y]
            })
            .collect();
        let cursor = self.frame as f64;
        let n_frames = ep.n_frames();
        let resp = Plot::new("replay_timeline")
            .height(ui.available_height().clamp(90.0, 200.0))
            .allow_zoom(false)
            .allow_scroll(false)
            .allow_drag(false)
            .allow_boxed_zoom(false)
            .x_axis_label("frame")
            .show(ui, |plot_ui| {
                plot_ui.line(Line::new("", PlotPoints::from(points)));
                plot_ui.vline(VLine::new("", cursor).stroke(egui::Stroke::new(1.5, egui::Color32::from_rgb(230, 120, 40))));
                let r = plot_ui.response();
                if r.clicked() || r.dragged() { plot_ui.pointer_coordinate().map(|p| p.x) } else { None }
            });
        if let Some(x) = resp.inner {
            self.frame = (x.round().max(0.0) as usize).min(n_frames - 1);
            self.playing = false;
        }
    }
}

/// Step, action, reward, return and the policy's view as bars.
fn step_info_ui(ui: &mut Ui, ep: &EpisodeRecord, frame: usize) {
    let space = ep.action_space();
    let action_name = |a: &ActionValue| a.label(space.as_ref());
    let name_of = |a: usize| space.as_ref().and_then(|s| s.action_name(a)).map(str::to_string).unwrap_or_else(|| format!("action {a}"));
    ui.label(RichText::new(format!("frame {} / {}", frame, ep.n_frames() - 1)).strong());
    let ret = ep.return_before(frame);
    ui.label(format!("return so far {ret:.2} (episode {:.2})", ep.episode_return));
    if frame > 0 {
        if let Some(prev) = ep.steps.get(frame - 1) {
            ui.label(format!("last action {}, reward {:.3}", action_name(&prev.action), prev.reward));
        }
    }
    // Frame k shows the state after step k-1; the step about to happen is k.
    let Some(step) = ep.steps.get(frame) else {
        let last = ep.steps.last();
        ui.label(match last {
            Some(s) if s.terminated => "episode end (terminated)",
            Some(s) if s.truncated => "episode end (time limit)",
            _ => "episode end",
        });
        return;
    };
    ui.label(format!("next action {}", action_name(&step.action)));
    ui.add_space(4.0);
    let bar_w = 220.0;
    if let Some(probs) = &step.policy.probs {
        ui.label("action probabilities");
        for (a, p) in probs.iter().enumerate() {
            let text = format!("{}: {p:.2}", name_of(a));
            ui.add(egui::ProgressBar::new(*p).text(text).desired_width(bar_w));
        }
    } else if let ActionValue::Continuous(values) = &step.action {
        ui.label("action per dimension")
            .on_hover_text("Each bar spans the action space's bounds for that dimension; the policy's mean and exploration std are shown where it has them (the replay acts with the mean)");
        let bounds = |i: usize| match space.as_ref() {
            Some(crate::envs::ActionSpace::Box { low, high }) => low.get(i).copied().zip(high.get(i).copied()),
            _ => None,
        };
        // SAC's and TD3's actors squash a Gaussian (or a deterministic output) with tanh.
        let mean_name = if step.policy.q_values.is_some() { "pre-tanh mean" } else { "mean" };
        for (i, &v) in values.iter().enumerate() {
            let std = step.policy.std.as_ref().and_then(|s| s.get(i)).map(|s| format!(", std {s:.3}")).unwrap_or_default();
            let mean = step.policy.scores.get(i).map(|m| format!(" ({mean_name} {m:.3}{std})")).unwrap_or_default();
            let (frac, range) = match bounds(i) {
                Some((lo, hi)) if hi > lo => (((v - lo) / (hi - lo)).clamp(0.0, 1.0), format!(" in [{lo}, {hi}]")),
                _ => (0.5, String::new()),
            };
            // The numbers above the bar, so none is cut off however many there are.
            ui.label(format!("a[{i}] = {v:.3}{mean}{range}"));
            ui.add(egui::ProgressBar::new(frac).desired_width(bar_w));
        }
    } else {
        ui.label("Q-values").on_hover_text("Bar lengths span this step's lowest to highest Q-value, so the greedy action stands out");
        let (lo, hi) = step.policy.scores.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &q| (l.min(q), h.max(q)));
        for (a, q) in step.policy.scores.iter().enumerate() {
            let frac = if hi > lo { (q - lo) / (hi - lo) } else { 1.0 };
            let text = format!("{}: {q:.3}", name_of(a));
            ui.add(egui::ProgressBar::new(0.05 + 0.95 * frac).text(text).desired_width(bar_w));
        }
    }
    if let Some(v) = step.policy.value {
        ui.label(format!("V(s) = {v:.3}"));
    }
    if let Some(q) = &step.policy.q_values {
        let each: Vec<String> = q.iter().enumerate().map(|(i, v)| format!("Q{}(s, a) = {v:.3}", i + 1)).collect();
        ui.label(each.join(", "))
            .on_hover_text("The twin critics' values of the action taken; the smaller one is what SAC and TD3 learn from");
    }
}

/// The smaller of the twin critics' Q(s, a), if the policy has critics.
fn min_q(view: &crate::algos::PolicyView) -> Option<f32> {
    view.q_values.as_ref().and_then(|q| q.iter().copied().reduce(f32::min))
}
