"""What every hybrid DEQ shares: an analog core in a loop, its hardware and its maps.

:class:`AnalogCoreDEQ` holds the logic common to the dense :class:`~hadeq.models.HybridDEQ`
and the convolutional :class:`~hadeq.models.ConvHybridDEQ`: the loop's hardware (no DAC
or ADC inside it), the solvers, the contraction projection, the equilibrium solve and
the three maps whose fixed point is ``z*``:

* hardware map — ``σ(core(z) + u)`` through the hardware model (quantized, programmed
  conductances, fresh read noise at every read);
* clean map — ``σ(W z + b + u)`` with the float weights;
* frozen map — the programmed effective weights without read noise (the frozen noise
  sample), which the ``analog_relaxation`` solver also integrates (it adds the loop's
  read noise, ``hardware.read_noise``, itself, per time step).

Subclasses build ``stem``, ``core`` (an analog layer with ``bias``), ``head``, ``sigma``
and ``config`` (with ``hardware``, ``deq``, ``mode``, ``proxy``, ``injection_bits`` and
``contraction_margin``), and implement :meth:`_frozen_map`,
:meth:`operator_norm_bound` and :meth:`forward_with_info`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hadeq.analog import AnalogMVM, HardwareConfig, measure_snr_db
from hadeq.analog.loop import (
    LoopDynamics,
    LoopSampling,
    Noise,
    adc_half_lsb,
    amplifier_noise_std,
    integrate,
    sampling_time_ns,
    settle,
)
from hadeq.analog.quant import quantize_ste
from hadeq.deq import DEQ, DEQConfig
from hadeq.energy import DEQWorkload, LayerSpec
from hadeq.energy.workload import layer_conductance
from hadeq.errors import ConfigError, ConvergenceError
from hadeq.models.config import RELAXATION, check_loop_solvers
from hadeq.models.interface import HadeqModel, ModelOutput
from hadeq.models.precision import apply_digital_precision, fake_quantize, round_state
from hadeq.solvers import FixedPointSolver, SolverStats, batched, make_solver

Map = Callable[[Tensor], Tensor]

_WORKLOAD_SEED = 0  # the noise draws of :meth:`AnalogCoreDEQ.workload`'s evaluations


def loop_hardware(hardware: HardwareConfig) -> HardwareConfig:
    """The core's hardware inside the loop: no DAC or ADC (the loop is analog)."""
    return hardware.replace(input_bits=None, input_range=None, output_bits=None,
                            output_range=None)


ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {"tanh": torch.tanh,
                                                     "hardtanh": F.hardtanh}
"""The amplifiers' saturating nonlinearities σ (both 1-Lipschitz, range [−1, 1])."""

SLOPES: dict[str, Callable[[Tensor], Tensor]] = {
    "tanh": lambda z: 1.0 - z * z,
    "hardtanh": lambda z: (z.abs() < 1.0).to(z.dtype),
}
"""σ′ at the pre-activation, written in σ's output ``z``: how linear a unit works there
(1: in the linear region; 0: saturated)."""

def loop_solver(name: str | FixedPointSolver, options: Any, hardware: HardwareConfig, *,
                read_noise: bool = True) -> tuple[str | FixedPointSolver, dict[str, Any]]:
    """``(solver, loop options)`` for a loop on ``hardware``: ``analog_relaxation`` is
    built with the circuit's time constant ``hardware.tau_ns`` and (``read_noise``) its
    read noise; other solvers are returned as given. A loop whose map already reads the
    noisy hardware at every step passes ``read_noise=False``."""
    if name != RELAXATION:
        return name, dict(options)
    method, loop = make_solver(name, options)
    method = dataclasses.replace(method, tau_ns=hardware.tau_ns,
                                 read_noise=hardware.read_noise if read_noise else 0.0)
    return method, dataclasses.asdict(loop)


def deq_config(config: Any) -> DEQConfig:
    """The model's DEQ options with the loop's solvers built for its hardware."""
    deq: DEQConfig = config.deq
    hw = config.hardware
    solver, options = loop_solver(deq.solver, deq.solver_options, hw)
    eval_solver, eval_options = loop_solver(deq.eval_solver or deq.solver,
                                            deq.eval_solver_options, hw)
    return dataclasses.replace(deq, solver=solver, solver_options=options,
                               eval_solver=eval_solver, eval_options=eval_options)


