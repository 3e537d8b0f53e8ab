//! `rl_research._core`: the Rust core as Python sees it. Thin on purpose:
//! the Python modules (`rl_research.experiments.cli`, `utils.*`, `envs`) give
//! the documented API its shape; this crate only moves data across (bytes of
//! little-endian f32 and RGB, read by NumPy without a copy) and releases the
//! GIL for everything that takes time.

use pyo3::create_exception;
use pyo3::exceptions::{PyKeyboardInterrupt, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use rl_research::config::Config;
use rl_research::config::overrides::{apply_overrides, override_from_json};
use rl_research::envs::Env;
use rl_research::runner::{self, RunError, RunOptions, external::ExternalRun, group::Trained};
use rl_research::runs::{RunStatus, SavedModel};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod envs;
mod inproc;
use envs::{EnvCore, VecEnvCore};

/// As in the `rl-research` binary: training allocates per tensor op, and the
/// extension's Rust allocations are its own (Python's objects are not touched).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

create_exception!(_core, ConfigError, PyValueError, "A config key or value is wrong (the message names the key and what is allowed).");
create_exception!(
    _core,
    RunFailed,
    PyRuntimeError,
    "A run could not start or failed (the message says why; its run directory records it)."
);

fn config_err(e: impl std::fmt::Display) -> PyErr {
    ConfigError::new_err(e.to_string())
}

fn run_err(e: RunError) -> PyErr {
    match e {
        RunError::Config(c) => ConfigError::new_err(c.to_string()),
        other => RunFailed::new_err(other.to_string()),
    }
}

/// A config from an optional file and `(dotted key, JSON value)` pairs, each
/// checked against the schema as the CLI checks `key=value`.
fn build_config(base_path: Option<PathBuf>, pairs: Vec<(String, String)>) -> PyResult<Config> {
    let base = match base_path {
        Some(p) => Config::load(&p).map_err(config_err)?,
        None => Config::default(),
    };
    let overrides = pairs
        .into_iter()
        .map(|(k, v)| {
            let value: serde_json::Value =
                serde_json::from_str(&v).map_err(|e| ConfigError::new_err(format!("{k}: value is not JSON ({e})")))?;
            override_from_json(&k, value).map_err(config_err)
        })
        .collect::<PyResult<Vec<_>>>()?;
    apply_overrides(&base, &overrides).map_err(config_err)
}

/// The resolved config as JSON (for `rl_research` to show or compare).
#[pyfunction]
#[pyo3(signature = (base_path, pairs, validate=true))]
fn resolve_config(base_path: Option<PathBuf>, pairs: Vec<(String, String)>, validate: bool) -> PyResult<String> {
    let config = build_config(base_path, pairs)?;
    if validate {
        config.validate().map_err(config_err)?;
    }
    serde_json::to_string(&config).map_err(|e| RunFailed::new_err(e.to_string()))
}

/// Trains one run with the GIL released, watching for Ctrl-C: the first one
/// stops the run gracefully (models and checkpoint kept, status "stopped")
/// and raises KeyboardInterrupt once it has stopped. Returns the summary as JSON.
#[pyfunction]
#[pyo3(signature = (base_path, pairs, verbose=true, command_line=None))]
fn run_experiment(
    py: Python<'_>,
    base_path: Option<PathBuf>,
    pairs: Vec<(String, String)>,
    verbose: bool,
    command_line: Option<String>,
) -> PyResult<String> {
    let config = build_config(base_path, pairs)?;
    config.validate().map_err(config_err)?;
    train_config(py, config, verbose, command_line)
}

/// `run_experiment` on a Python env stepped in this process: `factory()`
/// returns an `rl_research._inproc.Adapter`; the env is registered as `env_id`.
#[pyfunction]
#[pyo3(signature = (base_path, pairs, env_id, factory, verbose=true, command_line=None))]
fn run_experiment_env(
    py: Python<'_>,
    base_path: Option<PathBuf>,
    mut pairs: Vec<(String, String)>,
    env_id: String,
    factory: Py<PyAny>,
    verbose: bool,
    command_line: Option<String>,
) -> PyResult<String> {
    inproc::register(factory, &env_id).map_err(RunFailed::new_err)?;
    pairs.push(("env.id".into(), serde_json::Value::String(env_id).to_string()));
    let config = build_config(base_path, pairs)?;
    config.validate().map_err(config_err)?;
    train_config(py, config, verbose, command_line)
}

/// Trains a checked config (a run or a seed group) with the GIL released; its summary as JSON.
fn train_config(py: Python<'_>, config: Config, verbose: bool, command_line: Option<String>) -> PyResult<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    let options = RunOptions { command_line, events: verbose.then(|| runner::EventSender::new(tx)), ..RunOptions::default() };
    let stop = options.stop.clone();
    let printer = verbose.then(|| std::thread::spawn(move || rl_research::cli::progress::print_events(rx)));
    // A seed group (experiment.seeds / n_seeds) trains all its seeds and reports the group.
    let request = runner::request::RunRequest::New(Box::new(config));
    let (result, interrupted) = train_watching_ctrl_c(py, &stop, "the run is", move || request.execute(options));
    let result = result
        .unwrap_or_else(|| Err(RunError::Training("the training thread panicked".into())))
        .and_then(|o| o.trained().ok_or_else(|| RunError::Training("a new run's request trained a batch".into())));
    if let Some(p) = printer {
        let _ = py.detach(|| p.join());
    }
    let done = result.map_err(run_err)?;
    let (dir, at) = match &done {
        Trained::Run(s) => (s.run_dir.root.clone(), format!("at step {}", s.timesteps)),
        Trained::Group(g) => (g.group.root.clone(), format!("({})", g.info.status.label())),
    };
    if interrupted {
        return Err(PyKeyboardInterrupt::new_err(format!(
            "training stopped {at}; it is saved in {} (resume: rl-research run --resume {})",
            dir.display(),
            dir.display()
        )));
    }
    Ok(match &done {
        Trained::Run(s) => summary_json(s),
        Trained::Group(g) => group_json(g),
    }
    .to_string())
}

/// Runs `work` on a thread of its own with the GIL released, watching for
/// Ctrl-C: the first one sets `stop` (training stops gracefully after its
/// step; `saved` says what is kept) and is remembered. Returns what `work`
/// returned (`None` if it panicked) and whether Ctrl-C came.
fn train_watching_ctrl_c<T: Send + 'static>(
    py: Python<'_>,
    stop: &Arc<AtomicBool>,
    saved: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> (Option<T>, bool) {
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let trainer = std::thread::spawn(move || {
        let _ = done_tx.send(work());
    });
    let mut interrupted = false;
    let done_rx = Mutex::new(done_rx); // Sync, for the detached wait
    let result = loop {
        match py.detach(|| {
            done_rx.lock().map_err(|_| std::sync::mpsc::RecvTimeoutError::Disconnected)?.recv_timeout(Duration::from_millis(100))
        }) {
            Ok(r) => break Some(r),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                if py.check_signals().is_err() && !interrupted {
                    interrupted = true;
                    stop.store(true, Ordering::SeqCst);
                    eprintln!("\nKeyboardInterrupt: stopping after this step ({saved} saved and can be resumed)...");
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break None,
        }
    };
    let _ = trainer.join();
    (result, interrupted)
}

/// Trains several runs (`items`: base file, pairs, command line each): those
/// whose configs differ only in scalar hyperparameters (`Config::batch_key`)
/// as one batch, as a sweep with `sweep.batch_trials=batch` trains its trials
/// (`workers` batches on the CPU), the rest one by one. Every config is
/// checked before any trains. Returns one summary (JSON) per item, in order,
/// `{"error": ...}` for a run that failed, and the units that trained
/// together. Ctrl-C stops gracefully, as in `run_experiment`.
#[pyfunction]
#[pyo3(signature = (items, batch, workers, verbose=true))]
fn run_experiments(
    py: Python<'_>,
    items: Vec<(Option<PathBuf>, Vec<(String, String)>, String)>,
    batch: &str,
    workers: usize,
    verbose: bool,
) -> PyResult<(Vec<String>, Vec<Vec<usize>>)> {
    let mode: rl_research::config::BatchSeeds =
        batch.parse().map_err(|()| ConfigError::new_err(format!("batch_trials must be auto, true or false, got {batch:?}")))?;
    let mut configs = Vec::new();
    let mut commands = Vec::new();
    for (i, (base, pairs, command)) in items.into_iter().enumerate() {
        let config = build_config(base, pairs).map_err(|e| ConfigError::new_err(format!("trial {i}: {}", e.value(py))))?;
        config.validate().map_err(|e| ConfigError::new_err(format!("trial {i}: {e}")))?;
        configs.push(config);
        commands.push(command);
    }
    let units = rl_research::sweep::batches::group(&configs.iter().cloned().map(Some).collect::<Vec<_>>(), mode, workers.max(1));
    let stop = Arc::new(AtomicBool::new(false));
    let (stop2, units2) = (stop.clone(), units.clone());
    let (out, interrupted) = train_watching_ctrl_c(py, &stop, "the runs are", move || {
        let mut out: Vec<serde_json::Value> = vec![serde_json::Value::Null; configs.len()];
        for unit in &units2 {
            if stop2.load(Ordering::SeqCst) {
                break;
            }
            let options = |i: usize, events: Option<std::sync::mpsc::Sender<runner::RunEvent>>| RunOptions {
                command_line: Some(commands[i].clone()),
                stop: stop2.clone(),
                events: events.map(runner::EventSender::new),
                ..RunOptions::default()
            };
            if let [i] = unit[..] {
                let (tx, rx) = std::sync::mpsc::channel();
                let printer = verbose.then(|| std::thread::spawn(move || rl_research::cli::progress::print_events(rx)));
                let request = runner::request::RunRequest::New(Box::new(configs[i].clone()));
                let result = request
                    .execute(options(i, verbose.then_some(tx)))
                    .and_then(|o| o.trained().ok_or_else(|| RunError::Training("a new run's request trained a batch".into())));
                if let Some(p) = printer {
                    let _ = p.join();
                }
                out[i] = match result {
                    Ok(Trained::Run(s)) => summary_json(&s),
                    Ok(Trained::Group(g)) => group_json(&g),
                    Err(e) => serde_json::json!({ "error": e.to_string() }),
                };
                continue;
            }
            if verbose {
                eprintln!("training trials {} as one batch", unit.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", "));
            }
            let items = unit
                .iter()
                .map(|&i| runner::request::BatchItem { config: configs[i].clone(), command_line: Some(commands[i].clone()) })
                .collect();
            let outcome =
                match runner::request::RunRequest::Batch(items).execute(RunOptions { stop: stop2.clone(), ..RunOptions::default() }) {
                    Ok(runner::request::Outcome::Batch(o)) => o,
                    Ok(runner::request::Outcome::Trained(_)) | Err(_) => {
                        for &i in unit {
                            out[i] = serde_json::json!({ "error": "the batch could not start" });
                        }
                        continue;
                    }
                };
            if let (Some(note), true) = (&outcome.device_note, verbose) {
                eprintln!("{note}");
            }
            if let (Some(why), true) = (&outcome.apart, verbose) {
                eprintln!("note: these trials trained one after another, not batched: {why}");
            }
            for (&i, r) in unit.iter().zip(outcome.results) {
                out[i] = match r {
                    Ok(s) => summary_json(&s),
                    Err(e) => serde_json::json!({ "error": e.to_string() }),
                };
            }
        }
        out
    });
    let out = out.ok_or_else(|| RunFailed::new_err("the training thread panicked"))?;
    if interrupted {
        return Err(PyKeyboardInterrupt::new_err(
            "the search stopped; its runs are saved (resume one: rl-research run --resume runs/<name>)",
        ));
    }
    Ok((out.into_iter().map(|v| v.to_string()).collect(), units))
}

/// A seed group's summary for `rl_research.GroupSummary`.
fn group_json(g: &runner::group::GroupSummary) -> serde_json::Value {
    serde_json::json!({
        "kind": "seed_group",
        "run_dir": g.group.root,
        "status": g.info.status.label(),
        "seeds": g.info.seeds,
        "wall_secs": g.info.wall_secs,
        "seed_runs": g.info.seed_runs,
        "final_score": g.info.final_score,
        "aggregate_csv": g.group.aggregate_csv(),
    })
}

fn summary_json(s: &runner::RunSummary) -> serde_json::Value {
    let last = s.evaluations.last();
    serde_json::json!({
        "run_dir": s.run_dir.root,
        "status": s.status,
        "timesteps": s.timesteps,
        "wall_secs": s.wall_secs,
        "train_secs": s.train_secs,
        "best_mean_reward": s.best_mean_reward,
        "final_mean_reward": last.map(|e| e.mean_reward),
        "final_std_reward": last.map(|e| e.std_reward),
        "evaluations": s.evaluations,
        "device": s.device,
    })
}

/// `rl-research ARGS...` in this process (the `python -m rl_research.experiments.cli` entry).
/// A run's logs/run_info.json as JSON text; a run whose process is gone
/// reads (and is recorded as) "interrupted", as in the CLI and the GUI.
#[pyfunction]
fn read_run_info(py: Python<'_>, run_dir: PathBuf) -> PyResult<String> {
    let run = rl_research::runs::RunDir::at(&run_dir);
    let info = py.detach(|| rl_research::runs::RunInfo::read(&run)).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => pyo3::exceptions::PyFileNotFoundError::new_err(e.to_string()),
        _ => PyValueError::new_err(e.to_string()),
    })?;
    serde_json::to_string(&info).map_err(|e| RunFailed::new_err(e.to_string()))
}

