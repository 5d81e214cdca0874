"""SPICE export and run of the analog DEQ core — crossbar and behavioural amplifiers —
(ngspice, batch mode), compared with hadeq's loop and energy model."""

from hadeq.energy.spice.core import (
    SpiceCoreResult,
    compare_core,
    crossbar_power_w,
    model_core_energy_j,
    simulate_core_spice,
    stop_time_ns,
    trajectory_max_abs_error,
)
from hadeq.energy.spice.netlist import (
    CoreNetlist,
    OpAmpModel,
    amplifier_lag_ns,
    build_core_netlist,
    default_stop_time_ns,
    sanitize_identifier,
    sanitize_title,
)
from hadeq.energy.spice.raw import RawData, parse_raw
from hadeq.energy.spice.runner import NGSPICE_ENV, SpiceRun, find_ngspice, run_ngspice

__all__ = [
    "NGSPICE_ENV",
    "CoreNetlist",
    "OpAmpModel",
    "RawData",
    "SpiceCoreResult",
    "SpiceRun",
    "amplifier_lag_ns",
    "build_core_netlist",
    "compare_core",
    "crossbar_power_w",
    "default_stop_time_ns",
    "find_ngspice",
    "model_core_energy_j",
    "parse_raw",
    "run_ngspice",
    "sanitize_identifier",
    "sanitize_title",
    "simulate_core_spice",
    "stop_time_ns",
    "trajectory_max_abs_error",
]
