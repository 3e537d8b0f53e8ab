"""Reads a run's TensorBoard event files with TensorBoard's own EventAccumulator
and prints, as JSON (used by tests/core/tracking.rs):
  scalars: {tag: [[step, value], ...]}
  hparams: what TensorBoard's HParams plugin parses from the run's summaries
  texts:   {tag: text} of the text plugin's summaries."""
import json
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import api_pb2
from tensorboard.plugins.hparams import metadata as hparams_metadata
from tensorboard.util import tensor_util

acc = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0, "tensors": 0})
acc.Reload()
out = {
    "scalars": {tag: [[e.step, e.value] for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]},
    "hparams": {},
    "texts": {},
}
try:
    hparams = acc.PluginTagToContent(hparams_metadata.PLUGIN_NAME)
except KeyError:
    hparams = {}
if hparams_metadata.EXPERIMENT_TAG in hparams:
    e = hparams_metadata.parse_experiment_plugin_data(hparams[hparams_metadata.EXPERIMENT_TAG])
    out["hparams"]["experiment"] = {
        "hparams": {h.name: api_pb2.DataType.Name(h.type) for h in e.hparam_infos},
        "metrics": [m.name.tag for m in e.metric_infos],
    }
if hparams_metadata.SESSION_START_INFO_TAG in hparams:
    s = hparams_metadata.parse_session_start_info_plugin_data(hparams[hparams_metadata.SESSION_START_INFO_TAG])
    values = {}
    for k, v in s.hparams.items():
        kind = v.WhichOneof("kind")
        values[k] = getattr(v, kind)
    out["hparams"]["session_start"] = {"hparams": values, "start_time_secs": s.start_time_secs}
if hparams_metadata.SESSION_END_INFO_TAG in hparams:
    s = hparams_metadata.parse_session_end_info_plugin_data(hparams[hparams_metadata.SESSION_END_INFO_TAG])
    out["hparams"]["session_end"] = {"status": api_pb2.Status.Name(s.status), "end_time_secs": s.end_time_secs}
try:
    text_tags = acc.PluginTagToContent("text")
except KeyError:
    text_tags = {}
for tag in text_tags:
    value = tensor_util.make_ndarray(acc.Tensors(tag)[-1].tensor_proto)
    out["texts"][tag] = value.item().decode("utf-8")
print(json.dumps(out))
