"""Parses override values with hydra-core's own OverridesParser, for the
grammar diff in tests/core/hydra_grammar.rs.

stdin: a JSON list of value texts; stdout: a JSON list, one typed result each:
{"t": "int"|"float"|"str"|"bool"|"null"|"list"|"dict"|"sweep"|"error", "v": ...}
(floats as Python's repr, so inf and nan compare as text).
"""

import json
import sys

from hydra.core.override_parser.overrides_parser import OverridesParser


def encode(v):
    if v is None:
        return {"t": "null"}
    if isinstance(v, bool):
        return {"t": "bool", "v": v}
    if isinstance(v, int):
        return {"t": "int", "v": str(v)}
    if isinstance(v, float):
        return {"t": "float", "v": repr(v)}
    if isinstance(v, str):
        return {"t": "str", "v": str(v)}
    if isinstance(v, list):
        return {"t": "list", "v": [encode(x) for x in v]}
    if isinstance(v, dict):
        return {"t": "dict", "v": [[str(k), encode(x)] for k, x in v.items()]}
    return {"t": "other", "v": type(v).__name__}


def main():
    parser = OverridesParser.create()
    out = []
    for text in json.load(sys.stdin):
        try:
            o = parser.parse_override("k=" + text)
            out.append({"t": "sweep"} if o.is_sweep_override() else encode(o.value()))
        except Exception:  # a syntax error: Hydra refuses the value
            out.append({"t": "error"})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
