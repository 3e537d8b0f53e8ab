//! Hostile inputs: bounded random-mutation fuzzing of the override parser, the
//! RON/YAML config loaders, the model and checkpoint loaders, the resume cut of
//! metrics.csv/monitor.csv, the TensorBoard event-file reader and the
//! runs-directory scanner (no panic, no hang), plus crafted files that claim
//! huge sizes (refused before allocating). The fuzz harness: seeded, so a
//! failure reproduces; the counts are printed. CI runs a short slice; a long
//! run: `RL_RESEARCH_FUZZ_SEED=S RL_RESEARCH_FUZZ_INPUTS=N cargo test --test core hostile -- --nocapture`.

use rl_research::config::{Config, apply_overrides, hydra, overrides::parse_override};
use rl_research::rng::Rng;
use rl_research::runs::{RunDir, SavedModel};
use std::io::{Cursor, Write};

/// How many inputs each fuzz target runs (`RL_RESEARCH_FUZZ_INPUTS` raises it locally).
fn budget(default: usize) -> usize {
    std::env::var("RL_RESEARCH_FUZZ_INPUTS").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Each target's generator: its own stream, moved by `RL_RESEARCH_FUZZ_SEED` (default 0).
fn fuzz_rng(target: u64) -> Rng {
    let seed: u64 = std::env::var("RL_RESEARCH_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    Rng::seed_from_u64(target ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

/// Random edits of a valid input: flips, overwrites, deletions, insertions, duplicated spans, truncation.
fn mutate(base: &[u8], rng: &mut Rng, alphabet: &[u8]) -> Vec<u8> {
    let mut b = base.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = b.len().max(1);
        match rng.below(6) {
            0 if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] ^= 1 << rng.below(8);
            }
            1 if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] = alphabet[rng.below(alphabet.len())];
            }
            2 if !b.is_empty() => {
                let i = rng.below(b.len());
                let n = rng.below(16).min(b.len() - i);
                b.drain(i..i + n);
            }
            3 => {
                let i = rng.below(len).min(b.len());
                b.insert(i, alphabet[rng.below(alphabet.len())]);
            }
            4 if !b.is_empty() => {
                let i = rng.below(b.len());
                let n = rng.below(32).min(b.len() - i);
                let span: Vec<u8> = b[i..i + n].to_vec();
                let at = rng.below(b.len());
                b.splice(at..at, span);
            }
            _ => b.truncate(rng.below(len)),
        }
    }
    b
}

#[test]
fn override_parser_never_panics() {
    let alphabet: Vec<char> = "01259_.eE+-aZx ,:=[]{}()'\"\\$%@?|/~#\té∞".chars().collect();
    let keys = [
        "experiment.name",
        "experiment.total_timesteps",
        "env.params",
        "algorithm.params.learning_rate",
        "algorithm.params.net_arch",
        "env.max_episode_steps",
    ];
    let mut rng = fuzz_rng(7);
    let n = budget(50_000);
    let (mut ok, mut refused) = (0, 0);
    for i in 0..n {
        let len = rng.below(24);
        let value: String = (0..len).map(|_| alphabet[rng.below(alphabet.len())]).collect();
        let _ = hydra::parse(&value);
        match parse_override(&format!("{}={value}", keys[i % keys.len()])) {
            Ok(o) => {
                let _ = apply_overrides(&Config::default(), &[o]);
                ok += 1;
            }
            Err(e) => {
                assert!(!e.0.is_empty());
                refused += 1;
            }
        }
    }
    println!("override fuzz: {n} inputs, {ok} parsed, {refused} refused with a message");
}

