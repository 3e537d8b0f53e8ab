//! One Python worker process hosting some Gymnasium envs: spawned with the
//! script in `worker.py`, driven by one command line at a time over its stdin,
//! answered over a private copy of its stdout, with observations, actions,
//! rewards and done flags in a shared memory file both sides map. Its stderr
//! (the env's prints, warnings, tracebacks) is kept as its last words, so a
//! worker that dies or hangs fails the run with what it said.

use super::GymSource;
use crate::envs::ActionSpace;
use crate::envs::render::Frame;
use memmap2::MmapMut;
use serde::Deserialize;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The worker's Python source (the Python package runs its codecs in-process).
pub const SCRIPT: &str = include_str!("worker.py");
/// Lines of stderr kept as a worker's last words.
const LAST_WORDS: usize = 40;
/// Importing Gymnasium and making the envs may take far longer than a step.
const STARTUP_SECS: f64 = 120.0;

/// What a worker says about its envs once they are made.
#[derive(Clone, Debug, Deserialize)]
pub struct Hello {
    pub obs_dim: usize,
    pub obs_low: Vec<f32>,
    pub obs_high: Vec<f32>,
    pub observation_space: String,
    pub action_space: ActionSpace,
    pub action_space_text: String,
    pub max_episode_steps: Option<u64>,
    pub reward_threshold: Option<f64>,
    pub render_fps: Option<f64>,
    #[serde(default)]
    pub render_modes: Vec<String>,
    pub gymnasium: String,
    pub python: String,
    pub pid: u32,
}

impl Hello {
    fn empty() -> Self {
        Self {
            obs_dim: 0,
            obs_low: Vec::new(),
            obs_high: Vec::new(),
            observation_space: String::new(),
            action_space: ActionSpace::Discrete { n: 1, names: Vec::new() },
            action_space_text: String::new(),
            max_episode_steps: None,
            reward_threshold: None,
            render_fps: None,
            render_modes: Vec::new(),
            gymnasium: String::new(),
            python: String::new(),
            pid: 0,
        }
    }
}

/// A Python-side error, as the worker reports it.
#[derive(Clone, Debug, Deserialize)]
struct PyError {
    kind: String,
    message: String,
    #[serde(default)]
    traceback: String,
}

enum Reply {
    Line(String),
    Frame(Frame),
    Closed,
}

/// The shared memory's regions, in the order `worker.py` maps them (8-byte aligned).
#[derive(Clone, Copy, Debug)]
struct Layout {
    act: usize,
    obs: usize,
    fin: usize,
    rew: usize,
    flags: usize,
    len: usize,
}

impl Layout {
    fn new(n: usize, width: usize, obs_dim: usize) -> Self {
        let align = |x: usize| x.div_ceil(8) * 8;
        let act = 0;
        let obs = align(act + 4 * n * width);
        let fin = align(obs + 4 * n * obs_dim);
        let rew = align(fin + 4 * n * obs_dim);
        let flags = align(rew + 8 * n);
        Self { act, obs, fin, rew, flags, len: flags + n }
    }
}

pub struct Worker {
    child: Child,
    stdin: ChildStdin,
    replies: Receiver<Reply>,
    last_words: Arc<Mutex<VecDeque<String>>>,
    stderr_thread: Option<std::thread::JoinHandle<()>>,
    mem: MmapMut,
    layout: Layout,
    pub hello: Hello,
    pub n: usize,
    width: usize,
    timeout: Duration,
    /// Set once the worker failed: every later call returns it.
    failed: Option<String>,
    label: String,
}

