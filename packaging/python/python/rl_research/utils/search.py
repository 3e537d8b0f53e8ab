"""Random search with Python samplers, every trial a normal run:

    from rl_research.utils.search import random_search, loguniform, choice
    param_space = {
        "learning_rate": loguniform(1e-5, 1e-2),       # the docs' np.random.loguniform, which NumPy lacks
        "n_steps": lambda: np.random.choice([512, 1024, 2048]),
    }
    best_params = random_search(param_space, n_trials=10, evaluation_fn=run_experiment)

Bare names map to ``algorithm.params.<name>``; dotted names are config keys.
"""

import math
import random
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from rl_research._config import to_pairs


class _Sampler:
    def __init__(self, draw: Callable[[random.Random], Any], text: str):
        self._draw, self._text = draw, text
        self.rng = random.Random()

    def __call__(self) -> Any:
        return self._draw(self.rng)

    def __repr__(self) -> str:
        return self._text


def loguniform(low: float, high: float) -> Callable[[], float]:
    """Samples log-uniformly in [low, high] (both > 0)."""
    if not (low > 0 and high > 0 and low <= high):
        raise ValueError(f"loguniform({low}, {high}): need 0 < low <= high")
    return _Sampler(lambda r: math.exp(r.uniform(math.log(low), math.log(high))), f"loguniform({low}, {high})")


def uniform(low: float, high: float) -> Callable[[], float]:
    if not low <= high:
        raise ValueError(f"uniform({low}, {high}): need low <= high")
    return _Sampler(lambda r: r.uniform(low, high), f"uniform({low}, {high})")


def choice(values: Sequence[Any]) -> Callable[[], Any]:
    """One of `values`, uniformly."""
    values = list(values)
    if not values:
        raise ValueError("choice([]): give at least one value")
    return _Sampler(lambda r: r.choice(values), f"choice({values})")


def _key(name: str) -> str:
    if not isinstance(name, str) or not name:
        raise TypeError(f"parameter name {name!r} must be a non-empty string like 'learning_rate' or 'env.n_envs'")
    return name if "." in name else f"algorithm.params.{name}"


def _plain(value: Any) -> Any:
    if hasattr(value, "item") and callable(value.item):
        try:
            return value.item()
        except (ValueError, TypeError):
            pass
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


def _objective(result: Any) -> float:
    if isinstance(result, (int, float)) and not isinstance(result, bool):
        return float(result)
    try:
        return float(result)  # a RunSummary: its final evaluation's mean reward
    except (TypeError, ValueError) as e:
        raise TypeError(f"evaluation_fn returned {result!r}: return a number or a run summary ({e})") from None


def random_search(param_space: Mapping[str, Any], n_trials: int = 10, evaluation_fn: Optional[Callable[[Any], Any]] = None,
                  base_config: Any = None, seed: Optional[int] = None, verbose: bool = True) -> Dict[str, Any]:
    """Samples `n_trials` configs from `param_space` (name -> callable sampler,
    or a fixed value), calls ``evaluation_fn(config)`` on each (default:
    ``run_experiment``; the config is a dict of dotted keys over `base_config`)
    and returns the best trial's parameters (highest objective: a number, or a
    run summary's final evaluation mean). `seed` makes our samplers repeatable
    (and seeds ``random``/``numpy.random`` for lambdas using them)."""
    if evaluation_fn is None:
        from rl_research.experiments.cli import run_experiment as evaluation_fn
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1:
        raise ValueError(f"n_trials must be an int >= 1, got {n_trials!r}")
    if not param_space:
        raise ValueError("param_space is empty: give at least one parameter and its sampler")
    keys = {name: _key(name) for name in param_space}
    if seed is not None:
        random.seed(seed)
        try:
            import numpy as np

            np.random.seed(seed % 2**32)
        except ImportError:
            pass
        for i, sampler in enumerate(param_space.values()):
            if isinstance(sampler, _Sampler):
                sampler.rng.seed(seed * 1_000_003 + i)
    base = _base_dict(base_config)
    best_value, best_params, results = -math.inf, None, []
    for trial in range(n_trials):
        params = {}
        for name, sampler in param_space.items():
            if not callable(sampler):
                params[name] = sampler
                continue
            try:
                params[name] = _plain(sampler())
            except Exception as e:
                hint = "use rl_research.utils.search.loguniform(lo, hi), uniform(lo, hi) or choice([...]), or a lambda returning a value"
                if "loguniform" in str(e):
                    hint = "NumPy has no random.loguniform: use rl_research.utils.search.loguniform(lo, hi)"
                raise ValueError(f"the sampler of parameter {name!r} raised {type(e).__name__}: {e}; {hint}") from e
        config = dict(base)
        config.update({keys[n]: v for n, v in params.items()})
        config.setdefault("experiment.name", f"search_trial_{trial}")
        value = _objective(evaluation_fn(config))
        results.append((trial, params, value))
        if verbose:
            print(f"[{trial + 1}/{n_trials}] objective {value:.4g}: {params}")
        if value > best_value:
            best_value, best_params = value, dict(params)
    random_search.last_results = results  # (trial, params, objective) of the last search
    return best_params if best_params is not None else dict(results[-1][1])


def _base_dict(base_config: Any) -> Dict[str, Any]:
    if base_config is None:
        return {}
    base_path, pairs = to_pairs(base_config)
    if base_path is not None:
        from rl_research._config import resolve

        flat: List = []
        from rl_research._config import _flatten

        _flatten(resolve(base_path, validate=False), "", flat)
        return dict(flat)
    import json

    return {k: json.loads(v) for k, v in pairs}
