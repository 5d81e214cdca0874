"""hadeq.energy: component energy/latency model, accounting, HERMES calibration, SPICE.

- :class:`EnergyConfig` — every component constant (sourced defaults, overridable);
- :class:`EnergyBreakdown` / :class:`EnergyReport` — per-inference energy in NeuroSim-like
  buckets (adc, dac, array, amplifier, digital_compute, memory, accumulation, other);
- :class:`LayerSpec`, :class:`DEQWorkload` — what an inference computes;
- :func:`digital_deq_energy`, :func:`hybrid_deq_energy`, :func:`analog_feedforward_energy` —
  pure accounting over measured iterations / settling times; :func:`analog_core_energy` —
  the analog core alone biased for a given time; :data:`SOLVER_COSTS` — what one
  iteration of each digital solver costs;
- :func:`analog_layer_energy` — from ``hadeq.analog`` layer counters;
- memory hierarchy (:func:`weight_placement`: weights on chip when they fit the
  ``onchip_buffer_bytes`` buffer, else streamed from DRAM) and one technology node
  (``EnergyConfig.node_nm``, Stillmaker & Baas scaling in :mod:`hadeq.energy.technology`);
- :func:`calibrated_energy_config`, :func:`calibration_report` — both sides against silicon
  (HERMES 9.76 TOPS/W within 20 %, an int8 edge accelerator within 2×);
  :func:`hermes_tops_per_w`, :func:`digital_tops_per_w`;
- :mod:`hadeq.energy.area` — area (mm²) of both machines, equal-area and equal-power
  digital accelerators;
- :func:`amdahl_breakdown`, :func:`compare_deq` — stem / core / converters / memory / head
  and core-only vs end-to-end ratios;
- :mod:`hadeq.energy.spice` — ngspice export and run of the analog DEQ core (crossbar and
  behavioural amplifiers), against hadeq's loop (:mod:`hadeq.analog.loop`) and energy
  model.
"""

from hadeq.energy.accounting import (
    PARTS,
    amdahl_breakdown,
    analog_core_energy,
    analog_feedforward_energy,
    analog_layer,
    analog_reads_energy,
    compare_deq,
    digital_core_iteration,
    digital_deq_energy,
    digital_layer,
    hybrid_deq_energy,
    per_sample_mean,
    solver_overhead_macs,
    tops_per_w,
    weight_placement,
)
from hadeq.energy.area import (
    deq_area_mm2,
    digital_accelerator_area_mm2,
    equal_area_macs_per_cycle,
    equal_power_macs_per_cycle,
)
from hadeq.energy.breakdown import BUCKETS, EnergyBreakdown, EnergyReport, average_reports
from hadeq.energy.calibration import (
    calibrated_energy_config,
    calibration_report,
    digital_tops_per_w,
    hermes_like_config,
    hermes_mvm_layer,
    hermes_mvm_report,
    hermes_tops_per_w,
)
from hadeq.energy.config import PRECISIONS, EnergyConfig, precision_bits
from hadeq.energy.counters import analog_counts_energy, analog_layer_energy
from hadeq.energy.reference import (
    ir_drop_first_order_error,
    ir_drop_parameter,
    ir_drop_weights_first_order,
    loop_dynamics,
    loop_settling_times_ns,
    loop_trajectory,
    random_contractive_core,
    settling_time_ns,
    software_fixed_point,
)
from hadeq.energy.solver_costs import SOLVER_COSTS, SOLVERS, SolverCost
from hadeq.energy.workload import DEQWorkload, LayerSpec

__all__ = [
    "BUCKETS",
    "PARTS",
    "PRECISIONS",
    "SOLVERS",
    "SOLVER_COSTS",
    "DEQWorkload",
    "EnergyBreakdown",
    "EnergyConfig",
    "EnergyReport",
    "LayerSpec",
    "SolverCost",
    "amdahl_breakdown",
    "analog_core_energy",
    "analog_counts_energy",
    "analog_feedforward_energy",
    "analog_layer",
    "analog_layer_energy",
    "analog_reads_energy",
    "average_reports",
    "calibrated_energy_config",
    "calibration_report",
    "compare_deq",
    "deq_area_mm2",
    "digital_accelerator_area_mm2",
    "digital_core_iteration",
    "digital_deq_energy",
    "digital_layer",
    "digital_tops_per_w",
    "equal_area_macs_per_cycle",
    "equal_power_macs_per_cycle",
    "hermes_like_config",
    "hermes_mvm_layer",
    "hermes_mvm_report",
    "hermes_tops_per_w",
    "hybrid_deq_energy",
    "ir_drop_first_order_error",
    "ir_drop_parameter",
    "ir_drop_weights_first_order",
    "loop_dynamics",
    "loop_settling_times_ns",
    "loop_trajectory",
    "per_sample_mean",
    "precision_bits",
    "random_contractive_core",
    "settling_time_ns",
    "software_fixed_point",
    "solver_overhead_macs",
    "tops_per_w",
    "weight_placement",
]
