//! `rl-research check-env ID [KEY=VALUE ...]`: SB3's `env_checker` in spirit,
//! for our envs and `gym:` ones alike: it makes the env, reads its spaces,
//! runs Gymnasium's own checker on a `gym:` env, then steps it with random
//! actions and checks what comes back (finite, within bounds, episodes that
//! end, the same trajectory twice under one seed, frames).

use crate::config::{Config, overrides};
use crate::envs::{Action, ActionSpace};
use crate::rng::Rng;

const USAGE: &str = "usage: rl-research check-env ID [--steps N] [env.KEY=VALUE ...]\n  e.g. rl-research check-env gym:Acrobot-v1 env.python=/path/to/venv/bin/python";

/// One check's outcome, printed as it comes.
struct Report {
    failed: usize,
    warned: usize,
}

impl Report {
    fn ok(&mut self, what: &str) {
        println!("  ok    {what}");
    }
    fn warn(&mut self, what: &str) {
        self.warned += 1;
        println!("  warn  {what}");
    }
    fn fail(&mut self, what: &str) {
        self.failed += 1;
        println!("  FAIL  {what}");
    }
}

pub fn cmd_check_env(args: &[String]) -> i32 {
    match check_env(args) {
        Ok(code) => code,
        Err((code, msg)) => {
            eprintln!("error: {msg}");
            code
        }
    }
}

fn check_env(args: &[String]) -> Result<i32, (i32, String)> {
    let mut steps = 2000usize;
    let (mut id, mut pairs) = (None, Vec::new());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--steps" => {
                let v = it.next().ok_or((2, format!("--steps needs a number\n{USAGE}")))?;
                steps = v.parse().ok().filter(|&n| n > 0).ok_or((2, format!("--steps: '{v}' is not a positive integer")))?;
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(0);
            }
            _ if a.contains('=') => pairs.push(a.clone()),
            _ if id.is_none() => id = Some(a.clone()),
            _ => return Err((2, format!("unexpected argument '{a}'\n{USAGE}"))),
        }
    }
    let id = id.ok_or((2, format!("which env? give its id\n{USAGE}")))?;
    let mut parsed = vec![overrides::parse_override(&format!("env.id={id}")).map_err(|e| (2, e.to_string()))?];
    for p in &pairs {
        let o = overrides::parse_override(p).map_err(|e| (2, e.to_string()))?;
        if !o.key.starts_with("env.") {
            return Err((2, format!("{}: check-env takes env.* keys only", o.key)));
        }
        parsed.push(o);
    }
    let config = crate::config::apply_overrides(&Config::default(), &parsed).map_err(|e| (2, e.to_string()))?;
    config.env.validate().map_err(|e| (2, e.to_string()))?;
    println!("checking {id}");
    let mut r = Report { failed: 0, warned: 0 };
    let spec = match config.env.spec() {
        Ok(s) => s,
        Err(e) => {
            r.fail(&format!("make: {e}"));
            return Ok(finish(&r));
        }
    };
    let obs_space = spec.observation_space.clone();
    let limit = if spec.max_episode_steps == u32::MAX { "none".to_string() } else { spec.max_episode_steps.to_string() };
    r.ok(&format!(
        "made: {} observation values, actions {}, time limit {limit}, reference score {}, {} fps",
        obs_space.dim(),
        spec.action_space.describe(),
        spec.reference_score.map_or("none".into(), |s| s.to_string()),
        spec.render_fps
    ));
    if let Some(source) = config.env.gym_source() {
        match crate::envs::gym::gymnasium_check(&source) {
            Ok(warnings) if warnings.is_empty() => r.ok("gymnasium.utils.env_checker.check_env: no warnings"),
            Ok(warnings) => {
                for w in warnings {
                    r.warn(&format!("gymnasium env_checker: {w}"));
                }
            }
            Err(e) => r.fail(&format!("gymnasium.utils.env_checker.check_env: {e}")),
        }
    }
    let mut envs = match config.env.make_many(2) {
        Ok(e) => e,
        Err(e) => {
            r.fail(&format!("make: {e}"));
            return Ok(finish(&r));
        }
    };
    let (first, second) = envs.split_at_mut(1);
    let (a, b) = (first[0].as_mut(), second[0].as_mut());
    if a.observation_space() != obs_space || a.action_space() != spec.action_space {
        r.fail("the env built has other spaces than its registry entry");
    }
    let d = obs_space.dim();
    let (mut obs, mut obs2) = (vec![0.0f32; d], vec![0.0f32; d]);
    a.reset(Some(0), &mut obs);
    b.reset(Some(0), &mut obs2);
    if let Some(f) = a.fault().or(b.fault()) {
        r.fail(&format!("reset: {f}"));
        return Ok(finish(&r));
    }
    if bits(&obs) == bits(&obs2) {
        r.ok("reset(seed=0) gives the same observation in two envs");
    } else {
        r.fail(&format!("reset(seed=0) differs between two envs: {obs:?} vs {obs2:?} (seed the env's generator in reset)"));
    }
    // Random actions: episodes, bounds, finiteness, and the same trajectory in the twin env.
    let mut rng = Rng::seed_from_u64(0);
    let (mut episodes, mut ep_len, mut longest, mut truncations) = (0usize, 0u32, 0u32, 0usize);
    let (mut out_of_bounds, mut non_finite, mut diverged) = (None::<String>, None::<String>, None::<String>);
    check_obs(&obs, &obs_space, 0, &mut out_of_bounds, &mut non_finite);
    if bits(&obs) != bits(&obs2) {
        diverged = Some("the first reset".into());
    }
    let mut action = Vec::new();
    for t in 0..steps {
        random_action(&spec.action_space, &mut rng, &mut action);
        let act = match &spec.action_space {
            ActionSpace::Discrete { .. } => Action::Discrete(action[0] as usize),
            ActionSpace::Box { .. } => Action::Continuous(&action),
        };
        let out = a.step(act, &mut obs);
        let out2 = b.step(act, &mut obs2);
        if let Some(f) = a.fault().or(b.fault()) {
            r.fail(&format!("step {t}: {f}"));
            return Ok(finish(&r));
        }
        if diverged.is_none() && (bits(&obs) != bits(&obs2) || out.reward.to_bits() != out2.reward.to_bits() || out != out2) {
            diverged = Some(format!("step {t}: {obs:?} / {} vs {obs2:?} / {}", out.reward, out2.reward));
        }
        if !out.reward.is_finite() && non_finite.is_none() {
            non_finite = Some(format!("reward {} at step {t}", out.reward));
        }
        check_obs(&obs, &obs_space, t + 1, &mut out_of_bounds, &mut non_finite);
        ep_len += 1;
        if out.terminated || out.truncated {
            episodes += 1;
            truncations += usize::from(out.truncated && !out.terminated);
            longest = longest.max(ep_len);
            ep_len = 0;
            a.reset(None, &mut obs);
            b.reset(None, &mut obs2);
            if diverged.is_none() && bits(&obs) != bits(&obs2) {
                diverged = Some(format!("the reset after step {t}: {obs:?} vs {obs2:?}"));
            }
        }
    }
    match non_finite {
        None => r.ok(&format!("{steps} random steps: observations and rewards finite")),
        Some(w) => r.fail(&format!("not finite: {w}")),
    }
    match out_of_bounds {
        None => r.ok("observations within the observation space's bounds"),
        Some(w) => r.fail(&format!("outside the observation space: {w}")),
    }
    if episodes > 0 {
        r.ok(&format!("{episodes} episodes ended ({truncations} by the time limit), the longest {longest} steps"));
    } else {
        r.warn(&format!("no episode ended within {steps} random steps (no time limit? set env.max_episode_steps)"));
    }
    match diverged {
        None => r.ok("deterministic: the same seed and actions gave the same trajectory twice"),
        Some(w) => r.fail(&format!("not deterministic under one seed: {w}")),
    }
    match a.render_state() {
        Some(state) => {
            let f = crate::envs::render::render(&state);
            r.ok(&format!("render: {}x{} frames", f.width, f.height));
        }
        None => r.warn(&format!(
            "render: {} (no frames for replays and videos)",
            a.render_error().unwrap_or_else(|| "the env cannot render".into())
        )),
    }
    Ok(finish(&r))
}