/// Appends a dated paragraph to the findings (`notes.md`) of a run, seed group or
/// sweep directory, as `rl-research note DIR TEXT` does; returns the new notes.
#[pyfunction]
fn append_note(run_dir: PathBuf, text: &str) -> PyResult<String> {
    if !run_dir.is_dir() {
        return Err(pyo3::exceptions::PyFileNotFoundError::new_err(format!(
            "{} is not a directory: give a run, seed group or sweep directory",
            run_dir.display()
        )));
    }
    let file = rl_research::runs::notebook::notes_file(&run_dir);
    rl_research::runs::notebook::append_note(&file, text, rl_research::runs::unix_now_secs()).map_err(PyValueError::new_err)
}

#[pyfunction]
fn cli_main(py: Python<'_>, argv: Vec<String>) -> i32 {
    py.detach(|| rl_research::cli::main(argv))
}

/// A run directory written by the caller's own training loop.
#[pyclass(module = "rl_research._core")]
struct LoggedRun {
    run: Mutex<Option<ExternalRun>>,
    root: PathBuf,
}

#[pymethods]
impl LoggedRun {
    #[new]
    #[pyo3(signature = (base_path, pairs, env_id=None, algorithm="custom", command_line=None))]
    fn new(
        base_path: Option<PathBuf>,
        pairs: Vec<(String, String)>,
        env_id: Option<String>,
        algorithm: &str,
        command_line: Option<String>,
    ) -> PyResult<Self> {
        let config = build_config(base_path, pairs)?;
        let run = ExternalRun::start(&config, env_id.as_deref(), algorithm, command_line).map_err(run_err)?;
        let root = run.run_dir().root.clone();
        Ok(Self { run: Mutex::new(Some(run)), root })
    }

