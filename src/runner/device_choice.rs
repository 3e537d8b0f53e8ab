//! `experiment.device=auto` for one batch of agents, by measurement: where a
//! real GPU is present, a short probe trains this batch's own agents (its
//! config, envs and agent count, as they will be laid out) on the GPU and on
//! the CPU for a few updates each, and the faster device trains the batch.
//! A rule cannot decide this: one small PPO network is several times faster
//! on the CPU, 256 of them on a GPU, and where the crossover lies depends on
//! the network, the env and the machine.

use crate::algos::{self, AgentView, Callback, Control, Member, Metrics, device};
use crate::config::{Config, DeviceChoice};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// How a device trains `n` agents: `per_batch` agents in each batch, and the
/// batches (or one-agent threads) it runs one after another on each core.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Layout {
    pub per_batch: usize,
    pub rounds: usize,
}

impl Layout {
    pub const ALONE: Layout = Layout { per_batch: 1, rounds: 1 };
}

/// Where a batch trains, and what auto found (said to the user).
#[derive(Clone, Debug, PartialEq)]
pub struct Choice {
    /// `Cpu` or `Gpu`, never `Auto`.
    pub device: DeviceChoice,
    pub note: Option<String>,
}

/// A software adapter (Mesa's llvmpipe) counts as a GPU for auto's probe only
/// when this is set: how the tests drive the measuring path without a GPU.
const SOFTWARE_GPU_VAR: &str = "RL_RESEARCH_AUTO_SOFTWARE_GPU";

/// The device for `n_agents` agents of `config`: the config's own unless it
/// is `auto`; for `auto` the CPU when no real GPU answers, else whichever of
/// the GPU (laid out as `gpu`) and the CPU (as `cpu`) trains them faster,
/// measured once per process for each shape and layout.
pub fn for_batch(config: &Config, n_agents: usize, gpu: Layout, cpu: Layout) -> Choice {
    let choice = config.experiment.device;
    if choice != DeviceChoice::Auto {
        return Choice { device: choice, note: None };
    }
    let gpu_name = match gpu_candidate() {
        Ok(name) => name.clone(),
        Err(note) => return Choice { device: DeviceChoice::Cpu, note: note.clone() },
    };
    static MEASURED: Mutex<Option<HashMap<String, Choice>>> = Mutex::new(None);
    let key = format!("{}|{n_agents}|{gpu:?}|{cpu:?}", serde_json::to_string(&config.batch_key()).unwrap_or_default());
    if let Some(c) = MEASURED.lock().ok().and_then(|m| m.as_ref().and_then(|m| m.get(&key).cloned())) {
        return c;
    }
    let made = decide(config, n_agents, &gpu_name, gpu, cpu);
    if let Ok(mut m) = MEASURED.lock() {
        m.get_or_insert_with(HashMap::new).insert(key, made.clone());
    }
    made
}

/// The GPU auto may measure, or why there is none (as `resolve(Auto)` words
/// it): asked once per process, since opening an adapter is slow and its
/// answer does not change (every run with `auto` asks).
fn gpu_candidate() -> &'static Result<String, Option<String>> {
    static CANDIDATE: std::sync::OnceLock<Result<String, Option<String>>> = std::sync::OnceLock::new();
    CANDIDATE.get_or_init(|| match device::probe_gpu() {
        Ok((_, name, physical)) if physical || std::env::var_os(SOFTWARE_GPU_VAR).is_some() => Ok(name),
        _ => Err(device::resolve(DeviceChoice::Auto).ok().and_then(|d| d.note)),
    })
}

/// Agents a CPU batch is measured with: a batch's CPU cost grows linearly in
/// its agents beyond a few (bench --seeds: 0.79 s per seed at 8, 0.78 s at
/// 32), so a bigger batch's is scaled from this many, keeping the probe short.
const CPU_PROBE_AGENTS: usize = 4;

