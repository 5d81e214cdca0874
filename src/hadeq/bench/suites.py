"""What a suite runs: tasks, models, seeds, hardware points, sweeps and assumptions."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from hadeq import constants as C
from hadeq.validation import check_choice

HEADLINE_HARDWARE: dict[str, Any] = {
    "preset": "hermes_pcm_8bit",
    "weight_bits": C.PROPOSAL_WEIGHT_BITS,
    "read_noise": 0.05,
}
"""The chip every analog model is trained on (hardware- and physics-aware) and the
headline is judged on: a HERMES-like PCM core with 8-bit weights, drift to one hour,
8-bit converters, and read noise 0.05 of full scale (SNR ≈ 21 dB for a signal spanning
the range, FACTS.md). At the headline its read noise is replaced per trained model by
the one where that model's crossbars measure :data:`HEADLINE_SNR_DB`."""

HEADLINE_SNR_DB: float = C.PROPOSAL_SNR_DB
"""The headline's crossbar SNR, the proposal's threshold. No read noise of the preset
sets it for every model: trained cores sit several dB above it on the preset chip with
or without read noise (static device errors dominate; each cell records its static
SNR), while a crossbar with initial weights and inputs spanning the DAC range is near it
without any, so the point is found per trained model
(:func:`hadeq.training.snr.read_noise_for_snr`) and recorded in each cell."""


CALIBRATION_SAMPLES = 256
"""Held-out training inputs (the last of the training set) on which every chip's loop is
calibrated, by default (:attr:`TaskPlan.calibration_samples`)."""


def _frozen(mapping: dict[str, Any]) -> MappingProxyType[str, Any]:
    return MappingProxyType(mapping)


SNR_FIELD = "mvm_snr_db"
"""A corner field that is no hardware field: the read noise is found, per trained model,
at which its core crossbar's SNR on the chip is this many dB
(:func:`hadeq.training.snr.read_noise_for_snr`)."""

HARSH_CORNERS: dict[str, MappingProxyType[str, Any]] = {
    "noise=0.2": MappingProxyType({"read_noise": 0.2}),
    "noise=0.5": MappingProxyType({"read_noise": 0.5}),
    "noise=1.0": MappingProxyType({"read_noise": 1.0}),
    "bits=4,io=4": MappingProxyType({"weight_bits": 4, "input_bits": 4, "output_bits": 4}),
    "bits=4,io=6": MappingProxyType({"weight_bits": 4, "input_bits": 6, "output_bits": 6}),
    "drift=1y,uncompensated": MappingProxyType({"t_inference_s": C.SECONDS_PER_YEAR,
                                                "drift_compensation": False}),
}
"""Corners beyond the sweeps, where standard training should fail (each the preset chip
with the fields given): read noise up to the full scale of one device at the rail, 4-bit
weights with 4–6-bit converters, PCM drift to one year without the global drift
compensation. A corner may also give :data:`SNR_FIELD` (a crossbar SNR in dB) instead of
a read noise."""


@dataclass(frozen=True)
class TaskPlan:
    """One task of a suite and the models trained on it."""

    task: str
    """Registered task name."""
    task_options: MappingProxyType[str, Any] = field(default_factory=lambda: _frozen({}))
    """Options of the task loader."""
    hybrid: MappingProxyType[str, Any] = field(default_factory=lambda: _frozen({}))
    """Model section of the hybrid (and digital) DEQ: ``kind`` plus its options."""
    baselines: MappingProxyType[str, Any] = field(default_factory=lambda: _frozen({}))
    """Name → model section of each baseline (trained hardware-aware on the headline
    hardware)."""
    train: MappingProxyType[str, Any] = field(default_factory=lambda: _frozen({}))
    """Training settings: ``epochs``, ``batch_size``, ``lr`` (classification/regression)
    or the imitation settings (control)."""
    regularizers: bool = False
    """Train one extra physics-aware model per physics-informed term (seed 0)."""
    sweep_episodes: int | None = None
    """Control only: episodes per sweep point; None: the headline's (``task_options``'s
    ``n_episodes``), so that sweep points and the headline are equally precise."""
    seeds: tuple[int, ...] | None = None
    """Seeds of this task; None: the suite's."""
    calibration_samples: int = CALIBRATION_SAMPLES
    """Held-out training inputs every chip's loop is calibrated on (fixed ranges, the
    sampling instant ``t_s`` as their settling times' 99th percentile)."""
    train_at_corners: tuple[str, ...] = ()
    """Harsh corners (labels of ``SuiteConfig.corners``) at which one more hybrid per seed
    is trained physics-aware, on the corner's chip, and scored there (on
    ``corner_chips`` chips): beside the hybrid trained at the headline chip, what
    training for the chip recovers."""


