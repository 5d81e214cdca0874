"""SPICE export and run of the analog DEQ core (ngspice, batch mode)."""

from hadeq.energy.spice.core import (
    SpiceCoreResult,
    compare_core,
    crossbar_power_w,
    simulate_core_spice,
)
from hadeq.energy.spice.netlist import (
    CoreNetlist,
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
    "RawData",
    "SpiceCoreResult",
    "SpiceRun",
    "build_core_netlist",
    "compare_core",
    "crossbar_power_w",
    "default_stop_time_ns",
    "find_ngspice",
    "parse_raw",
    "run_ngspice",
    "sanitize_identifier",
    "sanitize_title",
    "simulate_core_spice",
]
