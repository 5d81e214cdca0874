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
    parts: dict[str, Any] = field(default_factory=dict)
    """DEQ reports only: ``{"energy_j": {part: J}, "latency_ns": {part: ns},
    "core_memory_j": J}`` with parts stem, core, converters, memory, head
    (:func:`hadeq.energy.accounting.amdahl_breakdown`); empty for other reports."""

    @property
    def total_j(self) -> float:
        return self.energy.total_j

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "energy_j": self.energy.to_dict(),
            "latency_ns": float(self.latency_ns),
            "counts": {k: float(v) for k, v in self.counts.items()},
        }
        if self.parts:
            out["parts"] = {
                "energy_j": {k: float(v) for k, v in self.parts["energy_j"].items()},
                "latency_ns": {k: float(v) for k, v in self.parts["latency_ns"].items()},
                "core_memory_j": float(self.parts["core_memory_j"]),
            }
        return out


def average_reports(reports: list[EnergyReport]) -> EnergyReport:
    """The mean of reports of one kind (e.g. over seeds): energy buckets, latency, counts
    and parts averaged field by field."""
    if not reports:
        raise ValueError("at least one report is required")
    n = len(reports)
    energy = reports[0].energy
    for r in reports[1:]:
        energy = energy + r.energy
    counts = {k: sum(float(r.counts.get(k, 0.0)) for r in reports) / n
              for k in reports[0].counts}
    parts: dict[str, Any] = {}
    if all(r.parts for r in reports):
        parts = {
            key: {p: sum(r.parts[key][p] for r in reports) / n
                  for p in reports[0].parts[key]}
            for key in ("energy_j", "latency_ns")
        }
        parts["core_memory_j"] = sum(r.parts["core_memory_j"] for r in reports) / n
    return replace(reports[0], energy=energy.scaled(1.0 / n),
                   latency_ns=sum(r.latency_ns for r in reports) / n, counts=counts,
                   parts=parts)
