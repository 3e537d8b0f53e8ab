"""The documentation's Python snippets, as written (short budgets added),
and the command line through `python -m rl_research.experiments.cli`."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import PY, SHORT


def run_info(run_dir):
    return json.loads((Path(run_dir) / "logs" / "run_info.json").read_text())


def test_cli_module_is_rl_research_run(in_tmp):
    ok = subprocess.run([PY, "-m", "rl_research.experiments.cli", "experiment.total_timesteps=2048", "experiment.eval_freq=1024", "experiment.video_episodes=0", "experiment.name=cli_run"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "run directory: runs/cli_run" in ok.stderr + ok.stdout
    for part in ["models/best_model.zip", "configs/config.yaml", "logs/metrics.csv", "logs/monitor.csv"]:
        assert (in_tmp / "runs" / "cli_run" / part).exists(), part
    assert run_info(in_tmp / "runs" / "cli_run")["status"] == "completed"
    bad = subprocess.run([PY, "-m", "rl_research.experiments.cli", "algorithm.params.learnin_rate=0.1"], capture_output=True, text=True)
    assert bad.returncode == 2 and "did you mean algorithm.params.learning_rate" in bad.stderr, bad.stderr


def test_cli_module_multirun_runs_trials_as_python_children(in_tmp):
    out = subprocess.run(
        [PY, "-m", "rl_research.experiments.cli", "--multirun", "--yes", "experiment.total_timesteps=1024", "experiment.eval_freq=1024", "experiment.video_episodes=0", "experiment.seed=0,1", "sweep.workers=2"],
        capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "[2/2] trial" in out.stderr, out.stderr[-2000:]


def test_run_experiment_with_omegaconf(in_tmp):
    from omegaconf import OmegaConf
    from rl_research.experiments.cli import run_experiment

    config = OmegaConf.create({"experiment": {"name": "omega", "total_timesteps": 4096, "eval_freq": 2048, "video_episodes": 0}, "algorithm": {"name": "ppo", "params": {"learning_rate": 3e-4}}})
    results = run_experiment(config)
    assert results.status == "completed" and results.timesteps == 4096
    assert results.run_dir == Path("runs/omega")
    assert results.final_mean_reward is not None and results.best_mean_reward >= results.final_mean_reward
    assert len(results.evaluations) == 2
    # The same config through the CLI gives the same metrics (same core, same seed).
    cli = subprocess.run([PY, "-m", "rl_research.experiments.cli", "experiment.name=omega_cli", "experiment.total_timesteps=4096", "experiment.eval_freq=2048", "experiment.video_episodes=0", "algorithm.params.learning_rate=3e-4"], capture_output=True, text=True)
    assert cli.returncode == 0, cli.stderr

    def rows(name):
        with open(f"runs/{name}/logs/metrics.csv") as f:
            return [(r["timesteps"], r["metric"], r["value"]) for r in csv.DictReader(f) if r["metric"] != "time/fps" and not r["metric"].startswith("system/")]

    assert rows("omega") == rows("omega_cli")


def test_run_experiment_takes_dotted_dicts_and_paths_and_names_bad_keys(in_tmp):
    from rl_research import ConfigError
    from rl_research.experiments.cli import run_experiment

    s = run_experiment({**SHORT, "experiment.name": "dotted", "algorithm": {"name": "dqn"}, "algorithm.params.learning_starts": 500})
    assert s.status == "completed"
    cfg = (in_tmp / "runs" / "dotted" / "configs" / "config.yaml")
    assert "learning_starts: 500" in cfg.read_text() and "name: dqn" in cfg.read_text()
    again = run_experiment(cfg)  # a run's own config.yaml
    assert again.run_dir == Path("runs/dotted_1")
    with pytest.raises(ConfigError, match="algorithm.params.learning_rat"):
        run_experiment({"algorithm.params.learning_rat": 0.1})
    with pytest.raises(ConfigError, match=r"experiment.total_timesteps: invalid value 'abc'"):
        run_experiment({"experiment": {"total_timesteps": "abc"}})
    with pytest.raises(ConfigError, match="env.n_envs"):
        run_experiment({"env.n_envs": 0})
    with pytest.raises(TypeError, match="experiment.name"):
        run_experiment({"experiment.name": object()})
    with pytest.raises(ConfigError, match="nope.yaml"):
        run_experiment("nope.yaml")


def test_experiment_logger_block(in_tmp):
    import gymnasium as gym
    from rl_research.utils.logger import ExperimentLogger

    config = {"experiment": {"name": "my_loop"}}
    env = gym.make("CartPole-v1")
    with ExperimentLogger(config, env) as logger:
        for step in range(1, 6):
            logger.log_metrics({"train/loss": 1.0 / step, "rollout": {"ep_rew_mean": 10.0 * step}}, step=step * 100)

        class Sb3Like:
            def save(self, path):
                Path(path).write_bytes(b"sb3 model")

        path = logger.save_model(Sb3Like())
    assert path == logger.run_dir / "models" / "best_model.zip" and path.read_bytes() == b"sb3 model"
    info = run_info(logger.run_dir)
    assert info["status"] == "completed" and info["env_id"] == "CartPole-v1" and info["timesteps_done"] == 500
    assert info["algorithm"] == "custom", "a loop of the caller's own, not our PPO"
    with open(logger.run_dir / "logs" / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert [(r["timesteps"], r["metric"]) for r in rows[:2]] == [("100", "train/loss"), ("100", "rollout/ep_rew_mean")]
    assert list(logger.run_dir.glob("logs/events.out.tfevents.*")), "a TensorBoard file too"
    # An exception inside marks the run failed, and propagates.
    with pytest.raises(RuntimeError):
        with ExperimentLogger({"experiment.name": "broken"}) as broken:
            broken.log_metrics({"x": 1.0})
            raise RuntimeError("diverged")
    failed = run_info(broken.run_dir)
    assert failed["status"] == "failed" and "diverged" in failed["error"]
    with pytest.raises(TypeError, match="'bad'"):
        ExperimentLogger({"experiment.name": "t"}).log_metrics({"bad": "text"})


def test_logger_saves_our_models_and_tensorboard_reads_its_scalars(in_tmp):
    from rl_research import load_model
    from rl_research.experiments.cli import run_experiment
    from rl_research.utils.logger import ExperimentLogger

    model = load_model(run_experiment({**SHORT, "experiment.name": "src"}))
    with ExperimentLogger({"experiment.name": "copy"}) as logger:
        logger.log_metrics({"eval/mean_reward": 42.0}, step=10)
        saved = logger.save_model(model, "final_model")
    assert load_model(saved).env_id == "CartPole-v1"
    assert run_info(logger.run_dir)["best_eval_mean_reward"] == 42.0, "the runs browser's best column"
    try:
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    except ImportError:
        pytest.skip("tensorboard is not installed")
    acc = EventAccumulator(str(logger.run_dir / "logs"))
    acc.Reload()
    assert [(e.step, e.value) for e in acc.Scalars("eval/mean_reward")] == [(10, 42.0)]


def test_evaluate_policy_and_record_video_blocks(in_tmp):
    import gymnasium as gym
    import rl_research.envs
    from rl_research import load_model
    from rl_research.experiments.cli import run_experiment
    from rl_research.utils.evaluation import evaluate_policy, record_video

    summary = run_experiment({**SHORT, "experiment.total_timesteps": 20480, "experiment.eval_freq": 10240})
    model = load_model(summary.run_dir / "models" / "best_model.zip")
    env = rl_research.envs.make("CartPole-v1", render_mode="rgb_array")
    mean_reward, std_reward = evaluate_policy(model, env, n_eval_episodes=10)
    assert 0 < mean_reward <= 500 and std_reward >= 0
    # Our model on the real Gymnasium env gives the same returns as on ours (CartPole is bit-exact).
    real = gym.make("CartPole-v1")
    assert evaluate_policy(model, real, n_eval_episodes=5, seed=3) == evaluate_policy(model, rl_research.envs.make("CartPole-v1"), n_eval_episodes=5, seed=3)
    assert evaluate_policy(summary, real, n_eval_episodes=2, seed=3)[0] > 0, "a run summary is a model too"
    out = record_video(model, env, video_path="videos/evaluation.mp4", n_episodes=1)
    assert out.read_bytes()[4:8] == b"ftyp" and out.stat().st_size > 1000


class _Dots(__import__("gymnasium").Env):
    """A foreign Gymnasium env that renders with NumPy (no pygame)."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 25}

    def __init__(self, render_mode="rgb_array"):
        import gymnasium as gym

        self.render_mode = render_mode
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (4,), np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self.t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(4, np.float32), {}

    def step(self, action):
        self.t += 1
        return np.full(4, self.t / 100, np.float32), 1.0, False, self.t >= 30, {}

    def render(self):
        frame = np.zeros((65, 81, 3), np.uint8)  # odd sizes on purpose
        frame[:, : self.t * 2] = (255, 128, 0)
        return frame


