"""Python envs stepped in this process by `run_experiment(config, env=...)`:
an Adapter gives the Rust core flat float32 observations and decodes its
actions, with the same codecs as the `gym:` worker processes (their source is
the one the core runs, executed here without starting a worker)."""

import copy
import json
from typing import Any, Callable

import numpy as np

from rl_research import _core

_codecs: dict = {"__name__": "rl_research_gym_worker"}
exec(compile(_core.gym_worker_source().decode(), "rl_research/gym_worker.py", "exec"), _codecs)


class Adapter:
    def __init__(self, env: Any):
        import gymnasium
        from gymnasium import spaces

        self.env = env
        self.obs_dim, self.obs_low, self.obs_high, self._encode = _codecs["observation_codec"](np, spaces, env.observation_space)
        self.action_json, self.width, self._decode = _codecs["action_codec"](np, spaces, env.action_space)
        self._obs = np.zeros(self.obs_dim, np.float32)
        self._gymnasium = gymnasium.__version__

    def describe(self) -> str:
        describe_env = _codecs["describe_env"]
        return json.dumps(describe_env(self.env, self.obs_dim, self.obs_low, self.obs_high, self.action_json, self._gymnasium))

    def reset(self, seed):
        obs, _ = self.env.reset(seed=seed)
        self._encode(obs, self._obs)
        return self._obs.tobytes()

    def step(self, action):
        obs, reward, terminated, truncated, _ = self.env.step(self._decode(np.asarray(action, np.float32)))
        self._encode(obs, self._obs)
        return self._obs.tobytes(), float(reward), bool(terminated), bool(truncated)

    def render(self):
        frame = self.env.render()
        if frame is None:
            raise RuntimeError("render() returned None: make the env with render_mode='rgb_array' for frames")
        frame = np.ascontiguousarray(np.asarray(frame, dtype=np.uint8)[:, :, :3])
        return frame.shape[0], frame.shape[1], frame.tobytes()


def factory_of(env: Any) -> Callable[[], Adapter]:
    """A callable making a fresh env (called as is) or an env object (deep-copied for each env needed)."""
    if callable(env) and not hasattr(env, "step"):
        return lambda: Adapter(env())
    return lambda: Adapter(copy.deepcopy(env))


def name_of(env: Any) -> str:
    """The id an in-process env is registered under (its Gymnasium id, or its class)."""
    probe = env() if callable(env) and not hasattr(env, "step") else env
    spec = getattr(probe, "spec", None)
    label = getattr(spec, "id", None) or type(getattr(probe, "unwrapped", probe)).__name__
    return "py:" + label