@dataclass(frozen=True)
class SuiteConfig:
    """A benchmark suite."""

    name: str
    tasks: tuple[TaskPlan, ...]
    seeds: tuple[int, ...] = (0, 1)
    headline_hardware: MappingProxyType[str, Any] = field(
        default_factory=lambda: _frozen(dict(HEADLINE_HARDWARE)))
    """The chip analog models are trained on, and the headline's but for its read noise."""
    headline_snr_db: float | None = HEADLINE_SNR_DB
    """The headline scores every trained analog model where its crossbar SNR on the
    headline chip is this many dB (the read noise found per model and recorded); None:
    at the headline chip's own read noise."""
    train_snr_db: float | None = None
    """Train every analog model on the headline chip where its crossbars measure this SNR
    (the read noise found again at every epoch, ``TrainConfig.train_snr_db``); None: at the
    chip's own read noise. None in the shipped suites: on the quick suite, training at the
    headline's 20 dB scored worse at that headline (Darcy and Fashion-MNIST, every seed)
    than training at the preset's read noise (``snapshots/ablations/``)."""
    weight_bits: tuple[int, ...] = (4, 5, 6, 7, 8)
    read_noise: tuple[float, ...] = (0.01, 0.02, 0.05, 0.1)
    corners: MappingProxyType[str, MappingProxyType[str, Any]] = field(
        default_factory=lambda: _frozen(dict(HARSH_CORNERS)))
    """Harsh hardware corners (label → headline-hardware fields changed) at which both
    hybrids are scored, to find where standard training fails."""
    corner_chips: int = 3
    """Programmed chips each trained model is scored on at every corner (their mean is
    the seed's score), so that a comparison covers seeds × chips."""
    regularizer_weights: MappingProxyType[str, float] = field(default_factory=lambda: _frozen(
        {"sparsity": 1e-2, "contraction": 1.0, "conductance": 1e-5, "settling": 1e-2}))
    """λ of each physics-informed term in the regularizer ablation."""
    settle_tol: float | None = None
    """The output precision both sides reach when time to equilibrium is measured: the
    analog loop settles to within it of ``z*`` and the digital solvers stop at residual
    ``max_i |f(z) − z|_i`` ≤ it; None: half an LSB of the headline chip's ADC."""
    settle_dt_ns: float = 0.5
    """Euler step of the ``analog_relaxation`` solver for models that settle through it
    (the ff-EBM's energy blocks); the hybrid's loop is simulated by
    :mod:`hadeq.analog.loop`."""
    digital_quality_tolerance: float = 0.005
    """The digital DEQ is charged as the cheapest solver × precision whose quality stays
    within this relative distance of the fp32 Anderson design (0.5 %)."""
    sensitivity: MappingProxyType[str, tuple[Any, ...]] = field(default_factory=lambda: _frozen({
        "amp_power_w": (3e-6, 1e-5, 3.35e-5, 1e-4, 3e-4),
        "tau_ns": (1.0, 3.0, 10.0, 30.0, 100.0),
        "digital_macs_per_cycle": (64, 256, 1024, 4096, 16384),
    }))
    """Energy-model assumptions swept around their defaults (recomputed from the measured
    iterations and settling times; no retraining)."""
    requires_gpu: bool = False
    requires_data_path: bool = False


# Solver options of every DEQ in the suites: torchdeq's default tolerance, and a short
# stagnation window so solves on noisy hardware stop soon after reaching their floor.
DEQ_OPTIONS: dict[str, Any] = {
    "solver_options": {"tol": C.TORCHDEQ_F_TOL, "max_iter": 40, "stagnation_window": 8},
    "backward_options": {"tol": 1e-4, "max_iter": 40},
}


def _plan(task: str, hybrid: dict[str, Any], train: dict[str, Any],
          baselines: dict[str, Any] | None = None, **kw: Any) -> TaskPlan:
    hybrid = {"deq": DEQ_OPTIONS, **hybrid}
    return TaskPlan(task=task, hybrid=_frozen(hybrid), train=_frozen(train),
                    baselines=_frozen(baselines or {}),
                    task_options=_frozen(kw.pop("task_options", {})), **kw)


