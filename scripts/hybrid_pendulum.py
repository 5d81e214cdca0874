"""Imitation-train a HybridDEQ pendulum policy and evaluate it in gymnasium Pendulum-v1.

The policy is ``torque = 2·tanh(HybridDEQ(cos θ, sin θ, θ̇/8))``. ``train_imitation``
runs its own Adam loop, so the policy projects the core weight onto the contraction set
at the start of every training forward (i.e. right after every optimizer step).

Examples::

    python3 scripts/hybrid_pendulum.py --hardware ideal --save pend_ideal.pt
    python3 scripts/hybrid_pendulum.py --hardware hw8 --init pend_ideal.pt --rounds 1
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from hadeq.analog import HardwareConfig
from hadeq.deq import DEQConfig
from hadeq.models import HybridDEQ, HybridDEQConfig
from hadeq.tasks.control import ImitationConfig, evaluate_policy, train_imitation
from hadeq.tasks.pendulum_expert import PendulumExpert

HARDWARE = {
    "ideal": HardwareConfig.preset("ideal"),
    # 8-bit weights, DAC and ADC, read noise 0.05 of full scale at every read.
    "hw8": HardwareConfig(weight_bits=8, input_bits=8, output_bits=8, output_range=1.0,
                          read_noise=0.05),
}
MAX_TORQUE, MAX_SPEED = 2.0, 8.0


class HybridPolicy(nn.Module):
    """obs (N, 3) → torque (N, 1) through a :class:`HybridDEQ`."""

    def __init__(self, model: HybridDEQ) -> None:
        super().__init__()
        self.model = model

    def forward(self, obs: Tensor) -> Tensor:
        if self.training:
            self.model.project_contractive_()
        scaled = obs * obs.new_tensor([1.0, 1.0, 1.0 / MAX_SPEED])
        return MAX_TORQUE * torch.tanh(self.model(scaled))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--hardware", choices=sorted(HARDWARE), default="ideal")
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--stem-hidden", type=int, default=64)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--uniform", type=int, default=20000)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--episodes", type=int, default=50)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--init", type=str, default=None)
    p.add_argument("--save", type=str, default=None)
    p.add_argument("--out", type=str, default="results/conv_hybrid/pendulum.json")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    hw = HARDWARE[args.hardware]
    digital = args.hardware == "ideal"
    deq = DEQConfig(solver_options={"tol": 1e-4, "max_iter": 40},
                    backward_options={"tol": 1e-5, "max_iter": 40}, warn_unconverged=False)
    config = HybridDEQConfig(in_features=3, out_features=1, hidden=args.hidden,
                             stem_hidden=args.stem_hidden,
                             injection_bits=None if digital else 8, hardware=hw, deq=deq)
    policy = HybridPolicy(HybridDEQ(config, seed=args.seed))
    if args.init:
        policy.load_state_dict(load_file(args.init))
    t0 = time.perf_counter()
    expert = PendulumExpert()
    expert_s = time.perf_counter() - t0
    imitation = ImitationConfig(n_uniform_states=args.uniform, dagger_rounds=args.rounds,
                                epochs_per_round=args.epochs, lr=args.lr, seed=args.seed)
    t0 = time.perf_counter()
    history = train_imitation(policy, expert, imitation, log=print)
    train_s = time.perf_counter() - t0
    policy.eval()
    t0 = time.perf_counter()
    with torch.no_grad():
        res = evaluate_policy(policy, n_episodes=args.episodes, seed=args.seed)
    result = {
        "task": "pendulum", "hardware": args.hardware, "hardware_config": hw.to_dict(),
        "hidden": args.hidden, "stem_hidden": args.stem_hidden,
        "imitation": {"n_uniform_states": args.uniform, "dagger_rounds": args.rounds,
                      "epochs_per_round": args.epochs, "lr": args.lr},
        "init": args.init, "mean_return": res.mean_return, "std_return": res.std_return,
        "success_rate": res.success_rate, "episodes": args.episodes,
        "expert_build_s": expert_s, "train_wall_s": train_s,
        "eval_wall_s": time.perf_counter() - t0, "history": history,
    }
    print(json.dumps({k: v for k, v in result.items() if k != "history"}, indent=1))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    if args.save:
        save_file(policy.state_dict(), args.save)


if __name__ == "__main__":
    main()
