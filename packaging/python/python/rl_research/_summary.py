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
