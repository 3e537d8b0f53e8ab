//! Evaluation episodes recorded as data, and their MP4.
//!
//! `logs/eval_episodes.jsonl` holds one [`EpisodeRecord`] per line: the seed,
//! every action, reward and done flag, every observation, the policy's view
//! (probabilities and V(s) for PPO, Q-values for DQN) and a [`RenderState`] per
//! frame, so frame k is drawn directly from `frames[k]` without re-simulating.
//! Frame 0 is the state after `reset`; frame k+1 the state after step k.

use crate::algos::{Policy, PolicyView};
use crate::envs::render::{self, Frame, RenderState};
use crate::envs::{ActionSpace, ActionValue, Env};
use crate::video::{Mp4Writer, Yuv420};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// An index, or a continuous action's values.
    pub action: ActionValue,
    pub reward: f64,
    pub terminated: bool,
    pub truncated: bool,
    /// Observation after the step.
    pub obs: Vec<f32>,
    /// What the policy saw before choosing `action`.
    pub policy: PolicyView,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpisodeRecord {
    pub env_id: String,
    /// The env's action space, to label actions (absent in files written
    /// before spaces were recorded: the registry's entry for `env_id` then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_space: Option<ActionSpace>,
    pub seed: u64,
    pub episode_return: f64,
    pub length: u32,
    pub reset_obs: Vec<f32>,
    pub steps: Vec<StepRecord>,
    /// `length + 1` snapshots: after reset, then after every step.
    pub frames: Vec<RenderState>,
}

impl EpisodeRecord {
    /// The rate its frames play at: its env's (Gymnasium's `metadata["render_fps"]`).
    pub fn render_fps(&self) -> f64 {
        crate::envs::registry::render_fps(&self.env_id)
    }

    /// The action space the episode was played in.
    pub fn action_space(&self) -> Option<ActionSpace> {
        self.action_space.clone().or_else(|| crate::envs::registry::find(&self.env_id).map(|f| f.spec.action_space.clone()))
    }

    pub fn n_frames(&self) -> usize {
        self.frames.len()
    }
    /// The return collected before frame `k` is shown (frame k follows step k-1).
    pub fn return_before(&self, k: usize) -> f64 {
        // (+ 0.0: an empty f64 sum is -0.0)
        self.steps[..k.min(self.steps.len())].iter().map(|s| s.reward).sum::<f64>() + 0.0
    }
    /// Draws frame `k` (0 = after reset).
    pub fn frame(&self, k: usize) -> Option<Frame> {
        self.frames.get(k).map(render::render)
    }
}

/// Runs `n_episodes` greedy episodes (episode i reset with `seed + i`), keeping everything.
pub fn record_episodes(policy: &Policy, env: &mut dyn Env, n_episodes: usize, seed: u64) -> Result<Vec<EpisodeRecord>, String> {
    let _fp = crate::fpmode::FlushDenormals::enter();
    let space = super::eval::check_shapes(policy, env)?;
    env.set_render(true);
    let d = env.observation_space().dim();
    let mut obs = vec![0.0f32; d];
    let mut out = Vec::with_capacity(n_episodes);
    for i in 0..n_episodes {
        let ep_seed = seed.wrapping_add(i as u64);
        env.reset(Some(ep_seed), &mut obs);
        let snapshot = |env: &dyn Env| {
            env.render_state()
                .ok_or_else(|| env.fault().or_else(|| env.render_error()).unwrap_or_else(|| format!("{} cannot render frames", env.id())))
        };
        let mut rec = EpisodeRecord {
            env_id: env.id().to_string(),
            action_space: Some(space.clone()),
            seed: ep_seed,
            episode_return: 0.0,
            length: 0,
            reset_obs: obs.clone(),
            steps: Vec::new(),
            frames: vec![snapshot(&*env)?],
        };
        loop {
            let view = policy.view(&obs)?;
            let mut action = policy.choose(&view.scores);
            if let ActionValue::Continuous(v) = &mut action {
                space.clip_into(v);
            }
            let o = env.step(action.as_action(), &mut obs);
            rec.episode_return += o.reward;
            rec.length += 1;
            rec.steps.push(StepRecord {
                action,
                reward: o.reward,
                terminated: o.terminated,
                truncated: o.truncated,
                obs: obs.clone(),
                policy: view,
            });
            if let Some(fault) = env.fault() {
                return Err(fault);
            }
            rec.frames.push(snapshot(&*env)?);
            if o.terminated || o.truncated {
                break;
            }
        }
        out.push(rec);
    }
    env.set_render(false);
    Ok(out)
}

