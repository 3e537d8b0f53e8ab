# The Python side of a gym: worker (SB3's SubprocVecEnv worker, driven from Rust).
# Run as `python -u -c <this file> <spec json>`; it makes spec["n"] Gymnasium envs
# and answers one command per line on stdin:
#   map PATH          map the shared memory Rust created (actions in; observations,
#                     final observations, rewards and done flags out)
#   resetall SEED     reset env j with seed SEED + j ("none": without a seed)
#   reset J SEED      reset env J only
#   step J            step env J with its action, no autoreset
#   stepall           step every env; a finished one keeps its final observation
#                     and is reset at once (Gymnasium's same-step autoreset)
#   render J          answer "frame H W" and H*W*3 RGB bytes
#   check             run gymnasium.utils.env_checker.check_env on a fresh env;
#                     answer "report [warnings]"
#   close             exit
# The Python package runs its codecs in-process (it executes this file without
# running main()).
# Answers go to a private copy of stdout ("ok", "hello {...}", "err {...}"); the
# env's own prints go to stderr, which Rust keeps as the worker's last words.
import json
import os
import sys
import traceback

PROTO = None
F32_MAX = 3.4028234663852886e38


def send(line, data=b""):
    PROTO.write(line.encode() + b"\n" + data)


def fail(kind, message, with_traceback=True):
    tb = traceback.format_exc() if with_traceback else ""
    send("err " + json.dumps({"kind": kind, "message": message, "traceback": tb if tb != "NoneType: None\n" else ""}))


def finite(values):
    return [max(-F32_MAX, min(F32_MAX, float(v))) for v in values]


def version_tuple(text):
    out = []
    for part in text.split(".")[:3]:
        digits = "".join(c for c in part if c.isdigit())
        out.append(int(digits) if digits else 0)
    return tuple(out)


def describe_env(env, obs_dim, obs_low, obs_high, action_space, version):
    """What Rust reads about an env (the worker's hello, the Python package's in-process env)."""
    es = getattr(env, "spec", None)
    metadata = getattr(env, "metadata", None) or {}
    return {
        "obs_dim": obs_dim,
        "obs_low": obs_low,
        "obs_high": obs_high,
        "observation_space": str(env.observation_space),
        "action_space": action_space,
        "action_space_text": str(env.action_space),
        "max_episode_steps": getattr(es, "max_episode_steps", None),
        "reward_threshold": getattr(es, "reward_threshold", None),
        "render_fps": metadata.get("render_fps"),
        "render_modes": list(metadata.get("render_modes", [])),
        "gymnasium": version,
        "python": sys.version.split()[0],
        "pid": os.getpid(),
    }


def observation_codec(np, spaces, space):
    """(dim, low, high, encode): every observation as a flat float32 vector."""
    if isinstance(space, spaces.Box):
        low = np.broadcast_to(space.low, space.shape).astype(np.float64).ravel()
        high = np.broadcast_to(space.high, space.shape).astype(np.float64).ravel()
        return low.size, finite(low), finite(high), lambda o, out: out.__setitem__(slice(None), np.asarray(o, np.float32).ravel())
    if isinstance(space, spaces.Discrete):
        n, start = int(space.n), int(space.start)

        def one_hot(o, out):
            out[:] = 0.0
            out[int(o) - start] = 1.0

        return n, [0.0] * n, [1.0] * n, one_hot
    if isinstance(space, spaces.MultiBinary):
        n = int(np.prod(space.shape))
        return n, [0.0] * n, [1.0] * n, lambda o, out: out.__setitem__(slice(None), np.asarray(o, np.float32).ravel())
    raise TypeError(
        f"the observation space {space} is not supported: gym: environments take Box, Discrete or MultiBinary "
        "observations; flatten a Dict or Tuple space with gymnasium.wrappers.FlattenObservation in an env you register "
        "(a module named in env.gym_imports)"
    )


def action_codec(np, spaces, space):
    """(json space, width, decode): a row of float32 values back into the env's action."""
    if isinstance(space, spaces.Discrete):
        start = int(space.start)
        return {"type": "discrete", "n": int(space.n), "names": []}, 1, lambda row: int(row[0]) + start
    if isinstance(space, spaces.Box):
        low = np.broadcast_to(space.low, space.shape).astype(np.float64).ravel()
        high = np.broadcast_to(space.high, space.shape).astype(np.float64).ravel()
        shape, dtype = space.shape, space.dtype
        return {"type": "box", "low": finite(low), "high": finite(high)}, low.size, lambda row: row.reshape(shape).astype(dtype)
    raise TypeError(
        f"the action space {space} is not supported: gym: environments take Discrete or Box actions "
        "(MultiBinary, MultiDiscrete, Dict and Tuple actions are not trained by any algorithm here)"
    )


