"""Technology scaling of digital energy and area between CMOS nodes (pure functions).

Stillmaker & Baas (Integration 2017) fit, for every node N from 180 nm to 7 nm, the energy
of a circuit as a polynomial of the supply: ``E ∝ P_N(V) = a_N·V² + b_N·V + c_N``
(:data:`hadeq.constants.STILLMAKER_ENERGY_COEFFS`), and tabulate area ratios between nodes
(:data:`hadeq.constants.STILLMAKER_AREA_REL_45NM`). So a figure measured at (N₁, V₁) is, at
(N₂, V₂),

    E₂ = E₁ · P_N₂(V₂) / P_N₁(V₁),        A₂ = A₁ · r(N₂) / r(N₁),

with r the area relative to 45 nm. Between tabulated nodes, log P and log r are
interpolated linearly in log N (and the nominal supply linearly in log N).
"""

from __future__ import annotations

import bisect
import math

from hadeq import constants as K
from hadeq.errors import ConfigError
from hadeq.validation import check_range

NODES_NM: tuple[float, ...] = tuple(sorted(K.STILLMAKER_ENERGY_COEFFS))
"""Nodes with published scaling coefficients, nm (ascending)."""

MIN_NODE_NM: float = NODES_NM[0]
MAX_NODE_NM: float = NODES_NM[-1]


def _bracket(node_nm: float) -> tuple[float, float, float]:
    """(lower node, upper node, t) with log N = (1 − t)·log lower + t·log upper."""
    check_range("node_nm", node_nm, MIN_NODE_NM, MAX_NODE_NM)
    i = bisect.bisect_left(NODES_NM, node_nm)
    if NODES_NM[min(i, len(NODES_NM) - 1)] == node_nm:
        return node_nm, node_nm, 0.0
    lo, hi = NODES_NM[i - 1], NODES_NM[i]
    return lo, hi, (math.log(node_nm) - math.log(lo)) / (math.log(hi) - math.log(lo))


def _log_interp(node_nm: float, table: dict[float, float]) -> float:
    lo, hi, t = _bracket(node_nm)
    return math.exp((1 - t) * math.log(table[lo]) + t * math.log(table[hi]))


def nominal_vdd_v(node_nm: float) -> float:
    """Supply at which digital logic is evaluated at ``node_nm``, V
    (:data:`hadeq.constants.NODE_NOMINAL_VDD_V`, interpolated linearly in log N)."""
    lo, hi, t = _bracket(node_nm)
    return (1 - t) * K.NODE_NOMINAL_VDD_V[lo] + t * K.NODE_NOMINAL_VDD_V[hi]


def energy_polynomial(node_nm: float, vdd_v: float) -> float:
    """Stillmaker & Baas P_N(V) = a_N·V² + b_N·V + c_N at ``node_nm`` (log-interpolated
    between tabulated nodes), dimensionless."""
    check_range("vdd_v", vdd_v, 0.0, 5.0, low_open=True)
    lo, hi, t = _bracket(node_nm)

    def p(n: float) -> float:
        a, b, c = K.STILLMAKER_ENERGY_COEFFS[n]
        value = a * vdd_v**2 + b * vdd_v + c
        if value <= 0:
            raise ConfigError("vdd_v", vdd_v, f"outside the range fitted at {n:g} nm")
        return value

    return math.exp((1 - t) * math.log(p(lo)) + t * math.log(p(hi)))


def energy_scale(from_node_nm: float, from_vdd_v: float, to_node_nm: float,
                 to_vdd_v: float) -> float:
    """Factor E₂/E₁ = P_N₂(V₂)/P_N₁(V₁) for moving a digital energy from (N₁, V₁) to
    (N₂, V₂) (Stillmaker & Baas, Integration 2017)."""
    return energy_polynomial(to_node_nm, to_vdd_v) / energy_polynomial(from_node_nm, from_vdd_v)


def area_scale(from_node_nm: float, to_node_nm: float) -> float:
    """Factor A₂/A₁ = r(N₂)/r(N₁) for moving a digital area between nodes (Stillmaker & Baas,
    Integration 2017, area table; log-interpolated between tabulated nodes)."""
    table = K.STILLMAKER_AREA_REL_45NM
    return _log_interp(to_node_nm, table) / _log_interp(from_node_nm, table)
