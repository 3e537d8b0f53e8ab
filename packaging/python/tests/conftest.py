import os
import sys
from pathlib import Path

import pytest


@pytest.fixture()
def in_tmp(tmp_path, monkeypatch):
    """Each test runs in its own directory, so `runs/` lands there."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


FIXTURES = Path(os.environ.get("RL_RESEARCH_GYM_FIXTURES", Path(__file__).resolve().parents[3] / ".." / "shared" / "fixtures" / "gym"))
PY = sys.executable
# Short budgets for every run in these tests.
SHORT = {"experiment.total_timesteps": 4096, "experiment.eval_freq": 2048, "experiment.n_eval_episodes": 3, "experiment.video_episodes": 0}