/// Writes episodes as JSON lines (atomically).
pub fn save_episodes(path: &Path, episodes: &[EpisodeRecord]) -> std::io::Result<()> {
    let mut bytes = Vec::new();
    for ep in episodes {
        serde_json::to_writer(&mut bytes, ep).map_err(std::io::Error::other)?;
        bytes.write_all(b"\n")?;
    }
    crate::runs::write_atomic(path, &bytes)
}

pub fn load_episodes(path: &Path) -> std::io::Result<Vec<EpisodeRecord>> {
    let file = std::fs::File::open(path).map_err(|e| std::io::Error::new(e.kind(), format!("cannot open {}: {e}", path.display())))?;
    let mut out = Vec::new();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        out.push(
            serde_json::from_str(&line)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}:{}: {e}", path.display(), i + 1)))?,
        );
    }
    Ok(out)
}

#[derive(Clone, Debug, PartialEq)]
pub struct VideoStats {
    pub path: PathBuf,
    pub frames: u64,
    pub wall_secs: f64,
    pub mean_return: f64,
    /// Worth telling the user (a damaged best model replaced by the final one).
    pub notes: Vec<String>,
}

/// Renders every frame of `episodes` on a second thread while this one encodes.
/// `progress(done, total)` is called after each encoded frame.
pub fn write_episodes_video(
    episodes: &[EpisodeRecord],
    path: &Path,
    fps: f64,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<VideoStats, String> {
    let total: u64 = episodes.iter().map(|e| e.n_frames() as u64).sum();
    if total == 0 {
        return Err("no episodes to put in the video: ask for at least 1 episode".into());
    }
    let t0 = Instant::now();
    // One env per video: every frame has the first one's size.
    let (width, height) = episodes.iter().flat_map(|e| e.frames.first()).next().map_or((render::FRAME_W, render::FRAME_H), |s| s.size());
    let mut writer = Mp4Writer::create(path, width, height, fps).map_err(|e| e.to_string())?;
    // Render and convert to yuv420p on a second thread; this one only encodes.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Yuv420, String>>(8);
    std::thread::scope(|scope| -> Result<(), String> {
        scope.spawn(move || {
            let Some(mut canvas) = render::canvas() else { return };
            let mut frame = Frame { width: 0, height: 0, rgb: Vec::new() };
            for state in episodes.iter().flat_map(|e| e.frames.iter()) {
                render::render_into(state, &mut canvas, &mut frame);
                let yuv = Yuv420::from_rgb(&frame.rgb, frame.width, frame.height).map_err(|e| e.to_string());
                if tx.send(yuv).is_err() {
                    return;
                }
            }
        });
        let mut done = 0;
        for yuv in rx {
            writer.push_yuv(&yuv?).map_err(|e| e.to_string())?;
            done += 1;
            progress(done, total);
        }
        if done != total {
            return Err(format!("rendered {done} of {total} frames"));
        }
        Ok(())
    })?;
    let frames = writer.frames();
    let path = writer.finish().map_err(|e| e.to_string())?;
    let mean_return = episodes.iter().map(|e| e.episode_return).sum::<f64>() / episodes.len().max(1) as f64;
    Ok(VideoStats { path, frames, wall_secs: t0.elapsed().as_secs_f64(), mean_return, notes: Vec::new() })
}

/// The frame rate of a video of `episodes`: their env's (Gymnasium's `render_fps`).
pub fn episodes_fps(episodes: &[EpisodeRecord]) -> f64 {
    episodes.first().map_or(50.0, EpisodeRecord::render_fps)
}

/// Records `n_episodes` greedy episodes and writes them as an MP4 at the env's
/// render fps. Returns the episodes (for `eval_episodes.jsonl`) and video stats.
pub fn record_video(
    policy: &Policy,
    env: &mut dyn Env,
    path: &Path,
    n_episodes: usize,
    seed: u64,
) -> Result<(Vec<EpisodeRecord>, VideoStats), String> {
    if n_episodes == 0 {
        return Err("episodes must be at least 1".into());
    }
    let episodes = record_episodes(policy, env, n_episodes, seed)?;
    let stats = write_episodes_video(&episodes, path, episodes_fps(&episodes), &mut |_, _| {})?;
    Ok((episodes, stats))
}
