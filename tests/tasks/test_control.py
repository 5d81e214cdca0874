"""Pendulum: torch dynamics vs the real gymnasium env; expert and imitation in gymnasium."""

from __future__ import annotations

import math

import gymnasium
import numpy as np
import pytest
import torch

from hadeq.tasks import (
    ExpertConfig,
    ImitationConfig,
    MLPPolicy,
    PendulumExpert,
    evaluate_policy,
    observation,
    pendulum_step,
    train_imitation,
)


def test_step_matches_gymnasium():
    env = gymnasium.make("Pendulum-v1")
    rng = np.random.default_rng(0)
    worst = np.zeros(3)
    for episode in range(10):
        env.reset(seed=episode)
        for _ in range(60):
            # random states over the whole range (also beyond the speed clip) and actions
            # beyond the torque bound
            state = np.array([rng.uniform(-7, 7), rng.uniform(-9, 9)])
            env.unwrapped.state = state.copy()
            action = rng.uniform(-3, 3, size=(1,)).astype(np.float32)
            obs, reward, *_ = env.step(action)
            nxt, r = pendulum_step(torch.tensor(state), torch.tensor(action, dtype=torch.float64))
            worst = np.maximum(worst, [
                np.abs(nxt.numpy() - env.unwrapped.state).max(),
                abs(r.item() - reward),
                np.abs(observation(nxt).numpy() - obs).max(),
            ])
    assert np.all(worst < 1e-6), worst


def test_dynamics_differentiable():
    s = torch.tensor([0.3, 0.5], dtype=torch.float64)
    a = torch.tensor([0.7], dtype=torch.float64, requires_grad=True)
    nxt, _ = pendulum_step(s, a)
    (dtheta,) = torch.autograd.grad(nxt[0], a)
    assert dtheta.item() == pytest.approx(3.0 * 0.05**2)  # ∂θ'/∂u = 3/(m l²)·dt²


def test_evaluate_policy_matches_manual_rollout():
    def zero(obs):
        return np.zeros((len(obs), 1))

    result = evaluate_policy(zero, n_episodes=3, seed=7)
    for i, ret in enumerate(result.returns):
        env = gymnasium.make("Pendulum-v1")
        env.reset(seed=7 + i)
        total, done = 0.0, False
        while not done:
            _, r, term, trunc, _ = env.step(np.zeros(1, np.float32))
            total += r
            done = term or trunc
        assert ret == pytest.approx(total, abs=1e-9)
    assert result.success_rate == 0.0


@pytest.fixture(scope="module")
def expert():
    return PendulumExpert(ExpertConfig(n_theta=101, n_speed=81, sweeps=300))


def test_expert_swings_up_in_gymnasium(expert):
    rnd = evaluate_policy(expert, n_episodes=50, seed=0)
    assert rnd.mean_return > -160 and rnd.success_rate == 1.0, rnd
    hang = evaluate_policy(expert, n_episodes=10, seed=100, start="hanging")
    assert hang.success_rate == 1.0, hang


def test_imitation_improves_policy(expert):
    torch.manual_seed(0)
    policy = MLPPolicy(hidden=32)
    before = evaluate_policy(policy, n_episodes=10, seed=0).mean_return
    cfg = ImitationConfig(n_uniform_states=2000, n_expert_rollouts=8, dagger_rounds=1,
                          rollouts_per_round=8, epochs_per_round=3, batch_size=256, lr=1e-2)
    hist = train_imitation(policy, expert, cfg)
    assert hist["loss"][-1] < hist["loss"][0] and hist["n_samples"][1] > hist["n_samples"][0]
    after = evaluate_policy(policy, n_episodes=10, seed=0).mean_return
    assert after > before + 200, (before, after)


def test_before_epoch_sees_every_epochs_data_and_the_policy_trains_after_it(expert):
    """The hook runs once per epoch of every round, with that round's observations (the
    data grows with DAgger), and the policy is back in training mode after it."""
    torch.manual_seed(0)
    policy = MLPPolicy(hidden=8)
    seen = []

    def hook(obs: torch.Tensor) -> None:
        seen.append(len(obs))
        policy.eval()  # e.g. a measurement on the policy

    cfg = ImitationConfig(n_uniform_states=100, n_expert_rollouts=0, dagger_rounds=1,
                          rollouts_per_round=1, epochs_per_round=2, batch_size=50, lr=1e-2)
    modes = []  # (a training step, training mode) of every forward pass
    real_forward = policy.forward
    policy.forward = lambda x: (modes.append((torch.is_grad_enabled(), policy.training)),
                                real_forward(x))[1]
    hist = train_imitation(policy, expert, cfg, before_epoch=hook)
    assert len(seen) == 4 and seen[0] == seen[1] == hist["n_samples"][0]
    assert seen[2] == seen[3] == hist["n_samples"][1] > seen[0]
    steps = [training for grad, training in modes if grad]
    assert len(steps) == sum(2 * math.ceil(n / 50) for n in hist["n_samples"]) and all(steps)


def test_deq_policy_is_a_fixed_point_and_trains():
    from hadeq.tasks import DEQPolicy

    torch.manual_seed(0)
    policy = DEQPolicy(hidden=16)
    obs = observation(torch.rand(8, 2, dtype=torch.float64) * 4 - 2).float()
    act = policy(obs)
    assert act.shape == (8, 1) and act.abs().max() <= 2.0
    # z* really solves z = tanh(W z + U obs + b): recompute it by plain iteration
    w = policy.contractive_weight().detach()
    assert torch.linalg.matrix_norm(w, ord=2) <= 0.9 + 1e-5
    u = policy.inject(obs * torch.tensor([1.0, 1.0, 1 / 8])).detach()
    z = torch.zeros_like(u)
    for _ in range(300):
        z = torch.tanh(z @ w.T + u)
    expect = 2.0 * torch.tanh(policy.readout(z))
    torch.testing.assert_close(act, expect, atol=1e-3, rtol=0)
    act.sum().backward()
    assert policy.weight.grad is not None and policy.weight.grad.abs().sum() > 0
