"""Reads a run's TensorBoard event files with TensorBoard's own EventAccumulator
and prints {tag: [[step, value], ...]} as JSON (used by tests/core/tracking.rs)."""
import json
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

acc = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0})
acc.Reload()
print(json.dumps({tag: [[e.step, e.value] for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}))
