"""Random search with Python samplers, every trial a normal run:

    from rl_research.utils.search import random_search, loguniform, choice
    param_space = {
        "learning_rate": loguniform(1e-5, 1e-2),       # the docs' np.random.loguniform, which NumPy lacks
        "n_steps": lambda: np.random.choice([512, 1024, 2048]),
    }
    best_params = random_search(param_space, n_trials=10, evaluation_fn=run_experiment)

Bare names map to ``algorithm.params.<name>``; dotted names are config keys.
With ``run_experiment`` as the evaluation (the default), trials whose configs
differ only in scalar hyperparameters (learning rate, clip range, gamma, ...)
train as one batch of stacked networks, each still its own run and result,
as a sweep's ``sweep.batch_trials`` does (``batch_trials``: "auto", True, False).
"""

import json
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
                  base_config: Any = None, seed: Optional[int] = None, verbose: bool = True,
                  batch_trials: Any = "auto") -> Dict[str, Any]:
    """Samples `n_trials` configs from `param_space` (name -> callable sampler,
    or a fixed value), calls ``evaluation_fn(config)`` on each (default:
    ``run_experiment``; the config is a dict of dotted keys over `base_config`)
    and returns the best trial's parameters (highest objective: a number, or a
    run summary's final evaluation mean). `seed` makes our samplers repeatable
    (and seeds ``random``/``numpy.random`` for lambdas using them).

    With ``run_experiment`` as `evaluation_fn`, every trial is sampled first
    and those differing only in scalars train as one batch (`batch_trials`:
    "auto" where measured faster, as ``sweep.batch_trials``; True; False for
    one after another); ``random_search.last_batches`` lists the trials that
    trained together. Another `evaluation_fn` is called trial by trial."""
    from rl_research.experiments.cli import run_experiment as _run_experiment
    if evaluation_fn is None:
        evaluation_fn = _run_experiment
    batch_text = ("true" if batch_trials else "false") if isinstance(batch_trials, bool) else batch_trials
    if batch_text not in ("auto", "true", "false"):
        raise ValueError(f"batch_trials must be 'auto', True or False, got {batch_trials!r}")
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
    random_search.last_batches = []
    batched = evaluation_fn is _run_experiment and batch_text != "false" and n_trials > 1
    if batched:
        sampled = [_sample(param_space, keys, base, trial) for trial in range(n_trials)]
        values, batches = _run_batched([config for _, config in sampled], batch_text, verbose)
        random_search.last_batches = [list(b) for b in batches if len(b) > 1]
    for trial in range(n_trials):
        if batched:
            params, value = sampled[trial][0], values[trial]
        else:
            params, config = _sample(param_space, keys, base, trial)
            value = _objective(evaluation_fn(config))
        results.append((trial, params, value))
        if verbose:
            print(f"[{trial + 1}/{n_trials}] objective {value:.4g}: {params}")
        if value > best_value:
            best_value, best_params = value, dict(params)
    random_search.last_results = results  # (trial, params, objective) of the last search
    return best_params if best_params is not None else dict(results[-1][1])


def _sample(param_space: Mapping[str, Any], keys: Dict[str, str], base: Dict[str, Any], trial: int):
    """One trial's sampled params and its config (dotted keys over `base`)."""
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
    return params, config


def _run_batched(configs: List[Dict[str, Any]], batch: str, verbose: bool):
    """Every config trained, compatible ones as one batch: objectives in order, and the batches."""
    from rl_research import _core
    from rl_research._core import RunFailed
    from rl_research._summary import summary_from_json

    items = []
    for config in configs:
        base, pairs = to_pairs(config)
        items.append((base, pairs, "python: random_search trial " + ", ".join(f"{k}={v}" for k, v in pairs)))
    texts, batches = _core.run_experiments(items, batch, 1, verbose)
    values = []
    for trial, text in enumerate(texts):
        data = json.loads(text)
        if "error" in data:
            raise RunFailed(f"trial {trial}: {data['error']}")
        values.append(_objective(summary_from_json(text)))
    return values, batches


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
