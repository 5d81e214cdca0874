"""Pendulum swing-up: evaluation in the real gymnasium environment, and imitation learning.

A *policy* is any callable mapping a batch of observations (N, 3) = (cos θ, sin θ, θ̇) to
torques (N, 1) or (N,). :func:`evaluate_policy` runs it in ``gymnasium.make("Pendulum-v1")``
— the real environment, not our torch copy — for seeded episodes and reports the mean ±
standard deviation of the undiscounted 200-step return and the swing-up success rate,
success meaning |normalize(θ)| < 0.1 rad at every one of the last 50 steps.
An ``nn.Module`` policy is called on a float32 torch tensor under ``torch.no_grad()``; any
other callable on a float32 numpy array.

:func:`train_imitation` fits any ``nn.Module`` policy to an expert (by default the
value-iteration expert of :mod:`hadeq.tasks.pendulum_expert`) by DAgger-style behaviour
cloning on our differentiable copy of the dynamics: the data set starts with states
drawn uniformly over the state space plus expert roll-outs, and each round adds the
states the *current policy* visits, labelled by the expert, so the learner is trained
where it actually goes (Ross et al. 2011). The loss is the mean squared torque error.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from typing import Literal

import numpy as np
import torch
from torch import nn

from hadeq import constants as C
from hadeq.tasks.pendulum import (
    MAX_SPEED,
    MAX_TORQUE,
    observation,
    pendulum_step,
)
from hadeq.validation import check_choice, check_int, check_range

Policy = Callable[[np.ndarray | torch.Tensor], np.ndarray | torch.Tensor]

ENV_ID = "Pendulum-v1"
SUCCESS_ANGLE_RAD = 0.1
"""Upright tolerance |θ| of the success criterion."""
SUCCESS_WINDOW_STEPS = 50
"""The success criterion must hold over this many final steps."""
HANGING_JITTER = 0.05
"""Half-width (rad and rad/s) of the uniform jitter around θ = π, θ̇ = 0 of a hanging start,
so that the episodes of a deterministic policy are not all identical."""


@dataclasses.dataclass(frozen=True)
class ControlResult:
    """Returns of seeded episodes in the real environment."""

    mean_return: float
    std_return: float
    success_rate: float
    """Fraction of episodes with |θ| < 0.1 rad over the last 50 steps."""
    returns: tuple[float, ...]
    start: str
    seed: int
    wall_s: float

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def _act(policy: Policy, obs: np.ndarray) -> np.ndarray:
    if isinstance(policy, nn.Module):
        with torch.no_grad():
            out = policy(torch.from_numpy(obs))
    else:
        out = policy(obs)
    if isinstance(out, torch.Tensor):
        out = out.detach().cpu().numpy()
    return np.asarray(out, dtype=np.float32).reshape(len(obs), 1)


def evaluate_policy(
    policy: Policy,
    n_episodes: int = 50,
    seed: int = 0,
    start: Literal["random", "hanging"] = "random",
) -> ControlResult:
    """Run ``n_episodes`` episodes of gymnasium Pendulum-v1 with ``policy``.

    Episode i resets with seed ``seed + i``. ``start="random"`` keeps gymnasium's start
    (θ ~ U[−π, π], θ̇ ~ U[−1, 1]); ``"hanging"`` then overwrites the state with
    θ = π + U[−0.05, 0.05], θ̇ = U[−0.05, 0.05] (seeded), the hard swing-up start. The
    episodes run in lock-step so the policy sees one batch per time step.
    """
    import gymnasium

    check_int("n_episodes", n_episodes, 1)
    check_choice("start", start, ("random", "hanging"))
    t0 = time.perf_counter()
    envs = [gymnasium.make(ENV_ID) for _ in range(n_episodes)]
    obs = []
    for i, env in enumerate(envs):
        o, _ = env.reset(seed=seed + i)
        if start == "hanging":
            jitter = np.random.default_rng(seed + i).uniform(-HANGING_JITTER, HANGING_JITTER, 2)
            env.unwrapped.state = np.array([math.pi + jitter[0], jitter[1]])
            o = env.unwrapped._get_obs()
        obs.append(o)
    returns = np.zeros(n_episodes)
    upright = np.ones(n_episodes, dtype=bool)
    done = np.zeros(n_episodes, dtype=bool)
    step = 0
    while not done.all():
        actions = _act(policy, np.stack(obs).astype(np.float32))
        step += 1
        for i, env in enumerate(envs):
            if done[i]:
                continue
            o, r, terminated, truncated, _ = env.step(actions[i])
            obs[i] = o
            returns[i] += float(r)
            if step > C.PENDULUM_EPISODE_STEPS - SUCCESS_WINDOW_STEPS:
                theta = float(env.unwrapped.state[0])
                upright[i] &= abs((theta + math.pi) % (2 * math.pi) - math.pi) < SUCCESS_ANGLE_RAD
            done[i] = terminated or truncated
    for env in envs:
        env.close()
    return ControlResult(
        mean_return=float(returns.mean()),
        std_return=float(returns.std()),
        success_rate=float(upright.mean()),
        returns=tuple(float(r) for r in returns),
        start=start,
        seed=seed,
        wall_s=time.perf_counter() - t0,
    )


# --------------------------------------------------------------------------- policies
class MLPPolicy(nn.Module):
    """obs (N, 3) → torque 2·tanh(MLP(obs)) (N, 1): a plain feed-forward baseline."""

    def __init__(self, hidden: int = 64, depth: int = 2) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = 3
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.Tanh()]
            width = hidden
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return MAX_TORQUE * torch.tanh(self.net(_scaled(obs)))


def _scaled(obs: torch.Tensor) -> torch.Tensor:
    """(cos θ, sin θ, θ̇/8): all inputs of order one."""
    return obs * obs.new_tensor([1.0, 1.0, 1.0 / MAX_SPEED])


class DEQPolicy(nn.Module):
    """A small implicit policy: z* = tanh(W z* + U obs + b), torque = 2·tanh(v·z* + c).

    W is rescaled to spectral norm ≤ 1 − margin in every forward (exact σ_max by SVD,
    cheap at this width), so z ↦ tanh(Wz + ·) is a contraction and z* is unique. The fixed
    point is found and differentiated by :class:`hadeq.DEQ` (implicit gradients).
    """

    def __init__(self, hidden: int = 64, margin: float = 0.1, **deq_options: object) -> None:
        super().__init__()
        from hadeq.deq import DEQ  # lazy: hadeq.deq is optional for the rest of tasks

        check_int("hidden", hidden, 1)
        check_range("margin", margin, 0.0, 1.0, low_open=True, high_open=True)
        self.margin = margin
        self.inject = nn.Linear(3, hidden)
        self.weight = nn.Parameter(torch.randn(hidden, hidden) * 0.5 / math.sqrt(hidden))
        self.readout = nn.Linear(hidden, 1)
        options = {"solver": "anderson", "warn_unconverged": False, **deq_options}
        self.deq = DEQ(**options)

    def contractive_weight(self) -> torch.Tensor:
        sigma = torch.linalg.matrix_norm(self.weight, ord=2)
        return self.weight * torch.clamp((1.0 - self.margin) / sigma, max=1.0)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        from hadeq.solvers import batched

        u = self.inject(_scaled(obs))
        w = self.contractive_weight()
        f = batched(lambda z, inj: torch.tanh(z @ w.T + inj), u)
        z, _ = self.deq(f, torch.zeros_like(u))
        return MAX_TORQUE * torch.tanh(self.readout(z))


# --------------------------------------------------------------------------- imitation
@dataclasses.dataclass(frozen=True)
class ImitationConfig:
    """Settings of DAgger-style behaviour cloning on the torch pendulum."""

    n_uniform_states: int = 20000
    """States drawn uniformly over θ ∈ [−π, π), θ̇ ∈ [−8, 8] for the initial data set."""
    n_expert_rollouts: int = 64
    """Expert roll-outs (200 steps each, random gymnasium-like starts) in the initial data."""
    dagger_rounds: int = 3
    """Rounds that add the states visited by the current policy, labelled by the expert."""
    rollouts_per_round: int = 64
    """Policy roll-outs per DAgger round (half from random, half from hanging starts)."""
    epochs_per_round: int = 10
    """Passes over the aggregated data after each round (and before the first)."""
    batch_size: int = 256
    """Minibatch size."""
    lr: float = 3e-3
    """Adam learning rate (cosine-decayed to 10 % over each round)."""
    seed: int = 0
    """Seed of state sampling, roll-outs and minibatch order."""

    def __post_init__(self) -> None:
        check_int("n_uniform_states", self.n_uniform_states, 0)
        check_int("n_expert_rollouts", self.n_expert_rollouts, 0)
        check_int("dagger_rounds", self.dagger_rounds, 0)
        check_int("rollouts_per_round", self.rollouts_per_round, 1)
        check_int("epochs_per_round", self.epochs_per_round, 1)
        check_int("batch_size", self.batch_size, 1)
        check_range("lr", self.lr, 0.0, low_open=True)
        check_int("seed", self.seed, 0)


def _random_starts(gen: torch.Generator, n: int, hanging_fraction: float = 0.0) -> torch.Tensor:
    theta = (torch.rand(n, generator=gen, dtype=torch.float64) * 2 - 1) * math.pi
    speed = torch.rand(n, generator=gen, dtype=torch.float64) * 2 - 1
    n_hang = round(hanging_fraction * n)
    jitter = torch.rand(n_hang, generator=gen, dtype=torch.float64) - 0.5
    theta[:n_hang] = math.pi + 2 * HANGING_JITTER * jitter
    speed[:n_hang] *= HANGING_JITTER
    return torch.stack([theta, speed], dim=-1)


def rollout_states(policy: Policy, starts: torch.Tensor,
                   steps: int = C.PENDULUM_EPISODE_STEPS) -> torch.Tensor:
    """All states (steps·N, 2) visited by ``policy`` from ``starts`` (N, 2) in the torch model."""
    states = []
    s = starts
    with torch.no_grad():
        for _ in range(steps):
            states.append(s)
            obs = observation(s).float()
            a = policy(obs)
            a = torch.as_tensor(a).to(torch.float64).reshape(len(s))
            s, _ = pendulum_step(s, a)
    return torch.cat(states)


def train_imitation(
    policy: nn.Module,
    expert: Policy,
    config: ImitationConfig | None = None,
    log: Callable[[str], None] | None = None,
    after_step: Callable[[], object] | None = None,
    before_epoch: Callable[[torch.Tensor], object] | None = None,
) -> dict[str, list[float]]:
    """Fit ``policy`` to ``expert`` by DAgger; returns the loss per round and data sizes.

    ``after_step`` runs after every optimizer step, e.g. a DEQ policy's projection that
    keeps its feedback weight contractive; ``before_epoch`` before every epoch with the
    observations trained on, e.g. to set the chip's read noise for the weights so far.
    """
    cfg = config or ImitationConfig()
    gen = torch.Generator().manual_seed(cfg.seed)
    torch.manual_seed(cfg.seed)

    def label(states: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            act = expert(observation(states).float())
        return torch.as_tensor(act).float().reshape(-1, 1)

    pieces = []
    if cfg.n_uniform_states:
        u = torch.rand(cfg.n_uniform_states, 2, generator=gen, dtype=torch.float64) * 2 - 1
        pieces.append(u * torch.tensor([math.pi, MAX_SPEED], dtype=torch.float64))
    if cfg.n_expert_rollouts:
        starts = _random_starts(gen, cfg.n_expert_rollouts, hanging_fraction=0.25)
        pieces.append(rollout_states(expert, starts))
    states = torch.cat(pieces) if pieces else torch.empty(0, 2, dtype=torch.float64)
    actions = label(states) if len(states) else torch.empty(0, 1)
    history: dict[str, list[float]] = {"loss": [], "n_samples": []}
    opt = torch.optim.Adam(policy.parameters(), lr=cfg.lr)
    for rnd in range(cfg.dagger_rounds + 1):
        if rnd > 0:
            policy.eval()
            starts = _random_starts(gen, cfg.rollouts_per_round, hanging_fraction=0.5)
            new = rollout_states(policy, starts)
            states = torch.cat([states, new])
            actions = torch.cat([actions, label(new)])
        if len(states) == 0:
            raise ValueError("imitation needs data: set n_uniform_states or n_expert_rollouts")
        obs = observation(states).float()
        policy.train()
        n_batches = math.ceil(len(obs) / cfg.batch_size) * cfg.epochs_per_round
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, n_batches, eta_min=0.1 * cfg.lr)
        for group in opt.param_groups:
            group["lr"] = cfg.lr
        total = 0.0
        for _ in range(cfg.epochs_per_round):
            if before_epoch is not None:
                before_epoch(obs)
                policy.train()
            perm = torch.randperm(len(obs), generator=gen)
            total = 0.0
            for start in range(0, len(obs), cfg.batch_size):
                idx = perm[start:start + cfg.batch_size]
                loss = torch.mean((policy(obs[idx]) - actions[idx]) ** 2)
                opt.zero_grad()
                loss.backward()
                opt.step()
                if after_step is not None:
                    after_step()
                sched.step()
                total += loss.item() * len(idx)
        history["loss"].append(total / len(obs))
        history["n_samples"].append(float(len(obs)))
        if log is not None:
            log(f"round {rnd}: {len(obs)} samples, mse {total / len(obs):.4f}")
    policy.eval()
    return history
