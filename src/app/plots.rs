//! Metric plots: any logged metric vs timesteps or wall time, several runs
//! overlaid, EMA smoothing, log scale, and per-pixel min/max decimation so that
//! 1M+ points stay smooth.

use egui::Ui;
use egui_plot::{Legend, Line, Plot, PlotPoints};
use std::collections::BTreeMap;

/// One metric's points as `[timesteps, wall_secs, value]`, in logging order.
pub type Series = Vec<[f64; 3]>;
/// Every metric of one run.
pub type RunMetrics = BTreeMap<String, Series>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum XAxis {
    Timesteps,
    WallSecs,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct PlotSettings {
    pub metric: String,
    /// EMA weight of the past, 0 (raw) .. 0.99.
    pub smoothing: f64,
    pub log_y: bool,
    pub x_axis: XAxis,
}

impl Default for PlotSettings {
    fn default() -> Self {
        Self { metric: "rollout/ep_rew_mean".into(), smoothing: 0.0, log_y: false, x_axis: XAxis::Timesteps }
    }
}

/// Keeps at most about `2 * buckets` of the `n` points `get(i)`: each bucket's
/// min and max, in order, so spikes survive at any zoom.
pub fn decimate_with(n: usize, buckets: usize, get: impl Fn(usize) -> [f64; 2]) -> Vec<[f64; 2]> {
    let buckets = buckets.max(1);
    if n <= 2 * buckets {
        return (0..n).map(get).collect();
    }
    let per = n.div_ceil(buckets);
    let mut out = Vec::with_capacity(2 * buckets + 2);
    let mut start = 0;
    while start < n {
        let end = (start + per).min(n);
        let (mut lo, mut hi) = (start, start);
        let (mut lo_v, mut hi_v) = (get(start)[1], get(start)[1]);
        for i in start + 1..end {
            let v = get(i)[1];
            if v < lo_v {
                (lo, lo_v) = (i, v);
            }
            if v > hi_v {
                (hi, hi_v) = (i, v);
            }
        }
        let (a, b) = if lo <= hi { (lo, hi) } else { (hi, lo) };
        out.push(get(a));
        if b != a {
            out.push(get(b));
        }
        start = end;
    }
    out
}

/// [`decimate_with`] over plain points.
pub fn decimate(points: &[[f64; 2]], buckets: usize) -> Vec<[f64; 2]> {
    decimate_with(points.len(), buckets, |i| points[i])
}

fn ema(points: &mut [[f64; 2]], alpha: f64) {
    let mut s: Option<f64> = None;
    for p in points {
        let v = s.map_or(p[1], |prev| alpha * prev + (1.0 - alpha) * p[1]);
        s = Some(v);
        p[1] = v;
    }
}

/// The points of one series as drawn: chosen x, smoothed, log-scaled, decimated to `width_px`.
pub fn prepare(series: &Series, settings: &PlotSettings, width_px: usize) -> Vec<[f64; 2]> {
    let x = if settings.x_axis == XAxis::WallSecs { 1 } else { 0 };
    if settings.smoothing <= 0.0 && !settings.log_y {
        // Raw curves are decimated straight from the stored series (no per-frame copy of 1M points).
        return decimate_with(series.len(), width_px, |i| [series[i][x], series[i][2]]);
    }
    let mut pts: Vec<[f64; 2]> = series.iter().map(|p| [p[x], p[2]]).collect();
    if settings.smoothing > 0.0 {
        ema(&mut pts, settings.smoothing);
    }
    if settings.log_y {
        pts.retain(|p| p[1] > 0.0);
        for p in &mut pts {
            p[1] = p[1].log10();
        }
    }
    decimate(&pts, width_px)
}

/// Metric picker, x axis, smoothing, log scale and the plot of `series` = (label, metrics).
pub fn plots_ui(ui: &mut Ui, settings: &mut PlotSettings, series: &[(String, &RunMetrics)]) {
    let mut names: Vec<&String> = series.iter().flat_map(|(_, m)| m.keys()).collect();
    names.sort();
    names.dedup();
    // Measured before the controls so a crowded row can never widen the plot.
    let plot_width = ui.available_width();
    ui.horizontal(|ui| {
        let l = ui.label("metric");
        egui::ComboBox::from_id_salt("plot_metric")
            .selected_text(settings.metric.clone())
            .width(200.0)
            .show_ui(ui, |ui| {
                for n in &names {
                    ui.selectable_value(&mut settings.metric, (*n).clone(), n.as_str());
                }
            })
            .response
            .labelled_by(l.id);
        let l = ui.label("x");
        egui::ComboBox::from_id_salt("plot_x")
            .selected_text(if settings.x_axis == XAxis::Timesteps { "timesteps" } else { "wall time" })
            .width(90.0)
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut settings.x_axis, XAxis::Timesteps, "timesteps");
                ui.selectable_value(&mut settings.x_axis, XAxis::WallSecs, "wall time");
            })
            .response
            .labelled_by(l.id);
    });
    ui.horizontal(|ui| {
        ui.spacing_mut().slider_width = 110.0;
        let l = ui.label("smoothing");
        ui.add(egui::Slider::new(&mut settings.smoothing, 0.0..=0.99).fixed_decimals(2))
            .on_hover_text("Exponential moving average: weight of the past (0 = raw)")
            .labelled_by(l.id);
        ui.checkbox(&mut settings.log_y, "log y").on_hover_text("Plot log10 of the value (non-positive points are hidden)");
    });
    if series.is_empty() {
        return;
    }
    let width_px = plot_width.max(100.0) as usize;
    let x_label = if settings.x_axis == XAxis::Timesteps { "timesteps" } else { "wall time (s)" };
    let y_label = if settings.log_y { format!("log10 {}", settings.metric) } else { settings.metric.clone() };
    Plot::new("metrics_plot").width(plot_width).legend(Legend::default()).x_axis_label(x_label).y_axis_label(y_label).show(ui, |plot_ui| {
        for (label, metrics) in series {
            let Some(points) = metrics.get(&settings.metric) else { continue };
            plot_ui.line(Line::new(label.clone(), PlotPoints::from(prepare(points, settings, width_px))));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimation_keeps_extremes() {
        let pts: Vec<[f64; 2]> = (0..1_000_000).map(|i| [i as f64, if i == 123_457 { 99.0 } else { (i % 7) as f64 }]).collect();
        let d = decimate(&pts, 500);
        assert!(d.len() <= 1002);
        assert!(d.iter().any(|p| p[1] == 99.0));
        assert!(d.windows(2).all(|w| w[0][0] <= w[1][0]));
    }

    #[test]
    fn wall_time_axis_and_smoothing() {
        let s: Series = (0..10).map(|i| [i as f64 * 100.0, i as f64 * 0.5, if i % 2 == 0 { 0.0 } else { 2.0 }]).collect();
        let mut settings = PlotSettings { x_axis: XAxis::WallSecs, ..PlotSettings::default() };
        let raw = prepare(&s, &settings, 100);
        assert_eq!(raw[3], [1.5, 2.0]);
        settings.smoothing = 0.5;
        let smooth = prepare(&s, &settings, 100);
        assert_eq!(smooth[1], [0.5, 1.0]);
        assert!(smooth[9][1] > 0.0 && smooth[9][1] < 2.0);
    }
}
