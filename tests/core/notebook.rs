//! The experiment notebook through the command line: tags and purpose recorded at
//! launch, findings appended with `note`, `compare tag:`, and `clean` freeing a
//! finished run's checkpoints (resume and fork then refused, saying why).

use rl_research::runner::{self, RunOptions};
use rl_research::runs::notebook;
use rl_research::runs::{RunDir, RunInfo, RunStatus};
use std::path::Path;
use std::process::{Command, Output};

fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rl-research")).args(args).output().unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn tags_notes_compare_by_tag_and_clean_up() {
    let dir = crate::temp_dir("notebook");
    let runs = dir.to_str().unwrap();
    // Tags and purpose at launch, through the override grammar.
    let tagged = |name: &str, tags: &str| {
        let o = cli(&[
            "run",
            &format!("experiment.runs_dir={runs}"),
            &format!("experiment.name={name}"),
            "experiment.total_timesteps=1024",
            "experiment.eval_freq=512",
            "experiment.n_eval_episodes=2",
            "experiment.video_episodes=0",
            &format!("experiment.tags={tags}"),
            "experiment.notes=does the default clip range matter here?",
        ]);
        assert!(o.status.success(), "{}", text(&o));
        RunDir::at(dir.join(name))
    };
    let a = tagged("a", "[baseline,lr-study]");
    let b = tagged("b", "[lr-study]");
    let info = RunInfo::read(&a).unwrap();
    assert_eq!(info.tags, ["baseline", "lr-study"]);
    assert_eq!(info.notes, "does the default clip range matter here?");
    let yaml = std::fs::read_to_string(a.config_yaml()).unwrap();
    assert!(yaml.contains("lr-study") && yaml.contains("clip range"), "{yaml}");

    // Bad tags and notes are refused with the value named; nothing is created.
    let o = cli(&["run", &format!("experiment.runs_dir={runs}"), "experiment.name=bad", "experiment.tags=['a b']"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("experiment.tags: tag 'a b' contains whitespace"), "{}", text(&o));
    let long = format!("experiment.notes={}", "x".repeat(notebook::MAX_PURPOSE_BYTES + 1));
    let o = cli(&["run", &format!("experiment.runs_dir={runs}"), "experiment.name=bad", &long]);
    assert!(o.status.code() == Some(2) && text(&o).contains("experiment.notes is 16385 bytes long; at most 16384"), "{}", text(&o));
    assert!(!dir.join("bad").exists());

    // Findings afterwards: appended, printed; the results are untouched.
    let before = std::fs::read(a.run_info()).unwrap();
    let o = cli(&["note", a.root.to_str().unwrap(), "clip", "0.2", "is", "fine"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = cli(&["note", a.root.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("UTC: clip 0.2 is fine"), "{}", text(&o));
    assert_eq!(std::fs::read(a.run_info()).unwrap(), before, "a note never touches run_info.json");
    let o = cli(&["note", dir.join("nope").to_str().unwrap(), "x"]);
    assert!(o.status.code() == Some(2) && text(&o).contains("does not exist"), "{}", text(&o));

    // compare tag: takes every run with the tag.
    let o = cli(&["compare", "tag:lr-study", "--runs-dir", runs, "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["targets"].as_array().map(|t| t.len()), Some(2), "{v}");
    let o = cli(&["compare", "tag:nobody", "--runs-dir", runs]);
    assert!(o.status.code() == Some(2) && text(&o).contains("no run or seed group"), "{}", text(&o));

    // Clean-up: a dry run removes nothing; then the checkpoints go, the models stay.
    let ckpt_bytes = notebook::disk_use(&b).checkpoint_bytes;
    assert!(ckpt_bytes > 0);
    let o = cli(&["clean", b.root.to_str().unwrap(), "--checkpoints", "--dry-run"]);
    assert!(o.status.success() && text(&o).contains("would free"), "{}", text(&o));
    assert_eq!(notebook::disk_use(&b).checkpoint_bytes, ckpt_bytes);
    let o = cli(&["clean", b.root.to_str().unwrap()]);
    assert!(o.status.code() == Some(2) && text(&o).contains("--checkpoints"), "{}", text(&o));
    let total = notebook::disk_use(&b).total_bytes;
    let o = cli(&["clean", b.root.to_str().unwrap(), "--checkpoints"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains(&format!("freed {}", notebook::format_bytes(ckpt_bytes))), "{}", text(&o));
    assert_eq!(notebook::disk_use(&b).checkpoint_bytes, 0);
    assert!(notebook::disk_use(&b).total_bytes < total && b.best_model().is_file());
    let info = RunInfo::read(&b).unwrap();
    assert_eq!(info.cleaned.first().map(|c| (c.removed.as_str(), c.bytes)), Some(("checkpoints", ckpt_bytes)));
    let o = cli(&["run", "--fork", b.root.to_str().unwrap()]);
    assert!(o.status.code() == Some(2) && text(&o).contains("checkpoints were removed by a clean-up"), "{}", text(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_stopped_run_cleaned_of_its_checkpoints_says_why_it_cannot_resume() {
    let dir = crate::temp_dir("notebook-resume");
    let config = crate::resume::small_config("cartpole_ppo", &dir, &["experiment.name=s", "experiment.tags=[x]"]);
    let stopped = runner::run_experiment_with(&config, crate::resume::stop_after(2048)).unwrap();
    assert_eq!(stopped.status, RunStatus::Stopped);
    let run = stopped.run_dir;
    // A run being written (its lock held) is never cleaned.
    let lock = run.lock("training").unwrap();
    let busy = notebook::clean_run(&run, notebook::CleanWhat { checkpoints: true, videos: false }, false).unwrap_err();
    assert!(busy.contains("in use"), "{busy}");
    assert!(!run.checkpoints().is_empty());
    drop(lock);
    let report = notebook::clean_run(&run, notebook::CleanWhat { checkpoints: true, videos: true }, false).unwrap();
    assert!(report.bytes > 0 && run.checkpoints().is_empty());
    let e = runner::resume_experiment(&run.root, RunOptions::default()).unwrap_err().to_string();
    assert!(e.contains("cannot be resumed") && e.contains("removed by a clean-up"), "{e}");
    let _ = std::fs::remove_dir_all(Path::new(&dir));
}

#[test]
fn copy_as_command_quotes_notes_so_the_command_gives_them_back() {
    let mut config = rl_research::config::Config::default();
    config.experiment.tags = vec!["baseline".into(), "lr-study".into()];
    config.experiment.notes = "say \"hi\", don't [stop]: a=b (c)\nsecond line".into();
    let cmd = rl_research::app::editor::command_line(&config);
    // The shell splits it as a user's shell would; the overrides rebuild the config.
    let rest = cmd.strip_prefix("rl-research run ").expect(&cmd);
    let out = Command::new("sh").args(["-c", &format!("for a in {rest}; do printf '%s\\0' \"$a\"; done")]).output().unwrap();
    let args: Vec<String> = String::from_utf8(out.stdout).unwrap().split('\0').filter(|a| !a.is_empty()).map(String::from).collect();
    let overrides: Vec<_> = args.iter().map(|a| rl_research::config::overrides::parse_override(a).unwrap()).collect();
    let back = rl_research::config::apply_overrides(&rl_research::config::Config::default(), &overrides).unwrap();
    assert_eq!((back.experiment.tags, back.experiment.notes), (config.experiment.tags, config.experiment.notes), "{cmd}");
}
