//! Replays Gymnasium's reference episodes and demands exact equality.
//! Reads every `*.jsonl` in `$RL_RESEARCH_GYM_FIXTURES` (default `../shared/fixtures/gym`).

use rl_research::envs::{CartPole, Env, TimeLimit};
use serde_json::Value;
use std::path::PathBuf;

fn fixtures_dir() -> PathBuf {
    match std::env::var_os("RL_RESEARCH_GYM_FIXTURES") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/gym"),
    }
}

fn f64s(v: &Value, what: &str) -> Vec<f64> {
    v.as_array().unwrap_or_else(|| panic!("{what} is not an array")).iter().map(|x| x.as_f64().unwrap_or_else(|| panic!("{what}: not a number"))).collect()
}

/// Checks one CartPole episode; returns the number of steps checked.
fn replay_cartpole(ep: &Value, where_: &str) -> usize {
    let init = f64s(&ep["initial_state"], "initial_state");
    let reset_obs = f64s(&ep["reset_obs"], "reset_obs");
    let mut env = TimeLimit::new(CartPole::new(), 500);
    let mut obs = [0f32; 4];
    env.reset_with(|cp| cp.reset_to_state([init[0], init[1], init[2], init[3]], &mut obs));
    for k in 0..4 {
        assert_eq!(obs[k], reset_obs[k] as f32, "{where_}: reset obs[{k}]");
    }
    let steps = ep["steps"].as_array().expect("steps");
    for (i, s) in steps.iter().enumerate() {
        let action = s["action"].as_u64().expect("action") as usize;
        let out = env.step(action, &mut obs);
        let at = format!("{where_} step {}", i + 1);
        let state = f64s(&s["state"], "state");
        let want_obs = f64s(&s["obs"], "obs");
        for k in 0..4 {
            assert!(env.inner.state[k] == state[k], "{at}: state[{k}] = {:e}, Gymnasium {:e}", env.inner.state[k], state[k]);
            assert_eq!(obs[k], want_obs[k] as f32, "{at}: obs[{k}]");
        }
        assert_eq!(out.reward, s["reward"].as_f64().expect("reward"), "{at}: reward");
        assert_eq!(out.terminated, s["terminated"].as_bool().expect("terminated"), "{at}: terminated");
        assert_eq!(out.truncated, s["truncated"].as_bool().expect("truncated"), "{at}: truncated");
    }
    assert_eq!(steps.len() as u64, ep["episode_length"].as_u64().expect("episode_length"), "{where_}: length");
    steps.len()
}

#[test]
fn gym_parity() {
    let dir = fixtures_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read fixtures dir {} ({e}); set RL_RESEARCH_GYM_FIXTURES", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no *.jsonl fixtures in {}", dir.display());
    let (mut episodes, mut steps, mut skipped) = (0usize, 0usize, std::collections::BTreeMap::<String, usize>::new());
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (line_no, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let ep: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{}:{}: {e}", file.display(), line_no + 1));
            let env = ep["env"].as_str().unwrap_or("?").to_string();
            let where_ = format!("{}:{} ({} seed {} {})", file.display(), line_no + 1, env, ep["seed"], ep["policy"]);
            match env.as_str() {
                "CartPole-v1" => {
                    steps += replay_cartpole(&ep, &where_);
                    episodes += 1;
                }
                _ => *skipped.entry(env).or_default() += 1,
            }
        }
    }
    println!("gym_parity: {episodes} episodes, {steps} steps checked exactly (CartPole-v1)");
    for (env, n) in &skipped {
        println!("gym_parity: {n} episodes of {env} skipped (env not implemented in this build)");
    }
    assert!(episodes > 0, "no CartPole-v1 episode found in {}", dir.display());
}
