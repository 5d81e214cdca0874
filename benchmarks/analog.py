"""Benchmark of hadeq.analog.AnalogLinear (a script, not a test).

Measures training-mode forward+backward time of AnalogLinear relative to torch.nn.Linear:

* ``timing`` — under settings comparable with aihwkit-lightning's AnalogLinear (8-bit
  DAC/ADC, output noise, 256-row tiles), and against it when it is installed;
* ``presets`` — on every hardware preset (``HardwareConfig.PRESET_NAMES``: device models,
  converters and read noise as the preset defines them), at the sizes of ``--preset-sizes``
  and batch ``--preset-batch``; the device model runs in every training forward, since
  the gradient must reach the weights. ``presets_flushed``: the same with the caches
  flushed before every pass (``--flush-mib``), as inside a network whose other layers
  run between a layer's passes: the device read streams the weights and ten static
  arrays per device, which repeated passes of one layer would find in cache.

* ``weight noise`` — with weight noise in training, against aihwkit-lightning's
  ``AnalogLinear`` with additive Gaussian weight noise (``ADD_NORMAL``, std
  ``WEIGHT_NOISE`` of ``max|W|``) and 8-bit weight quantization: hadeq's ``gaussian``
  device model with the same std (programming noise ``WEIGHT_NOISE/√2`` per device of the
  differential pair) and 8-bit weights, (a) a chip reprogrammed before every forward
  (fresh weight noise each pass, as aihwkit-lightning draws it) and (b) one programmed
  chip (how hadeq trains: the static draws are redrawn per batch, not per pass).

It also checks that the output-noise statistics of both simulators agree under the same
settings. Each timing is the median of ``--repeats`` runs of ``--iters`` passes, the
layers timed in turn within every run; ratios are medians of the per-run ratios.

    python benchmarks/analog.py --threads 1 --out results/benchmarks/analog.json

prints the tables the README shows (``hadeq.bench.perf.analog_tables``); the JSON is
written atomically.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from hadeq.analog import AnalogLinear, HardwareConfig
from hadeq.bench.perf import analog_tables, command_line, ratio_runs
from hadeq.io import write_json_atomic

NOISE = 0.04  # output noise, fraction of full scale (the aihwkit HWA value)
BITS = 8
OUT_BOUND = 10.0
TILE_ROWS = 256
WEIGHT_NOISE = 0.02  # weight noise std, fraction of max|W| (a common HWA training value)


def time_fwd_bwd(layers: dict[str, nn.Module], x: torch.Tensor, iters: int,
                 repeats: int, flush: torch.Tensor | None = None) -> dict[str, list[float]]:
    """Seconds per forward+backward pass of each layer, ``repeats`` runs of ``iters``.

    The layers are timed in turn within every run, so a busy machine slows all of them
    alike and the per-run ratios stay meaningful. With ``flush`` (a buffer larger than
    the last-level cache) the buffer is written before every pass, outside the timing,
    so each pass finds nothing of the layer in cache.
    """
    x = x.clone().requires_grad_(True)
    for layer in layers.values():  # warm-up
        for _ in range(2):
            layer(x).square().mean().backward()
    runs: dict[str, list[float]] = {name: [] for name in layers}
    for _ in range(repeats):
        for name, layer in layers.items():
            seconds = 0.0
            for _ in range(iters):
                if flush is not None:
                    flush.add_(1.0)
                start = time.perf_counter()
                layer.zero_grad(set_to_none=True)
                x.grad = None
                layer(x).square().mean().backward()
                seconds += time.perf_counter() - start
            runs[name].append(seconds / iters)
    return runs


def record_ratio(row: dict[str, Any], key: str, times: list[float], reference: list[float]
                 ) -> None:
    """``row[key]``: the median of the per-run ratios, ``row[key + "_runs"]``: the ratios."""
    runs = ratio_runs(times, reference)
    row[key], row[f"{key}_runs"] = statistics.median(runs), runs


def ours(ref: nn.Linear, *, quantized: bool, tile_rows: int) -> AnalogLinear:
    cfg = HardwareConfig(
        input_bits=BITS if quantized else None,
        output_bits=BITS if quantized else None,
        output_range=OUT_BOUND if quantized else None,
        input_range=1.0,
        read_noise=NOISE,
        tile_rows=tile_rows,
        tile_cols=max(ref.out_features, 1),
    )
    return AnalogLinear.from_linear(ref, cfg).train()


def time_presets(n: int, batch: int, iters: int, repeats: int,
                 flush: torch.Tensor | None = None) -> dict[str, Any]:
    """Forward+backward of AnalogLinear on every preset against nn.Linear, ``n`` × ``n``
    (with the caches flushed before every pass if ``flush`` is given)."""
    torch.manual_seed(n)  # the same layers and inputs with and without the flush
    ref = nn.Linear(n, n)
    x = torch.rand(batch, n) * 2 - 1
    layers: dict[str, nn.Module] = {"nn_linear": ref}
    for name in HardwareConfig.PRESET_NAMES:
        layers[name] = AnalogLinear.from_linear(ref, HardwareConfig.preset(name)).train()
    runs = time_fwd_bwd(layers, x, iters, repeats, flush)
    row: dict[str, Any] = {"in=out": n, "batch": batch}
    for name, times in runs.items():
        row[f"{name}_ms"] = statistics.median(times) * 1e3
        if name != "nn_linear":
            record_ratio(row, f"{name}_vs_nn_linear", times, runs["nn_linear"])
    return row


def load_aihwkit() -> tuple[Any, str | None]:
    try:
        import aihwkit_lightning  # noqa: F401
        from aihwkit_lightning.nn import AnalogLinear as LightningLinear
        from aihwkit_lightning.simulator.configs import TorchInferenceRPUConfig
    except Exception as exc:  # any import failure is reported, the rest still runs
        return None, f"aihwkit-lightning unavailable: {type(exc).__name__}: {exc}"
    return (LightningLinear, TorchInferenceRPUConfig), None


def theirs(api: Any, ref: nn.Linear, *, quantized: bool, tile_rows: int) -> nn.Module:
    lightning_linear, rpu_config_cls = api
    rpu = rpu_config_cls()
    rpu.forward.out_noise = NOISE
    rpu.forward.out_noise_per_channel = False
    rpu.forward.inp_res = (2**BITS - 2) if quantized else -1
    rpu.forward.out_res = (2**BITS - 2) if quantized else -1
    rpu.forward.out_bound = OUT_BOUND if quantized else -1
    rpu.mapping.max_input_size = tile_rows
    rpu.pre_post.input_range.enable = True
    rpu.pre_post.input_range.learn_input_range = False
    rpu.pre_post.input_range.init_value = 1.0
    rpu.pre_post.input_range.init_from_data = 0
    layer = lightning_linear(ref.in_features, ref.out_features, True, rpu_config=rpu)
    with torch.no_grad():
        layer.weight.copy_(ref.weight)
        layer.bias.copy_(ref.bias)
    return layer.train()


class Reprogrammed(nn.Module):
    """An AnalogLinear whose chip is programmed anew (fresh static draws) before every
    forward."""

    def __init__(self, layer: AnalogLinear) -> None:
        super().__init__()
        self.layer, self.step = layer, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.step += 1
        self.layer.program(self.step)
        return self.layer(x)


def weight_noise_layers(api: Any, ref: nn.Linear) -> dict[str, nn.Module]:
    """The weight-noise comparison's layers (see the module docstring)."""
    cfg = HardwareConfig(weight_bits=BITS, device_model="gaussian",
                         programming_noise=WEIGHT_NOISE / math.sqrt(2.0), input_bits=BITS,
                         output_bits=BITS, output_range=OUT_BOUND, read_noise=NOISE,
                         tile_rows=TILE_ROWS, tile_cols=max(ref.out_features, 1))
    layers: dict[str, nn.Module] = {
        "nn_linear": ref,
        "hadeq_reprogrammed": Reprogrammed(AnalogLinear.from_linear(ref, cfg).train()),
        "hadeq_one_chip": AnalogLinear.from_linear(ref, cfg).train()}
    if api is not None:
        from aihwkit_lightning.simulator.parameters.enums import (
            WeightNoiseInjectionType,
            WeightQuantizationType,
        )
        layer = theirs(api, ref, quantized=True, tile_rows=TILE_ROWS)
        layer.rpu_config.modifier.noise_type = WeightNoiseInjectionType.ADD_NORMAL
        layer.rpu_config.modifier.std_dev = WEIGHT_NOISE
        layer.rpu_config.modifier.quantization_type = WeightQuantizationType.DISCRETIZE
        layer.rpu_config.modifier.res = 2.0 / (2**BITS - 2)
        layers["aihwkit_lightning"] = layer
    return layers