def test_foreign_models_and_envs_go_through_predict_and_render(in_tmp):
    from rl_research.utils.evaluation import evaluate_policy, record_video

    class Constant:
        def predict(self, obs, state=None, episode_start=None, deterministic=True):
            return 1, None

    assert evaluate_policy(Constant(), _Dots(), n_eval_episodes=3) == (30.0, 0.0)
    out = record_video(Constant(), _Dots(), video_path="v/dots.mp4", n_episodes=2)
    assert out.read_bytes()[4:8] == b"ftyp"
    with pytest.raises(TypeError, match="predict"):
        evaluate_policy(object(), _Dots())
    with pytest.raises(ValueError, match="rgb_array"):
        record_video(Constant(), _Dots(render_mode=None), video_path="v/x.mp4")


def test_random_search_block_with_the_loguniform_fix(in_tmp):
    from rl_research.experiments.cli import run_experiment
    from rl_research.utils.search import loguniform, random_search

    param_space = {
        "learning_rate": loguniform(1e-5, 1e-2),
        "n_steps": lambda: np.random.choice([64, 128]),
        "env.n_envs": lambda: 2,
    }
    base = {**SHORT, "experiment.total_timesteps": 1024, "experiment.eval_freq": 1024, "algorithm.params.batch_size": 64}
    best_params = random_search(param_space, n_trials=3, evaluation_fn=run_experiment, base_config=base, seed=0)
    assert set(best_params) == {"learning_rate", "n_steps", "env.n_envs"}
    assert 1e-5 <= best_params["learning_rate"] <= 1e-2 and best_params["n_steps"] in (64, 128)
    runs = sorted(p.name for p in (in_tmp / "runs").iterdir())
    assert runs == ["search_trial_0", "search_trial_1", "search_trial_2"], runs
    # Seeded: the same samples again (ours and NumPy's), whatever evaluation_fn does.
    first = [p for _, p, _ in random_search.last_results]
    random_search(param_space, n_trials=3, evaluation_fn=lambda cfg: -abs(cfg["algorithm.params.learning_rate"] - 1e-3), seed=0, verbose=False)
    assert [p for _, p, _ in random_search.last_results] == first