    #[getter]
    fn run_dir(&self) -> PathBuf {
        self.root.clone()
    }

    /// Appends `(name, value)` rows at `step` to metrics.csv and the TensorBoard file.
    fn log_metrics(&self, step: u64, metrics: Vec<(String, f64)>) -> PyResult<()> {
        let mut guard = self.run.lock().map_err(|_| RunFailed::new_err("the logger was poisoned by a panic"))?;
        let run = guard
            .as_mut()
            .ok_or_else(|| RunFailed::new_err(format!("the run {} is finished: start a new ExperimentLogger", self.root.display())))?;
        run.log_metrics(step, &metrics)
            .map_err(|e| RunFailed::new_err(format!("{e}; free disk space, or set experiment.runs_dir to a writable disk")))
    }

    /// Saves one of our models (bytes of a model zip) as `models/<name>.zip`.
    fn save_model_zip(&self, name: &str, zip: &[u8]) -> PyResult<PathBuf> {
        let model = SavedModel::from_reader(std::io::Cursor::new(zip), "given to save_model")
            .map_err(|e| PyValueError::new_err(format!("not an rl-research model: {e}")))?;
        let guard = self.run.lock().map_err(|_| RunFailed::new_err("the logger was poisoned by a panic"))?;
        let run = guard.as_ref().ok_or_else(|| RunFailed::new_err("the run is finished"))?;
        run.logger.save_model(name, &model).map_err(|e| PyValueError::new_err(e.to_string()))
    }

