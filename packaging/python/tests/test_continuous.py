"""A continuous-action policy trained here (Gaussian PPO with gSDE and
VecNormalize statistics in its model file) acting in real Gymnasium."""

import json
import zipfile

import gymnasium as gym
import numpy as np

import rl_research.envs
from rl_research import load_model
from rl_research.experiments.cli import run_experiment
from rl_research.utils.evaluation import evaluate_policy, record_video


def test_pendulum_policy_acts_in_real_gymnasium(in_tmp):
    # The pendulum_ppo preset's hyperparameters (rl-zoo's), a short budget.
    params = {"learning_rate": 1e-3, "n_steps": 1024, "batch_size": 64, "n_epochs": 10, "gamma": 0.9, "gae_lambda": 0.95,
              "clip_range": 0.2, "use_sde": True, "sde_sample_freq": 4}
    config = {
        "experiment.name": "pendulum",
        "env.id": "Pendulum-v1",
        "env.n_envs": 4,
        **{f"algorithm.params.{k}": v for k, v in params.items()},
        "experiment.total_timesteps": 12288,
        "experiment.eval_freq": 12288,
        "experiment.n_eval_episodes": 2,
        "experiment.video_episodes": 0,
        "env.normalize_obs": True,
        "env.normalize_reward": True,
    }
    summary = run_experiment(config)
    path = summary.run_dir / "models" / "final_model.zip"
    with zipfile.ZipFile(path) as z:
        meta = json.loads(z.read("metadata.json"))
    assert meta["format_version"] == 3 and meta["policy_head"] == "gaussian_mean"
    assert len(meta["obs_normalization"]["mean"]) == 3, "the statistics travel with the model"
    model = load_model(path)
    action, _ = model.predict(np.zeros(3, np.float32))
    assert action.shape == (1,) and -2.0 <= action[0] <= 2.0, "the mean, clipped into the bounds"
    # Pendulum is bit-exact and seeded as Gymnasium: the same returns in both.
    real = evaluate_policy(model, gym.make("Pendulum-v1"), n_eval_episodes=3, seed=5)
    ours = evaluate_policy(model, rl_research.envs.make("Pendulum-v1"), n_eval_episodes=3, seed=5)
    assert np.isclose(real[0], ours[0], rtol=0, atol=1e-6) and np.isclose(real[1], ours[1], rtol=0, atol=1e-6), (real, ours)
    out = record_video(model, rl_research.envs.make("Pendulum-v1", render_mode="rgb_array"), video_path="videos/p.mp4", n_episodes=1)
    assert out.read_bytes()[4:8] == b"ftyp"