def time_weight_noise(api: Any, n: int, batch: int, iters: int, repeats: int
                      ) -> dict[str, Any]:
    ref = nn.Linear(n, n)
    x = torch.rand(batch, n) * 2 - 1
    runs = time_fwd_bwd(weight_noise_layers(api, ref), x, iters, repeats)
    row: dict[str, Any] = {"in=out": n, "batch": batch}
    for name, times in runs.items():
        row[f"{name}_ms"] = statistics.median(times) * 1e3
        if name != "nn_linear":
            record_ratio(row, f"{name}_vs_nn_linear", times, runs["nn_linear"])
            if "aihwkit_lightning" in runs and name.startswith("hadeq"):
                record_ratio(row, f"{name}_vs_aihwkit_lightning", times,
                             runs["aihwkit_lightning"])
    return row


def noise_std(layer: nn.Module, ideal: Callable[[torch.Tensor], torch.Tensor],
              x: torch.Tensor) -> float:
    with torch.no_grad():
        return float((layer(x) - ideal(x)).std())


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="write the results as JSON to this path")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(),
                        help="torch threads (default: torch's own choice); one thread "
                             "gives stable ratios on a shared machine")
    parser.add_argument("--preset-sizes", type=int, nargs="*", default=[384, 1024],
                        help="in = out of the per-preset timing (none: skip it)")
    parser.add_argument("--preset-batch", type=int, default=192)
    parser.add_argument("--flush-mib", type=int, default=64,
                        help="also time the presets with a buffer of this many MiB written "
                             "before every pass, so that nothing of a layer stays in cache "
                             "(larger than the last-level cache; 0: skip)")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    torch.set_num_threads(max(1, args.threads))
    api, reason = load_aihwkit()

    rows: list[dict[str, Any]] = []
    for n in args.sizes:
        ref = nn.Linear(n, n)
        x = torch.rand(args.batch, n) * 2 - 1
        layers: dict[str, nn.Module] = {
            "nn_linear": ref, "hadeq": ours(ref, quantized=True, tile_rows=TILE_ROWS)}
        if api is not None:
            layers["aihwkit_lightning"] = theirs(api, ref, quantized=True, tile_rows=TILE_ROWS)
        runs = time_fwd_bwd(layers, x, args.iters, args.repeats)
        row: dict[str, Any] = {"in=out": n, "batch": args.batch}
        for name, times in runs.items():
            row[f"{name}_ms"] = statistics.median(times) * 1e3
        record_ratio(row, "hadeq_vs_nn_linear", runs["hadeq"], runs["nn_linear"])
        if api is not None:
            record_ratio(row, "hadeq_vs_aihwkit_lightning", runs["hadeq"],
                         runs["aihwkit_lightning"])
        rows.append(row)

    presets = [time_presets(n, args.preset_batch, args.iters, args.repeats)
               for n in args.preset_sizes]
    flush = torch.zeros(args.flush_mib * 2**20 // 4) if args.flush_mib > 0 else None
    presets_flushed = [] if flush is None else [
        time_presets(n, args.preset_batch, args.iters, args.repeats, flush)
        for n in args.preset_sizes]
    del flush
    weight_noise = [time_weight_noise(api, n, args.batch, args.iters, args.repeats)
                    for n in args.sizes]

    # Output-noise statistics under identical settings: one tile, no quantization, static
    # input range 1, output noise NOISE · max|W| · input_range.
    n = 256
    ref = nn.Linear(n, n)
    x = torch.rand(4096, n) * 2 - 1
    expected = NOISE * float(ref.weight.detach().abs().max())
    noise: dict[str, Any] = {"expected_std": expected,
                             "hadeq_std": noise_std(ours(ref, quantized=False, tile_rows=n),
                                                    ref, x)}
    if api is not None:
        noise["aihwkit_lightning_std"] = noise_std(
            theirs(api, ref, quantized=False, tile_rows=n), ref, x)
        noise["relative_difference"] = abs(noise["hadeq_std"] / noise["aihwkit_lightning_std"]
                                           - 1)
        noise["agree_within_2pct"] = noise["relative_difference"] < 0.02

    result = {
        "command": command_line(__file__, argv),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "config": {"sizes": args.sizes, "batch": args.batch, "iters": args.iters,
                   "repeats": args.repeats, "preset_sizes": args.preset_sizes,
                   "preset_batch": args.preset_batch, "flush_mib": args.flush_mib},
        "settings": {"bits": BITS, "out_noise": NOISE, "out_bound": OUT_BOUND,
                     "tile_rows": TILE_ROWS, "mode": "train", "input_range": 1.0,
                     "weight_noise": WEIGHT_NOISE, "weight_bits": BITS},
        "aihwkit_lightning": "ok" if api is not None else reason,
        "timing": rows,
        "presets": presets,
        "presets_flushed": presets_flushed,
        "weight_noise": weight_noise,
        "noise": noise,
    }
    print(analog_tables(result))
    if args.out:
        write_json_atomic(args.out, result)
        print(f"\nwrote {args.out}")
    return result


if __name__ == "__main__":
    main()