    /// Ends the run: "completed", "failed" (with `error`) or "stopped". Idempotent.
    #[pyo3(signature = (status, timesteps, error=None))]
    fn finish(&self, status: &str, timesteps: u64, error: Option<String>) -> PyResult<()> {
        let status = match status {
            "completed" => RunStatus::Completed,
            "failed" => RunStatus::Failed,
            "stopped" => RunStatus::Stopped,
            other => return Err(PyValueError::new_err(format!("status '{other}': use completed, failed or stopped"))),
        };
        let mut guard = self.run.lock().map_err(|_| RunFailed::new_err("the logger was poisoned by a panic"))?;
        match guard.take() {
            Some(run) => run.finish(status, timesteps, error).map(|_| ()).map_err(run_err),
            None => Ok(()),
        }
    }
}

/// One of our saved models (best_model.zip, final_model.zip), acting greedily.
#[pyclass(module = "rl_research._core")]
struct ModelCore {
    policy: Mutex<rl_research::Policy>,
    zip: Vec<u8>,
    #[pyo3(get)]
    env_id: String,
    #[pyo3(get)]
    algorithm: String,
    #[pyo3(get)]
    obs_dim: usize,
    #[pyo3(get)]
    n_actions: usize,
    /// The model's action space as JSON (as EnvCore's).
    #[pyo3(get)]
    action_space_json: String,
    #[pyo3(get)]
    path: PathBuf,
}