fn decide(config: &Config, n_agents: usize, gpu_name: &str, gpu: Layout, cpu: Layout) -> Choice {
    let gpu_secs = measure(config, DeviceChoice::Gpu, gpu.per_batch).map(|s| s * gpu.rounds as f64);
    let cpu_agents = cpu.per_batch.min(CPU_PROBE_AGENTS);
    let cpu_secs = measure(config, DeviceChoice::Cpu, cpu_agents).map(|s| s * cpu.per_batch as f64 / cpu_agents as f64 * cpu.rounds as f64);
    let scaled_from = (cpu_agents < cpu.per_batch).then_some(cpu_agents);
    pick(gpu_secs, cpu_secs, n_agents, gpu_name, cpu, scaled_from)
}

/// The faster of the two measured seconds per env step, with the note that says so.
fn pick(
    gpu_secs: Result<f64, String>,
    cpu_secs: Result<f64, String>,
    n_agents: usize,
    gpu_name: &str,
    cpu: Layout,
    scaled_from: Option<usize>,
) -> Choice {
    let what = format!("{n_agents} agent{}", if n_agents == 1 { "" } else { "s" });
    match (gpu_secs, cpu_secs) {
        (Ok(g), Ok(c)) => {
            let on_gpu = g < c;
            let scaled = scaled_from.map(|k| format!(", scaled from {k} agents")).unwrap_or_default();
            let note = format!(
                "experiment.device=auto: measured {what}: GPU '{gpu_name}' {:.2} ms per env step, CPU {:.2} ms ({}{scaled}): training on the {} ({:.1}x faster)",
                g * 1e3,
                c * 1e3,
                layout_words(n_agents, cpu),
                if on_gpu { "GPU" } else { "CPU" },
                if on_gpu { c / g } else { g / c },
            );
            Choice { device: if on_gpu { DeviceChoice::Gpu } else { DeviceChoice::Cpu }, note: Some(note) }
        }
        (Err(e), _) => Choice {
            device: DeviceChoice::Cpu,
            note: Some(format!("experiment.device=auto: the GPU '{gpu_name}' failed its trial run ({e}); training {what} on the CPU")),
        },
        (Ok(_), Err(e)) => Choice {
            device: DeviceChoice::Gpu,
            note: Some(format!("experiment.device=auto: the CPU trial run failed ({e}); training {what} on the GPU '{gpu_name}'")),
        },
    }
}

/// How `n` agents laid out as `l` run, in words.
fn layout_words(n: usize, l: Layout) -> String {
    let at_once = n.div_ceil(l.per_batch.max(1) * l.rounds.max(1));
    let after = if l.rounds > 1 { format!(", {} after another", l.rounds) } else { String::new() };
    match (n, l.per_batch) {
        (1, _) => "one agent".into(),
        (_, 1) => format!("{at_once} thread{} of one agent{after}", if at_once == 1 { "" } else { "s" }),
        (_, b) => format!("{at_once} batch{} of {b} at once{after}", if at_once == 1 { "" } else { "es" }),
    }
}

/// Vector env steps timed per probe: about one PPO update of the default
/// config, and tens of DQN updates.
const WINDOW_STEPS: u64 = 128;

/// Wall seconds per vector env step of a batch of `n` agents of `config` on
/// `choice`, envs and updates included: timed from the probe's first update
/// (compilation and warm-up behind it) to the first update at least
/// [`WINDOW_STEPS`] steps later.
fn measure(config: &Config, choice: DeviceChoice, n: usize) -> Result<f64, String> {
    let _fp = crate::fpmode::FlushDenormals::enter();
    let resolved = device::resolve(choice)?;
    let mut algorithm = config.algorithm.clone();
    (algorithm.spec().for_timing)(&mut algorithm);
    let mut venvs = Vec::new();
    let mut agents = Vec::new();
    for k in 0..n.max(1) {
        let venv = config.env.make_vec().map_err(|e| e.to_string())?;
        agents.push(algos::make_agent(&algorithm, venv.obs_dim, &venv.action_space, config.experiment.seed + k as u64, &resolved.device)?);
        venvs.push(venv);
    }
    let mut batch = algos::merge_agents(agents).map_err(|(e, _)| e)?;
    let clock = Arc::new(Mutex::new(Clock::default()));
    let mut callbacks: Vec<ProbeCallback> =
        (0..venvs.len()).map(|k| ProbeCallback { clock: (k == 0).then(|| clock.clone()), steps: 0, done: false, window: None }).collect();
    let mut members: Vec<Member<'_>> = venvs
        .iter_mut()
        .zip(callbacks.iter_mut())
        .enumerate()
        .map(|(k, (venv, cb))| Member { venv, seed: config.experiment.seed + k as u64, callback: cb })
        .collect();
    batch.learn(&mut members, 1 << 40)?;
    let c = clock.lock().map_err(|_| "the probe's clock was poisoned".to_string())?;
    match c.per_step_secs {
        Some(s) => Ok(s),
        None => Err("the trial run ended before two updates".into()),
    }
}

