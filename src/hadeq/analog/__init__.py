"""hadeq.analog: simulated analog in-memory-compute hardware.

- :class:`HardwareConfig` and :data:`PRESETS` — the non-idealities of a crossbar array;
- :class:`AnalogLinear`, :class:`AnalogConv2d` — layers computing on crossbar tiles, with
  ``program(seed)`` and operation counters; :func:`analogize` converts a model;
- :func:`snr_db`, :func:`measure_snr_db` — output signal-to-noise ratio;
- :class:`AnalogRelaxation` — the continuous-time settling of an analog feedback loop,
  registered as the fixed-point solver ``analog_relaxation``; :func:`settle_network`
  simulates ``τ·da/dt = −a + W·σ(a) + u`` directly.
"""

from hadeq.analog.base import AnalogMVM
from hadeq.analog.config import PRESETS, DeviceModel, HardwareConfig, WeightScale
from hadeq.analog.conv import AnalogConv2d
from hadeq.analog.convert import analog_layers, analogize
from hadeq.analog.linear import AnalogLinear
from hadeq.analog.metrics import measure_snr_db, snr_db
from hadeq.analog.relaxation import AnalogRelaxation, SettleResult, settle_network
from hadeq.solvers import register_solver

register_solver(AnalogRelaxation.name, AnalogRelaxation)

__all__ = [
    "PRESETS",
    "AnalogConv2d",
    "AnalogLinear",
    "AnalogMVM",
    "AnalogRelaxation",
    "DeviceModel",
    "HardwareConfig",
    "SettleResult",
    "WeightScale",
    "analog_layers",
    "analogize",
    "measure_snr_db",
    "settle_network",
    "snr_db",
]
