"""Our saved models in Python, with Stable-Baselines3's `predict`."""

import json
import os
from pathlib import Path
from typing import Any, Optional, Tuple, Union

import numpy as np

from rl_research import _core


class Model:
    """A trained policy (best_model.zip / final_model.zip), acting in Rust."""

    def __init__(self, path: Union[str, os.PathLike]):
        self._core = _core.ModelCore(os.fspath(path))
        self.path = Path(path)
        self.env_id: str = self._core.env_id
        self.algorithm: str = self._core.algorithm
        self._continuous = json.loads(self._core.action_space_json)["type"] == "box"

    def predict(self, observation: Any, state: Any = None, episode_start: Any = None, deterministic: bool = True) -> Tuple[Any, None]:
        """SB3's signature: (action, state). One observation gives one action,
        a batch (n, obs_dim) gives n. Our policies act greedily (argmax): a
        stochastic PPO action is not offered, so `deterministic=False` says so."""
        if not deterministic:
            raise ValueError("rl-research models act greedily: call predict(obs, deterministic=True)")
        obs = np.ascontiguousarray(observation, dtype=np.float32)
        single = obs.ndim == 1
        batch = obs.reshape(1, -1) if single else obs
        if batch.ndim != 2 or batch.shape[1] != self._core.obs_dim:
            raise ValueError(f"observation shape {obs.shape} does not fit this {self.env_id} model: expected ({self._core.obs_dim},) or (n, {self._core.obs_dim})")
        raw = self._core.act(batch.tobytes(), batch.shape[0])
        if self._continuous:
            actions = np.asarray(raw, dtype=np.float32).reshape(batch.shape[0], -1)
        else:
            actions = np.asarray(raw, dtype=np.int64)
        return (actions[0] if single else actions), None

    def save(self, path: Union[str, os.PathLike]) -> None:
        Path(path).write_bytes(self._core.zip_bytes())

    def __repr__(self) -> str:
        return f"Model({str(self.path)!r}, algorithm={self.algorithm!r}, env_id={self.env_id!r})"


def load_model(path_or_run: Any) -> Model:
    """A model file, a run directory (its best model, else its final model) or
    a RunSummary."""
    from rl_research._summary import RunSummary

    if isinstance(path_or_run, RunSummary):
        path_or_run = path_or_run.run_dir
    p = Path(os.fspath(path_or_run))
    if p.is_dir():
        for name in ("best_model.zip", "final_model.zip"):
            if (p / "models" / name).exists():
                return Model(p / "models" / name)
        raise FileNotFoundError(f"{p} has no models/best_model.zip or final_model.zip: train it first")
    return Model(p)


def as_model(model: Any) -> Optional[Model]:
    """Ours (a Model, a RunSummary, a path), or None for a foreign model."""
    from rl_research._summary import RunSummary

    if isinstance(model, Model):
        return model
    if isinstance(model, (RunSummary, str, os.PathLike)):
        return load_model(model)
    return None
