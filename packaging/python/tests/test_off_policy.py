"""SAC and TD3 policies trained here acting in real Gymnasium, and their
actors run from the model file's documented format with numpy alone."""

import json
import zipfile

import gymnasium as gym
import numpy as np
import pytest

import rl_research.envs
from rl_research import load_model
from rl_research.experiments.cli import run_experiment
from rl_research.utils.evaluation import evaluate_policy


def numpy_actor(path):
    """The deterministic action from metadata.json and networks/actor.bin (docs/runs.md: model files)."""
    with zipfile.ZipFile(path) as z:
        meta = json.loads(z.read("metadata.json"))
        info = next(n for n in meta["networks"] if n["name"] == meta["policy_network"])
        raw = np.frombuffer(z.read(f"networks/{info['name']}.bin"), "<f4")
        has_sde_log_std = any(n["name"] == "log_std" for n in meta["networks"])
    sizes, layers, at = info["sizes"], [], 0
    for n_in, n_out in zip(sizes, sizes[1:]):
        w = raw[at:at + n_in * n_out].reshape(n_in, n_out)
        at += n_in * n_out
        layers.append((w, raw[at:at + n_out]))
        at += n_out
    assert at == raw.size
    space = meta["action_space"]
    low, high = np.asarray(space["low"], np.float32), np.asarray(space["high"], np.float32)

    def act(obs):
        x = np.asarray(obs, np.float32)
        for i, (w, b) in enumerate(layers):
            x = x @ w + b
            if i < len(layers) - 1:
                x = np.maximum(x, 0) if info["activation"] == "relu" else np.tanh(x)
        mean = x[: low.size]
        if has_sde_log_std:
            mean = np.clip(mean, -2.0, 2.0)
        return low + 0.5 * (np.tanh(mean) + 1.0) * (high - low)

    return meta, act


@pytest.mark.parametrize("algo", ["sac", "td3"])
def test_off_policy_actor_runs_in_numpy_and_real_gymnasium(in_tmp, algo):
    config = {
        "experiment.name": algo,
        "env.id": "Pendulum-v1",
        "algorithm.name": algo,
        "algorithm.params.learning_starts": 200,
        "algorithm.params.batch_size": 64,
        "algorithm.params.net_arch": [64, 64],
        "experiment.total_timesteps": 800,
        "experiment.eval_freq": 800,
        "experiment.n_eval_episodes": 2,
        "experiment.video_episodes": 0,
    }
    summary = run_experiment(config)
    path = summary.run_dir / "models" / "final_model.zip"
    meta, act = numpy_actor(path)
    assert meta["format_version"] == 4 and meta["policy_head"] == "tanh_squashed"
    names = {n["name"] for n in meta["networks"]}
    assert {"actor", "qf0", "qf1", "qf0_target", "qf1_target"} <= names, names
    model = load_model(path)
    rng = np.random.default_rng(0)
    for _ in range(5):
        obs = rng.uniform(-1, 1, 3).astype(np.float32)
        action, _ = model.predict(obs)
        assert action.shape == (1,) and -2.0 <= action[0] <= 2.0
        assert np.allclose(action, act(obs), atol=1e-5), (action, act(obs))
    real = evaluate_policy(model, gym.make("Pendulum-v1"), n_eval_episodes=2, seed=3)
    ours = evaluate_policy(model, rl_research.envs.make("Pendulum-v1"), n_eval_episodes=2, seed=3)
    assert np.isclose(real[0], ours[0], rtol=0, atol=1e-5), (real, ours)
