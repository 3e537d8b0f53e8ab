"""`evaluate_policy` and `record_video` for our models and envs (all in Rust)
and for anything else with SB3's ``predict`` and Gymnasium's API.

    mean, std = evaluate_policy(model, env, n_eval_episodes=10)
    record_video(model, env, video_path="videos/eval.mp4", n_episodes=1)
"""

import math
import os
from pathlib import Path
from typing import Any, Optional, Tuple

import numpy as np

from rl_research import _core
from rl_research._model import as_model


def _our_env(env: Any):
    """The Rust env behind `env` (ours, possibly inside Gymnasium's wrappers), or None."""
    base = getattr(env, "unwrapped", env)
    core = getattr(base, "_core", None)
    return core if isinstance(core, _core.EnvCore) else None


def _act(model: Any, obs: Any, deterministic: bool) -> Any:
    predict = getattr(model, "predict", None)
    if not callable(predict):
        raise TypeError(f"{type(model).__name__} is not a model: pass rl_research.load_model(path), a run summary, a model path, or an object with predict(obs, deterministic=...)")
    out = predict(obs, deterministic=deterministic)
    action = np.asarray(out[0] if isinstance(out, tuple) else out)
    # A discrete action goes to the env as a plain int; a Box action keeps its shape, (1,) included.
    return action.item() if action.size == 1 and np.issubdtype(action.dtype, np.integer) else action


def _reset(env: Any, seed: Optional[int]):
    out = env.reset(seed=seed) if seed is not None else env.reset()
    return out[0] if isinstance(out, tuple) else out


def evaluate_policy(model: Any, env: Any, n_eval_episodes: int = 10, deterministic: bool = True, seed: Optional[int] = None) -> Tuple[float, float]:
    """Mean and std of the returns of `n_eval_episodes` episodes, run one
    after another. Ours on ours runs entirely in Rust; otherwise the episodes
    are stepped here through ``model.predict`` and ``env.step``.
    `seed` reseeds the env before the first episode (as SB3 leaves to you)."""
    if isinstance(n_eval_episodes, bool) or not isinstance(n_eval_episodes, int) or n_eval_episodes < 1:
        raise ValueError(f"n_eval_episodes must be an int >= 1, got {n_eval_episodes!r}")
    ours, core = as_model(model), _our_env(env)
    if ours is not None and core is not None and deterministic:
        _check_fits(ours, core.id)
        returns = ours._core.evaluate(core, n_eval_episodes, seed)
        return _mean_std(returns)
    policy = ours if ours is not None else model
    returns = []
    for i in range(n_eval_episodes):
        obs = _reset(env, seed if i == 0 else None)
        total, done = 0.0, False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(_act(policy, obs, deterministic))
            total += float(reward)
            done = bool(terminated) or bool(truncated)
        returns.append(total)
    return _mean_std(returns)


def _mean_std(returns) -> Tuple[float, float]:
    """Mean and population std (NumPy's default, as SB3 reports)."""
    mean = sum(returns) / len(returns)
    return float(mean), float(math.sqrt(sum((r - mean) ** 2 for r in returns) / len(returns)))


def _check_fits(model, env_id: str) -> None:
    if model.env_id != env_id and not {model.env_id, env_id} <= {"LunarLander-v3", "LunarLander-v2"}:
        raise ValueError(f"the model was trained on {model.env_id}, the env is {env_id}")


def record_video(model: Any, env: Any, video_path: Any = "videos/evaluation.mp4", n_episodes: int = 1, deterministic: bool = True, seed: Optional[int] = None, fps: Optional[float] = None) -> Path:
    """Writes `n_episodes` episodes to an H.264 MP4 at `video_path` (folders
    created). Ours on ours renders in Rust; any Gymnasium env made with
    ``render_mode="rgb_array"`` gives its frames through ``render()``, encoded
    by the same MP4 encoder."""
    if isinstance(n_episodes, bool) or not isinstance(n_episodes, int) or n_episodes < 1:
        raise ValueError(f"n_episodes must be an int >= 1, got {n_episodes!r}")
    path = Path(os.fspath(video_path))
    path.parent.mkdir(parents=True, exist_ok=True)
    ours, core = as_model(model), _our_env(env)
    if ours is not None and core is not None and deterministic:
        _check_fits(ours, core.id)
        ours._core.record_video(core, os.fspath(path), n_episodes, 0 if seed is None else int(seed))
        return path
    if getattr(env, "render_mode", None) != "rgb_array":
        raise ValueError("the env must render frames: make it with render_mode='rgb_array'")
    policy = ours if ours is not None else model
    rate = fps or (getattr(env, "metadata", {}) or {}).get("render_fps") or 30
    writer = None
    for i in range(n_episodes):
        obs = _reset(env, seed if i == 0 else None)
        done = False
        while True:
            frame = env.render()
            if frame is None:
                raise ValueError(f"{type(env).__name__}.render() returned None: make the env with render_mode='rgb_array'")
            frame = np.ascontiguousarray(frame, dtype=np.uint8)
            if frame.ndim != 3 or frame.shape[2] != 3:
                raise ValueError(f"render() gave a frame of shape {frame.shape}; expected (height, width, 3) RGB")
            if writer is None:
                # H.264 wants even sizes: crop the last row/column if odd.
                h, w = frame.shape[0] // 2 * 2, frame.shape[1] // 2 * 2
                writer = _core.VideoWriter(os.fspath(path), w, h, float(rate))
            writer.push(np.ascontiguousarray(frame[:h, :w]).tobytes())
            if done:
                break
            obs, _, terminated, truncated, _ = env.step(_act(policy, obs, deterministic))
            done = bool(terminated) or bool(truncated)
    writer.finish()
    return path