fn finish(r: &Report) -> i32 {
    match (r.failed, r.warned) {
        (0, 0) => println!("passed"),
        (0, w) => println!("passed with {w} warning(s)"),
        (f, _) => println!("{f} check(s) failed"),
    }
    i32::from(r.failed > 0)
}

fn bits(xs: &[f32]) -> Vec<u32> {
    xs.iter().map(|x| x.to_bits()).collect()
}

fn check_obs(obs: &[f32], space: &crate::envs::BoxSpace, t: usize, oob: &mut Option<String>, nf: &mut Option<String>) {
    if nf.is_none() && obs.iter().any(|x| !x.is_finite()) {
        *nf = Some(format!("observation {obs:?} after step {t}"));
    }
    if oob.is_none() {
        if let Some(i) = (0..obs.len()).find(|&i| !(obs[i] >= space.low[i] && obs[i] <= space.high[i])) {
            *oob = Some(format!("value {i} is {} after step {t}, bounds [{}, {}]", obs[i], space.low[i], space.high[i]));
        }
    }
}

fn random_action(space: &ActionSpace, rng: &mut Rng, out: &mut Vec<f32>) {
    out.clear();
    match space {
        ActionSpace::Discrete { n, .. } => out.push(rng.below(*n) as f32),
        ActionSpace::Box { low, high } => out.extend(low.iter().zip(high).map(|(&l, &h)| {
            let (l, h) = (l.max(-1e3) as f64, h.min(1e3) as f64);
            rng.uniform(l, h) as f32
        })),
    }
}
