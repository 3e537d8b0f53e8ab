"""One sweep trial as a child process: `rl-research ARGS...` verbatim (the
command `--multirun` runs for each trial, from Python)."""

import sys

from rl_research import _core

if __name__ == "__main__":
    sys.exit(_core.cli_main(["rl-research", *sys.argv[1:]]))