def test_a_sampler_that_raises_names_the_parameter_and_the_fix(in_tmp):
    from rl_research.utils.search import random_search

    space = {"learning_rate": lambda: np.random.loguniform(1e-5, 1e-2)}  # the docs' line: NumPy has no loguniform
    with pytest.raises(ValueError, match=r"'learning_rate'.*rl_research.utils.search.loguniform\(lo, hi\)"):
        random_search(space, n_trials=1, evaluation_fn=lambda c: 0.0)
    with pytest.raises(TypeError, match="return a number or a run summary"):
        random_search({"gamma": lambda: 0.9}, n_trials=1, evaluation_fn=lambda c: "good")


def test_ctrl_c_stops_run_experiment_gracefully(in_tmp):
    import signal
    import time

    # As a terminal's Ctrl-C finds it: a shell that started us in the background may have ignored SIGINT.
    script = "import signal\nsignal.signal(signal.SIGINT, signal.default_int_handler)\nfrom rl_research.experiments.cli import run_experiment\ntry:\n    run_experiment({'experiment.total_timesteps': 50000000, 'experiment.name': 'long'}, verbose=False)\nexcept KeyboardInterrupt as e:\n    print('interrupted:', e)\n"
    child = subprocess.Popen([PY, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    metrics = in_tmp / "runs" / "long" / "logs" / "metrics.csv"
    deadline = time.time() + 120
    while time.time() < deadline and not (metrics.exists() and metrics.stat().st_size > 200):
        time.sleep(0.2)
    child.send_signal(signal.SIGINT)
    try:
        out, err = child.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        child.kill()
        raise
    assert child.returncode == 0, err
    assert "interrupted: training stopped at step" in out, out + err
    info = run_info(in_tmp / "runs" / "long")
    assert info["status"] == "stopped" and (in_tmp / "runs" / "long" / "models" / "final_model.zip").exists()


def test_run_experiment_with_seeds_returns_the_group(in_tmp):
    from rl_research import GroupSummary
    from rl_research.experiments.cli import run_experiment

    g = run_experiment({**SHORT, "experiment.name": "py_group", "experiment.seeds": [3, 7, 9]}, verbose=False)
    assert isinstance(g, GroupSummary)
    assert g.status == "completed" and g.seeds == [3, 7, 9] and g.n_seeds == 3
    assert [p.name for p in g.seed_dirs] == ["seed_3", "seed_7", "seed_9"]
    finals = [run_info(d)["best_eval_mean_reward"] is not None for d in g.seed_dirs]
    assert all(finals)
    low, high = g.iqm_ci
    assert low <= float(g) <= high
    # The same statistics the CLI writes: aggregate.csv's final row.
    with open(g.aggregate_csv) as f:
        last = list(csv.DictReader(f))[-1]
    assert last["metric"] == "final_score" and abs(float(last["iqm"]) - float(g)) < 1e-9
    group = json.loads((g.run_dir / "group.json").read_text())
    assert group["kind"] == "seed_group" and group["status"] == "completed"


def test_random_search_batches_compatible_trials_with_the_results_of_one_by_one(in_tmp):
    from rl_research.utils.search import choice, random_search

    space = {"learning_rate": choice([1e-3, 3e-4, 1e-4]), "gamma": choice([0.98, 0.99])}
    base = {**SHORT, "experiment.total_timesteps": 1024, "experiment.eval_freq": 512}
    random_search(space, n_trials=4, base_config={**base, "experiment.runs_dir": "batched"}, seed=1, verbose=False, batch_trials=True)
    batched = list(random_search.last_results)
    # Only scalars differ: the four trials trained as one batch, each its own run.
    assert random_search.last_batches == [[0, 1, 2, 3]], random_search.last_batches
    assert sorted(p.name for p in (in_tmp / "batched").iterdir()) == [f"search_trial_{i}" for i in range(4)]
    random_search(space, n_trials=4, base_config={**base, "experiment.runs_dir": "apart"}, seed=1, verbose=False, batch_trials=False)
    assert random_search.last_batches == []
    # A batch changes only the computation: the same samples and the same objectives, exactly.
    assert random_search.last_results == batched
    with pytest.raises(ValueError, match="batch_trials must be 'auto', True or False"):
        random_search(space, n_trials=2, batch_trials="maybe")


def test_read_run_info_reads_a_run_whose_process_is_gone_as_interrupted(in_tmp):
    from rl_research import read_run_info
    from rl_research.experiments.cli import run_experiment

    summary = run_experiment({**SHORT, "experiment.name": "dead"}, verbose=False)
    assert read_run_info(summary)["status"] == "completed"
    # What kill -9 leaves: "running", written by a process that no longer exists.
    gone = subprocess.Popen(["true"])
    gone.wait()
    path = Path(summary.run_dir) / "logs" / "run_info.json"
    info = json.loads(path.read_text())
    info.update(status="running", pid=gone.pid, start_ticks=1)
    path.write_text(json.dumps(info))
    assert read_run_info(summary.run_dir)["status"] == "interrupted"
    assert run_info(summary.run_dir)["status"] == "interrupted", "run_info.json records it"
    with pytest.raises(FileNotFoundError, match="run_info.json"):
        read_run_info(in_tmp / "nowhere")
