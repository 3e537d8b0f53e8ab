"""Environments for tests/core/gym_workers.rs, registered when a gym: run
imports this module (env.gym_imports=[rlr_test_envs]).

`rlr_test/Corridor-v0`: walk right along a corridor of `length` cells (Discrete
observation, one-hot in Rust) to the goal; rendered as a strip of cells.
`rlr_test/Sloppy-v0`: breaks its own observation space and seeding (for check-env).
`rlr_test/Faulty-v0`: Corridor that misbehaves once the file named by the env
var RLR_FAULT_FILE exists and holds "raise", "kill" or "hang"."""

import os
import random
import signal
import sys
import time

import gymnasium as gym
import numpy as np
from gymnasium import spaces


class Corridor(gym.Env):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, length=6, render_mode=None):
        self.length = int(length)
        self.observation_space = spaces.Discrete(self.length)
        self.action_space = spaces.Discrete(2)
        self.render_mode = render_mode
        self.pos = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.pos = int(self.np_random.integers(0, 2))
        return self.pos, {}

    def step(self, action):
        self.pos = max(0, min(self.length - 1, self.pos + (1 if int(action) == 1 else -1)))
        done = self.pos == self.length - 1
        return self.pos, (1.0 if done else -0.1), done, False, {}

    def render(self):
        frame = np.full((40, 40 * self.length, 3), 255, dtype=np.uint8)
        frame[:, 40 * (self.length - 1) :, 1] = 200
        frame[5:35, 40 * self.pos + 5 : 40 * self.pos + 35] = (200, 30, 30)
        return frame


class Faulty(Corridor):
    def step(self, action):
        path = os.environ.get("RLR_FAULT_FILE", "")
        fault = open(path).read().strip() if path and os.path.exists(path) else ""
        if fault == "raise":
            raise ValueError("boom: the test env failed on purpose")
        if fault == "kill":
            print("worker about to be killed by the test env", file=sys.stderr, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        if fault == "hang":
            print("worker hanging on purpose", file=sys.stderr, flush=True)
            time.sleep(3600)
        return super().step(action)


class Sloppy(gym.Env):
    """What check-env must catch: observations outside the declared Box, and
    starts drawn from an unseeded generator."""

    def __init__(self):
        self.observation_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.action_space = spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.array([random.random(), 0.0], np.float32), {}

    def step(self, action):
        self.t += 1
        return np.array([0.5, 2.0], np.float32), 0.0, self.t >= 10, False, {}


gym.register("rlr_test/Sloppy-v0", entry_point=Sloppy)
gym.register("rlr_test/Corridor-v0", entry_point=Corridor, max_episode_steps=50)
gym.register("rlr_test/Faulty-v0", entry_point=Faulty, max_episode_steps=50)
