"""Feed-forward / energy-based model (ff-EBM; Nest & Ernoult, NeurIPS 2024).

``x → F₁ → E₁ → F₂ → E₂ → … → E_K → head``: digital feed-forward blocks ``F_k``
(``Linear → ReLU``, or the identity) alternate with Deep-Hopfield energy blocks ``E_k``.
Energy block ``k`` has a digital input projection ``u_k = U_k h + b_k`` and a symmetric,
zero-diagonal coupling ``W_k`` (an :class:`~hadeq.analog.AnalogLinear`), and outputs the
minimiser ``s_k* = ρ(W_k s_k* + u_k)`` of

    E_k(s; u_k) = ½‖s‖² − ½ ρ(s)ᵀ W_k ρ(s) − ρ(s)ᵀ u_k

(see :mod:`hadeq.models.ep`). Inside each energy block equilibrium propagation gives the
gradient (an :class:`~hadeq.models.ep.EPFunction` whose backward runs the ±β nudged
phases with the incoming gradient as the nudging signal, centred estimator); between
blocks, ordinary backprop. So the whole model trains with ``loss.backward()``.

On analog hardware an energy block is the hybrid DEQ core: ``u_k`` enters through DACs
once (``input_bits``), the loop ``s ← ρ(W s + u)`` runs on the crossbar without converters
(programmed, quantized conductances plus fresh read noise), and ``s_k*`` is read by one
ADC pass (``output_bits``, full scale = ρ's range). The nudged phases run on the same
hardware (physics-aware EP). With the ``ideal`` preset this is the digital ff-EBM.

After every optimizer step call :meth:`FFEBM.project_contractive_` (as for the hybrid
DEQ): it re-symmetrises each ``W_k``, zeroes its diagonal and keeps ``‖W_k‖₂ ≤ 1 − margin``
so each energy is strictly convex on the box (a unique equilibrium). EP's gradients are
symmetric with a zero diagonal already, so plain SGD/Adam keep the constraints; the
projection guards against drift and enforces the margin.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import torch
from torch import Tensor, nn

from hadeq.analog import AnalogLinear, HardwareConfig, snr_db
from hadeq.analog.quant import quantize_ste
from hadeq.constants import FFEBM_BETA, FFEBM_NUDGE_STEPS
from hadeq.energy import (
    SOLVERS,
    DEQWorkload,
    EnergyBreakdown,
    EnergyConfig,
    EnergyReport,
    LayerSpec,
    digital_deq_energy,
    hybrid_deq_energy,
)
from hadeq.errors import ConfigError
from hadeq.models.config import CIRCUIT_OPTIONS, RELAXATION
from hadeq.models.core import loop_hardware, loop_solver
from hadeq.models.ep import (
    ACTIVATIONS,
    Activation,
    EPFunction,
    rho,
)
from hadeq.models.interface import HadeqModel, ModelOutput
from hadeq.models.precision import fake_quantize
from hadeq.solvers import (
    AnalogRelaxation,
    FixedPointSolver,
    IterateOptions,
    SolverStats,
    batched,
    make_solver,
)
from hadeq.solvers.loop import iterate
from hadeq.validation import check_choice, check_int, check_range

FFEBMMode = Literal["physics_aware", "standard"]


@dataclass(frozen=True)
class FFEBMConfig:
    """A feed-forward / energy-based model (see :class:`FFEBM`)."""

    in_features: int
    """Size of a flattened input sample."""

    out_features: int
    """Size of the output (classes, or regression targets)."""

    blocks: tuple[int, ...] = (64,)
    """Neurons ``n_k`` of each energy block (one entry per block). With one block of 64
    and ``ff_hidden=128`` the model has exactly the parameter count of a HybridDEQ with
    hidden 64 (21,386 on digits)."""

    ff_hidden: int | None = 128
    """Width of each digital feed-forward block ``F_k = ReLU(Linear(·))`` before the
    energy block's input projection; None: ``F_k`` is the identity."""

    activation: Activation = "hardtanh"
    """ρ: ``hardtanh`` (states in [−1, 1]) or ``hard_sigmoid`` (states in [0, 1])."""

    beta: float = FFEBM_BETA
    """Nudging strength β of the centred EP estimator, > 0 (default 0.2, Nest & Ernoult
    2024). With ``nudge_normalize`` it is in units of the state range."""

    nudge_steps: int = FFEBM_NUDGE_STEPS
    """T2, steps of each nudged phase from the free equilibrium (default 5, Nest & Ernoult
    2024); the estimate tends to the exact gradient as β → 0 and T2 → ∞."""

    nudge_normalize: bool = True
    """Nudge each sample with its incoming gradient scaled to unit max-norm and scale the
    estimate back (see :mod:`hadeq.models.ep`)."""

    injection_bits: int | None = 8
    """Fake quantization of each digital injection ``u_k`` (int8-style, per-sample range)
    before the DACs; None keeps it in float."""

    contraction_margin: float = 0.1
    """:meth:`FFEBM.project_contractive_` keeps ``‖W_k‖₂ ≤ 1 − margin``; 0 only
    symmetrises and zeroes the diagonal."""

    hardware: HardwareConfig = field(default_factory=HardwareConfig)
    """Hardware of the energy blocks (crossbar of each ``W_k``, DACs of ``u_k``, the ADC
    read of ``s_k*``; no converters inside the loop). A preset name or a mapping is
    accepted too. The feed-forward blocks, projections and head are digital."""

    solver: str = "anderson"
    """Free-phase solver (any registered name; ``analog_relaxation`` simulates the
    settling physics and reports settling times for the energy model)."""

    solver_options: Mapping[str, Any] = field(
        default_factory=lambda: {"tol": 1e-4, "max_iter": 60})
    """Options of the free-phase solver (``tol``, ``max_iter``, …)."""

    mode: FFEBMMode = "physics_aware"
    """``physics_aware``: free and nudged phases run on the hardware model while training.
    ``standard``: training uses the float weights; the hardware is used only in eval."""

    def __post_init__(self) -> None:
        check_int("in_features", self.in_features, 1)
        check_int("out_features", self.out_features, 1)
        blocks = self.blocks
        if isinstance(blocks, int) and not isinstance(blocks, bool):
            blocks = (blocks,)
        if not isinstance(blocks, list | tuple) or not blocks:
            raise ConfigError("blocks", self.blocks, "a non-empty list of block sizes")
        for n in blocks:
            check_int("blocks", n, 1, 65_536)
        object.__setattr__(self, "blocks", tuple(blocks))
        if self.ff_hidden is not None:
            check_int("ff_hidden", self.ff_hidden, 1, 65_536)
        check_choice("activation", self.activation, ACTIVATIONS)
        check_range("beta", self.beta, 0.0, None, low_open=True)
        check_int("nudge_steps", self.nudge_steps, 1, 100_000)
        check_choice("nudge_normalize", self.nudge_normalize, (True, False))
        if self.injection_bits is not None:
            check_int("injection_bits", self.injection_bits, 2, 16)
        check_range("contraction_margin", self.contraction_margin, 0.0, 1.0, high_open=True)
        object.__setattr__(self, "hardware", HardwareConfig.parse(self.hardware))
        if not isinstance(self.solver_options, Mapping):
            raise ConfigError("solver_options", self.solver_options,
                              "a mapping of solver option names to values")
        object.__setattr__(self, "solver_options", dict(self.solver_options))
        make_solver(self.solver, self.solver_options)  # fail here on a bad name/option
        for key in CIRCUIT_OPTIONS:
            if self.solver == RELAXATION and key in self.solver_options:
                raise ConfigError(f"solver_options.{key}", self.solver_options[key],
                                  f"not an option here: the loops' {key} is hardware.{key}")
        check_choice("mode", self.mode, ("physics_aware", "standard"))


