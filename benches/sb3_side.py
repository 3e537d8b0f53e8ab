"""Stable-Baselines3's side of `rl-research bench --vs-sb3`.

Usage: python sb3_side.py SPEC.json OUT.json

SPEC.json is written by rl-research from one of its presets; its hyperparameters
are named as SB3's (schedules as rl-zoo writes them: a number or "lin_<x>"), so
both tools train with exactly the same settings (rl-baselines3-zoo's). This script trains, evaluates
like SB3's EvalCallback at the same frequency, and writes timings and
evaluations to OUT.json. The whole process is timed by rl-research from outside.

Needs: pip install stable-baselines3 gymnasium  (and gymnasium[box2d] for LunarLander).
"""

import json
import sys
import time


def schedule(value):
    """A schedule as rl-zoo writes it: a number, or "lin_<x>" (linear from x to 0)."""
    if isinstance(value, str) and value.startswith("lin_"):
        initial = float(value[len("lin_"):])
        return lambda progress_remaining: progress_remaining * initial
    return float(value)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: sb3_side.py SPEC.json OUT.json")
    with open(sys.argv[1]) as f:
        spec = json.load(f)

    t_import = time.perf_counter()
    import gymnasium
    import stable_baselines3
    import torch
    import numpy as np
    from stable_baselines3 import A2C, DQN, PPO, SAC, TD3
    from stable_baselines3.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise
    from stable_baselines3.common.callbacks import EvalCallback
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.vec_env import VecNormalize
    import_secs = time.perf_counter() - t_import

    class TimedEval(EvalCallback):
        """EvalCallback that also sums the wall time of its evaluations."""

        eval_secs = 0.0

        def _on_step(self):
            t0 = time.perf_counter()
            result = super()._on_step()
            if self.eval_freq > 0 and self.n_calls % self.eval_freq == 0:
                self.eval_secs += time.perf_counter() - t0
            return result

    p = dict(spec["params"])
    activation = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}[p.pop("activation")]
    policy_kwargs = {"net_arch": p.pop("net_arch"), "activation_fn": activation}
    if "adam_eps" in p:
        # A2C has none: SB3 builds its RMSprop from rms_prop_eps itself.
        policy_kwargs["optimizer_kwargs"] = {"eps": p.pop("adam_eps")}
    for key in ("ortho_init", "log_std_init"):
        if key in p:
            policy_kwargs[key] = p.pop(key)
    for key in ("learning_rate", "clip_range"):
        if key in p:
            p[key] = schedule(p[key])

    env_kwargs = dict(spec.get("env_kwargs") or {})
    env_kwargs.update(spec.get("env_kwargs_gym") or {})
    seed = int(spec["seed"])
    n_envs = int(spec["n_envs"])
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    vec_env_cls = SubprocVecEnv if spec.get("vec_env") == "subproc" else DummyVecEnv
    env = make_vec_env(spec["env_id"], n_envs=n_envs, seed=seed, env_kwargs=env_kwargs, vec_env_cls=vec_env_cls)
    eval_env = make_vec_env(spec["env_id"], n_envs=1, seed=seed + 1_000_000, env_kwargs=env_kwargs)
    norm_obs, norm_reward = bool(spec.get("normalize_obs")), bool(spec.get("normalize_reward"))
    if norm_obs or norm_reward:
        # As rl-zoo's `normalize: true`: EvalCallback syncs the statistics into the frozen eval wrapper.
        env = VecNormalize(env, norm_obs=norm_obs, norm_reward=norm_reward, gamma=float(p.get("gamma", 0.99)))
        eval_env = VecNormalize(eval_env, training=False, norm_obs=norm_obs, norm_reward=False)
    # TD3's exploration noise as the zoo writes it (noise_type, noise_std) becomes SB3's action_noise.
    noise_type, noise_std = p.pop("noise_type", "none"), p.pop("noise_std", None)
    if noise_type != "none":
        dim = env.action_space.shape[0]
        noise = {"normal": NormalActionNoise, "ornstein-uhlenbeck": OrnsteinUhlenbeckActionNoise}[noise_type]
        p["action_noise"] = noise(mean=np.zeros(dim), sigma=float(noise_std) * np.ones(dim))
    algo = {"ppo": PPO, "dqn": DQN, "a2c": A2C, "sac": SAC, "td3": TD3}[spec["algo"]]
    model = algo("MlpPolicy", env, policy_kwargs=policy_kwargs, seed=seed, device="cpu", verbose=0, **p)

    eval_freq = int(spec["eval_freq"])
    n_eval = int(spec["n_eval_episodes"])
    callbacks = []
    if eval_freq > 0:
        callbacks.append(TimedEval(eval_env, eval_freq=max(eval_freq // n_envs, 1),
                                   n_eval_episodes=n_eval, deterministic=True, verbose=0))
    t0 = time.perf_counter()
    model.learn(total_timesteps=int(spec["total_timesteps"]), callback=callbacks or None)
    learn_secs = time.perf_counter() - t0
    eval_secs = callbacks[0].eval_secs if callbacks else 0.0
    # EvalCallback keeps -inf until its first evaluation.
    best = float(callbacks[0].best_mean_reward) if callbacks else None
    best = best if best is not None and best != float("-inf") else None

    if isinstance(env, VecNormalize):
        eval_env.obs_rms = env.obs_rms
    final_mean, final_std = evaluate_policy(model, eval_env, n_eval_episodes=n_eval, deterministic=True)
    out = {
        "sb3_version": stable_baselines3.__version__,
        "torch_version": torch.__version__,
        "gymnasium_version": gymnasium.__version__,
        "torch_threads": torch.get_num_threads(),
        "import_secs": import_secs,
        "learn_secs": learn_secs,
        "eval_secs": eval_secs,
        "train_secs": learn_secs - eval_secs,
        "timesteps": int(model.num_timesteps),
        "best_mean_reward": best,
        "final_mean_reward": float(final_mean),
        "final_std_reward": float(final_std),
    }
    with open(sys.argv[2], "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