@dataclasses.dataclass(frozen=True)
class LoopCalibration:
    """What calibrating a chip's loop fixes (:meth:`AnalogCoreDEQ.calibrate_loop`)."""

    injection_full_scale: float
    """Full scale of the injection DACs, in injection units: inputs beyond it clip."""
    mode_full_scale: Tensor | None
    """Fixed input full scale of every spectral mode crossbar (None: no spectral path)."""
    sample_time_ns: float
    """``t_s``: the ADC samples every output this long after the input is applied, ns."""
    dt_ns: float
    """Integration step of the simulated loop, ns."""
    tol: float
    """Settling tolerance on ``z``: half an LSB of the ADC that reads it."""
    settling_ns: Tensor
    """Noise-free settling time of every calibration input, ns."""
    noise: bool = True
    """Whether the simulated loop carries its read and amplifier noise."""
    chip: HardwareConfig | None = None
    """The programmed chip it was made on, without its read noise (which changes neither
    the ranges nor the noise-free settling): another read noise may reuse it."""
    seed: int | None = None
    """The core's programming seed."""


class AnalogCoreDEQ(HadeqModel):
    """Base class of the hybrid DEQs (see the module docstring)."""

    has_equilibrium: ClassVar[bool] = True
    has_physical_loop: ClassVar[bool] = True
    state_rounding: str = "fp32"
    """Precision the loop state is rounded to after every map evaluation (a digital DEQ
    run at ``config.digital_precision``, see :mod:`hadeq.models.precision`)."""
    core: AnalogMVM
    stem: nn.Module
    head: nn.Module
    sigma: Callable[[Tensor], Tensor]

    loop_calibration: LoopCalibration | None = None
    """The physical loop's fixed ranges and sampling instant (:meth:`calibrate_loop`);
    while set, evaluation on hardware simulates the circuit (:meth:`physical_equilibrium`).
    Cleared whenever the chip changes."""

    # --- to be provided by subclasses ---------------------------------------------------
    def loop_operator(self) -> Callable[[Tensor], Tensor]:
        """``z ↦ I(z)``, the programmed chip's feedback current for loop output ``z`` in
        the units of the injection: every loop layer with its static errors (quantized,
        programmed, drifted conductances, IR drop, amplifier gain and offset mismatch; no
        read noise) plus the bias. The static operands are read once, when it is built."""
        raise NotImplementedError

    def _path_noise_source(self) -> Noise | None:
        """Read noise of loop layers other than the core (draws of ``ς·ε``); None: none."""
        return None

    def _calibrate_paths(self, z_star: Tensor) -> Tensor | None:
        """Fixed full scales of loop layers other than the core, from equilibria."""
        return None

    def _path_amplifiers(self, z: Tensor) -> int:
        """Amplifiers on intermediate nodes of loop layers other than the core, for one
        sample shaped like ``z[0]``."""
        return 0

    def operator_norm_bound(self) -> float:
        """An upper bound of the feedback operator's norm ‖W‖₂ (float weights)."""
        raise NotImplementedError

    def injection(self, x: Tensor) -> Tensor:
        """The digital stem's output after fake quantization and the DACs."""
        raise NotImplementedError

    # --- hardware and solvers -----------------------------------------------------------
    def layer_hardware(self, hardware: HardwareConfig) -> HardwareConfig:
        """The loop's arrays have no DAC or ADC (the loop is analog)."""
        return loop_hardware(hardware)

    def _hardware_changed(self) -> None:
        self.loop_calibration = None
        self._rebuild_deq()

    def program(self, seed: int) -> None:
        self.loop_calibration = None
        super().program(seed)

    def set_hardware(self, hardware: Any, seed: int | None = None) -> None:
        if self.config.digital_precision != "fp32":
            raise ConfigError("digital_precision", self.config.digital_precision,
                              "fp32 to move the model to other hardware (quantize after)")
        super().set_hardware(hardware, seed)

    def _finish_init(self) -> None:
        """The end of every subclass's ``__init__``: the loop starts contractive (or, for
        a feed-forward control, without feedback), and a digital precision other than fp32
        is applied."""
        if not self.config.feedback:
            for layer in self.loop_layers():
                weight: Tensor = layer.weight  # type: ignore[assignment]
                weight.requires_grad_(False)
                with torch.no_grad():
                    weight.zero_()
        self.project_contractive_()
        apply_digital_precision(self, self.config.digital_precision)

    def _rebuild_deq(self) -> None:
        # A new module starts in training mode: keep the model's mode.
        self.deq = DEQ(deq_config(self.config)).train(self.training)

    def set_eval_solver(self, solver: Any, options: dict[str, Any] | None = None) -> None:
        """Solve with ``solver`` (and ``options``) in evaluation mode from now on, e.g.
        ``analog_relaxation`` to simulate the settling physics of trained weights."""
        deq = dataclasses.replace(self.config.deq, eval_solver=solver, eval_options=options)
        check_loop_solvers(deq)
        self.config = dataclasses.replace(self.config, deq=deq)
        self._rebuild_deq()

    def loop_layers(self) -> tuple[AnalogMVM, ...]:
        """The analog layers inside the loop (the energy model counts their MACs)."""
        return (self.core,)

    @torch.no_grad()
    def crossbar_snr_db(self, x: Tensor) -> float:
        """SNR (dB) of the core crossbar on the chip: its output ``W z*`` at the model's
        own equilibria of ``x`` (evaluation mode) against the float product (for a conv
        core with a spectral path, of the convolution) — the quantity FACTS.md's
        "SNR ≥ 20 dB" refers to. Read noise from the current random state; the operation
        counters are left as they were."""
        with self._counters_kept():
            was_training = self.training
            self.eval()
            try:
                z_star = self.forward_with_info(x).z_star
            finally:
                self.train(was_training)
            assert z_star is not None
            return measure_snr_db(self.core, z_star)

    @torch.no_grad()
    def project_contractive_(self) -> float:
        """Scale the loop's weights so that ``‖W‖₂ ≤ 1 − margin`` (by
        :meth:`operator_norm_bound`) if it left that ball; returns the norm afterwards."""
        margin = self.config.contraction_margin
        norm = self.operator_norm_bound()
        if margin > 0 and norm > 1.0 - margin:
            for layer in self.loop_layers():
                layer.weight.mul_((1.0 - margin) / norm)  # type: ignore[operator]
            return 1.0 - margin
        return norm

    # --- converters ---------------------------------------------------------------------
    def quantize_injection(self, u: Tensor) -> Tensor:
        """The digital injection's gain to ``injection_rms`` per sample, its int-style
        fake quantization, then the DACs: at the calibrated fixed full scale while the
        physical loop runs (values beyond it clip), otherwise over each sample's own
        range."""
        if self.config.injection_rms is not None:
            rms = u.square().mean(dim=tuple(range(1, u.dim())), keepdim=True).sqrt()
            u = u * (self.config.injection_rms / rms.clamp_min(torch.finfo(u.dtype).tiny))
        if self.config.injection_bits is not None:
            u = fake_quantize(u, self.config.injection_bits)
        if not self.uses_hardware():
            return u
        bits = self.hardware.input_bits
        if self._physical():
            fs = self.loop_calibration.injection_full_scale  # type: ignore[union-attr]
            unit = u / fs
            return (unit.clamp(-1.0, 1.0) if bits is None else quantize_ste(unit, bits)) * fs
        return u if bits is None else fake_quantize(u, bits)

    def adc_read(self, z: Tensor) -> Tensor:
        """One ADC conversion of each neuron output (σ's range [−1, 1] is full scale)."""
        bits = self.hardware.output_bits
        if bits is None or not self.uses_hardware():
            return z
        return quantize_ste(z, bits)

    # --- the maps whose fixed point is z* -----------------------------------------------
    def loop_current(self, z: Tensor) -> Tensor:
        """``I(z)`` (see :meth:`loop_operator`)."""
        return self.loop_operator()(z)

    def _frozen_map(self, z: Tensor, u: Tensor) -> Tensor:
        return self.sigma(self.loop_current(z) + u)

    def _hardware_map(self, z: Tensor, u: Tensor) -> Tensor:
        return self.sigma(self.core(z) + u)

    def _digital_map(self, z: Tensor, u: Tensor) -> Tensor:
        """The hardware map with the state rounded as a digital accelerator holds it."""
        return round_state(self._hardware_map(z, u), self.state_rounding)

    def _clean_map(self, z: Tensor, u: Tensor) -> Tensor:
        return self.sigma(self.core.ideal_forward(z) + u)  # type: ignore[operator]

    def maps(self, u: Tensor) -> tuple[Map, Map]:
        """``(solved, differentiated)`` maps for injection ``u`` in the current mode."""
        c = self.config
        if not self.uses_hardware():
            clean = batched(self._clean_map, u)
            return clean, clean
        solver = c.deq.solver if self.training else (c.deq.eval_solver or c.deq.solver)
        if solver == RELAXATION:
            solved = batched(self._frozen_map, u)
        elif self.state_rounding != "fp32":
            solved = batched(self._digital_map, u)
        else:
            solved = batched(self._hardware_map, u)
        proxy = self._frozen_map if c.proxy == "frozen" else self._clean_map
        return solved, batched(proxy, u)

    def _noise_floor(self) -> float | None:
        """The read-noise level ``ρ`` of the solved hardware map (its loop layers' in
        quadrature; σ is 1-Lipschitz), so the solve stops at the floor it sets; None when
        the solved map has no read noise of that form (the float map, or the
        ``analog_relaxation`` solver, which adds the loop's noise itself)."""
        c = self.config
        solver = c.deq.solver if self.training else (c.deq.eval_solver or c.deq.solver)
        if not self.uses_hardware() or solver == RELAXATION:
            return None
        levels = [layer.read_noise_level() for layer in self.loop_layers()]
        if any(level is None for level in levels):
            return None
        return math.sqrt(sum(level * level for level in levels))  # type: ignore[operator]

    def equilibrium(self, u: Tensor) -> ModelOutput:
        """Solve for ``z*`` with injection ``u`` and read it with the ADC; the record's
        ``output`` is the head's output. While the physical loop is calibrated and the
        model evaluates on hardware, the circuit is simulated instead
        (:meth:`physical_equilibrium`)."""
        if self._physical():
            return self.physical_equilibrium(u)
        if (self.training and self.uses_hardware()
                and self.config.physical_training_tau is not None):
            return self._physical_training_equilibrium(u)
        solved, proxy = self.maps(u)
        adjoint: list[SolverStats] = []
        z_star, stats = self.deq(solved, torch.zeros_like(u), proxy=proxy,
                                 on_backward=adjoint.append, noise_floor=self._noise_floor())
        z = self.adc_read(z_star)
        return ModelOutput(self.head(z), solves=(stats,), z_star=z_star, z=z, u=u,
                           backward=adjoint)

    # --- the physical loop ------------------------------------------------------------------
    def _physical(self) -> bool:
        return (self.loop_calibration is not None and not self.training
                and self.uses_hardware())

    def loop_dynamics(self, dt_ns: float | None = None) -> LoopDynamics:
        """The loop's time constant (the chip's) and integration step (default τ)."""
        tau = self.hardware.tau_ns
        return LoopDynamics(tau_ns=tau, dt_ns=tau if dt_ns is None else dt_ns)

    def loop_noise_source(self) -> Noise:
        """Draws ``(a, generator) ↦ ς·ε`` of the loop's white noise (see
        :mod:`hadeq.analog.loop`): the core's read current noise at its fixed full scale —
        ``read_noise`` of one device at ``g_max`` read at the amplifiers' rail ``|z| = 1``,
        i.e. ``read_noise·w_scale`` per row tile, tiles in quadrature — the other loop
        layers' (:meth:`_path_noise_source`) and the amplifiers' input-referred noise."""
        hw, core = self.hardware, self.core
        scale = core.effective_tiles()[1]
        read = hw.read_noise * math.sqrt(core.n_row_tiles) * scale
        std = torch.sqrt(read * read + amplifier_noise_std(hw.tau_ns) ** 2)
        path = self._path_noise_source()

        def noise(a: Tensor, generator: torch.Generator | None) -> Tensor:
            s = std.to(a.dtype)
            s = s.reshape(1, -1, *([1] * (a.dim() - 2))) if s.dim() else s
            eps = torch.randn(a.shape, generator=generator, dtype=a.dtype, device=a.device)
            return eps * s if path is None else eps * s + path(a, generator)
        return noise

    def loop_noise(self, a: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """One draw ``ς·ε`` of the loop's white noise (:meth:`loop_noise_source`)."""
        return self.loop_noise_source()(a, generator)

    @torch.no_grad()
    def calibrate_loop(self, x: Tensor, sampling: Any = None) -> LoopCalibration:
        """Fix the physical loop's ranges and sampling instant from inputs ``x`` (held-out
        training inputs), as a chip is calibrated once: the injection DACs' full scale is
        the largest ``|u|`` over ``x``, the other loop layers' from the equilibria, and
        ``t_s`` the ``sampling.quantile`` of the noise-free settling times on ``x`` (to
        half an LSB of the ADC that reads ``z``) unless ``sampling.sample_time_ns`` sets
        it. Evaluation on hardware then simulates the circuit sampled at ``t_s``."""
        sampling = sampling or LoopSampling()
        if not isinstance(sampling, LoopSampling):
            raise ConfigError("sampling", type(sampling).__name__, "a LoopSampling")
        was_training = self.training
        self.eval()
        try:
            self.loop_calibration = None
            u_fs = float(self.injection(x).abs().max().clamp_min(torch.finfo(x.dtype).tiny))
            dynamics = self.loop_dynamics(sampling.dt_ns)
            tol = adc_half_lsb(self.hardware.output_bits)
            self.loop_calibration = LoopCalibration(u_fs, None, math.inf, dynamics.dt_ns, tol,
                                                    torch.empty(0))
            u = self.injection(x)
            settled = settle(self.loop_operator(), self.sigma, u, dynamics, tol,
                             horizon_tau=sampling.horizon_tau)
            if sampling.sample_time_ns is not None:
                t_s = sampling.sample_time_ns
            else:
                t_s = sampling_time_ns(settled.time_ns, sampling.quantile)
                if not math.isfinite(t_s):
                    raise ConvergenceError(
                        f"more than {1 - sampling.quantile:.0%} of the calibration inputs do "
                        f"not settle within {sampling.horizon_tau:g} τ: no sampling instant "
                        "covers them (set sample_time_ns)")
            self.loop_calibration = LoopCalibration(
                u_fs, self._calibrate_paths(settled.z_star), t_s, dynamics.dt_ns, tol,
                settled.time_ns, sampling.noise, self.hardware.replace(read_noise=0.0),
                self.core.seed)
        finally:
            self.train(was_training)
        return self.loop_calibration

    def adopt_loop_calibration(self, calibration: Any) -> None:
        """Use ``calibration``, made by :meth:`calibrate_loop` on this programmed chip
        (the same hardware and programming seed up to the read noise, which changes
        neither the ranges nor the noise-free settling), instead of calibrating again."""
        if not isinstance(calibration, LoopCalibration):
            raise ConfigError("calibration", type(calibration).__name__,
                              "a LoopCalibration")
        chip = self.hardware.replace(read_noise=0.0)
        if calibration.chip != chip or calibration.seed != self.core.seed:
            raise ConfigError("calibration", f"made on {calibration.chip} seed "
                              f"{calibration.seed}", f"one made on this chip ({chip} seed "
                              f"{self.core.seed}, any read noise)")
        self.loop_calibration = calibration

    @torch.no_grad()
    def physical_trajectory(self, u: Tensor, times_ns: tuple[float, ...]) -> list[Tensor]:
        """The loop states ``a(t)`` at ``times_ns`` for injection ``u`` (noise drawn from
        torch's global generator), from ``a = 0`` as the input is applied."""
        calib = self.loop_calibration
        if calib is None:
            raise ConfigError("loop_calibration", None, "a calibrated loop (calibrate_loop)")
        dynamics = self.loop_dynamics(calib.dt_ns)
        return integrate(self.loop_operator(), self.sigma, u, dynamics, max(times_ns),
                         sample_times_ns=times_ns,
                         noise=self.loop_noise_source() if calib.noise else None)[1]

    def physical_equilibrium(self, u: Tensor) -> ModelOutput:
        """The circuit's answer: the loop runs from ``a = 0`` with its noise for the
        calibrated ``t_s`` and the ADC reads ``z = σ(a(t_s))``. The record's solve reports
        the loop's residual ``‖σ(I(z) + u) − z‖/‖z‖`` at ``t_s`` (no gradient)."""
        calib = self.loop_calibration
        assert calib is not None
        (a,) = self.physical_trajectory(u, (calib.sample_time_ns,))
        z_star = self.sigma(a)
        with torch.no_grad():
            flat = z_star.reshape(z_star.shape[0], -1)
            step = (self._frozen_map(z_star, u).reshape(flat.shape) - flat)
            residual = step.norm(dim=1) / flat.norm(dim=1).clamp_min(1e-30)
            err = step.abs().amax(dim=1)
        n = flat.shape[0]
        steps = math.ceil(calib.sample_time_ns / calib.dt_ns - 1e-9)
        stats = SolverStats(
            solver="physical_loop", stop_mode="rel", tol=calib.tol,
            # evaluations of the feedback current: four per ETDRK4 step
            iterations=torch.full((n,), 4 * steps, dtype=torch.long),
            residual=residual, converged=err <= calib.tol,
            stagnated=torch.zeros(n, dtype=torch.bool),
            nonfinite=~torch.isfinite(flat).all(dim=1), trace=residual.unsqueeze(0),
            extras={"sample_time_ns": torch.full((n,), calib.sample_time_ns)})
        z = self.adc_read(z_star)
        return ModelOutput(self.head(z), solves=(stats,), z_star=z_star, z=z, u=u)

    def _physical_training_equilibrium(self, u: Tensor) -> ModelOutput:
        """Physics-aware training through the physical loop: the noisy circuit runs for
        ``physical_training_tau``·τ from ``a = 0`` (per-sample injection ranges, as in
        training), and the implicit backward differentiates the proxy at ``σ(a)``."""
        t_ns = self.config.physical_training_tau * self.hardware.tau_ns
        with torch.no_grad():
            a, _, _ = integrate(self.loop_operator(), self.sigma, u.detach(),
                                self.loop_dynamics(), t_ns, noise=self.loop_noise_source())
            z_star = self.sigma(a)
        proxy = self._frozen_map if self.config.proxy == "frozen" else self._clean_map
        n = u.shape[0]
        steps = math.ceil(t_ns / self.hardware.tau_ns - 1e-9)
        stats = SolverStats(
            solver="physical_loop", stop_mode="rel", tol=0.0,
            iterations=torch.full((n,), 4 * steps, dtype=torch.long),
            residual=torch.full((n,), math.nan), converged=torch.zeros(n, dtype=torch.bool),
            stagnated=torch.zeros(n, dtype=torch.bool),
            nonfinite=~torch.isfinite(z_star.reshape(n, -1)).all(dim=1),
            trace=torch.full((1, n), math.nan))
        adjoint: list[SolverStats] = []
        z_star = self.deq.attach(batched(proxy, u), z_star, on_backward=adjoint.append)
        z = self.adc_read(z_star)
        return ModelOutput(self.head(z), solves=(stats,), z_star=z_star, z=z, u=u,
                           backward=adjoint)

    # --- measurements ---------------------------------------------------------------------
    def activation_slope(self, z: Tensor) -> Tensor:
        """σ′ of every unit whose output is ``z`` (:data:`SLOPES`)."""
        return SLOPES[self.config.activation](z)

    @torch.no_grad()
    def feedback(self, z: Tensor) -> Tensor:
        """``W z`` of every loop layer with the float weights, without the bias."""
        total = sum(layer.ideal_forward(z) for layer in self.loop_layers())
        bias = self.core.bias.view(1, -1, *([1] * (z.dim() - 2)))  # type: ignore[union-attr]
        return total - bias

    def workload(self, x: Tensor) -> DEQWorkload:
        """The per-inference work: stem, core and head MACs, measured on one sample of
        ``x`` (hooks on the stem's and head's layers while the model computes its
        injection and read-out; the loop layers' MAC counters over one evaluation of the
        core map), and what the core's crossbar draws on that sample: the programmed
        cells' mean conductance (:func:`~hadeq.energy.workload.layer_conductance` of every
        loop layer over the core's cells) and the rows' activity, the mean ``z*²`` of its
        equilibrium in evaluation mode (the circuit's ``z(t_s)`` while the loop is
        calibrated), its read noise drawn from a fixed seed. The model, its counters and
        torch's random state are left as they were."""
        was_training = self.training
        counters = [layer.counters() for layer in self.loop_layers()]
        self.eval()
        # Every evaluation here may draw read (and loop) noise: from a fixed seed, in a fork
        # of torch's random stream, so the workload is a function of the model and x alone
        # (not of whatever drew from the stream before) and the caller's stream is kept.
        devices = [x.device] if x.device.type == "cuda" else []
        try:
            with torch.random.fork_rng(devices=devices):
                torch.manual_seed(_WORKLOAD_SEED)
                x1 = x[:1]
                stem, u = _layer_specs(self.stem, lambda: self.injection(x1), "stem")
                for layer in self.loop_layers():
                    layer.reset_counters()
                with torch.no_grad():
                    solved, _ = self.maps(torch.zeros_like(u))
                    z = solved(torch.zeros_like(u))
                cells = [int(layer.n_macs) for layer in self.loop_layers()]
                core_macs = sum(cells)
                grid = (int(z.shape[-2]), int(z.shape[-1])) if z.dim() == 4 else None
                conductance = sum(layer_conductance(layer, n, grid)
                                  for layer, n in zip(self.loop_layers(), cells, strict=True))
                with torch.no_grad():
                    z_star = self.equilibrium(u).z_star
                assert z_star is not None  # a DEQ's equilibrium
                head, _ = _layer_specs(self.head, lambda: self.head(z), "head")
        finally:
            self.train(was_training)
            for layer, saved in zip(self.loop_layers(), counters, strict=True):
                layer.__dict__.update(saved)
        neurons = int(z[0].numel())
        stem[-1] = dataclasses.replace(stem[-1], out_features=neurons)
        head[0] = dataclasses.replace(head[0], in_features=neurons)
        return DEQWorkload(neurons=neurons, injection=tuple(stem), head=tuple(head),
                           core_macs=core_macs, path_amplifiers=self._path_amplifiers(z),
                           core_weights=sum(int(layer.weight.numel())  # type: ignore[union-attr]
                                            for layer in self.loop_layers()),
                           core_g_fraction=conductance / core_macs if core_macs else None,
                           core_activity=min(float(z_star.square().mean()), 1.0))


def _layer_specs(module: nn.Module, run: Callable[[], Tensor],
                 name: str) -> tuple[list[LayerSpec], Tensor]:
    """Call ``run()`` (one sample) and describe the linear/conv layers of ``module`` it
    passes through, with their MACs."""
    specs: list[LayerSpec] = []

    def hook(layer: nn.Module, inputs: tuple[Tensor, ...], output: Tensor) -> None:
        out = output[0].numel()
        if isinstance(layer, nn.Conv2d):
            fan_in = layer.in_channels // layer.groups * math.prod(layer.kernel_size)
        else:
            fan_in = layer.in_features
        specs.append(LayerSpec(inputs[0][0].numel(), out, name=f"{name}{len(specs)}",
                               activation=False, macs=out * fan_in,
                               weights=layer.weight.numel()))

    handles = [m.register_forward_hook(hook) for m in module.modules()
               if isinstance(m, nn.Linear | nn.Conv2d)]
    try:
        with torch.no_grad():
            out = run()
    finally:
        for h in handles:
            h.remove()
    return specs, out
