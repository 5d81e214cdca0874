"""The implicit (deep-equilibrium) layer, its gradients and its regularisers."""

from hadeq.deq.config import DEQConfig
from hadeq.deq.jacobian import jacobian_frobenius_sq, jacobian_spectral_norm, spectral_radius
from hadeq.deq.module import DEQ
from hadeq.deq.solve import solve
from hadeq.deq.spectral import contractive

__all__ = [
    "DEQ",
    "DEQConfig",
    "contractive",
    "jacobian_frobenius_sq",
    "jacobian_spectral_norm",
    "solve",
    "spectral_radius",
]
