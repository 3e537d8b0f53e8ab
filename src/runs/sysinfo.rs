//! Environment details recorded with every run, for reproducibility.

use serde::{Deserialize, Serialize};
use std::path::Path;

/// Where and with what a run ran: run_info.json's `environment` (the older
/// fields first; the later ones default, so old runs still load).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnvironmentInfo {
    pub crate_version: String,
    pub os: String,
    pub arch: String,
    pub cpu: String,
    pub cpu_cores: usize,
    pub device: String,
    pub seed: u64,
    /// e.g. "6.1.0-27-amd64" (Linux `uname -r`).
    #[serde(default)]
    pub kernel: Option<String>,
    #[serde(default)]
    pub memory_total_mib: Option<u64>,
    /// The GPU adapter, its graphics API and driver (wgpu runs only).
    #[serde(default)]
    pub adapter: Option<String>,
    #[serde(default)]
    pub adapter_backend: Option<String>,
    #[serde(default)]
    pub driver: Option<String>,
    /// The commit checked out in the working directory, when it is inside a
    /// git repository, and whether tracked files differ from it.
    #[serde(default)]
    pub git_commit: Option<String>,
    #[serde(default)]
    pub git_dirty: Option<bool>,
}

impl EnvironmentInfo {
    pub fn collect(device: &str, seed: u64) -> Self {
        let (git_commit, git_dirty) = git_state(Path::new("."));
        Self {
            crate_version: env!("CARGO_PKG_VERSION").to_string(),
            os: os_name(),
            arch: std::env::consts::ARCH.to_string(),
            cpu: cpu_name(),
            cpu_cores: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            device: device.to_string(),
            seed,
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease").ok().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()),
            memory_total_mib: meminfo_kib("MemTotal:").map(|kib| kib / 1024),
            adapter: None,
            adapter_backend: None,
            driver: None,
            git_commit,
            git_dirty,
        }
    }

    /// The details as a Markdown table (TensorBoard's TEXT tab).
    pub fn markdown(&self) -> String {
        let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".into());
        let git = match (&self.git_commit, self.git_dirty) {
            (Some(c), Some(true)) => format!("{c} (uncommitted changes)"),
            (Some(c), _) => c.clone(),
            (None, _) => "— (not in a git repository)".into(),
        };
        let rows = [
            ("rl-research", self.crate_version.clone()),
            ("OS", self.os.clone()),
            ("kernel", opt(&self.kernel)),
            ("arch", self.arch.clone()),
            ("CPU", format!("{} ({} cores)", self.cpu, self.cpu_cores)),
            ("memory", self.memory_total_mib.map(|m| format!("{m} MiB")).unwrap_or_else(|| "—".into())),
            ("device", self.device.clone()),
            ("adapter", opt(&self.adapter)),
            ("graphics API", opt(&self.adapter_backend)),
            ("driver", opt(&self.driver)),
            ("git commit", git),
            ("seed", self.seed.to_string()),
        ];
        let mut md = String::from("| detail | value |\n|---|---|\n");
        for (k, v) in rows {
            md.push_str(&format!("| {k} | {} |\n", v.replace('|', "\\|")));
        }
        md
    }
}

/// `git rev-parse HEAD` and whether `git status` shows changed tracked files,
/// in `dir`; `(None, None)` outside a repository or without git. Untracked
/// files (a runs/ directory, say) do not count as dirty.
pub fn git_state(dir: &Path) -> (Option<String>, Option<bool>) {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .env("GIT_OPTIONAL_LOCKS", "0")
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let Some(commit) = git(&["rev-parse", "HEAD"]).filter(|c| c.len() >= 40) else { return (None, None) };
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).map(|s| !s.is_empty());
    (Some(commit), dirty)
}

fn meminfo_kib(key: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    text.lines().find_map(|l| l.strip_prefix(key)?.trim().trim_end_matches("kB").trim().parse().ok())
}

fn os_name() -> String {
    std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| t.lines().find_map(|l| l.strip_prefix("PRETTY_NAME=").map(|v| v.trim_matches('"').to_string())))
        .unwrap_or_else(|| std::env::consts::OS.to_string())
}

fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| t.lines().find_map(|l| l.strip_prefix("model name").map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())))
        .unwrap_or_else(|| "unknown".into())
}

/// CPU seconds (user + system) of the process or thread whose `stat` file is
/// `stat_path` (`/proc/self/stat`, `/proc/thread-self/stat`); Linux only, in
/// clock ticks of 10 ms.
pub fn proc_cpu_secs(stat_path: &str) -> Option<f64> {
    parse_stat(&std::fs::read_to_string(stat_path).ok()?).map(|(_, secs)| secs)
}

/// The command (thread) name and CPU seconds of a `/proc/.../stat` text.
pub fn parse_stat(stat: &str) -> Option<(&str, f64)> {
    // "pid (name) state ...": the name may hold spaces and parentheses.
    let (head, rest) = stat.rsplit_once(')')?;
    let name = head.split_once('(')?.1;
    // utime and stime are fields 14 and 15, i.e. 12th and 13th after the ")" ending the command name.
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some((name, (f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?) / 100.0))
}

/// This process's resident memory in MiB (Linux `/proc/self/statm`).
pub fn rss_mib() -> Option<f64> {
    let pages = std::fs::read_to_string("/proc/self/statm").ok()?.split_whitespace().nth(1)?.parse::<f64>().ok()?;
    Some((pages * 4096.0 / 1048576.0).round())
}

/// Samples the process's CPU use and memory and the machine's memory, for the
/// `system/…` metrics (Linux `/proc`; elsewhere nothing is reported).
#[derive(Debug, Default)]
pub struct SystemSampler {
    last: Option<(std::time::Instant, f64)>,
}

impl SystemSampler {
    /// `system/cpu_percent` (100 = one core busy, since the last sample),
    /// `system/rss_mib`, `system/mem_used_mib`, `system/mem_total_mib`.
    pub fn sample(&mut self) -> Vec<(&'static str, f64)> {
        let mut out = Vec::new();
        let now = std::time::Instant::now();
        if let Some(cpu) = proc_cpu_secs("/proc/self/stat") {
            if let Some((t, c)) = self.last {
                out.push(("system/cpu_percent", (100.0 * (cpu - c) / now.duration_since(t).as_secs_f64().max(1e-3)).round()));
            }
            self.last = Some((now, cpu));
        }
        if let Some(mib) = rss_mib() {
            out.push(("system/rss_mib", mib));
        }
        if let Ok(text) = std::fs::read_to_string("/proc/meminfo") {
            let kib = |key: &str| text.lines().find_map(|l| l.strip_prefix(key)?.trim().trim_end_matches("kB").trim().parse::<f64>().ok());
            if let (Some(total), Some(avail)) = (kib("MemTotal:"), kib("MemAvailable:")) {
                out.push(("system/mem_used_mib", ((total - avail) / 1024.0).round()));
                out.push(("system/mem_total_mib", (total / 1024.0).round()));
            }
        }
        out
    }
}
