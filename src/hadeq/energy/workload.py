"""What an inference computes: layer descriptions the accounting functions price.

These are plain numbers (features, MACs, precision), so the energy model works before the
model classes exist; later the models describe themselves with them (``LayerSpec`` per
digital or analog layer, ``DEQWorkload`` for a DEQ: injection layers, an ``n``-neuron core,
head layers, and what the core's crossbar measurably draws: :func:`layer_conductance`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from hadeq.analog.layer import AnalogMVM
from hadeq.analog.spectral import AnalogSpectralMix, sine_basis
from hadeq.energy.config import PRECISIONS
from hadeq.errors import ConfigError
from hadeq.validation import check_choice, check_int, check_range


@dataclass(frozen=True)
class LayerSpec:
    """One dense (or dense-equivalent) layer ``y = act(W x + b)``.

    ``macs`` defaults to ``in_features · out_features``; give it explicitly for layers whose
    MAC count differs (convolutions: MACs per output position × positions).
    """

    in_features: int
    """Input width, values."""
    out_features: int
    """Output width, values."""
    name: str = "layer"
    """Label used in tables."""
    precision: str | None = None
    """Digital precision of the MACs; ``None`` takes ``EnergyConfig.digital_precision``."""
    activation: bool = True
    """Whether an elementwise nonlinearity follows (charged per output)."""
    macs: int | None = None
    """MACs of one evaluation; ``None`` means in_features · out_features."""
    weights: int | None = None
    """Stored weights; ``None`` means in_features · out_features (a convolution stores
    only its kernel)."""

    def __post_init__(self) -> None:
        check_int(f"{self.name}.in_features", self.in_features, 1, 1 << 30)
        check_int(f"{self.name}.out_features", self.out_features, 1, 1 << 30)
        if self.precision is not None:
            check_choice(f"{self.name}.precision", self.precision, PRECISIONS)
        if self.macs is not None:
            check_int(f"{self.name}.macs", self.macs, 0, 1 << 62)
        if self.weights is not None:
            check_int(f"{self.name}.weights", self.weights, 0, 1 << 62)

    @property
    def n_macs(self) -> int:
        """MACs of one evaluation."""
        return self.in_features * self.out_features if self.macs is None else self.macs

    @property
    def n_weights(self) -> int:
        """Stored weights (in · out for a dense layer)."""
        return self.in_features * self.out_features if self.weights is None else self.weights


@dataclass(frozen=True)
class DEQWorkload:
    """A DEQ inference: digital injection layers x → u, an ``n``-neuron equilibrium core
    z = σ(W z + u + b), and digital head layers z* → y."""

    neurons: int
    """Core width n (state size), values."""
    injection: tuple[LayerSpec, ...]
    """Digital layers computing the injection u from the input (last one outputs n)."""
    head: tuple[LayerSpec, ...]
    """Digital layers reading out z* (first one takes n inputs)."""
    core_macs: int | None = None
    """MACs of one evaluation of the core f; ``None`` means n² (dense W). In the analog
    loop every MAC is one crossbar cell (a convolutional core is laid out once per output
    position, so all positions settle together)."""
    core_weights: int | None = None
    """Stored weights of the core (a digital DEQ reads them every iteration); ``None``
    means n² (dense W)."""
    path_amplifiers: int = 0
    """Amplifiers on the intermediate nodes of the analog loop outside the neurons (a
    spectral path's transform stages); each is biased while the loop runs."""
    core_g_fraction: float | None = None
    """Measured mean conductance of one core crossbar cell — the differential pair of one
    weight, ``(G⁺ + G⁻)/g_max`` — over the core's ``n_core_macs`` cells, dimensionless:
    ``mean |ŵ|`` with ``ŵ`` the programmed weight over its layer's full scale and
    ``g_min = 0`` (:func:`layer_conductance`). ``None``: the energy model's assumption
    (``EnergyConfig.g_mean_fraction`` per device)."""
    core_activity: float | None = None
    """Measured mean ``(V_row/V_read)²`` of the core's rows, dimensionless in [0, 1]: the
    mean ``z*²`` of the loop's outputs, which drive the rows at ``V_read·z``. The rows sit
    at ``z*`` once settled; the rise from 0 while the loop settles is not averaged in (an
    upper bound for a monotone settle), and a spectral path's cells, driven by its
    intermediate nodes, are priced at the same activity. ``None``: the energy model's
    assumption (``EnergyConfig.input_activity``)."""

    def __post_init__(self) -> None:
        check_int("neurons", self.neurons, 1, 1 << 20)
        if self.injection and self.injection[-1].out_features != self.neurons:
            raise ConfigError(
                "injection", self.injection[-1].out_features,
                f"the last injection layer must output neurons={self.neurons} values",
            )
        if self.head and self.head[0].in_features != self.neurons:
            raise ConfigError(
                "head", self.head[0].in_features,
                f"the first head layer must take neurons={self.neurons} inputs",
            )
        if self.core_macs is not None:
            check_int("core_macs", self.core_macs, 0, 1 << 62)
        if self.core_weights is not None:
            check_int("core_weights", self.core_weights, 0, 1 << 62)
        check_int("path_amplifiers", self.path_amplifiers, 0, 1 << 40)
        if self.core_g_fraction is not None:
            # A pair's programmed conductance may exceed g_max by its programming noise.
            check_range("core_g_fraction", self.core_g_fraction, 0.0, None)
        if self.core_activity is not None:
            check_range("core_activity", self.core_activity, 0.0, 1.0)

    @property
    def n_core_macs(self) -> int:
        return self.neurons**2 if self.core_macs is None else self.core_macs

    @classmethod
    def dense(cls, neurons: int, in_features: int, out_features: int) -> DEQWorkload:
        """One linear injection layer (in → n, no activation: u enters the core) and one
        linear head (n → out, no activation)."""
        check_int("neurons", neurons, 1, 1 << 20)
        return cls(
            neurons=neurons,
            injection=(LayerSpec(in_features, neurons, name="injection", activation=False),),
            head=(LayerSpec(neurons, out_features, name="head", activation=False),),
        )


def layer_conductance(layer: AnalogMVM, cells: int,
                      grid: tuple[int, int] | None = None) -> float:
    """``Σ (G⁺ + G⁻)/g_max`` over the ``cells`` crossbar cells that one evaluation of the
    analog ``layer`` on one sample uses (its MACs: one cell per MAC), dimensionless.

    A cell is the differential pair of one weight: with ``g_min = 0`` it draws
    ``g_max·|ŵ|``, ``ŵ`` the programmed effective weight over the layer's full scale
    (:meth:`~hadeq.analog.layer.AnalogMVM.effective_tiles`: quantization, device model and
    IR drop included), so a near-zero cell draws ≈ 0.

    * A crossbar layer holds its ``(out, in)`` matrix once per input vector (a conv: at
      every output position), so the sum is ``cells · mean|ŵ|``.
    * An :class:`~hadeq.analog.spectral.AnalogSpectralMix` on an ``H × W`` ``grid`` holds
      its ``m²`` mode blocks once (``m²·C_in·C_out`` cells at ``mean|ŵ|``) and the fixed
      sine transforms, each programmed at its own full scale, so a cell of ``Φ_n`` draws
      ``mean|Φ_n| / max|Φ_n|`` on average: ``Φ_H`` in ``C_in·m·H·W + C_out·H·m²`` cells,
      ``Φ_W`` in ``C_in·m²·W + C_out·H·m·W`` (the stages of its ``n_macs``).
    """
    check_int("cells", cells, 0, 1 << 62)
    with torch.no_grad():
        tiles, _ = layer.effective_tiles()  # padding cells are 0
        mean_w = float(tiles.abs().sum()) / (layer.mvm_in * layer.mvm_out)
    if not isinstance(layer, AnalogSpectralMix):
        return cells * mean_w
    if grid is None:
        raise ConfigError("grid", grid, "the (H, W) field a spectral path acts on")
    h, w = grid
    m, c_in, c_out = layer.modes, layer.in_channels, layer.out_channels
    mixing = m * m * c_in * c_out
    phi_h = c_in * m * h * w + c_out * h * m * m
    phi_w = c_in * m * m * w + c_out * h * m * w
    if mixing + phi_h + phi_w != cells:
        raise ConfigError("cells", cells, f"the spectral path's MACs on a {h}×{w} grid, "
                          f"{mixing + phi_h + phi_w}")
    return mixing * mean_w + phi_h * _basis_fraction(h, m) + phi_w * _basis_fraction(w, m)


def _basis_fraction(n: int, modes: int) -> float:
    """``mean|Φ| / max|Φ|`` of the ``modes × n`` sine basis: its cells' mean conductance
    over g_max when it is programmed at its own full scale."""
    phi = sine_basis(n, modes, dtype=torch.float64).abs()
    return float(phi.mean() / phi.max())
