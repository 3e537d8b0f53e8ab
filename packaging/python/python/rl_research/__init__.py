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


def add_note(run_dir, text: str) -> str:
    """Appends a dated finding to the notes.md of a run, seed group or sweep
    directory (what the runs browser shows; ``rl-research note DIR TEXT``).
    Returns the whole notes text. The run's results are never touched."""
    import os

    return _core.append_note(os.fspath(run_dir), str(text))


__all__ = ["add_note", "ConfigError", "RunFailed", "GroupSummary", "Model", "RunSummary", "load_model", "read_run_info", "to_pairs", "__version__"]
