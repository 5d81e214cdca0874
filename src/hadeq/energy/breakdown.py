"""Per-inference energy and latency results in NeuroSim-like buckets."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

BUCKETS: tuple[str, ...] = (
    "adc",
    "dac",
    "array",
    "amplifier",
    "digital_compute",
    "memory",
    "accumulation",
    "other",
)
"""Energy buckets, in the order tables list them."""


@dataclass(frozen=True)
class EnergyBreakdown:
    """Energy of one inference split by component, J.

    ``adc``/``dac``: converter conversions; ``array``: crossbar read (V²·G·t plus bitline
    C·V²); ``amplifier``: neuron / sense amplifier bias power × on-time; ``digital_compute``:
    digital MACs, activations and solver arithmetic; ``memory``: SRAM/DRAM traffic of
    weights and activations; ``accumulation``: digital adds of partial sums across tiles;
    ``other``: drivers, buffers, control (``EnergyConfig.other_fraction``).
    """

    adc_j: float = 0.0
    dac_j: float = 0.0
    array_j: float = 0.0
    amplifier_j: float = 0.0
    digital_compute_j: float = 0.0
    memory_j: float = 0.0
    accumulation_j: float = 0.0
    other_j: float = 0.0

    @property
    def total_j(self) -> float:
        """Sum of all buckets, J."""
        return float(sum(getattr(self, f.name) for f in fields(self)))

    def __add__(self, other: EnergyBreakdown) -> EnergyBreakdown:
        if not isinstance(other, EnergyBreakdown):
            return NotImplemented
        return EnergyBreakdown(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    def scaled(self, factor: float) -> EnergyBreakdown:
        """Every bucket multiplied by ``factor``."""
        return EnergyBreakdown(**{f.name: getattr(self, f.name) * factor for f in fields(self)})

    def with_other(self, fraction: float) -> EnergyBreakdown:
        """A copy whose ``other`` bucket adds ``fraction`` × (all other buckets)."""
        rest = self.total_j - self.other_j
        return replace(self, other_j=self.other_j + fraction * rest)

    def to_dict(self) -> dict[str, float]:
        """``{bucket: joules, ..., 'total': joules}`` (keys without the ``_j`` suffix)."""
        out = {name: float(getattr(self, f"{name}_j")) for name in BUCKETS}
        out["total"] = self.total_j
        return out


@dataclass(frozen=True)
class EnergyReport:
    """Energy breakdown and latency of one inference, with the counts behind them."""

    energy: EnergyBreakdown
    latency_ns: float
    """Latency of one inference, ns."""
    kind: str
    """``'digital_deq'``, ``'hybrid_deq'`` or ``'analog_feedforward'``."""
    counts: dict[str, float] = field(default_factory=dict)
    """Operation counts per inference (MACs, conversions, iterations, ...)."""

    @property
    def total_j(self) -> float:
        return self.energy.total_j

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "energy_j": self.energy.to_dict(),
            "latency_ns": float(self.latency_ns),
            "counts": {k: float(v) for k, v in self.counts.items()},
        }