impl Worker {
    /// Starts a worker with `n` envs (rendering frames if `render`) and maps its memory.
    pub fn spawn(source: &GymSource, n: usize, render: bool) -> Result<Self, String> {
        let spec = serde_json::json!({
            "id": source.id, "kwargs": source.kwargs, "imports": source.imports, "n": n, "render": render,
            "max_episode_steps": source.max_episode_steps,
        });
        let python = source.python();
        let mut child = Command::new(&python)
            .args(["-u", "-c", SCRIPT, &spec.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => format!(
                    "env.python: the Python interpreter '{python}' was not found: install Python 3 with Gymnasium, or set env.python to an interpreter that has it (e.g. env.python=/path/to/venv/bin/python)"
                ),
                _ => format!("env.python: cannot start '{python}': {e}"),
            })?;
        let label = format!("gym:{} worker (pid {})", source.id, child.id());
        let (Some(stdin), Some(stdout), Some(stderr)) = (child.stdin.take(), child.stdout.take(), child.stderr.take()) else {
            let _ = child.kill();
            return Err(format!("{label}: its pipes could not be opened"));
        };
        let last_words = Arc::new(Mutex::new(VecDeque::new()));
        let words = last_words.clone();
        let stderr_thread = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut w = words.lock().unwrap_or_else(|e| e.into_inner());
                if w.len() == LAST_WORDS {
                    w.pop_front();
                }
                w.push_back(line);
            }
        });
        let (tx, replies) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut line = String::new();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => {
                        let _ = tx.send(Reply::Closed);
                        return;
                    }
                    Ok(_) => {}
                }
                let line = line.trim_end().to_string();
                let reply = match line.strip_prefix("frame ").map(|s| s.split(' ').filter_map(|x| x.parse().ok()).collect::<Vec<u32>>()) {
                    Some(hw) if hw.len() == 2 => {
                        let mut rgb = vec![0u8; hw[0] as usize * hw[1] as usize * 3];
                        if reader.read_exact(&mut rgb).is_err() {
                            let _ = tx.send(Reply::Closed);
                            return;
                        }
                        Reply::Frame(Frame { width: hw[1], height: hw[0], rgb })
                    }
                    _ => Reply::Line(line),
                };
                if tx.send(reply).is_err() {
                    return;
                }
            }
        });
        let mut w = Self {
            child,
            stdin,
            replies,
            last_words,
            stderr_thread: Some(stderr_thread),
            mem: MmapMut::map_anon(8).map_err(|e| format!("cannot map memory: {e}"))?,
            layout: Layout::new(0, 0, 0),
            hello: Hello::empty(),
            n,
            width: 0,
            timeout: Duration::from_secs_f64(STARTUP_SECS.max(source.timeout_secs)),
            failed: None,
            label,
        };
        let hello = match w.wait()? {
            Reply::Line(l) => match l.strip_prefix("hello ") {
                Some(json) => serde_json::from_str::<Hello>(json).map_err(|e| w.fail(format!("sent a bad hello ({e}): {json}")))?,
                None => return Err(w.error_line(&l, "start")),
            },
            Reply::Frame(_) => return Err(w.fail("sent a frame before describing its envs".into())),
            Reply::Closed => unreachable_closed(&mut w)?,
        };
        w.width = hello.action_space.width();
        w.layout = Layout::new(n, w.width, hello.obs_dim);
        w.hello = hello;
        w.map_memory()?;
        w.timeout = Duration::from_secs_f64(source.timeout_secs);
        Ok(w)
    }

    /// Creates the shared file, lets the worker map it, then unlinks it (both keep their mappings).
    fn map_memory(&mut self) -> Result<(), String> {
        let dir = ["/dev/shm"].iter().map(std::path::PathBuf::from).find(|p| p.is_dir()).unwrap_or_else(std::env::temp_dir);
        let path = dir.join(format!("rl-research-gym-{}-{}", std::process::id(), self.child.id()));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| format!("cannot create the shared memory file {}: {e}", path.display()))?;
        let result = (|| {
            file.set_len(self.layout.len.max(8) as u64).map_err(|e| format!("cannot size {}: {e}", path.display()))?;
            // SAFETY: the file is ours, sized above; the worker only writes the regions the protocol gives it, between commands.
            self.mem = unsafe { MmapMut::map_mut(&file) }.map_err(|e| format!("cannot map {}: {e}", path.display()))?;
            self.command(&format!("map {}", path.display()))
        })();
        let _ = std::fs::remove_file(&path);
        result
    }

    /// Sends one command (nothing is awaited).
    pub fn send(&mut self, cmd: &str) -> Result<(), String> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if self.stdin.write_all(format!("{cmd}\n").as_bytes()).and_then(|_| self.stdin.flush()).is_err() {
            return Err(self.fail(format!("died before '{cmd}'")));
        }
        Ok(())
    }

    /// Waits for the answer to the last command sent: `ok`, or the worker's error.
    pub fn finish(&mut self, cmd: &str) -> Result<(), String> {
        match self.wait()? {
            Reply::Line(l) if l == "ok" => Ok(()),
            Reply::Line(l) => Err(self.error_line(&l, cmd)),
            Reply::Frame(_) => Err(self.fail(format!("sent a frame in answer to '{cmd}'"))),
            Reply::Closed => unreachable_closed(self),
        }
    }

    pub fn command(&mut self, cmd: &str) -> Result<(), String> {
        self.send(cmd)?;
        self.finish(cmd)
    }

    /// Env `j`'s current frame.
    pub fn render(&mut self, j: usize) -> Result<Frame, String> {
        let cmd = format!("render {j}");
        self.send(&cmd)?;
        match self.wait()? {
            Reply::Frame(f) => Ok(f),
            // The env cannot draw (no pygame, no rgb_array): the worker itself is fine.
            Reply::Line(l) => match l.strip_prefix("err ").and_then(|j| serde_json::from_str::<PyError>(j).ok()) {
                Some(e) => Err(format!("{}: it cannot render frames: {}", self.label, e.message)),
                None => Err(self.error_line(&l, &cmd)),
            },
            Reply::Closed => unreachable_closed(self),
        }
    }

    /// Gymnasium's `env_checker` on a fresh env of this worker's: its warnings, or the check that failed.
    pub fn gymnasium_check(&mut self) -> Result<Vec<String>, String> {
        self.send("check")?;
        match self.wait()? {
            Reply::Line(l) => match l.strip_prefix("report ") {
                Some(json) => serde_json::from_str(json).map_err(|e| format!("a bad report ({e}): {json}")),
                None => Err(self.error_line(&l, "check")),
            },
            Reply::Frame(_) => Err(self.fail("sent a frame in answer to 'check'".into())),
            Reply::Closed => unreachable_closed(self),
        }
    }

    fn wait(&mut self) -> Result<Reply, String> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        match self.replies.recv_timeout(self.timeout) {
            Ok(r) => Ok(r),
            Err(RecvTimeoutError::Timeout) => Err(self.fail(format!(
                "did not answer within {:.0} s (hung? raise env.worker_timeout_secs if its steps are this slow)",
                self.timeout.as_secs_f64()
            ))),
            Err(RecvTimeoutError::Disconnected) => Ok(Reply::Closed),
        }
    }

    /// An `err {...}` line as an error; anything else breaks the protocol.
    fn error_line(&mut self, line: &str, cmd: &str) -> String {
        match line.strip_prefix("err ").and_then(|j| serde_json::from_str::<PyError>(j).ok()) {
            Some(e) => {
                let msg = match e.kind.as_str() {
                    "env" => format!("{}\n{}", e.message, e.traceback.trim_end()),
                    _ => e.message,
                };
                self.failed = Some(msg.trim_end().to_string());
                // The env may be mid-episode in a broken state: the worker is not used again.
                self.kill();
                msg.trim_end().to_string()
            }
            None => self.fail(format!("answered '{line}' to '{cmd}'")),
        }
    }

    /// Marks the worker failed (killing it), with its last words.
    fn fail(&mut self, what: String) -> String {
        self.kill();
        let status = self.child.try_wait().ok().flatten().map(|s| format!(" ({s})")).unwrap_or_default();
        let words = self.last_words();
        let msg = if words.is_empty() {
            format!("{}{status} {what}; it said nothing on stderr", self.label)
        } else {
            format!("{}{status} {what}; its last words:\n{words}", self.label)
        };
        self.failed = Some(msg.clone());
        msg
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The stderr reader ends once the process is gone: wait for it so the last words are
        // complete (a second, bounded: a grandchild may hold the pipe open).
        if let Some(t) = self.stderr_thread.take() {
            let t0 = std::time::Instant::now();
            while !t.is_finished() && t0.elapsed() < Duration::from_secs(1) {
                std::thread::sleep(Duration::from_millis(5));
            }
            if t.is_finished() {
                let _ = t.join();
            }
        }
    }

    pub fn last_words(&self) -> String {
        let w = self.last_words.lock().unwrap_or_else(|e| e.into_inner());
        w.iter().cloned().collect::<Vec<_>>().join("\n")
    }

    pub fn actions_mut(&mut self) -> &mut [f32] {
        let l = self.layout;
        bytemuck_f32_mut(&mut self.mem[l.act..l.act + 4 * self.n * self.width])
    }
    pub fn obs(&self) -> &[f32] {
        let l = self.layout;
        bytemuck_f32(&self.mem[l.obs..l.obs + 4 * self.n * self.hello.obs_dim])
    }
    pub fn final_obs(&self) -> &[f32] {
        let l = self.layout;
        bytemuck_f32(&self.mem[l.fin..l.fin + 4 * self.n * self.hello.obs_dim])
    }
    pub fn reward(&self, j: usize) -> f64 {
        let at = self.layout.rew + 8 * j;
        f64::from_ne_bytes(self.mem[at..at + 8].try_into().unwrap_or([0; 8]))
    }
    /// (terminated, truncated) of env `j`'s last step.
    pub fn flags(&self, j: usize) -> (bool, bool) {
        let f = self.mem[self.layout.flags + j];
        (f & 1 != 0, f & 2 != 0)
    }
}

fn unreachable_closed<T>(w: &mut Worker) -> Result<T, String> {
    // A Python error before the protocol started (e.g. a SyntaxError in an import) ends up here too.
    Err(w.fail("exited".into()))
}

fn bytemuck_f32(bytes: &[u8]) -> &[f32] {
    // SAFETY: regions start 8-byte aligned in a page-aligned mapping and are a whole number of f32s.
    unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<f32>(), bytes.len() / 4) }
}

fn bytemuck_f32_mut(bytes: &mut [u8]) -> &mut [f32] {
    // SAFETY: as in `bytemuck_f32`.
    unsafe { std::slice::from_raw_parts_mut(bytes.as_mut_ptr().cast::<f32>(), bytes.len() / 4) }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if self.failed.is_none() {
            let _ = self.stdin.write_all(b"close\n");
            let _ = self.stdin.flush();
            // A well-behaved worker exits at once; one that does not is killed.
            for _ in 0..50 {
                if matches!(self.child.try_wait(), Ok(Some(_))) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
