//! Seed groups in the Runs tab: each selected group's curve as a line with a
//! band (mean ± std, mean ± 95% CI or IQM ± 95% CI), its seeds as thin lines
//! on a toggle, several groups in distinct colours; and the Compare view:
//! final-score intervals as horizontal bars (rliable's interval plot), the
//! probability of improvement of each pair and the config keys that differ.

use super::pending::Pending;
use super::plots::RunMetrics;
use crate::runner::group::{GroupSummary, load_group};
use crate::runs::compare::{Comparison, compare};
use crate::runs::group::{CURVE_METRICS, GroupStatus};
use crate::stats::{FinalScores, Interval};
use egui::{Color32, RichText, Ui};
use egui_plot::{ColorConflictHandling, FilledArea, Legend, Line, Plot, PlotPoints, Points};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A running group's statistics are recomputed this often.
const RELOAD: Duration = Duration::from_secs(3);

/// Distinct colours for overlaid groups (Tableau 10).
pub const PALETTE: [Color32; 8] = [
    Color32::from_rgb(31, 119, 180),
    Color32::from_rgb(255, 127, 14),
    Color32::from_rgb(44, 160, 44),
    Color32::from_rgb(214, 39, 40),
    Color32::from_rgb(148, 103, 189),
    Color32::from_rgb(140, 86, 75),
    Color32::from_rgb(227, 119, 194),
    Color32::from_rgb(23, 190, 207),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Band {
    MeanStd,
    MeanCi,
    IqmCi,
}

impl Band {
    fn label(self) -> &'static str {
        match self {
            Band::MeanStd => "mean ± std",
            Band::MeanCi => "mean ± 95% CI",
            Band::IqmCi => "IQM ± 95% CI",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ViewMode {
    Curves,
    Compare,
}

struct Loaded {
    /// The last finished load (kept on screen while the next one runs).
    current: Option<Result<GroupSummary, String>>,
    next: Option<Pending<Result<GroupSummary, String>>>,
    loaded_at: Instant,
}

pub struct GroupView {
    pub mode: ViewMode,
    pub band: Band,
    /// Index into `CURVE_METRICS`.
    pub metric: usize,
    pub show_seeds: bool,
    groups: HashMap<PathBuf, Loaded>,
    comparison: Option<(Vec<PathBuf>, Pending<Result<Comparison, String>>)>,
}

impl Default for GroupView {
    fn default() -> Self {
        Self { mode: ViewMode::Curves, band: Band::IqmCi, metric: 0, show_seeds: false, groups: HashMap::new(), comparison: None }
    }
}

fn running(s: &GroupSummary) -> bool {
    s.info.status == GroupStatus::Running || s.seeds.iter().any(|x| x.status() == crate::runs::RunStatus::Running)
}

impl GroupView {
    /// The Curves | Compare switch (shown once something is selected); false when nothing is.
    pub fn mode_ui(&mut self, ui: &mut Ui, selected: &[PathBuf]) -> bool {
        if selected.is_empty() {
            return false;
        }
        ui.horizontal(|ui| {
            ui.selectable_value(&mut self.mode, ViewMode::Curves, "Curves")
                .on_hover_text("Learning curves of the selected runs and seed groups");
            ui.selectable_value(&mut self.mode, ViewMode::Compare, "Compare")
                .on_hover_text("Final scores with confidence intervals, probability of improvement and config differences");
        });
        if self.mode == ViewMode::Compare {
            self.compare_ui(ui, selected);
            return false;
        }
        true
    }

    /// Starts or refreshes the statistics of `dirs` (a running group's every few seconds).
    fn refresh(&mut self, ui: &Ui, dirs: &[PathBuf], waker: &Arc<dyn Fn() + Send + Sync>) {
        self.groups.retain(|p, _| dirs.contains(p));
        for dir in dirs {
            let l = self.groups.entry(dir.clone()).or_insert_with(|| Loaded { current: None, next: None, loaded_at: Instant::now() });
            if let Some(done) = l.next.as_mut().and_then(|p| p.take()) {
                l.current = Some(done);
                l.next = None;
                l.loaded_at = Instant::now();
            }
            let live = l.current.as_ref().is_some_and(|c| c.as_ref().is_ok_and(running));
            if l.next.is_none() && (l.current.is_none() || (live && l.loaded_at.elapsed() >= RELOAD)) {
                let d = dir.clone();
                l.next = Some(Pending::spawn("group-stats", waker.clone(), move || load_group(&d)));
            }
            if live {
                ui.ctx().request_repaint_after(RELOAD);
            }
        }
    }

    /// The statistics of a selected group, once computed (tests, the status bar).
    pub fn loaded(&self, dir: &std::path::Path) -> Option<&GroupSummary> {
        self.groups.get(dir)?.current.as_ref()?.as_ref().ok()
    }

    /// The Compare view's comparison, once computed.
    pub fn comparison(&self) -> Option<&Comparison> {
        self.comparison.as_ref()?.1.peek()?.as_ref().ok()
    }

    fn summary(&self, dir: &PathBuf) -> Option<&Result<GroupSummary, String>> {
        self.groups.get(dir)?.current.as_ref()
    }

    /// The band plot of `groups`, with the single runs of `runs` as plain lines.
    pub fn bands_ui(&mut self, ui: &mut Ui, groups: &[PathBuf], runs: &[(String, &RunMetrics)], waker: Arc<dyn Fn() + Send + Sync>) {
        self.refresh(ui, groups, &waker);
        ui.horizontal_wrapped(|ui| {
            let l = ui.label("metric");
            egui::ComboBox::from_id_salt("group_metric")
                .selected_text(CURVE_METRICS[self.metric])
                .show_ui(ui, |ui| {
                    for (i, m) in CURVE_METRICS.iter().enumerate() {
                        ui.selectable_value(&mut self.metric, i, *m);
                    }
                })
                .response
                .labelled_by(l.id);
            let l = ui.label("band");
            egui::ComboBox::from_id_salt("group_band")
                .selected_text(self.band.label())
                .show_ui(ui, |ui| {
                    for b in [Band::MeanStd, Band::MeanCi, Band::IqmCi] {
                        ui.selectable_value(&mut self.band, b, b.label());
                    }
                })
                .response
                .labelled_by(l.id)
                .on_hover_text("Over seeds at each step; CIs are percentile bootstraps over seeds (stats.bootstrap_reps)");
            ui.checkbox(&mut self.show_seeds, "seeds").on_hover_text("Each seed's own curve as a thin line");
        });
        let metric = CURVE_METRICS[self.metric];
        let (band, show_seeds) = (self.band, self.show_seeds);
        let mut problems = Vec::new();
        let mut drawn: Vec<(usize, String, &GroupSummary)> = Vec::new();
        for (i, dir) in groups.iter().enumerate() {
            match self.summary(dir) {
                Some(Ok(s)) => drawn.push((i, s.group.name(), s)),
                Some(Err(e)) => problems.push(e.clone()),
                None => problems.push(format!("computing the statistics of {}…", dir.display())),
            }
        }
        for p in &problems {
            ui.label(RichText::new(p).weak());
        }
        Plot::new("group_plot")
            .legend(Legend::default().color_conflict_handling(ColorConflictHandling::PickFirst))
            .x_axis_label("timesteps")
            .y_axis_label(metric)
            .show(ui, |plot_ui| {
                for (i, name, s) in &drawn {
                    let color = PALETTE[i % PALETTE.len()];
                    let Some((_, points)) = s.aggregate.curves.iter().find(|(m, _)| m == metric) else { continue };
                    let n = s.info.seeds.len();
                    let label = format!("{name} ({}, {n} seeds)", band.label());
                    let xs: Vec<f64> = points.iter().map(|p| p.timesteps as f64).collect();
                    let (center, lo, hi): (Vec<f64>, Vec<f64>, Vec<f64>) = match band {
                        Band::MeanStd => (
                            points.iter().map(|p| p.mean).collect(),
                            points.iter().map(|p| p.mean - p.std).collect(),
                            points.iter().map(|p| p.mean + p.std).collect(),
                        ),
                        Band::MeanCi => (
                            points.iter().map(|p| p.mean).collect(),
                            points.iter().map(|p| p.mean_ci.0).collect(),
                            points.iter().map(|p| p.mean_ci.1).collect(),
                        ),
                        Band::IqmCi => (
                            points.iter().map(|p| p.iqm).collect(),
                            points.iter().map(|p| p.iqm_ci.0).collect(),
                            points.iter().map(|p| p.iqm_ci.1).collect(),
                        ),
                    };
                    // The line first: the legend takes its entry's colour from the first item of a name.
                    let line: Vec<[f64; 2]> = xs.iter().zip(&center).map(|(x, y)| [*x, *y]).collect();
                    plot_ui.line(Line::new(label.clone(), PlotPoints::from(line)).color(color).width(2.0));
                    plot_ui.add(FilledArea::new(label.clone(), &xs, &lo, &hi).fill_color(color.gamma_multiply(0.25)));
                    if show_seeds {
                        let k = CURVE_METRICS.iter().position(|m| *m == metric).unwrap_or(0);
                        for seed in &s.seeds {
                            let pts: Vec<[f64; 2]> = seed.curves[k].iter().map(|(t, v)| [*t as f64, *v]).collect();
                            plot_ui.line(Line::new(label.clone(), PlotPoints::from(pts)).color(color.gamma_multiply(0.45)).width(0.8));
                        }
                    }
                }
                for (j, (name, metrics)) in runs.iter().enumerate() {
                    let Some(series) = metrics.get(metric) else { continue };
                    let pts: Vec<[f64; 2]> = series.iter().map(|p| [p[0], p[2]]).collect();
                    plot_ui.line(Line::new(name.clone(), PlotPoints::from(pts)).color(PALETTE[(groups.len() + j) % PALETTE.len()]));
                }
            });
    }

    /// The Compare view of `selected` (runs and groups), computed in the background.
    fn compare_ui(&mut self, ui: &mut Ui, selected: &[PathBuf]) {
        let stale = self.comparison.as_ref().is_none_or(|(p, _)| p != selected);
        let mut recompute = false;
        ui.horizontal(|ui| {
            ui.label(RichText::new(format!("{} selected: tick runs or seed groups in the table to compare them", selected.len())).weak());
            recompute = ui.small_button("Recompute").on_hover_text("Read the runs again (for groups still training)").clicked();
        });
        if stale || recompute {
            let paths = selected.to_vec();
            let ctx = ui.ctx().clone();
            let waker: Arc<dyn Fn() + Send + Sync> = Arc::new(move || ctx.request_repaint());
            let p2 = paths.clone();
            self.comparison = Some((paths, Pending::spawn("compare", waker, move || compare(&p2))));
        }
        let Some((_, pending)) = self.comparison.as_mut() else { return };
        match pending.ready() {
            None => {
                ui.spinner();
            }
            Some(Err(e)) => {
                ui.colored_label(ui.visuals().error_fg_color, e.clone());
            }
            Some(Ok(c)) => comparison_ui(ui, c),
        }
    }
}

/// rliable's interval plot for one estimator: a bar from the CI's low to high end per target.
fn interval_plot_ui(ui: &mut Ui, title: &str, targets: &[(String, Option<Interval>)], width: f32) {
    let dot = ui.visuals().strong_text_color();
    ui.vertical(|ui| {
        ui.strong(title);
        let n = targets.len();
        Plot::new(format!("interval_{title}"))
            .width(width)
            .height(70.0 + 24.0 * n as f32)
            .allow_zoom(false)
            .allow_drag(false)
            .allow_scroll(false)
            .show_axes([true, false])
            .show_grid([true, false])
            .include_y(-0.7)
            .include_y(n as f64 - 0.3)
            .show(ui, |plot_ui| {
                for (i, (name, interval)) in targets.iter().enumerate() {
                    let Some(iv) = interval else { continue };
                    let y = (n - 1 - i) as f64;
                    let color = PALETTE[i % PALETTE.len()];
                    plot_ui.line(
                        Line::new(name.clone(), PlotPoints::from(vec![[iv.low, y], [iv.high, y]]))
                            .color(color.gamma_multiply(0.6))
                            .width(9.0),
                    );
                    // A zero-width interval (one seed) still shows as a short bar.
                    if iv.high - iv.low <= f64::EPSILON * iv.value.abs().max(1.0) {
                        plot_ui.points(Points::new(name.clone(), PlotPoints::from(vec![[iv.value, y]])).color(color).radius(6.0));
                    }
                    plot_ui.points(Points::new(name.clone(), PlotPoints::from(vec![[iv.value, y]])).color(dot).radius(3.0));
                }
            });
    });
}

/// The Compare view itself (also drawn by the GUI tests).
pub fn comparison_ui(ui: &mut Ui, c: &Comparison) {
    ui.horizontal_wrapped(|ui| {
        for (i, t) in c.targets.iter().enumerate() {
            let (rect, _) = ui.allocate_exact_size(egui::vec2(12.0, 12.0), egui::Sense::hover());
            ui.painter().rect_filled(rect, 2.0, PALETTE[i % PALETTE.len()]);
            ui.label(format!("{} ({} {}, {} seeds, {} with a score)", t.label, t.algorithm, t.env_id, t.n_seeds, t.scores.len()));
        }
    });
    let estimators: [(&str, fn(&FinalScores) -> Option<Interval>); 4] =
        [("IQM", |f| Some(f.iqm)), ("Median", |f| Some(f.median)), ("Mean", |f| Some(f.mean)), ("Optimality gap", |f| f.optimality_gap)];
    let gap = ui.spacing().item_spacing.x;
    let width = ((ui.available_width() - 3.0 * gap - 4.0) / 4.0).clamp(70.0, 320.0);
    ui.horizontal(|ui| {
        for (title, get) in &estimators {
            let rows: Vec<(String, Option<Interval>)> =
                c.targets.iter().map(|t| (t.label.clone(), t.final_score.as_ref().and_then(get))).collect();
            interval_plot_ui(ui, title, &rows, width);
        }
    });
    ui.label(RichText::new("Final eval/mean_reward: point estimate (dot) and 95% percentile-bootstrap CI over seeds (bar). Lower is better for the optimality gap.").weak().small());
    egui::Grid::new("final_scores_grid").striped(true).show(ui, |ui| {
        ui.strong("final score");
        for (title, _) in &estimators {
            ui.strong(*title);
        }
        ui.end_row();
        for t in &c.targets {
            ui.label(&t.label);
            for (_, get) in &estimators {
                let text = t
                    .final_score
                    .as_ref()
                    .and_then(get)
                    .map(|i| format!("{:.1} [{:.1}, {:.1}]", i.value, i.low, i.high))
                    .unwrap_or_else(|| "-".into());
                ui.label(RichText::new(text).monospace().small());
            }
            ui.end_row();
        }
    });
    if !c.improvements.is_empty() {
        ui.separator();
        ui.strong("Probability of improvement");
        egui::Grid::new("poi_grid").striped(true).show(ui, |ui| {
            for i in &c.improvements {
                let (a, b) = (&c.targets[i.a].label, &c.targets[i.b].label);
                ui.label(format!("P({a} > {b})"));
                ui.label(format!("{:.2} [{:.2}, {:.2}]", i.probability.value, i.probability.low, i.probability.high));
                ui.end_row();
            }
        });
    }
    for t in &c.targets {
        for n in &t.notes {
            ui.label(RichText::new(format!("{}: {n}", t.label)).weak().small());
        }
    }
    ui.separator();
    if c.config_diff.is_empty() {
        ui.label("Config: no differences besides names and seeds.");
        return;
    }
    ui.strong(format!("Config differences ({} keys)", c.config_diff.len()));
    egui::ScrollArea::both().id_salt("config_diff").max_height(220.0).show(ui, |ui| {
        egui::Grid::new("config_diff_grid").striped(true).show(ui, |ui| {
            ui.strong("key");
            for t in &c.targets {
                ui.strong(&t.label);
            }
            ui.end_row();
            for (key, values) in &c.config_diff {
                ui.label(RichText::new(key).monospace());
                for v in values {
                    ui.label(RichText::new(v).monospace());
                }
                ui.end_row();
            }
        });
    });
}
