"""Purpose and tags at launch from Python, and findings afterwards (the experiment notebook)."""

import json
from pathlib import Path

import pytest
from conftest import SHORT


def test_tags_and_notes_at_launch_and_a_note_afterwards(in_tmp):
    import rl_research
    from rl_research import ConfigError
    from rl_research.experiments.cli import run_experiment

    s = run_experiment({**SHORT, "experiment.total_timesteps": 1024, "experiment.name": "tagged"}, tags=["baseline", "py"], notes="from Python")
    info = json.loads((Path(s.run_dir) / "logs" / "run_info.json").read_text())
    assert info["tags"] == ["baseline", "py"] and info["notes"] == "from Python"
    text = rl_research.add_note(s.run_dir, "converged early")
    assert text.endswith("converged early\n") and " UTC: converged early" in text
    assert (Path(s.run_dir) / "notes.md").read_text() == text
    with pytest.raises(ConfigError, match="tag 'a,b' contains a comma"):
        run_experiment(SHORT, tags=["a,b"])
    with pytest.raises(ConfigError, match="a list of tags"):
        run_experiment(SHORT, tags="baseline")
    with pytest.raises(FileNotFoundError):
        rl_research.add_note(in_tmp / "nope", "x")
