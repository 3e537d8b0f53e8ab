"""`ExperimentLogger`: the standard run directory for a training loop you
write yourself (PyTorch, JAX, ...), so it shows in the desktop app's runs
browser and in TensorBoard like any run of ours:

    with ExperimentLogger(config, env) as logger:
        for step in range(...):
            logger.log_metrics({"train/loss": loss}, step=step)
        logger.save_model(model)            # ours, or anything with .save(path)
"""

import json
import math
import os
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

from rl_research import _core
from rl_research._config import to_pairs
from rl_research._model import Model


def _flat_metrics(metrics: Mapping[str, Any], prefix: str = ""):
    for key, value in metrics.items():
        name = f"{prefix}/{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            yield from _flat_metrics(value, name)
            continue
        try:
            import numpy as np

            if isinstance(value, np.ndarray) and value.size == 1:
                value = value.item()
        except ImportError:
            pass
        if hasattr(value, "item") and callable(value.item):  # torch/jax scalars
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"metric {name!r}: value {value!r} is not a number (log floats or ints; nested dicts become a/b names)")
        yield name, float(value)


class ExperimentLogger:
    """Creates ``runs/<experiment.name>/`` (``_1``, ``_2``, ... if taken) with
    configs/config.yaml, logs/metrics.csv, logs/run_info.json and the TensorBoard
    event file. ``env`` (optional) names the environment in run_info.json;
    ``algorithm`` labels the run in the runs browser (default: the config's
    ``algorithm.name`` if given, else "custom"). Logging ``eval/mean_reward``
    fills the browser's best-evaluation column."""

    def __init__(self, config: Any = None, env: Any = None, algorithm: Optional[str] = None):
        base, pairs = to_pairs(config)
        if algorithm is None:
            # The config's own algorithm.name if it gives one, else "custom" (your loop, not our PPO).
            algorithm = next((json.loads(v) for k, v in pairs if k == "algorithm.name"), "custom")
        self._run = _core.LoggedRun(base, pairs, _env_id(env), str(algorithm), "python: ExperimentLogger")
        self.run_dir = Path(self._run.run_dir)
        self._step = 0
        self._finished = False

    @property
    def models_dir(self) -> Path:
        return self.run_dir / "models"

    @property
    def videos_dir(self) -> Path:
        return self.run_dir / "videos"

    def log_metrics(self, metrics: Mapping[str, Any], step: Optional[int] = None) -> None:
        """Rows at `step` (default: one more than the last step logged).
        Names nest with '/' (``"train/loss"``); a nested dict nests too."""
        if step is None:
            step = self._step + 1
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ValueError(f"step {step!r} must be a non-negative int (environment steps so far)")
        rows = list(_flat_metrics(metrics))
        for name, value in rows:
            if not name or name.startswith("/") or name.endswith("/"):
                raise ValueError(f"metric name {name!r}: use names like 'train/loss'")
            if math.isinf(value):
                raise ValueError(f"metric {name!r} is infinite")
        self._step = max(self._step, step)
        self._run.log_metrics(step, rows)

    def save_model(self, model: Any, name: str = "best_model") -> Path:
        """``models/<name>.zip``: one of our models as is, any other object
        through its own ``save(path)`` (SB3's models, say)."""
        if not name or "/" in name or "\\" in name or ".." in name:
            raise ValueError(f"model name {name!r} must be a plain file name like 'best_model'")
        if isinstance(model, Model):
            return Path(self._run.save_model_zip(name, model._core.zip_bytes()))
        save = getattr(model, "save", None)
        if not callable(save):
            raise TypeError(f"{type(model).__name__} has no save(path) method: pass an rl_research model or an object that can save itself")
        path = self.models_dir / f"{name}.zip"
        save(os.fspath(path))
        # SB3 appends .zip itself when it is missing; both spellings end up here.
        return path

    def finish(self, status: str = "completed", error: Optional[str] = None) -> None:
        """Marks the run completed (or failed/stopped); nothing can be logged after."""
        if not self._finished:
            self._finished = True
            self._run.finish(status, self._step, error)

    def __enter__(self) -> "ExperimentLogger":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            self.finish("completed")
        elif issubclass(exc_type, KeyboardInterrupt):
            self.finish("stopped", "stopped by Ctrl-C (KeyboardInterrupt)")
        else:
            self.finish("failed", f"{exc_type.__name__}: {exc}")
        return False

    def __del__(self):
        # A logger dropped without finish() is a run that ended without saying how.
        try:
            if not self._finished:
                self.finish("stopped", "the ExperimentLogger was dropped without finish()")
        except Exception:
            pass


def _env_id(env: Any) -> Optional[str]:
    if env is None:
        return None
    if isinstance(env, str):
        return env
    spec = getattr(getattr(env, "unwrapped", env), "spec", None) or getattr(env, "spec", None)
    if spec is not None and getattr(spec, "id", None):
        return str(spec.id)
    return type(getattr(env, "unwrapped", env)).__name__
