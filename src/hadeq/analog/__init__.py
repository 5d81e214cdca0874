"""hadeq.analog: simulated analog in-memory-compute hardware.

- :class:`HardwareConfig` and :data:`PRESETS` — the non-idealities of a crossbar array;
- :class:`AnalogLinear`, :class:`AnalogConv2d` — layers computing on crossbar tiles, with
  ``program(seed)`` and operation counters; :func:`analogize` converts a model;
- :func:`snr_db`, :func:`measure_snr_db` — output signal-to-noise ratio.

The settling of an analog feedback loop is the fixed-point solver ``analog_relaxation``
(:class:`hadeq.solvers.AnalogRelaxation`).
"""

from hadeq.analog.config import PRESETS, DeviceModel, HardwareConfig, WeightScale
from hadeq.analog.conv import AnalogConv2d
from hadeq.analog.convert import analog_layers, analogize
from hadeq.analog.layer import AnalogMVM
from hadeq.analog.linear import AnalogLinear
from hadeq.analog.loop import LoopDynamics, LoopSampling
from hadeq.analog.metrics import measure_snr_db, snr_db

__all__ = [
    "PRESETS",
    "AnalogConv2d",
    "AnalogLinear",
    "AnalogMVM",
    "DeviceModel",
    "HardwareConfig",
    "LoopDynamics",
    "LoopSampling",
    "WeightScale",
    "analog_layers",
    "analogize",
    "measure_snr_db",
    "snr_db",
]
