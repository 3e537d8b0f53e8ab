"""`run_experiment` and the command line, as the docs show them:

    python -m rl_research.experiments.cli experiment.total_timesteps=50000
    python -m rl_research.experiments.cli --multirun algorithm.params.learning_rate=1e-3,3e-4

    from omegaconf import OmegaConf
    from rl_research.experiments.cli import run_experiment
    summary = run_experiment(OmegaConf.create({"experiment": {"total_timesteps": 50000}}))

The command line is `rl-research run` itself (same grammar, exit codes,
progress bar, Ctrl-C), running in this Python process.
"""

import json
import os
import shlex
import sys
from typing import Any, List, Optional, Union

from rl_research import _core, _inproc
from rl_research._config import to_pairs
from rl_research._summary import GroupSummary, RunSummary, summary_from_json


def run_experiment(
    config: Any = None, verbose: bool = True, env: Any = None, tags: Optional[List[str]] = None, notes: Optional[str] = None
) -> Union[RunSummary, GroupSummary]:
    """Trains one run and returns its summary (a seed group, with
    ``experiment.n_seeds`` or ``experiment.seeds``: all its seeds, and a
    ``GroupSummary`` whose ``float()`` is the IQM of their final evaluations).

    `config`: an OmegaConf DictConfig, a dict (nested like config.yaml, or
    with dotted keys such as ``"algorithm.params.learning_rate"``), a path to
    a .yaml/.ron config file, or None for the default run. Keys and values are
    checked as the CLI checks them: a wrong one raises ``ConfigError`` naming
    it. Ctrl-C stops the run gracefully (saved, resumable), then raises
    KeyboardInterrupt. `verbose` prints the CLI's progress line to stderr.

    `env`: a Gymnasium env object (deep-copied for each env the run needs)
    or a callable making one, stepped in this process (its id becomes
    ``py:<its Gymnasium id or class>``). An ``env.id`` that is a Gymnasium id
    but not one of ours (``FrozenLake-v1``) is made with ``gymnasium.make``
    and stepped in this process too; ``gym:<id>`` steps it in worker processes.

    `tags` and `notes`: the run's ``experiment.tags`` (labels the runs browser
    filters by, e.g. ``["baseline", "lr-study"]``) and ``experiment.notes`` (why it
    is started), as in ``wandb.init(tags=..., notes=...)``; they replace the
    config's. Findings afterwards: ``rl_research.add_note(run_dir, text)``."""
    base, pairs = to_pairs(config)
    if tags is not None:
        if isinstance(tags, str):
            raise _core.ConfigError(f"tags: give a list of tags, e.g. tags=[{tags!r}], not a string")
        pairs = [(k, v) for k, v in pairs if k != "experiment.tags"] + [("experiment.tags", json.dumps([str(t) for t in tags]))]
    if notes is not None:
        pairs = [(k, v) for k, v in pairs if k != "experiment.notes"] + [("experiment.notes", json.dumps(str(notes)))]
    command = "python: run_experiment(" + ", ".join(f"{k}={v}" for k, v in pairs) + ")"
    if env is None:
        env_id = json.loads(_core.resolve_config(base, pairs, False))["env"]["id"]
        if env_id in _core.ENV_IDS or env_id.startswith("gym:"):
            return summary_from_json(_core.run_experiment(base, pairs, verbose, command))
        import gymnasium

        def make(env_id=env_id):
            try:
                return gymnasium.make(env_id, render_mode="rgb_array")
            except TypeError:
                return gymnasium.make(env_id)

        try:
            gymnasium.spec(env_id)
        except gymnasium.error.Error as e:
            raise _core.ConfigError(f"env.id: '{env_id}' is neither one of ours ({', '.join(_core.ENV_IDS)}) nor a Gymnasium id: {e}") from None
        factory, name = _inproc.factory_of(make), env_id
    else:
        factory, name = _inproc.factory_of(env), _inproc.name_of(env)
    pairs = [(k, v) for k, v in pairs if k != "env.id"]
    return summary_from_json(_core.run_experiment_env(base, pairs, name, factory, verbose, command))


def _trial_command() -> str:
    return json.dumps([sys.executable, "-m", "rl_research._trial"])


def main(argv: Optional[List[str]] = None) -> int:
    """`rl-research run ARGS...`; returns its exit code (0 ok, 1 failed, 2 bad input, 130 Ctrl-C)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["run"]:
        args = args[1:]
    # --multirun trials are child processes: this Python, not the interpreter binary as `rl-research`.
    os.environ.setdefault("RL_RESEARCH_TRIAL_COMMAND", _trial_command())
    return _core.cli_main(["rl-research", "run", *args])


if __name__ == "__main__":
    sys.exit(main())
