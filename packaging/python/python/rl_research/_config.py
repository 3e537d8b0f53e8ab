"""Configs from Python: an OmegaConf DictConfig, a dict (nested, or with dotted
keys, or both) or a path to a .yaml/.ron file, turned into the core's
(dotted key, JSON value) pairs, which it checks key by key as the CLI checks
`key=value` (an unknown key or a wrong type raises ConfigError naming it)."""

import json
import os
from typing import Any, Dict, List, Optional, Tuple


def _plain(config: Any) -> Any:
    """A DictConfig/ListConfig as plain containers (interpolations resolved)."""
    try:
        from omegaconf import DictConfig, ListConfig, OmegaConf
    except ImportError:
        return config
    if isinstance(config, (DictConfig, ListConfig)):
        return OmegaConf.to_container(config, resolve=True)
    return config


def _flatten(d: Dict[str, Any], prefix: str, out: List[Tuple[str, Any]]) -> None:
    for key, value in d.items():
        if not isinstance(key, str):
            raise TypeError(f"config key {key!r} is not a string: use names like 'experiment.total_timesteps'")
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            # algorithm.params is a section; a dict there sets its keys one by one.
            _flatten(value, path, out)
        else:
            out.append((path, value))


def _json_value(key: str, value: Any) -> str:
    try:
        import numpy as np

        if isinstance(value, np.generic):
            value = value.item()
        elif isinstance(value, np.ndarray):
            value = value.tolist()
    except ImportError:
        pass
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, tuple):
        value = list(value)
    try:
        return json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{key}: value {value!r} cannot be a config value ({e}): use numbers, strings, booleans or lists") from None


def to_pairs(config: Any) -> Tuple[Optional[str], List[Tuple[str, str]]]:
    """(base file or None, [(dotted key, JSON value)]) for the core.

    `algorithm.name` goes first, since it decides which params exist."""
    if config is None:
        return None, []
    if isinstance(config, (str, os.PathLike)):
        return os.fspath(config), []
    plain = _plain(config)
    if not isinstance(plain, dict):
        raise TypeError(f"config must be a DictConfig, a dict or a path to a .yaml/.ron file, got {type(config).__name__}")
    flat: List[Tuple[str, Any]] = []
    _flatten(plain, "", flat)
    flat.sort(key=lambda kv: kv[0] != "algorithm.name")
    return None, [(k, _json_value(k, v)) for k, v in flat]


def resolve(config: Any, validate: bool = True) -> Dict[str, Any]:
    """The full config the core would run, as a nested dict (defaults filled in)."""
    from rl_research import _core

    base, pairs = to_pairs(config)
    return json.loads(_core.resolve_config(base, pairs, validate))
