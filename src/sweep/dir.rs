//! A sweep directory's layout: the one place its file names are written.
//!
//! ```text
//! <sweep>/sweep.json        the spec (trials, settings): what --resume reads
//! <sweep>/results.json      one TrialResult per trial, and sweep.csv beside it
//! <sweep>/trial_<id>/       each trial's run directory (or seed group)
//! <sweep>/trial_logs/       each trial's output, batch files, Slurm exit records
//! <sweep>/base_config.yaml  the GUI's base config
//! <sweep>/slurm.json, trials.json, slurm_array.sh   a Slurm sweep's jobs, trials, script
//! ```

use super::SweepSpec;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq)]
pub struct SweepDir {
    pub root: PathBuf,
}

impl SweepDir {
    pub fn at(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// `runs_dir/name`, or for a new sweep where that exists, the first free `name_<i>`.
    pub fn for_name(runs_dir: &Path, name: &str, resume: bool) -> Self {
        let first = runs_dir.join(name);
        if resume || !first.exists() {
            return Self::at(first);
        }
        Self::at((1..).map(|i| runs_dir.join(format!("{name}_{i}"))).find(|d| !d.exists()).unwrap_or(first))
    }

    /// The override that tags every trial of this sweep with its directory's name (after
    /// `config`'s own tags), so the runs browser and `compare tag:<name>` find them wherever
    /// they sit. The name is made a valid tag (other characters become '-'); `None` when it
    /// is one of the tags already.
    pub fn tag_override(&self, config: &crate::config::Config) -> Option<String> {
        let name = self.root.file_name()?.to_string_lossy();
        let tag: String = name.chars().map(|c| if c.is_alphanumeric() || "-_.+/@".contains(c) { c } else { '-' }).take(64).collect();
        let tags = &config.experiment.tags;
        if tag.is_empty() || tags.contains(&tag) {
            return None;
        }
        Some(format!("experiment.tags=[{}]", tags.iter().chain(std::iter::once(&tag)).cloned().collect::<Vec<_>>().join(",")))
    }

    pub fn spec_file(&self) -> PathBuf {
        self.root.join("sweep.json")
    }
    pub fn results_json(&self) -> PathBuf {
        self.root.join("results.json")
    }
    pub fn results_csv(&self) -> PathBuf {
        self.root.join("sweep.csv")
    }
    pub fn base_config(&self) -> PathBuf {
        self.root.join("base_config.yaml")
    }
    pub fn trial_logs(&self) -> PathBuf {
        self.root.join("trial_logs")
    }
    /// A trial's output, relative to the sweep directory (as messages show it).
    pub fn trial_log_name(name: &str) -> String {
        format!("trial_logs/{name}.log")
    }
    /// A Slurm task's output, relative to the sweep directory.
    pub fn slurm_log_name(job: &str, id: usize) -> String {
        format!("trial_logs/slurm_{job}_{id}.log")
    }
    /// Slurm's `--output` pattern for the array's tasks (`%A` job, `%a` task).
    pub fn slurm_output_pattern(&self) -> PathBuf {
        self.trial_logs().join("slurm_%A_%a.log")
    }
    /// Whether `dir` is a sweep directory (the runs browser lists its trials as one group).
    pub fn is_sweep(dir: &Path) -> bool {
        let d = Self::at(dir);
        d.spec_file().exists() || d.base_config().exists()
    }

    /// A batch of trials' `run --batch` file.
    pub fn batch_file(&self, tag: &str) -> PathBuf {
        self.trial_logs().join(format!("{tag}.json"))
    }
    /// What a Slurm task writes when its trial exits (its exit code).
    pub fn exit_record(&self, id: usize) -> PathBuf {
        self.trial_logs().join(format!("trial_{id}.exit"))
    }
    pub fn slurm_jobs(&self) -> PathBuf {
        self.root.join("slurm.json")
    }
    pub fn slurm_trials(&self) -> PathBuf {
        self.root.join("trials.json")
    }
    pub fn slurm_script(&self) -> PathBuf {
        self.root.join("slurm_array.sh")
    }
    pub fn trial_run(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// The directory name for trial `id`: `trial_<id>`, or the first free `trial_<id>_<k>`.
    pub fn trial_name(&self, id: usize) -> String {
        let base = format!("trial_{id}");
        (0..).map(|i| if i == 0 { base.clone() } else { format!("{base}_{i}") }).find(|n| !self.root.join(n).exists()).unwrap_or(base)
    }

    /// The spec, or why this is not a sweep directory.
    pub fn load_spec(&self) -> Result<SweepSpec, String> {
        let path = self.spec_file();
        std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
            .map_err(|e| format!("{} is not a sweep directory ({}: {e})", self.root.display(), path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sweep_tags_its_trials_with_its_name_made_a_valid_tag() {
        let mut config = crate::config::Config::default();
        config.experiment.tags = vec!["base".into()];
        let tag = SweepDir::at("runs/lr sweep,2").tag_override(&config);
        assert_eq!(tag.as_deref(), Some("experiment.tags=[base,lr-sweep-2]"));
        let o = crate::config::overrides::parse_override(tag.as_deref().unwrap()).unwrap();
        let tagged = crate::config::apply_overrides(&config, &[o]).unwrap();
        assert_eq!(tagged.experiment.tags, ["base", "lr-sweep-2"]);
        tagged.validate().unwrap();
        config.experiment.tags.push("lr-sweep-2".into());
        assert_eq!(SweepDir::at("runs/lr sweep,2").tag_override(&config), None, "already tagged");
    }
}
