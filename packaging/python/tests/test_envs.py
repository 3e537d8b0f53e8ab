"""Our envs through Gymnasium: check_env, registration, parity with
gymnasium.make and with the shared Gymnasium fixtures, the vector env."""

import json

import gymnasium as gym
import numpy as np
import pytest
from conftest import FIXTURES
from gymnasium.utils.env_checker import check_env

import rl_research.envs as envs


@pytest.mark.parametrize(
    "env_id",
    ["CartPole-v1", "LunarLander-v3", "LunarLander-v2", "Acrobot-v1", "MountainCar-v0", "MountainCarContinuous-v0", "Pendulum-v1", "LunarLanderContinuous-v3"],
)
def test_check_env_passes(env_id):
    check_env(envs.make(env_id, render_mode="rgb_array"), skip_render_check=False)
    check_env(gym.make(f"rl_research/{env_id}").unwrapped)


def test_frames_are_rgb_arrays():
    env = envs.make("LunarLander-v3", render_mode="rgb_array")
    env.reset(seed=1)
    frame = env.render()
    assert frame.shape == (400, 600, 3) and frame.dtype == np.uint8 and frame.std() > 0
    assert envs.make("CartPole-v1").render() is None, "no render_mode, no frames"
    # Gymnasium's sizes: Acrobot and Pendulum draw 500x500.
    for env_id, shape in [("Acrobot-v1", (500, 500, 3)), ("MountainCar-v0", (400, 600, 3)), ("Pendulum-v1", (500, 500, 3))]:
        env = envs.make(env_id, render_mode="rgb_array")
        env.reset(seed=0)
        assert env.render().shape == shape, env_id


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Acrobot-v1", "MountainCar-v0", "MountainCarContinuous-v0", "Pendulum-v1"])
def test_reset_seed_starts_gymnasiums_episode(env_id):
    """Gymnasium's seeding (SeedSequence + PCG64): reset(seed=s) gives Gymnasium's start s."""
    ours, theirs = envs.make(env_id), gym.make(env_id)
    for seed in [0, 1, 7, 123456, 2**40 + 3]:
        a, _ = ours.reset(seed=seed)
        b, _ = theirs.reset(seed=seed)
        assert np.array_equal(a, b), (env_id, seed, a, b)


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Acrobot-v1", "MountainCar-v0", "MountainCarContinuous-v0", "Pendulum-v1"])
def test_render_fps_is_gymnasiums(env_id):
    assert envs.make(env_id).metadata["render_fps"] == gym.make(env_id).metadata["render_fps"]


def test_cartpole_equals_gymnasium_step_for_step():
    """From Gymnasium's seeded start, every observation, reward and flag is
    equal, to the time limit."""
    ours, theirs = envs.make("CartPole-v1"), gym.make("CartPole-v1")
    rng = np.random.default_rng(7)
    for seed in range(5):
        b, _ = theirs.reset(seed=seed)
        ours.reset(seed=seed)
        a = ours.set_state(theirs.unwrapped.state)
        assert a.dtype == b.dtype == np.float32 and np.array_equal(a, b)
        policy = (lambda o: int(rng.integers(2))) if seed % 2 == 0 else (lambda o: int(o[2] + 0.5 * o[3] > 0))
        steps = 0
        while True:
            action = policy(a)
            ra = ours.step(action)
            rb = theirs.step(action)
            steps += 1
            assert np.array_equal(ra[0], rb[0]) and ra[1:4] == rb[1:4], (seed, steps, ra, rb)
            a = ra[0]
            if ra[2] or ra[3]:
                break
        assert seed % 2 == 0 or steps == 500, "the balancing rule reaches the time limit"


def test_cartpole_replays_the_shared_fixtures_exactly():
    path = FIXTURES / "cartpole_v1.jsonl"
    if not path.exists():
        pytest.skip(f"no fixtures at {path} (set RL_RESEARCH_GYM_FIXTURES)")
    for line in path.read_text().splitlines():
        ep = json.loads(line)
        env = envs.make("CartPole-v1")
        env.reset(seed=ep["seed"])
        obs = env.set_state(ep["initial_state"])
        assert np.array_equal(obs, np.asarray(ep["reset_obs"], dtype=np.float64).astype(np.float32))
        for k, s in enumerate(ep["steps"]):
            obs, reward, terminated, truncated, _ = env.step(s["action"])
            assert np.array_equal(obs, np.asarray(s["obs"], dtype=np.float64).astype(np.float32)), k
            assert (reward, terminated, truncated) == (s["reward"], s["terminated"], s["truncated"]), k
        assert len(ep["steps"]) == ep["episode_length"]


def test_continuous_lunar_lander_as_gymnasium_makes_it():
    """`continuous=True` switches LunarLander-v3 to Box actions, as gymnasium.make takes it."""
    for env in [envs.make("LunarLander-v3", continuous=True), envs.make("LunarLanderContinuous-v3")]:
        assert env.action_space == gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        env.reset(seed=0)
        obs, reward, *_ = env.step(np.array([1.0, -0.8], np.float32))
        assert obs.shape == (8,) and np.isfinite(reward)
    assert isinstance(envs.make("LunarLanderContinuous-v3", continuous=False).action_space, gym.spaces.Discrete)


def test_parameters_and_bad_ones():
    env = envs.make("LunarLander-v3", gravity=-5.0, enable_wind=True, wind_power=10.0)
    env.reset(seed=0)
    assert env.step(0)[0].shape == (8,)
    with pytest.raises(TypeError, match="unknown parameter 'gravityy'"):
        envs.make("LunarLander-v3", gravityy=-5.0)
    with pytest.raises(ValueError, match="gravity"):
        envs.make("LunarLander-v3", gravity=5.0)
    with pytest.raises(ValueError, match="unknown env id 'Pong-v5'"):
        envs.make("Pong-v5")
    with pytest.raises(ValueError, match="outside the action space"):
        envs.make("CartPole-v1").step(2)


def test_vector_env_steps_in_rust_and_matches_single_envs():
    n = 4
    venv = envs.make_vec("CartPole-v1", num_envs=n)
    singles = [envs.make("CartPole-v1") for _ in range(n)]
    obs, _ = venv.reset(seed=10)
    assert obs.shape == (n, 4) and venv.observation_space.shape == (n, 4)
    expect = np.stack([e.reset(seed=10 + i)[0] for i, e in enumerate(singles)])
    assert np.array_equal(obs, expect)
    rng = np.random.default_rng(0)
    finished = 0
    for _ in range(300):
        actions = rng.integers(2, size=n)
        obs, rewards, terminated, truncated, info = venv.step(actions)
        for i, e in enumerate(singles):
            o, r, te, tr, _ = e.step(int(actions[i]))
            assert r == rewards[i] and te == terminated[i] and tr == truncated[i]
            if te or tr:
                finished += 1
                assert info["_final_obs"][i] and np.array_equal(info["final_obs"][i], o)
                o, _ = e.reset()  # SAME_STEP autoreset: the next episode's first observation
            else:
                assert np.array_equal(obs[i], o)
    assert finished > 5
