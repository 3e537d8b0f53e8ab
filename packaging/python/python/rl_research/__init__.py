"""RL Research's Python API, over the same Rust core as the `rl-research` CLI
and desktop app: same speed, same runs layout, same results.

    from rl_research.experiments.cli import run_experiment
    summary = run_experiment({"experiment.total_timesteps": 20000})
    print(summary.run_dir, summary.final_mean_reward)
"""

from rl_research import _core
from rl_research._config import to_pairs
from rl_research._core import ConfigError, RunFailed
from rl_research._model import Model, load_model
from rl_research._summary import GroupSummary, RunSummary, read_run_info

__version__ = _core.__version__

__all__ = ["ConfigError", "RunFailed", "GroupSummary", "Model", "RunSummary", "load_model", "read_run_info", "to_pairs", "__version__"]
