"""The registry's envs as Gymnasium envs, stepped in Rust: CartPole-v1
(bit-exact with Gymnasium's) and LunarLander-v3/v2 (Box2D in Rust,
trajectories equal to Gymnasium's on the shared fixtures), and any env
registered in Rust. Spaces and parameters come from the registry.

    env = rl_research.envs.make("CartPole-v1", render_mode="rgb_array")
    env = gymnasium.make("rl_research/LunarLander-v3")      # registered on import
    venv = rl_research.envs.make_vec("LunarLander-v3", num_envs=8)  # all envs stepped in Rust
"""

from typing import Any, Dict, List, Optional, Tuple

import json

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rl_research import _core
from rl_research._config import _json_value

ENV_IDS: List[str] = list(_core.ENV_IDS)


def _params(env_id: str) -> Dict[str, str]:
    """Keyword arguments as Gymnasium's constructors name them -> our config
    keys: the env's own parameters, from the registry, and the time limit."""
    keys = {k: f"env.params.{k}" for k in _core.env_param_keys(env_id)}
    keys["max_episode_steps"] = "env.max_episode_steps"
    return keys


def _pairs(env_id: str, params: Dict[str, Any]) -> List[Tuple[str, str]]:
    allowed = _params(env_id)
    pairs = []
    for k, v in params.items():
        if k not in allowed:
            raise TypeError(f"{env_id}: unknown parameter {k!r}; allowed: {', '.join(sorted(allowed))}")
        pairs.append((allowed[k], _json_value(allowed[k], v)))
    return pairs


def _space(space_json: str) -> spaces.Space:
    """A Gymnasium space from the registry's action space."""
    s = json.loads(space_json)
    if s["type"] == "box":
        return spaces.Box(np.asarray(s["low"], dtype=np.float32), np.asarray(s["high"], dtype=np.float32), dtype=np.float32)
    return spaces.Discrete(int(s["n"]))


class RustEnv(gym.Env):
    """One of our envs behind Gymnasium's API (the time limit is the env's own,
    so `truncated` comes from here, as with `gymnasium.make`)."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 50}

    def __init__(self, env_id: str = "CartPole-v1", render_mode: Optional[str] = None, **params: Any):
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode {render_mode!r}: only 'rgb_array' (or None) is supported")
        self._core = _core.EnvCore(env_id, _pairs(env_id, params))
        self.env_id = self._core.id
        self.metadata = {**RustEnv.metadata, "render_fps": self._core.render_fps}
        self.render_mode = render_mode
        low = np.asarray(self._core.obs_low, dtype=np.float32)
        high = np.asarray(self._core.obs_high, dtype=np.float32)
        self.observation_space = spaces.Box(low, high, dtype=np.float32)
        self.action_space = _space(self._core.action_space_json)
        if render_mode == "rgb_array":
            self._core.set_render(True)

    def _obs(self, raw: bytes) -> np.ndarray:
        return np.frombuffer(raw, dtype=np.float32).copy()

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict] = None):
        super().reset(seed=seed)
        if seed is not None and seed < 0:
            raise ValueError(f"seed {seed} must be non-negative")
        return self._obs(self._core.reset(seed)), {}

    def step(self, action: Any):
        if isinstance(self.action_space, spaces.Box):
            action = np.asarray(action, dtype=np.float32).reshape(-1).tolist()
        else:
            action = int(action)
        obs, reward, terminated, truncated = self._core.step(action)
        return self._obs(obs), float(reward), bool(terminated), bool(truncated), {}

    def set_state(self, state: Any) -> np.ndarray:
        """CartPole: start an episode from `state` (x, x_dot, theta, theta_dot),
        as setting Gymnasium's ``env.unwrapped.state`` after ``reset`` does.
        The dynamics are Gymnasium's bit for bit; a seed, though, draws a
        different start than NumPy's generator would."""
        s = [float(v) for v in np.asarray(state, dtype=np.float64).reshape(4)]
        return self._obs(self._core.set_cartpole_state(s))

    def render(self):
        if self.render_mode != "rgb_array":
            return None
        frame = self._core.render()
        if frame is None:
            return None
        rgb, width, height = frame
        return np.frombuffer(rgb, dtype=np.uint8).reshape(height, width, 3)


def make(env_id: str, render_mode: Optional[str] = None, **params: Any) -> RustEnv:
    """Our env `env_id` (one of ENV_IDS) with Gymnasium-style parameters."""
    return RustEnv(env_id, render_mode=render_mode, **params)


class RustVecEnv(gym.vector.VectorEnv):
    """`num_envs` copies stepped together in Rust (the GIL released). Autoreset
    is Gymnasium's SAME_STEP mode: a finished env is reset in the same step and
    its last observation is in ``info["final_obs"]`` (where ``info["_final_obs"]``)."""

    def __init__(self, env_id: str, num_envs: int, **params: Any):
        self._core = _core.VecEnvCore(env_id, num_envs, _pairs(env_id, params))
        single = RustEnv(env_id, **params)
        self.num_envs = num_envs
        self.single_observation_space = single.observation_space
        self.single_action_space = single.action_space
        self.observation_space = gym.vector.utils.batch_space(self.single_observation_space, num_envs)
        self.action_space = gym.vector.utils.batch_space(self.single_action_space, num_envs)
        self.metadata = {"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP, "render_fps": single.metadata["render_fps"]}
        self._dim = self._core.obs_dim

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict] = None):
        obs = self._core.reset(0 if seed is None else int(seed))
        return np.frombuffer(obs, dtype=np.float32).reshape(self.num_envs, self._dim).copy(), {}

    def step(self, actions: Any):
        if isinstance(self.single_action_space, spaces.Box):
            acts = np.asarray(actions, dtype=np.float32).reshape(-1).tolist()
        else:
            acts = np.asarray(actions).astype(np.int64).reshape(self.num_envs).tolist()
        obs, rewards, terminated, truncated, final = self._core.step(acts)
        obs = np.frombuffer(obs, dtype=np.float32).reshape(self.num_envs, self._dim).copy()
        terminated = np.asarray(terminated, dtype=bool)
        truncated = np.asarray(truncated, dtype=bool)
        done = terminated | truncated
        info: Dict[str, Any] = {}
        if done.any():
            final = np.frombuffer(final, dtype=np.float32).reshape(self.num_envs, self._dim)
            info["final_obs"] = np.array([final[i].copy() if done[i] else None for i in range(self.num_envs)], dtype=object)
            info["_final_obs"] = done
        return obs, np.asarray(rewards, dtype=np.float64), terminated, truncated, info


def make_vec(env_id: str, num_envs: int, **params: Any) -> RustVecEnv:
    return RustVecEnv(env_id, num_envs, **params)


def _register() -> None:
    for env_id in ENV_IDS:
        name = f"rl_research/{env_id}"
        if name not in gym.registry:
            gym.register(id=name, entry_point="rl_research.envs:RustEnv", kwargs={"env_id": env_id}, disable_env_checker=False, order_enforce=True)


_register()
