"""What an inference computes: layer descriptions the accounting functions price.

These are plain numbers (features, MACs, precision), so the energy model works before the
model classes exist; later the models describe themselves with them (``LayerSpec`` per
digital or analog layer, ``DEQWorkload`` for a DEQ: injection layers, an ``n``-neuron core,
head layers).
"""

from __future__ import annotations

from dataclasses import dataclass

from hadeq.energy.config import PRECISIONS
from hadeq.errors import ConfigError
from hadeq.validation import check_choice, check_int


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