#[pymethods]
impl ModelCore {
    #[new]
    fn new(path: PathBuf) -> PyResult<Self> {
        let zip = std::fs::read(&path).map_err(|e| PyValueError::new_err(format!("cannot read model {}: {e}", path.display())))?;
        let model = SavedModel::from_reader(std::io::Cursor::new(&zip), &path.display().to_string())
            .map_err(|e| PyValueError::new_err(format!("{}: {e}", path.display())))?;
        let policy = runner::load_policy(&model).map_err(|e| PyValueError::new_err(format!("{}: {e}", path.display())))?;
        let m = &model.metadata;
        let action_space_json = serde_json::to_string(&m.action_space()).map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(Self {
            env_id: m.env_id.clone(),
            algorithm: m.algorithm.clone(),
            obs_dim: m.obs_dim,
            n_actions: m.n_actions,
            action_space_json,
            policy: Mutex::new(policy),
            zip,
            path,
        })
    }

    /// Greedy actions for `n` observations (f32 bytes, row-major): n ints, or
    /// for a Box action space n * dim floats, row-major.
    fn act<'py>(&self, py: Python<'py>, obs: &[u8], n: usize) -> PyResult<Bound<'py, PyAny>> {
        let obs = bytes_f32(obs, n * self.obs_dim)?;
        let policy = lock(&self.policy)?;
        let batch = py.detach(|| policy.act_deterministic(&obs, n)).map_err(PyValueError::new_err)?;
        Ok(match batch {
            rl_research::envs::ActionBatch::Discrete(a) => a.into_pyobject(py)?.into_any(),
            rl_research::envs::ActionBatch::Continuous { values, .. } => values.into_pyobject(py)?.into_any(),
        })
    }

    /// The model file's bytes (for ExperimentLogger.save_model).
    fn zip_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.zip)
    }

    /// Returns of `n_episodes` greedy episodes on `env`, all in Rust (the
    /// first reset with `seed`, the others continuing the env's generator).
    #[pyo3(signature = (env, n_episodes, seed=None))]
    fn evaluate(&self, py: Python<'_>, env: &EnvCore, n_episodes: usize, seed: Option<u64>) -> PyResult<Vec<f64>> {
        let policy = lock(&self.policy)?;
        let mut env = lock(&env.env)?;
        let env_ref: &mut dyn Env = env.as_mut();
        let result =
            py.detach(|| runner::eval::evaluate_episodes_from(&policy, env_ref, n_episodes, seed)).map_err(PyValueError::new_err)?;
        Ok(result.returns)
    }

    /// Records `n_episodes` greedy episodes on `env` into an MP4 at `path`; returns their mean return.
    fn record_video(&self, py: Python<'_>, env: &EnvCore, path: PathBuf, n_episodes: usize, seed: u64) -> PyResult<f64> {
        let policy = lock(&self.policy)?;
        let mut env = lock(&env.env)?;
        let env_ref: &mut dyn Env = env.as_mut();
        let (_, stats) =
            py.detach(|| runner::replay::record_video(&policy, env_ref, &path, n_episodes, seed)).map_err(RunFailed::new_err)?;
        Ok(stats.mean_return)
    }
}

