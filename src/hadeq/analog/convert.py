"""Converting the digital layers of a model to analog ones."""

from __future__ import annotations

import copy

from torch import nn

from hadeq.analog.config import HardwareConfig
from hadeq.analog.conv import AnalogConv2d
from hadeq.analog.layer import AnalogMVM
from hadeq.analog.linear import AnalogLinear


def analogize(model: nn.Module, hardware: HardwareConfig, *, seed: int = 0,
              inplace: bool = True) -> nn.Module:
    """Replace every :class:`torch.nn.Linear` and :class:`torch.nn.Conv2d` in ``model`` by
    :class:`AnalogLinear` / :class:`AnalogConv2d` with the same weights.

    By default the model is changed **in place** and returned; ``inplace=False`` converts
    a deep copy and leaves ``model`` untouched. If ``model`` itself is a Linear/Conv2d the
    converted layer is returned (``model`` cannot be replaced in place then). The i-th
    converted layer (in ``named_modules`` order) is programmed with ``seed + i`` so that
    equally shaped layers get independent static noise.
    """
    if not inplace:
        model = copy.deepcopy(model)
    counter = [seed]

    def convert(module: nn.Module) -> nn.Module:
        if isinstance(module, AnalogMVM):
            return module
        new: nn.Module | None = None
        if isinstance(module, nn.Linear):
            new = AnalogLinear.from_linear(module, hardware, seed=counter[0])
        elif isinstance(module, nn.Conv2d):
            new = AnalogConv2d.from_conv(module, hardware, seed=counter[0])
        if new is not None:
            counter[0] += 1
            return new
        for name, child in module.named_children():
            replaced = convert(child)
            if replaced is not child:
                setattr(module, name, replaced)
        return module

    return convert(model)


def analog_layers(model: nn.Module) -> list[AnalogMVM]:
    """Every analog layer in ``model`` (e.g. to program or read counters of all)."""
    return [m for m in model.modules() if isinstance(m, AnalogMVM)]
