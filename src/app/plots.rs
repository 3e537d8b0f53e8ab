//! Metric plots: any logged metric vs timesteps, several runs overlaid, EMA
//! smoothing, log scale, and per-pixel min/max decimation for long series.

use egui::Ui;
use egui_plot::{Legend, Line, Plot, PlotPoints};

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct PlotSettings {
    pub metric: String,
    /// EMA weight of the past, 0 (raw) .. 0.99.
    pub smoothing: f64,
    pub log_y: bool,
}

impl Default for PlotSettings {
    fn default() -> Self {
        Self { metric: "rollout/ep_rew_mean".into(), smoothing: 0.0, log_y: false }
    }
}

/// Keeps at most about `2 * buckets` points: each bucket's min and max, in order.
pub fn decimate(points: &[[f64; 2]], buckets: usize) -> Vec<[f64; 2]> {
    if points.len() <= 2 * buckets.max(1) {
        return points.to_vec();
    }
    let per = points.len().div_ceil(buckets.max(1));
    let mut out = Vec::with_capacity(2 * buckets + 2);
    for chunk in points.chunks(per) {
        let (mut lo, mut hi) = (0, 0);
        for (i, p) in chunk.iter().enumerate() {
            if p[1] < chunk[lo][1] {
                lo = i;
            }
            if p[1] > chunk[hi][1] {
                hi = i;
            }
        }
        let (a, b) = if lo <= hi { (lo, hi) } else { (hi, lo) };
        out.push(chunk[a]);
        if b != a {
            out.push(chunk[b]);
        }
    }
    out
}

fn ema(points: &[[f64; 2]], alpha: f64) -> Vec<[f64; 2]> {
    let mut s = None;
    points
        .iter()
        .map(|p| {
            let v = match s {
                None => p[1],
                Some(prev) => alpha * prev + (1.0 - alpha) * p[1],
            };
            s = Some(v);
            [p[0], v]
        })
        .collect()
}

/// Metric picker, smoothing and the plot of `series` = (label, points by metric).
pub fn plots_ui<'a>(ui: &mut Ui, settings: &mut PlotSettings, series: &[(String, &'a std::collections::BTreeMap<String, Vec<[f64; 2]>>)]) {
    let mut names: Vec<&String> = series.iter().flat_map(|(_, m)| m.keys()).collect();
    names.sort();
    names.dedup();
    ui.horizontal(|ui| {
        egui::ComboBox::from_label("metric").selected_text(settings.metric.clone()).show_ui(ui, |ui| {
            for n in &names {
                ui.selectable_value(&mut settings.metric, (*n).clone(), n.as_str());
            }
        });
        ui.add(egui::Slider::new(&mut settings.smoothing, 0.0..=0.99).text("smoothing"));
        ui.checkbox(&mut settings.log_y, "log y");
    });
    let width_px = ui.available_width().max(100.0) as usize;
    Plot::new("metrics_plot").legend(Legend::default()).x_axis_label("timesteps").y_axis_label(settings.metric.clone()).show(ui, |plot_ui| {
        for (label, metrics) in series {
            let Some(points) = metrics.get(&settings.metric) else { continue };
            // Raw curves are decimated straight from the stored series (no per-frame copy of 1M points).
            let pts = if settings.smoothing > 0.0 || settings.log_y {
                let mut pts = if settings.smoothing > 0.0 { ema(points, settings.smoothing) } else { points.clone() };
                if settings.log_y {
                    pts.retain(|p| p[1] > 0.0);
                    for p in &mut pts {
                        p[1] = p[1].log10();
                    }
                }
                decimate(&pts, width_px)
            } else {
                decimate(points, width_px)
            };
            plot_ui.line(Line::new(label.clone(), PlotPoints::from(pts)));
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
}
