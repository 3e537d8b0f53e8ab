"""What a finished run reports (the Python twin of the core's RunSummary)."""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional


@dataclass(frozen=True)
class RunSummary:
    run_dir: Path
    status: str
    timesteps: int
    wall_secs: float
    train_secs: float
    best_mean_reward: Optional[float]
    final_mean_reward: Optional[float]
    final_std_reward: Optional[float]
    device: str
    evaluations: List[Dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_json(cls, text: str) -> "RunSummary":
        d = json.loads(text)
        return cls(
            run_dir=Path(d["run_dir"]),
            status=d["status"],
            timesteps=d["timesteps"],
            wall_secs=d["wall_secs"],
            train_secs=d["train_secs"],
            best_mean_reward=d["best_mean_reward"],
            final_mean_reward=d["final_mean_reward"],
            final_std_reward=d["final_std_reward"],
            device=d["device"],
            evaluations=d["evaluations"],
        )

    @property
    def best_model_path(self) -> Path:
        return self.run_dir / "models" / "best_model.zip"

    def __float__(self) -> float:
        """The final evaluation's mean reward (random_search's objective)."""
        if self.final_mean_reward is None:
            raise ValueError(f"the run {self.run_dir} has no evaluation (experiment.eval_freq=0 and it stopped early?)")
        return float(self.final_mean_reward)


@dataclass(frozen=True)
class GroupSummary:
    """A seed group (``experiment.n_seeds`` / ``experiment.seeds``): its
    directory (``seed_<k>/`` per seed, ``group.json``, ``aggregate.csv``) and the
    statistics of its completed seeds' final evaluations."""

    run_dir: Path
    status: str
    seeds: List[int]
    wall_secs: Optional[float]
    seed_runs: List[Dict[str, Any]]
    final_score: Optional[Dict[str, Any]]
    aggregate_csv: Path

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "GroupSummary":
        return cls(
            run_dir=Path(d["run_dir"]),
            status=d["status"],
            seeds=d["seeds"],
            wall_secs=d["wall_secs"],
            seed_runs=d["seed_runs"],
            final_score=d["final_score"],
            aggregate_csv=Path(d["aggregate_csv"]),
        )

    def _stat(self, name: str) -> Optional[Dict[str, float]]:
        return None if self.final_score is None else self.final_score.get(name)

    @property
    def iqm(self) -> Optional[float]:
        s = self._stat("iqm")
        return None if s is None else s["value"]

    @property
    def iqm_ci(self) -> Optional[tuple]:
        """The IQM's 95% bootstrap confidence interval (low, high)."""
        s = self._stat("iqm")
        return None if s is None else (s["low"], s["high"])

    @property
    def mean(self) -> Optional[float]:
        s = self._stat("mean")
        return None if s is None else s["value"]

    @property
    def n_seeds(self) -> int:
        """Seeds the statistics cover (the completed ones)."""
        return 0 if self.final_score is None else int(self.final_score["n_seeds"])

    @property
    def seed_dirs(self) -> List[Path]:
        return [self.run_dir / e["dir"] for e in self.seed_runs]

    def __float__(self) -> float:
        """The IQM of the seeds' final evaluations (random_search's objective)."""
        if self.iqm is None:
            raise ValueError(f"the seed group {self.run_dir} has no completed seed with an evaluation")
        return float(self.iqm)


def summary_from_json(text: str):
    """A RunSummary, or a GroupSummary for a seed group."""
    d = json.loads(text)
    if d.get("kind") == "seed_group":
        return GroupSummary.from_dict(d)
    return RunSummary.from_json(text)


def read_run_info(run_dir: Any) -> Dict[str, Any]:
    """A run's `logs/run_info.json` as a dict (a run directory or a RunSummary).
    A run recorded as running whose process is gone (killed, crashed) reads
    `"interrupted"`, and the file is updated to say so, as in the CLI and GUI;
    resume it with `rl-research run --resume <run_dir>`."""
    import os

    from rl_research import _core

    if isinstance(run_dir, RunSummary):
        run_dir = run_dir.run_dir
    return json.loads(_core.read_run_info(os.fspath(run_dir)))
