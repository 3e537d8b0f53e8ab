//! `env.n_envs` Gymnasium envs spread over `env.workers` processes, stepped
//! together: every worker gets its command before any answer is awaited, so
//! the workers step their envs at the same time.

use super::GymSource;
use super::worker::Worker;
use crate::envs::vec_env::EnvPool;
use crate::envs::{ActionSpace, Actions, BoxSpace, StepOutcome};

pub struct GymPool {
    workers: Vec<Worker>,
    /// The first env index of each worker.
    starts: Vec<usize>,
    n: usize,
    id: String,
    observation_space: BoxSpace,
    action_space: ActionSpace,
}

impl GymPool {
    /// Starts `min(workers, n_envs)` workers (at the same time) with the envs split evenly.
    pub fn spawn(source: &GymSource, n_envs: usize, workers: usize) -> Result<Self, String> {
        let k = workers.clamp(1, n_envs.max(1));
        let counts: Vec<usize> = (0..k).map(|i| n_envs / k + usize::from(i < n_envs % k)).collect();
        let spawned: Vec<Result<Worker, String>> = std::thread::scope(|s| {
            let handles: Vec<_> = counts.iter().map(|&c| s.spawn(move || Worker::spawn(source, c, false))).collect();
            handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err("a worker's start panicked".into()))).collect()
        });
        let workers = spawned.into_iter().collect::<Result<Vec<_>, _>>()?;
        let first = &workers[0].hello;
        let (observation_space, action_space) =
            (BoxSpace { low: first.obs_low.clone(), high: first.obs_high.clone() }, first.action_space.clone());
        if let Some(w) = workers.iter().find(|w| w.hello.action_space != action_space || w.hello.obs_dim != first.obs_dim) {
            return Err(format!(
                "gym:{}: its envs disagree on their spaces ({} / {} against {} / {}): make the env's spaces independent of the process",
                source.id, w.hello.observation_space, w.hello.action_space_text, first.observation_space, first.action_space_text
            ));
        }
        let starts = counts.iter().scan(0, |acc, &c| {
            let s = *acc;
            *acc += c;
            Some(s)
        });
        Ok(Self { starts: starts.collect(), workers, n: n_envs, id: source.env_id(), observation_space, action_space })
    }

    /// Sends `cmd(worker's first env)` to every worker, then awaits every answer.
    fn all(&mut self, cmd: impl Fn(usize) -> String) -> Result<(), String> {
        let mut first_error = None;
        let mut sent = Vec::with_capacity(self.workers.len());
        for (w, &start) in self.workers.iter_mut().zip(&self.starts) {
            let c = cmd(start);
            match w.send(&c) {
                Ok(()) => sent.push(Some(c)),
                Err(e) => {
                    first_error.get_or_insert(e);
                    sent.push(None);
                }
            }
        }
        for (w, c) in self.workers.iter_mut().zip(sent) {
            if let Some(c) = c {
                if let Err(e) = w.finish(&c) {
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl EnvPool for GymPool {
    fn id(&self) -> &str {
        &self.id
    }
    fn num_envs(&self) -> usize {
        self.n
    }
    fn observation_space(&self) -> BoxSpace {
        self.observation_space.clone()
    }
    fn action_space(&self) -> ActionSpace {
        self.action_space.clone()
    }

    fn reset_all(&mut self, seed: u64, obs: &mut [f32]) -> Result<(), String> {
        self.all(|start| format!("resetall {}", seed.wrapping_add(start as u64)))?;
        let d = self.observation_space.dim();
        for (w, &start) in self.workers.iter().zip(&self.starts) {
            obs[start * d..(start + w.n) * d].copy_from_slice(w.obs());
        }
        Ok(())
    }

    fn step_all(&mut self, actions: Actions<'_>, obs: &mut [f32], final_obs: &mut [f32], out: &mut [StepOutcome]) -> Result<(), String> {
        let width = self.action_space.width();
        for (w, &start) in self.workers.iter_mut().zip(&self.starts) {
            let n = w.n;
            let row = w.actions_mut();
            match actions {
                Actions::Discrete(a) => {
                    for (dst, &src) in row.iter_mut().zip(&a[start..start + n]) {
                        *dst = src as f32;
                    }
                }
                Actions::Continuous { values, .. } => row.copy_from_slice(&values[start * width..(start + n) * width]),
            }
        }
        self.all(|_| "stepall".to_string())?;
        let d = self.observation_space.dim();
        for (w, &start) in self.workers.iter().zip(&self.starts) {
            obs[start * d..(start + w.n) * d].copy_from_slice(w.obs());
            for j in 0..w.n {
                let (terminated, truncated) = w.flags(j);
                out[start + j] = StepOutcome { reward: w.reward(j), terminated, truncated };
                if terminated || truncated {
                    final_obs[(start + j) * d..(start + j + 1) * d].copy_from_slice(&w.final_obs()[j * d..(j + 1) * d]);
                }
            }
        }
        Ok(())
    }
}