def block_solver(config: FFEBMConfig) -> tuple[FixedPointSolver, IterateOptions]:
    """The free phase's solver; ``analog_relaxation`` runs at the hardware's time
    constant, and adds no noise of its own (every step reads the noisy crossbar)."""
    return make_solver(*loop_solver(config.solver, config.solver_options, config.hardware,
                                    read_noise=False))


class EnergyBlock(nn.Module):
    """One Deep-Hopfield energy block: digital projection ``u = Q(U h + b)``, analog
    symmetric coupling ``W`` (no bias), free phase by :func:`hadeq.solve`, EP backward."""

    def __init__(self, in_features: int, neurons: int, config: FFEBMConfig, *,
                 seed: int = 0) -> None:
        super().__init__()
        self.config = config
        self.activation: str = config.activation
        self.beta, self.nudge_steps = config.beta, config.nudge_steps
        self.nudge_normalize = config.nudge_normalize
        self.input = nn.Linear(in_features, neurons)
        self.coupling = AnalogLinear(neurons, neurons, bias=False,
                                     hardware=loop_hardware(config.hardware), seed=seed)
        with torch.no_grad():
            w = torch.randn(neurons, neurons, dtype=self.coupling.weight.dtype)
            self.coupling.weight.copy_(w)
        self.project_(0.5)
        self._solver = block_solver(config)
        self.last_stats: SolverStats | None = None

    @property
    def neurons(self) -> int:
        return self.coupling.out_features

    @torch.no_grad()
    def project_(self, max_norm: float | None) -> float:
        """``W ← sym(W)`` with zero diagonal, scaled onto ``‖W‖₂ ≤ max_norm``; returns ‖W‖₂."""
        w = self.coupling.weight
        w.copy_(0.5 * (w + w.t()))
        w.fill_diagonal_(0.0)
        norm = float(torch.linalg.matrix_norm(w, ord=2))
        if max_norm is not None and norm > max_norm:
            w.mul_(max_norm / norm)
            return max_norm
        return norm

    # --- EnergyDynamics protocol ---------------------------------------------------------
    def couple(self, r: Tensor, hardware: bool) -> Tensor:
        return self.coupling(r) if hardware else self.coupling.ideal_forward(r)

    def relax(self, u: Tensor, hardware: bool) -> tuple[Tensor, SolverStats]:
        act = self.activation

        def step(s: Tensor, u_: Tensor) -> Tensor:
            return rho(self.couple(rho(s, act), hardware) + u_, act)

        method, options = self._solver
        s0 = torch.zeros(u.shape[0], self.neurons, dtype=u.dtype, device=u.device)
        return iterate(method, batched(step, u), s0, options)

    # --- forward --------------------------------------------------------------------------
    def injection(self, h: Tensor, hardware: bool) -> Tensor:
        """``u = Q(U h + b)`` after the DACs (``hardware.input_bits``), ``(B, n)``."""
        u = self.input(h)
        if self.config.injection_bits is not None:
            u = fake_quantize(u, self.config.injection_bits)
        bits = self.config.hardware.input_bits
        if bits is not None and hardware:
            u = fake_quantize(u, bits)
        return u

    def adc_read(self, s: Tensor, hardware: bool) -> Tensor:
        """One ADC conversion per neuron over ρ's range (STE)."""
        bits = self.config.hardware.output_bits
        if bits is None or not hardware:
            return s
        if self.activation == "hardtanh":
            return quantize_ste(s, bits)
        return 0.5 * (quantize_ste(2.0 * s - 1.0, bits) + 1.0)

    def forward(self, h: Tensor, hardware: bool = True) -> Tensor:
        """``s* `` as read by the ADC, for block input ``h`` of shape ``(B, in)``."""
        u = self.injection(h, hardware)
        s_star = EPFunction.apply(u, self.coupling.weight, self, hardware)
        return self.adc_read(s_star, hardware)


