"""Loads a run's logs/monitor.csv as Stable-Baselines3's
`stable_baselines3.common.monitor.load_results` does (the same steps, with
pandas: SB3 itself needs PyTorch, too large to install in CI) and prints it as
JSON (used by tests/core/tracking.rs)."""
import json
import sys

import pandas

with open(sys.argv[1]) as f:
    first_line = f.readline()
    assert first_line[0] == "#", first_line
    header = json.loads(first_line[1:])
    data_frame = pandas.read_csv(f, index_col=None)
data_frame["t"] += header["t_start"]
data_frame.sort_values("t", inplace=True, kind="stable")
data_frame.reset_index(inplace=True)
data_frame["t"] -= header["t_start"]
print(json.dumps({"env_id": header["env_id"], "r": data_frame["r"].tolist(), "l": data_frame["l"].tolist()}))