def main():
    global PROTO
    PROTO = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    spec = json.loads(sys.argv[1])
    gym_id = spec["id"]
    try:
        import numpy as np
        import gymnasium as gym
    except ImportError as e:
        fail("missing", f"{e}: install Gymnasium into this interpreter ({sys.executable}): {sys.executable} -m pip install gymnasium")
        return 3
    version = getattr(gym, "__version__", "0")
    if version_tuple(version) < (0, 26, 0):
        fail(
            "old",
            f"Gymnasium {version} is too old ({sys.executable}): gym: environments need Gymnasium 0.26 or later "
            f"(terminated/truncated steps); upgrade it: {sys.executable} -m pip install -U gymnasium",
            False,
        )
        return 3
    import importlib

    from gymnasium import spaces

    for module in spec.get("imports", []):
        try:
            importlib.import_module(module)
        except Exception as e:
            fail("import", f"env.gym_imports: importing '{module}' failed: {type(e).__name__}: {e}")
            return 3
    kwargs = dict(spec.get("kwargs", {}))
    if spec.get("render"):
        kwargs["render_mode"] = "rgb_array"
    if spec.get("max_episode_steps") is not None:
        kwargs["max_episode_steps"] = int(spec["max_episode_steps"])
    envs = []

    def make():
        try:
            return gym.make(gym_id, **kwargs)
        except TypeError as e:
            if "render_mode" not in kwargs or "render_mode" not in str(e):
                raise
            # An env without rendering: it still trains (replays and videos say it cannot draw).
            kwargs.pop("render_mode")
            return gym.make(gym_id, **kwargs)

    try:
        for _ in range(max(1, int(spec["n"]))):
            envs.append(make())
    except gym.error.Error as e:
        fail("id", f"{type(e).__name__}: {e}")
        return 3
    except Exception as e:
        fail("make", f"gymnasium.make('{gym_id}') raised {type(e).__name__}: {e}")
        return 3
    env = envs[0]
    try:
        obs_dim, obs_low, obs_high, encode = observation_codec(np, spaces, env.observation_space)
        action_space, width, decode = action_codec(np, spaces, env.action_space)
    except TypeError as e:
        fail("space", str(e), False)
        return 3
    send("hello " + json.dumps(describe_env(env, obs_dim, obs_low, obs_high, action_space, version)))
    n = len(envs)
    views = {}

    def write_obs(j, o, target="obs"):
        encode(o, views[target][j])

    def do_reset(j, seed):
        o, _ = envs[j].reset(seed=seed)
        write_obs(j, o)

    def do_step(j, autoreset):
        o, r, term, trunc, _ = envs[j].step(decode(views["act"][j]))
        views["rew"][j] = float(r)
        views["flags"][j] = (1 if term else 0) | (2 if trunc else 0)
        if autoreset and (term or trunc):
            write_obs(j, o, "fin")
            o, _ = envs[j].reset()
        write_obs(j, o)

    for raw in sys.stdin.buffer:
        parts = raw.decode().split()
        if not parts:
            continue
        cmd = parts[0]
        try:
            if cmd == "stepall":
                for j in range(n):
                    do_step(j, True)
                send("ok")
            elif cmd == "step":
                do_step(int(parts[1]), False)
                send("ok")
            elif cmd == "resetall":
                base = None if parts[1] == "none" else int(parts[1])
                for j in range(n):
                    do_reset(j, None if base is None else base + j)
                send("ok")
            elif cmd == "reset":
                do_reset(int(parts[1]), None if parts[2] == "none" else int(parts[2]))
                send("ok")
            elif cmd == "render":
                frame = envs[int(parts[1])].render()
                if frame is None:
                    raise RuntimeError("render() returned None: the env has no rgb_array rendering")
                frame = np.ascontiguousarray(np.asarray(frame, dtype=np.uint8)[:, :, :3])
                send(f"frame {frame.shape[0]} {frame.shape[1]}", frame.tobytes())
            elif cmd == "map":
                import mmap

                with open(parts[1], "r+b") as f:
                    mem = mmap.mmap(f.fileno(), 0)
                offset = 0

                def view(dtype, count, shape):
                    nonlocal offset
                    size = np.dtype(dtype).itemsize
                    offset = (offset + 7) // 8 * 8
                    v = np.frombuffer(mem, dtype=dtype, count=count, offset=offset).reshape(shape)
                    offset += count * size
                    return v

                views["act"] = view(np.float32, n * width, (n, width))
                views["obs"] = view(np.float32, n * obs_dim, (n, obs_dim))
                views["fin"] = view(np.float32, n * obs_dim, (n, obs_dim))
                views["rew"] = view(np.float64, n, (n,))
                views["flags"] = view(np.uint8, n, (n,))
                send("ok")
            elif cmd == "check":
                # Gymnasium's own env_checker on a fresh env: signatures, dtypes, seeding, spaces.
                import warnings

                from gymnasium.utils.env_checker import check_env

                fresh = gym.make(gym_id, **{k: v for k, v in kwargs.items() if k != "render_mode"})
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    check_env(fresh.unwrapped, skip_render_check=True)
                fresh.close()
                send("report " + json.dumps(sorted({str(w.message) for w in caught})))
            elif cmd == "close":
                break
            else:
                fail("protocol", f"unknown command {cmd!r}", False)
        except Exception as e:
            fail("env", f"{gym_id}: {cmd} raised {type(e).__name__}: {e}")
    for e in envs:
        try:
            e.close()
        except Exception:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