class FFEBM(HadeqModel):
    """Feed-forward / energy-based model trained by EP inside blocks and backprop between
    them (see the module docstring). Its output record carries each block's free-phase
    statistics in ``solves`` and each block's equilibrium (as read by its ADC) in
    ``states``."""

    has_equilibrium: ClassVar[bool] = True

    def __init__(self, config: FFEBMConfig, *, seed: int = 0) -> None:
        super().__init__()
        if not isinstance(config, FFEBMConfig):
            raise ConfigError("config", type(config).__name__, "an FFEBMConfig")
        self.config = config
        c = config
        state = torch.random.get_rng_state()
        torch.manual_seed(seed)
        try:
            ff: list[nn.Module] = []
            blocks: list[EnergyBlock] = []
            width = c.in_features
            for k, n in enumerate(c.blocks):
                if c.ff_hidden is None:
                    ff.append(nn.Identity())
                else:
                    ff.append(nn.Sequential(nn.Linear(width, c.ff_hidden), nn.ReLU()))
                    width = c.ff_hidden
                blocks.append(EnergyBlock(width, n, c, seed=seed + k))
                width = n
            self.ff = nn.ModuleList(ff)
            self.blocks = nn.ModuleList(blocks)
            self.head = nn.Linear(width, c.out_features)
        finally:
            torch.random.set_rng_state(state)
        self.project_contractive_()

    # --- hardware -----------------------------------------------------------------------
    def layer_hardware(self, hardware: HardwareConfig) -> HardwareConfig:
        """The couplings sit inside the loops: no DAC or ADC there."""
        return loop_hardware(hardware)

    def _hardware_changed(self) -> None:
        for block in self.energy_blocks():
            block.config = self.config
            block._solver = block_solver(self.config)

    def energy_blocks(self) -> list[EnergyBlock]:
        return list(self.blocks)  # type: ignore[arg-type]

    def set_eval_solver(self, solver: str, options: Mapping[str, Any] | None = None) -> None:
        """Solve every block's free phase with ``solver`` from now on (e.g.
        ``analog_relaxation`` to measure the blocks' settling times)."""
        self.config = dataclasses.replace(self.config, solver=solver,
                                          solver_options=dict(options or {}))
        for block in self.energy_blocks():
            block._solver = block_solver(self.config)

    @torch.no_grad()
    def project_contractive_(self) -> float:
        """Symmetrise every ``W_k``, zero its diagonal and scale it onto
        ``‖W_k‖₂ ≤ 1 − margin``; returns the largest ``‖W_k‖₂``."""
        margin = self.config.contraction_margin
        bound = 1.0 - margin if margin > 0 else None
        return max(block.project_(bound) for block in self.energy_blocks())

    # --- forward ------------------------------------------------------------------------
    def _run(self, x: Tensor, hardware: bool) -> ModelOutput:
        n = self.config.in_features
        if x.dim() < 2 or x[0].numel() != n:
            raise ConfigError("x.shape", tuple(x.shape), f"(batch, ...) with {n} features "
                              "per sample")
        h = x.reshape(x.shape[0], -1)
        states, stats = [], []
        for ff, block in zip(self.ff, self.energy_blocks(), strict=True):
            h = block(ff(h), hardware)
            states.append(h)
            assert block.last_stats is not None
            stats.append(block.last_stats)
        return ModelOutput(self.head(h), solves=tuple(stats), states=tuple(states))

    def forward_with_info(self, x: Tensor) -> ModelOutput:
        return self._run(x, self.uses_hardware())

    def ideal_forward(self, x: Tensor) -> Tensor:
        """The float model's output (float coupling, no converters)."""
        saved = [b.last_stats for b in self.energy_blocks()]
        try:
            return self._run(x, False).output
        finally:
            for b, s in zip(self.energy_blocks(), saved, strict=True):
                b.last_stats = s

    # --- metrics hooks ------------------------------------------------------------------
    def workloads(self) -> list[DEQWorkload]:
        """One :class:`~hadeq.energy.DEQWorkload` per energy block: its feed-forward block
        and projection ``U_k`` are the digital injection, ``W_k`` the core; the head is
        charged to the last block."""
        out = []
        blocks = self.energy_blocks()
        for k, (ff, block) in enumerate(zip(self.ff, blocks, strict=True)):
            inj = [LayerSpec(m.in_features, m.out_features, name=f"ff{k}")
                   for m in ff.modules() if isinstance(m, nn.Linear)]
            inj.append(LayerSpec(block.input.in_features, block.neurons, name=f"U{k}",
                                 activation=False))
            head = ()
            if k == len(blocks) - 1:
                head = (LayerSpec(self.head.in_features, self.head.out_features,
                                  name="head", activation=False),)
            out.append(DEQWorkload(neurons=block.neurons, injection=tuple(inj), head=head))
        return out

    def energy_report(self, config: EnergyConfig | None = None, *,
                      stats: Sequence[SolverStats] | None = None,
                      settling_time_ns: Sequence[Any] | None = None) -> EnergyReport:
        """Energy and latency of one inference, summed over the blocks.

        Digital ff-EBM (exact hardware): each block is priced by
        :func:`hadeq.energy.digital_deq_energy` with its measured free-phase iterations
        (``stats``, default the last forward's). Analog energy blocks: by
        :func:`hadeq.energy.hybrid_deq_energy` with each block's measured settling time —
        ``settling_time_ns[k]``, or ``stats[k].extras['settling_time_ns']`` from the
        ``analog_relaxation`` solver (samples that never met the tolerance — a read-noise
        floor above it — are charged their simulated time ``iterations · dt_ns``).
        Counts are prefixed ``block{k}.``.
        """
        blocks = self.energy_blocks()
        stats = list(stats) if stats is not None else [b.last_stats for b in blocks]
        if len(stats) != len(blocks) or any(s is None for s in stats):
            raise ConfigError("stats", None, "one SolverStats per energy block; run a "
                              "forward pass first or pass them")
        total, latency, counts = EnergyBreakdown(), 0.0, {}
        exact = self.hardware.is_exact
        for k, (work, st) in enumerate(zip(self.workloads(), stats, strict=True)):
            assert st is not None
            if exact:
                solver = st.solver if st.solver in SOLVERS else "picard"
                rep = digital_deq_energy(work, st.iterations, config, solver=solver)
            else:
                if settling_time_ns is not None:
                    t = settling_time_ns[k]
                elif "settling_time_ns" in st.extras:
                    t = self._settling_times(k, st)
                else:
                    raise ConfigError("settling_time_ns", None, "analog energy blocks need "
                                      "measured settling times: use solver="
                                      "'analog_relaxation' or pass settling_time_ns")
                rep = hybrid_deq_energy(work, t, config, hardware=self.hardware)
            total, latency = total + rep.energy, latency + rep.latency_ns
            counts.update({f"block{k}.{key}": v for key, v in rep.counts.items()})
        return EnergyReport(energy=total, latency_ns=latency,
                            kind="ffebm_digital" if exact else "ffebm_hybrid", counts=counts)

    def _settling_times(self, k: int, stats: SolverStats) -> Tensor:
        """Measured settling times of block ``k``; a sample whose noisy loop never met the
        tolerance (NaN) is charged the time it was simulated, ``iterations · dt_ns``."""
        t = stats.extras["settling_time_ns"]
        solver = self.energy_blocks()[k]._solver[0]
        if not isinstance(solver, AnalogRelaxation):
            return t
        ran = stats.iterations.to(t.dtype) * solver.dt_ns
        return torch.where(torch.isnan(t), ran, t)

    @torch.no_grad()
    def output_snr_db(self, x: Tensor) -> float:
        """SNR (dB) of the hardware output against the float model's, on ``x``."""
        was_training = self.training
        self.eval()
        try:
            clean, noisy = self.ideal_forward(x), self.forward(x)
        finally:
            self.train(was_training)
        return snr_db(clean, noisy)
