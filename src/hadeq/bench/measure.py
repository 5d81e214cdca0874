"""Measurements on a trained model: its workload, digital iterations, analog settling."""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from hadeq.analog import HardwareConfig, measure_snr_db, snr_db
from hadeq.analog.base import AnalogMVM
from hadeq.energy import DEQWorkload, LayerSpec


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


def deq_workload(model: nn.Module, x: Tensor) -> DEQWorkload:
    """The per-inference work of a hybrid/digital DEQ: stem, core and head MACs.

    Measured on one sample: hooks on the stem's and head's layers while the model
    computes its injection and read-out, and the core's MAC counter over one
    evaluation of the core map (every analog layer in the loop).
    """
    model = copy.deepcopy(model).eval()
    x1 = x[:1]
    if x1.dim() == 3 and getattr(model.config, "in_channels", None) == 1:
        x1 = x1.unsqueeze(1)  # a bare single-channel field
    stem, u = _layer_specs(model.stem, lambda: model.injection(x1), "stem")
    loop: tuple[AnalogMVM, ...] = model.loop_layers()
    for layer in loop:
        layer.reset_counters()
    with torch.no_grad():
        solved, _ = model.maps(torch.zeros_like(u))
        z = solved(torch.zeros_like(u))
    core_macs = sum(int(layer.n_macs) for layer in loop)
    neurons = int(z[0].numel())
    head, _ = _layer_specs(model.head, lambda: model.head(z), "head")
    stem[-1] = dataclasses.replace(stem[-1], out_features=neurons)
    head[0] = dataclasses.replace(head[0], in_features=neurons)
    return DEQWorkload(neurons=neurons, injection=tuple(stem), head=tuple(head),
                       core_macs=core_macs,
                       core_weights=sum(int(layer.weight.numel()) for layer in loop))


def _solve_stats(model: nn.Module, x: Tensor) -> dict[str, Any]:
    with torch.no_grad():
        info = model.forward_with_info(x)
    s = info.stats
    trace = s.trace.double()
    # Mean residual over the samples still running (stopped samples are NaN).
    mean_trace = [float(v) for v in trace.nanmean(dim=1)]
    out = {
        "iterations_mean": float(s.iterations.float().mean()),
        "converged_fraction": s.converged_fraction,
        "residual_trace": mean_trace,
    }
    if "settling_time_ns" in s.extras:
        t = s.extras["settling_time_ns"].double()
        out["settling_time_ns"] = float(t.nanmean()) if bool(t.isfinite().any()) else math.nan
        out["settling_time_ns_max"] = float(t.nan_to_num(nan=math.inf).max())
    return out


def digital_iterations(model: nn.Module, x: Tensor, tol: float) -> dict[str, Any]:
    """Anderson iterations per sample to relative residual ``tol`` on ideal float weights."""
    digital = copy.deepcopy(model)
    digital.set_hardware(HardwareConfig.preset("ideal"))
    digital.set_eval_solver("anderson", {"tol": tol, "stop_mode": "rel", "max_iter": 200})
    return _solve_stats(digital.eval(), x)


def analog_settling(model: nn.Module, x: Tensor, hardware: HardwareConfig, tol: float,
                    tau_ns: float, dt_ns: float, seed: int) -> dict[str, Any]:
    """Simulated settling of the analog loop to relative residual ``tol``.

    The loop runs on the programmed chip (quantized, drifted conductances) without read
    noise: settling time is a property of the circuit's dynamics, and with noise the
    residual never falls below its noise floor, so a noisy "time to ``tol``" would not
    exist. Quality is measured separately with the noise on.
    """
    chip = copy.deepcopy(model)
    chip.set_hardware(hardware.replace(read_noise=0.0), seed=seed)
    max_steps = int(200 * tau_ns / dt_ns)
    chip.set_eval_solver("analog_relaxation", {
        "tol": tol, "stop_mode": "rel", "max_iter": max_steps, "tau_ns": tau_ns,
        "dt_ns": dt_ns, "stagnation_window": 0})
    out = _solve_stats(chip.eval(), x)
    out["dt_ns"] = dt_ns
    out["tau_ns"] = tau_ns
    return out


def core_snr(model: nn.Module, x: Tensor, hardware: HardwareConfig,
             seed: int) -> dict[str, float]:
    """How much the hardware perturbs the analog core, on inputs ``x``.

    * ``mvm_snr_db`` — SNR of the core crossbar's output ``W z*`` on the chip against the
      float product (the quantity FACTS.md's "SNR ≥ 20 dB" refers to; for a conv core with
      a spectral path, of the convolution);
    * ``z_snr_db`` — SNR of the chip's equilibrium ``z*`` against the ideal weights' one;
    * ``feedback_share`` — mean ``‖W z*‖ / ‖u‖`` (``W``: all the loop's layers): how much
      the equilibrium depends on the feedback rather than on the digital injection (near
      0, the core acts as a feed-forward layer and analog noise has little to act on).
    """
    chips = []
    for hw in (HardwareConfig.preset("ideal"), hardware):
        chip = copy.deepcopy(model)
        chip.set_hardware(hw, seed=seed)
        chips.append(chip.eval())
    # Read noise from a seeded stream: the same cell measures the same SNR anywhere.
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        ideal, real = (c.forward_with_info(x) for c in chips)
        z = ideal.z_star
        feedback = sum(layer.ideal_forward(z) for layer in chips[0].loop_layers())
        feedback = feedback - chips[0].core.bias.view(1, -1, *([1] * (z.dim() - 2)))
        share = (feedback.flatten(1).norm(dim=1) / ideal.u.flatten(1).norm(dim=1)
                 .clamp_min(1e-12)).mean()
        mvm_snr = measure_snr_db(chips[1].core, real.z_star)
    return {
        "mvm_snr_db": mvm_snr,
        "z_snr_db": snr_db(ideal.z_star, real.z_star),
        "feedback_share": float(share),
    }


def baseline_energy(model: nn.Module, x: Tensor, settle: dict[str, Any],
                    seed: int) -> dict[str, Any]:
    """A baseline's own energy report at default assumptions. Models whose energy depends
    on settling (the ff-EBM's analog energy blocks) first run ``x`` through the
    ``analog_relaxation`` solver on the noise-free chip, as for the hybrid DEQ."""
    if hasattr(model, "set_eval_solver"):
        model = copy.deepcopy(model)
        model.set_hardware(model.hardware.replace(read_noise=0.0), seed=seed)
        max_steps = int(200 * settle["tau_ns"] / settle["dt_ns"])
        model.set_eval_solver("analog_relaxation", {
            "tol": settle["tol"], "stop_mode": "rel", "max_iter": max_steps,
            "tau_ns": settle["tau_ns"], "dt_ns": settle["dt_ns"], "stagnation_window": 0})
        with torch.no_grad():
            model.eval()(x)
    return model.energy_report().to_dict()
