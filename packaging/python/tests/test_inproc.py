"""Python envs stepped in this process: `run_experiment(config, env=...)` with
an env object or a factory, and a Gymnasium id that is not one of ours."""

import json

import gymnasium as gym
import numpy as np
import pytest

from rl_research import _core, load_model
from rl_research.experiments.cli import run_experiment

from conftest import SHORT


class Boom(gym.Wrapper):
    """Raises on its 600th step: after the first evaluation saved a model (an
    evaluation episode of CartPole is at most 500 steps)."""

    def __init__(self, env):
        super().__init__(env)
        self.steps = 0

    def step(self, action):
        self.steps += 1
        if self.steps == 600:
            raise ValueError("boom from a Python env")
        return self.env.step(action)


def test_env_factory_trains_in_process_with_frames(in_tmp):
    make = lambda: gym.make("FrozenLake-v1", is_slippery=False, render_mode="rgb_array")
    config = dict(SHORT, **{"algorithm.params.batch_size": 32, "experiment.name": "lake", "experiment.video_episodes": 1, "env.n_envs": 4})
    summary = run_experiment(config, verbose=False, env=make)
    run = in_tmp / "runs" / "lake"
    assert json.loads((run / "logs" / "run_info.json").read_text())["status"] == "completed"
    model = load_model(run / "models" / "best_model.zip")
    assert model.env_id == "py:FrozenLake-v1"
    assert model._core.obs_dim == 16  # Discrete(16) observations, one-hot
    assert (run / "videos" / "evaluation.mp4").stat().st_size > 1000
    assert np.isfinite(float(summary))


def test_env_object_and_gymnasium_id_not_ours(in_tmp):
    # CliffWalking has no time limit: env.max_episode_steps bounds its episodes (evaluations included).
    env = gym.make("CliffWalking-v1") if "CliffWalking-v1" in gym.registry else gym.make("CliffWalking-v0")
    config = {"algorithm.params.batch_size": 32, "experiment.name": "cliff", "env.n_envs": 2, "env.max_episode_steps": 200}
    run_experiment(dict(SHORT, **config), verbose=False, env=env)
    assert (in_tmp / "runs" / "cliff" / "models" / "final_model.zip").exists()
    # An id Gymnasium knows and we do not: made with gymnasium.make, stepped here.
    run_experiment(dict(SHORT, **{"algorithm.params.batch_size": 32, "experiment.name": "lake_id", "env.id": "FrozenLake-v1", "env.n_envs": 2}), verbose=False)
    config = (in_tmp / "runs" / "lake_id" / "configs" / "config.yaml").read_text()
    assert "id: FrozenLake-v1" in config
    with pytest.raises(_core.ConfigError, match="neither one of ours"):
        run_experiment({"env.id": "NoSuchEnv-v9"}, verbose=False)


def test_an_env_that_raises_fails_the_run_with_its_traceback(in_tmp):
    make = lambda: Boom(gym.make("CartPole-v1"))
    config = dict(SHORT, **{"algorithm.params.batch_size": 32, "experiment.name": "boom", "env.n_envs": 1, "experiment.eval_freq": 128})
    with pytest.raises(_core.RunFailed, match="boom from a Python env") as e:
        run_experiment(config, verbose=False, env=make)
    assert "Traceback" in str(e.value) and "test_inproc.py" in str(e.value)
    info = json.loads((in_tmp / "runs" / "boom" / "logs" / "run_info.json").read_text())
    assert info["status"] == "failed" and "boom from a Python env" in info["error"]
    assert (in_tmp / "runs" / "boom" / "models" / "best_model.zip").exists()