#[derive(Default)]
struct Clock {
    per_step_secs: Option<f64>,
}

/// Stops its agent once the window is timed (every agent of the batch stops at the same step).
struct ProbeCallback {
    clock: Option<Arc<Mutex<Clock>>>,
    steps: u64,
    done: bool,
    /// (step, time) of the update the window starts at.
    window: Option<(u64, Instant)>,
}

/// A window longer than this ends at the next update: a device this slow has lost anyway.
const MAX_WINDOW_SECS: f64 = 3.0;

/// No update at all after this many vector steps: the probe gives up.
const MAX_PROBE_STEPS: u64 = 20_000;

impl Callback for ProbeCallback {
    fn on_step(&mut self, _agent: &dyn AgentView, _num_timesteps: u64) -> Control {
        self.steps += 1;
        if self.done || self.steps > MAX_PROBE_STEPS { Control::Stop } else { Control::Continue }
    }

    fn on_update(&mut self, _metrics: &Metrics) {
        match self.window {
            None => self.window = Some((self.steps, Instant::now())),
            // A slow device ends its window early, after at least one timed step.
            Some((start, t0))
                if !self.done
                    && (self.steps >= start + WINDOW_STEPS || (self.steps > start && t0.elapsed().as_secs_f64() > MAX_WINDOW_SECS)) =>
            {
                self.done = true;
                if let Some(clock) = &self.clock {
                    if let Ok(mut c) = clock.lock() {
                        c.per_step_secs = Some(t0.elapsed().as_secs_f64() / (self.steps - start) as f64);
                    }
                }
            }
            Some(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_timed_on_the_cpu_and_a_fixed_device_is_never_measured() {
        let mut config = Config::default();
        config.experiment.device = DeviceChoice::Cpu;
        for n in [1, 2] {
            let secs = measure(&config, DeviceChoice::Cpu, n).expect("probe on the CPU");
            assert!(secs.is_finite() && secs > 0.0, "{n} agents: {secs}");
        }
        assert_eq!(for_batch(&config, 8, Layout::ALONE, Layout::ALONE), Choice { device: DeviceChoice::Cpu, note: None });
    }

    #[test]
    fn the_faster_device_is_picked_and_the_note_says_by_how_much() {
        let cpu = Layout { per_batch: 128, rounds: 1 };
        let c = pick(Ok(0.002), Ok(0.040), 256, "NVIDIA H200", cpu, Some(4));
        assert_eq!(c.device, DeviceChoice::Gpu);
        let note = c.note.unwrap_or_default();
        assert!(
            note.contains("256 agents")
                && note.contains("2.00 ms")
                && note.contains("40.00 ms")
                && note.contains("2 batches of 128 at once, scaled from 4 agents")
                && note.contains("20.0x"),
            "{note}"
        );
        let c = pick(Ok(0.030), Ok(0.010), 1, "NVIDIA H200", Layout::ALONE, None);
        assert_eq!(c.device, DeviceChoice::Cpu);
        assert!(c.note.unwrap_or_default().contains("training on the CPU (3.0x faster)"));
        assert_eq!(pick(Err("lost".into()), Ok(0.01), 2, "x", Layout::ALONE, None).device, DeviceChoice::Cpu);
        assert_eq!(pick(Ok(0.01), Err("oom".into()), 2, "x", Layout::ALONE, None).device, DeviceChoice::Gpu);
    }
}
