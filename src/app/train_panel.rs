//! The Train tab: the config editor on the left, the trainings started from
//! this window with progress, Stop and live plots in the middle, and the live
//! evaluation episodes on the right.

use super::{RlApp, editor, plots};
use egui::{RichText, Ui};

impl RlApp {
    pub(super) fn train_ui(&mut self, ui: &mut Ui) {
        egui::Panel::left("editor").default_size(400.0).min_size(320.0).resizable(true).show(ui, |ui| {
            self.fork_banner_ui(ui);
            let gpu = self.gpu.describe();
            if self.buffers.tags.known.len() != self.browser.known_tags.len()
                || !self.buffers.tags.known.iter().zip(&self.browser.known_tags).all(|(a, (b, _))| a == b)
            {
                self.buffers.tags.known = self.browser.known_tags.iter().map(|(t, _)| t.clone()).collect();
            }
            let out = editor::editor_ui(ui, &mut self.settings.config, &mut self.buffers, &self.presets, &gpu);
            if out.run {
                let mut config = self.settings.config.clone();
                config.experiment.runs_dir = self.settings.runs_dir.clone();
                match self.fork.take() {
                    Some(f) => {
                        self.status = format!("forking {} at step {}", f.parent.display(), f.step);
                        self.jobs.start_request(
                            crate::runner::request::RunRequest::Fork {
                                parent: f.parent,
                                step: Some(f.step),
                                edit: crate::runner::request::ForkEdit::Config(Box::new(config)),
                            },
                            self.paced_waker(ui.ctx()),
                        );
                    }
                    None => {
                        self.jobs.start(config, self.paced_waker(ui.ctx()));
                        self.status = "training started".into();
                    }
                }
            }
            if out.sweep {
                self.sweep.open = true;
            }
            if let Some(cmd) = out.copied_command {
                self.status = format!("copied: {cmd}");
            }
            if let Some(m) = out.message {
                self.status = m;
            }
        });
        if self.sweep.open {
            self.sweep_window_ui(ui);
        }
        if self.jobs.list.iter().any(|j| j.live_episode.is_some()) {
            egui::Panel::right("live_view").default_size(280.0).resizable(true).show(ui, |ui| {
                egui::ScrollArea::vertical()
                    .id_salt("live_scroll")
                    .show(ui, |ui| self.live.live_ui(ui, &self.jobs.list, Self::frame_pace()));
            });
        }
        egui::CentralPanel::default().show(ui, |ui| {
            self.jobs_ui(ui);
            // A seed group's live curves are its first seed's (the band is in the Runs tab).
            let label = |j: &super::jobs::Job| match j.group.as_ref().and_then(|g| g.seeds.first()) {
                Some(seed) => format!("{} (seed {seed})", j.name),
                None => j.name.clone(),
            };
            let series: Vec<(String, &plots::RunMetrics)> = self.jobs.list.iter().map(|j| (label(j), &j.metrics)).collect();
            plots::plots_ui(ui, &mut self.settings.plot, &series);
        });
    }

    /// While a fork is prepared: which run and checkpoint Run starts from.
    fn fork_banner_ui(&mut self, ui: &mut Ui) {
        let Some(fork) = self.fork.as_mut() else { return };
        let mut cancel = false;
        egui::Frame::group(ui.style()).show(ui, |ui| {
            let name = fork.parent.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            ui.horizontal_wrapped(|ui| {
                ui.strong(format!("Fork of {name} from step"));
                egui::ComboBox::from_id_salt("fork_step").selected_text(fork.step.to_string()).show_ui(ui, |ui| {
                    for &s in fork.steps.iter().rev() {
                        ui.selectable_value(&mut fork.step, s, s.to_string());
                    }
                });
                cancel = ui.small_button("Cancel fork").clicked();
            });
            ui.label(RichText::new("Run starts a new run from that checkpoint with the config below. The env, network shape, n_steps, buffer size and seed must stay as they were.").weak().small());
        });
        if cancel {
            self.fork = None;
            self.status = "fork cancelled".into();
        }
    }