#[test]
fn config_loaders_never_panic_or_hang() {
    let dir = crate::temp_dir("hostile_config");
    let ron_text = rl_research::config::BUILTIN_PRESETS.iter().find(|(n, _)| *n == "cartpole_dqn").unwrap().1.as_bytes().to_vec();
    let yaml_text = Config::default().to_yaml().into_bytes();
    let alphabet = b"()[]{}:,\"' -_.0123456789aez\n\t#&*!|>";
    let mut rng = fuzz_rng(11);
    let n = budget(3_000);
    let mut errors = 0;
    for i in 0..n {
        let (base, ext) = if i % 2 == 0 { (&ron_text, "ron") } else { (&yaml_text, "yaml") };
        let path = dir.join(format!("c{}.{ext}", i % 8));
        std::fs::write(&path, mutate(base, &mut rng, alphabet)).unwrap();
        if let Err(e) = Config::load(&path) {
            assert!(e.0.contains(&*path.to_string_lossy()) || !e.0.is_empty());
            errors += 1;
        }
    }
    // A "billion laughs" alias bomb must not expand without bound.
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for k in 1..12 {
        let p = k - 1;
        bomb.push_str(&format!("a{k}: &a{k} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
    }
    let path = dir.join("bomb.yaml");
    std::fs::write(&path, bomb).unwrap();
    let t0 = std::time::Instant::now();
    assert!(Config::load(&path).is_err(), "an alias bomb is no config");
    assert!(t0.elapsed().as_secs() < 20, "the alias bomb took {:?}", t0.elapsed());
    println!("config fuzz: {n} mutated RON/YAML files, {errors} refused with a message; alias bomb refused in {:?}", t0.elapsed());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A small valid model, as bytes of its zip.
fn model_zip() -> Vec<u8> {
    let mut config = Config::default();
    config.experiment.total_timesteps = 512;
    config.experiment.eval_freq = 0;
    config.experiment.n_eval_episodes = 1;
    config.experiment.video_episodes = 0;
    let dir = crate::temp_dir("hostile_model_src");
    config.experiment.runs_dir = dir.clone();
    let s = rl_research::run_experiment(&config).unwrap();
    let bytes = std::fs::read(s.run_dir.best_model()).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    bytes
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in entries {
        w.start_file(*name, zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated)).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[test]
fn model_loader_refuses_hostile_files_without_big_allocations() {
    let good = model_zip();
    let model = SavedModel::from_reader(Cursor::new(&good), "good").unwrap();
    let mut rng = fuzz_rng(13);
    let n = budget(3_000);
    let mut refused = 0;
    for _ in 0..n {
        let bad = mutate(&good, &mut rng, b"\x00\xffPK\x03\x04{}\":,0123456789");
        if SavedModel::from_reader(Cursor::new(bad), "mutated").is_err() {
            refused += 1;
        }
    }
    // Metadata claiming a 10-billion-parameter network: refused from the shape alone.
    let mut meta = serde_json::to_value(&model.metadata).unwrap();
    meta["networks"][0]["sizes"] = serde_json::json!([100000, 100000, 2]);
    let claimed = zip_of(&[("metadata.json", meta.to_string().as_bytes()), ("networks/actor.bin", b"")]);
    let e = SavedModel::from_reader(Cursor::new(claimed), "claimed").unwrap_err().to_string();
    assert!(e.contains("more than this build loads"), "{e}");
    // Overflowing sizes, too.
    meta["networks"][0]["sizes"] = serde_json::json!([usize::MAX, usize::MAX, 2]);
    let overflow = zip_of(&[("metadata.json", meta.to_string().as_bytes())]);
    assert!(SavedModel::from_reader(Cursor::new(overflow), "overflow").is_err());
    // A zip bomb: metadata.json of 64 MiB of spaces (compresses to ~64 KiB).
    let spaces = vec![b' '; 64 << 20];
    let bomb = zip_of(&[("metadata.json", &spaces)]);
    assert!(bomb.len() < 1 << 20);
    let e = SavedModel::from_reader(Cursor::new(bomb), "bomb").unwrap_err().to_string();
    assert!(e.contains("more than the"), "{e}");
    // A weights entry longer than its shape: refused at the shape's size.
    meta["networks"][0]["sizes"] = serde_json::to_value(&model.metadata.networks[0].sizes).unwrap();
    let long = vec![0u8; 8 << 20];
    let stuffed = zip_of(&[("metadata.json", meta.to_string().as_bytes()), ("networks/actor.bin", &long)]);
    assert!(SavedModel::from_reader(Cursor::new(stuffed), "stuffed").is_err());
    println!(
        "model fuzz: {n} mutated model zips, {refused} refused, the rest loaded and checked; claimed-size, overflow, zip-bomb and stuffed files refused"
    );
}

#[test]
fn runs_scanner_and_metrics_reader_survive_hostile_directories() {
    let root = crate::temp_dir("hostile_runs");
    let mut rng = fuzz_rng(17);
    let info_text = r#"{"status":"completed","name":"x","algorithm":"ppo","env_id":"CartPole-v1","seed":0,"started_at_unix_secs":1,"finished_at_unix_secs":2,"wall_secs":1.0,"total_timesteps":10,"timesteps_done":10,"best_eval_mean_reward":1.0,"error":null,"environment":{"crate_version":"0","os":"x","arch":"x","cpu":"x","cpu_cores":1,"device":"cpu","seed":0}}"#;
    let csv = b"timesteps,wall_secs,metric,value\n1,0.1,a/b,2\n2,0.2,\"c,d\",NaN\n";
    let n = budget(400);
    for i in 0..n {
        let run = RunDir::at(root.join(format!("run_{i}")));
        std::fs::create_dir_all(run.root.join("logs")).unwrap();
        std::fs::write(run.run_info(), mutate(info_text.as_bytes(), &mut rng, b"{}[]\":,0123456789.-enul")).unwrap();
        std::fs::write(run.metrics_csv(), mutate(csv, &mut rng, b",\"\n\r0123456789.-eNa/")).unwrap();
        let _ = rl_research::runs::logger::read_metrics(&run.metrics_csv());
    }
    // Odd entries: a file where a run would be, an empty dir, a sweep-looking dir, a symlink loop.
    std::fs::write(root.join("not_a_dir"), b"x").unwrap();
    std::fs::create_dir_all(root.join("empty")).unwrap();
    std::fs::create_dir_all(root.join("sweep/trial_0/logs")).unwrap();
    std::fs::write(root.join("sweep/sweep.json"), b"{{{{").unwrap();
    #[cfg(unix)]
    let _ = std::os::unix::fs::symlink(&root, root.join("loop"));
    let mut cache = Default::default();
    let rows = rl_research::app::runs_scan::scan(&root, &mut cache);
    assert!(rows.len() >= n, "every run directory shows, readable or not ({} rows)", rows.len());
    println!("runs fuzz: {n} run directories with mutated run_info.json and metrics.csv scanned, {} rows", rows.len());
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn checkpoint_loader_never_panics_on_damaged_or_crafted_files() {
    use rl_research::runner::{self, Checkpoint};
    let dir = crate::temp_dir("hostile_ckpt");
    // A real checkpoint of each algorithm to start from (DQN's holds a replay buffer).
    let mut bases = Vec::new();
    for preset in ["cartpole_ppo", "cartpole_dqn"] {
        let config = crate::resume::small_config(
            preset,
            &dir,
            &["experiment.total_timesteps=1024", "experiment.eval_freq=512", "algorithm.params.learning_starts=100"]
                .iter()
                .copied()
                .filter(|o| preset.ends_with("dqn") || !o.contains("learning_starts"))
                .collect::<Vec<_>>(),
        );
        let run = runner::run_experiment(&config).unwrap().run_dir;
        let path = run.find_checkpoint(None).unwrap().path;
        let ckpt = Checkpoint::load(&path).unwrap();
        runner::check_restorable(&ckpt).unwrap();
        bases.push(ckpt.to_bytes().unwrap());
    }
    // Re-framed with a valid checksum, so mutations reach the decoder and the restore checks.
    let frame = |payload: &[u8]| {
        let mut f = b"RLRCKPT1".to_vec();
        f.extend_from_slice(&crc32c::crc32c(payload).to_le_bytes());
        f.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        f.extend_from_slice(payload);
        f
    };
    let path = dir.join("fuzz.ckpt");
    let alphabet: Vec<u8> = (0..=255u8).collect();
    let mut rng = fuzz_rng(11);
    let n = budget(1500);
    let (mut decoded, mut restorable, mut refused) = (0, 0, 0);
    for i in 0..n {
        let base = &bases[i % bases.len()];
        let bytes = if i % 10 == 0 { mutate(&frame(base), &mut rng, &alphabet) } else { frame(&mutate(base, &mut rng, &alphabet)) };
        std::fs::write(&path, &bytes).unwrap();
        match Checkpoint::load(&path) {
            Ok(ckpt) => {
                decoded += 1;
                match runner::check_restorable(&ckpt) {
                    Ok(()) => restorable += 1,
                    Err(e) => assert!(!e.is_empty()),
                }
            }
            Err(e) => {
                assert!(e.contains("fuzz.ckpt"), "{e}");
                refused += 1;
            }
        }
    }
    // A claimed huge payload is refused before anything is allocated.
    let mut huge = frame(&bases[0]);
    huge[12..20].copy_from_slice(&(10u64 << 30).to_le_bytes());
    std::fs::write(&path, &huge).unwrap();
    assert!(Checkpoint::load(&path).unwrap_err().contains("limit"));
    println!("checkpoint fuzz: {n} inputs, {decoded} decoded ({restorable} restorable), {refused} refused with a message");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn resume_cut_of_mutated_logs_keeps_matching_rows_or_refuses() {
    use rl_research::runs::row_log::{RowDigest, plan_cut};
    let dir = crate::temp_dir("hostile_cut");
    let header = rl_research::runs::logger::METRICS_HEADER;
    let rows = [
        "1024,0.532,rollout/ep_rew_mean,22.5",
        "1024,0.533,\"we,ird\"\"name\",NaN",
        "2048,1.100,eval/mean_reward,-3.25",
        "2048,1.101,train/loss,0.0001",
    ];
    let mut digest = RowDigest::new();
    rows[..3].iter().for_each(|r| digest.add(r));
    let base = format!("{header}\n{}\n", rows.join("\n"));
    let path = dir.join("metrics.csv");
    let mut rng = fuzz_rng(19);
    let n = budget(5_000);
    let (mut kept, mut refused) = (0, 0);
    for _ in 0..n {
        let bytes = mutate(base.as_bytes(), &mut rng, b",\"\n\r0123456789.-eNa/ ");
        std::fs::write(&path, &bytes).unwrap();
        match plan_cut(&path, &rl_research::runs::logger::METRICS_FORMAT, &digest, 2048) {
            Ok(plan) => {
                plan.apply().unwrap();
                // What is kept is exactly the checkpoint's rows, in the run's own form.
                let text = std::fs::read_to_string(&path).unwrap();
                let body: Vec<&str> = text.lines().skip(1).collect();
                assert_eq!(body, rows[..3], "{:?}", String::from_utf8_lossy(&bytes));
                kept += 1;
            }
            Err(e) => {
                assert!(e.contains("metrics.csv") && e.contains("nothing was changed"), "{e}");
                assert_eq!(std::fs::read(&path).unwrap(), bytes, "a refused cut changes nothing");
                refused += 1;
            }
        }
        for f in std::fs::read_dir(&dir).unwrap().flatten() {
            if f.file_name() != "metrics.csv" {
                std::fs::remove_file(f.path()).unwrap();
            }
        }
    }
    println!("resume-cut fuzz: {n} mutated metrics.csv files, {kept} kept the checkpoint's rows, {refused} refused with nothing changed");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn event_file_reader_never_panics_on_mutated_files() {
    use rl_research::runs::tfevents::{encode_event, frame, read_event_file};
    let dir = crate::temp_dir("hostile_events");
    let mut base = frame(&encode_event(1.0, 0, Some("brain.Event:2"), &[]));
    for step in 1..6 {
        base.extend(frame(&encode_event(1.0 + step as f64, step, None, &[("eval/mean_reward", step as f32), ("train/loss", 0.5)])));
    }
    let path = dir.join("events.out.tfevents.1.host");
    let alphabet: Vec<u8> = (0..=255u8).collect();
    let mut rng = fuzz_rng(23);
    let n = budget(5_000);
    let (mut read, mut refused) = (0, 0);
    for _ in 0..n {
        std::fs::write(&path, mutate(&base, &mut rng, &alphabet)).unwrap();
        match read_event_file(&path) {
            Ok(_) => read += 1,
            Err(e) => {
                assert!(!e.is_empty());
                refused += 1;
            }
        }
    }
    println!("event-file fuzz: {n} mutated files, {read} read, {refused} refused with a message");
    let _ = std::fs::remove_dir_all(&dir);
}
