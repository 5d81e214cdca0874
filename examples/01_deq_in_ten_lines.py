"""A deep equilibrium layer in ten lines: solve z* = tanh(W z* + x), then train through it.

    python examples/01_deq_in_ten_lines.py [--quick]

``hadeq.solve`` finds a fixed point without gradients; ``hadeq.DEQ`` is the same solve as
a layer whose output carries the implicit gradient (here: a few Adam steps that fit a
contractive W so that z* matches a target). ``hadeq.batched`` wraps a map ``f(z, x)`` so
that samples that have converged drop out of the batch (per-sample stopping).
"""

import argparse

import torch

import hadeq

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--quick", action="store_true", help="a smaller problem (for tests)")
args = parser.parse_args()
n, batch, steps = (32, 16, 5) if args.quick else (128, 64, 100)
torch.manual_seed(0)

# --- the ten lines -------------------------------------------------------------------------
W = torch.randn(n, n) * 0.5 / n**0.5                    # ‖W‖₂ ≈ 0.5 < 1: a contraction
x = torch.randn(batch, n)
f = hadeq.batched(lambda z, x: torch.tanh(z @ W.T + x), x)
z, stats = hadeq.solve(f, torch.zeros(batch, n), solver="anderson", tol=1e-6)
print(f"solve: {stats.summary()['iterations_mean']:.1f} iterations on average, "
      f"residual max {float(stats.residual.max()):.1e}, all converged: {stats.all_converged}")
residual = (torch.tanh(z @ W.T + x) - z).norm() / z.norm()
print(f"check: ‖f(z*) − z*‖ / ‖z*‖ = {float(residual):.1e}")

# --- differentiate through the fixed point --------------------------------------------------
# hadeq.deq.contractive keeps ‖W‖₂ ≤ 1 − margin whatever the optimizer does, so the map
# stays a contraction and every solve converges (exact: the SVD norm, a guarantee).
layer = hadeq.deq.contractive(torch.nn.Linear(n, n, bias=False), margin=0.1, exact=True)
target = torch.tanh(torch.randn(batch, n))
deq = hadeq.DEQ(solver="anderson", solver_options={"tol": 1e-6},
                backward="implicit", backward_options={"tol": 1e-6, "max_iter": 50})
opt = torch.optim.Adam(layer.parameters(), lr=1e-2)
for step in range(steps):
    f = hadeq.batched(lambda z, x: torch.tanh(layer(z) + x), x)
    z, stats = deq(f, torch.zeros(batch, n))
    loss = torch.mean((z - target) ** 2)
    opt.zero_grad()
    loss.backward()                                      # the implicit (adjoint) gradient
    opt.step()
    if step in (0, steps - 1):
        print(f"step {step:3d}: loss {loss.item():.4f}, "
              f"forward iterations {stats.summary()['iterations_mean']:.1f}")
print(f"done: trained W through the fixed point, ‖W‖₂ = "
      f"{float(torch.linalg.matrix_norm(layer.weight.detach(), ord=2)):.3f}")