    /// One line per training started here: progress, steps/s, ETA, Stop.
    fn jobs_ui(&mut self, ui: &mut Ui) {
        if self.jobs.list.is_empty() {
            ui.label(
                RichText::new(
                    "Edit the config on the left and press Run: curves appear here live. Runs of other processes are in the Runs tab.",
                )
                .weak(),
            );
            return;
        }
        let mut clear = false;
        egui::ScrollArea::vertical().id_salt("jobs_scroll").max_height(140.0).show(ui, |ui| {
            for job in &self.jobs.list {
                ui.horizontal(|ui| {
                    ui.add(egui::Label::new(RichText::new(&job.name).strong()).truncate())
                        .on_hover_text(job.run_dir.as_ref().map(|p| p.display().to_string()).unwrap_or_default());
                    let frac = job.timesteps as f32 / job.total_timesteps.max(1) as f32;
                    let text = match (&job.status, &job.error) {
                        (_, Some(e)) => format!("failed: {e}"),
                        (Some(s), _) => format!("{} · {}/{} steps", format!("{s:?}").to_lowercase(), job.timesteps, job.total_timesteps),
                        _ if job.timesteps == 0 => "starting…".into(),
                        // A resumed group counting its finished seeds, before its first update.
                        _ if job.steps_per_sec <= 0.0 => format!("{}/{} · starting…", job.timesteps, job.total_timesteps),
                        _ => format!(
                            "{}/{} · {:.0} steps/s · ETA {}",
                            job.timesteps,
                            job.total_timesteps,
                            job.steps_per_sec,
                            crate::runner::format_duration(job.eta_secs())
                        ),
                    };
                    // A seed group: how many seeds, how many train now and how many ended.
                    let text = match &job.group {
                        Some(g) => format!(
                            "{} seeds ({} running, {} done, {}) · {text}",
                            g.seeds.len(),
                            g.totals().running,
                            g.finished.len(),
                            g.execution()
                        ),
                        None => text,
                    };
                    let width = (ui.available_width() - 70.0).clamp(120.0, 520.0);
                    ui.add(egui::ProgressBar::new(frac).text(text).desired_width(width));
                    if job.running() && ui.button("Stop").on_hover_text("Stop gracefully: models and logs are kept").clicked() {
                        job.request_stop();
                    }
                });
                for n in &job.notes {
                    ui.label(RichText::new(n).weak().small());
                }
            }
            if self.jobs.running() < self.jobs.list.len()
                && ui.small_button("Clear finished").on_hover_text("Remove finished runs from this list (their directories stay)").clicked()
            {
                clear = true;
            }
        });
        if clear {
            self.jobs.list.retain(|j| j.running());
        }
        ui.separator();
    }

    fn sweep_window_ui(&mut self, ui: &mut Ui) {
        let mut open = true;
        let (config, runs_dir) = (self.settings.config.clone(), self.settings.runs_dir.clone());
        let mut load = None;
        egui::Window::new("Run Sweep").open(&mut open).default_width(680.0).vscroll(true).show(ui.ctx(), |ui| {
            load = self.sweep.sweep_ui(ui, &config, &runs_dir);
        });
        self.sweep.open = open;
        if let Some(params) = load {
            let o: Result<Vec<_>, _> = params.iter().map(|(k, v)| crate::config::overrides::parse_override(&format!("{k}={v}"))).collect();
            match o.and_then(|o| crate::config::apply_overrides(&self.settings.config, &o)) {
                Ok(c) => {
                    self.settings.config = c;
                    self.buffers.reset();
                    self.status = format!(
                        "loaded the best trial's parameters: {}",
                        params.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
                    );
                }
                Err(e) => self.status = e.0,
            }
        }
    }
}