_DIGITS = _plan(
    "digits",
    {"kind": "hybrid_deq", "hidden": 64, "stem_hidden": 128},
    {"epochs": 15, "batch_size": 64, "lr": 3e-3},
    {"analog_mlp": {"kind": "analog_mlp"}, "ffebm": {"kind": "ffebm"}},
    regularizers=True,
)
_FASHION = _plan(
    "fashion_mnist",
    {"kind": "hybrid_deq", "hidden": 64, "stem_hidden": 128},
    {"epochs": 5, "batch_size": 64, "lr": 3e-3},
    {"analog_mlp": {"kind": "analog_mlp"}, "ffebm": {"kind": "ffebm"}},
    task_options={"limit_train": 6000, "limit_test": 2000},
    regularizers=True,
)
_DARCY = _plan(
    "darcy32",
    {"kind": "conv_hybrid_deq", "channels": 12, "stem_hidden": 16, "head_hidden": 16,
     "spectral_modes": 8},
    {"epochs": 10, "batch_size": 20, "lr": 3e-3},
    {"analog_cnn": {"kind": "analog_cnn"}},
    task_options={"n_train": 400, "n_test": 50},
    # Each calibration settles its inputs on a 12-channel 32² field with the spectral
    # path; 64 held-out fields give the same t_s to 0.1 % and keep the suite in budget.
    calibration_samples=64,
)
_PENDULUM = _plan(
    "pendulum",
    {"kind": "hybrid_deq", "hidden": 32, "stem_hidden": 64},
    {"n_uniform_states": 8000, "n_expert_rollouts": 32, "dagger_rounds": 2,
     "rollouts_per_round": 32, "epochs_per_round": 4, "batch_size": 512, "lr": 5e-3},
    {"analog_mlp": {"kind": "analog_mlp"}},
    task_options={"n_episodes": 50},
    sweep_episodes=20,  # sweep points and corners: 20 episodes (the headline has 50)
)

SUITES: dict[str, SuiteConfig] = {
    # Read noise 0.5 (between 0.2 and the full scale) is left out to keep the quick suite
    # within 15 minutes on 2 cores.
    "quick": SuiteConfig(name="quick", tasks=(_FASHION, _DARCY, _PENDULUM), seeds=(0, 1, 2),
                         corners=_frozen({label: fields for label, fields in HARSH_CORNERS.items()
                                          if label != "noise=0.5"})),
    # Sized to finish within three hours on 2 cores (the whole of Fashion-MNIST, 2.5× the
    # quick suite's Darcy data, Burgers). What a larger machine adds: wider models
    # (hidden 128) and longer schedules (15 Fashion-MNIST epochs, 40 Darcy epochs).
    "full": SuiteConfig(
        name="full",
        tasks=(
            _DIGITS,
            _plan("fashion_mnist", {"kind": "hybrid_deq", "hidden": 64, "stem_hidden": 128},
                  {"epochs": 4, "batch_size": 128, "lr": 3e-3},
                  {"analog_mlp": {"kind": "analog_mlp"}, "ffebm": {"kind": "ffebm"}},
                  regularizers=True),
            # The PDE tasks are where corners hurt standard training: one more hybrid per
            # seed is trained at the corners that break the headline-trained one.
            _plan("darcy32", {"kind": "conv_hybrid_deq", "channels": 12, "stem_hidden": 16,
                              "head_hidden": 16, "spectral_modes": 8},
                  {"epochs": 12, "batch_size": 20, "lr": 3e-3},
                  {"analog_cnn": {"kind": "analog_cnn"}},
                  task_options={"n_train": 1000, "n_test": 100}, calibration_samples=64,
                  train_at_corners=("drift=1y,uncompensated",)),
            _plan("burgers", {"kind": "hybrid_deq", "hidden": 128, "stem_hidden": 256},
                  {"epochs": 40, "batch_size": 32, "lr": 2e-3},
                  {"analog_mlp": {"kind": "analog_mlp"}},
                  train_at_corners=("drift=1y,uncompensated", "bits=4,io=4")),
            _PENDULUM,
        ),
        seeds=(0, 1, 2),
    ),
    "imagenet32": SuiteConfig(
        name="imagenet32",
        tasks=(_plan("imagenet32", {"kind": "conv_hybrid_deq"},
                     {"epochs": 30, "batch_size": 256, "lr": 1e-3},
                     {"analog_cnn": {"kind": "analog_cnn"}, "ffebm": {"kind": "ffebm"}}),),
        seeds=(0,),
        requires_gpu=True,
        requires_data_path=True,
    ),
}


def get_suite(name: str) -> SuiteConfig:
    check_choice("suite", name, list(SUITES))
    return SUITES[name]