/// The project's MP4 encoder for frames from anywhere (a Gymnasium env's `render()`).
#[pyclass(module = "rl_research._core")]
struct VideoWriter {
    writer: Mutex<Option<rl_research::video::Mp4Writer>>,
    width: u32,
    height: u32,
}

#[pymethods]
impl VideoWriter {
    #[new]
    fn new(path: PathBuf, width: u32, height: u32, fps: f64) -> PyResult<Self> {
        let w = rl_research::video::Mp4Writer::create(&path, width, height, fps).map_err(|e| RunFailed::new_err(e.0))?;
        Ok(Self { writer: Mutex::new(Some(w)), width, height })
    }

    /// One RGB frame (height x width x 3 bytes).
    fn push(&self, py: Python<'_>, rgb: &[u8]) -> PyResult<()> {
        let want = (self.width * self.height * 3) as usize;
        if rgb.len() != want {
            return Err(PyValueError::new_err(format!(
                "a frame must be {}x{}x3 = {want} bytes, got {}",
                self.height,
                self.width,
                rgb.len()
            )));
        }
        let mut guard = lock(&self.writer)?;
        let w = guard.as_mut().ok_or_else(|| PyValueError::new_err("the video is finished"))?;
        py.detach(|| w.push_rgb(rgb)).map_err(|e| RunFailed::new_err(e.0))
    }

    /// Writes the file; returns its path.
    fn finish(&self) -> PyResult<PathBuf> {
        let w = lock(&self.writer)?.take().ok_or_else(|| PyValueError::new_err("the video is finished"))?;
        w.finish().map_err(|e| RunFailed::new_err(e.0))
    }
}

fn lock<T>(m: &Mutex<T>) -> PyResult<std::sync::MutexGuard<'_, T>> {
    m.lock().map_err(|_| RunFailed::new_err("internal state was poisoned by a panic"))
}

fn f32_bytes(xs: &[f32]) -> Vec<u8> {
    xs.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn bytes_f32(b: &[u8], want: usize) -> PyResult<Vec<f32>> {
    if b.len() != want * 4 {
        return Err(PyValueError::new_err(format!("expected {want} float32 values ({} bytes), got {} bytes", want * 4, b.len())));
    }
    Ok(b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}

/// The parameters (Gymnasium make kwargs) env `id` declares in the registry, in order.
#[pyfunction]
fn env_param_keys(id: &str) -> PyResult<Vec<String>> {
    let found = rl_research::envs::registry::lookup(id).map_err(config_err)?;
    Ok(found.spec.params.iter().map(|p| p.key.clone()).collect())
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("ConfigError", m.py().get_type::<ConfigError>())?;
    m.add("RunFailed", m.py().get_type::<RunFailed>())?;
    m.add("ENV_IDS", rl_research::envs::registry::all_ids())?;
    m.add_function(wrap_pyfunction!(env_param_keys, m)?)?;
    m.add_function(wrap_pyfunction!(resolve_config, m)?)?;
    m.add_function(wrap_pyfunction!(run_experiment, m)?)?;
    m.add_function(wrap_pyfunction!(run_experiment_env, m)?)?;
    m.add_function(wrap_pyfunction!(inproc::gym_worker_source, m)?)?;
    m.add_function(wrap_pyfunction!(run_experiments, m)?)?;
    m.add_function(wrap_pyfunction!(cli_main, m)?)?;
    m.add_function(wrap_pyfunction!(read_run_info, m)?)?;
    m.add_function(wrap_pyfunction!(append_note, m)?)?;
    m.add_class::<LoggedRun>()?;
    m.add_class::<EnvCore>()?;
    m.add_class::<VecEnvCore>()?;
    m.add_class::<ModelCore>()?;
    m.add_class::<VideoWriter>()?;
    Ok(())
}
