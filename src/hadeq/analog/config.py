"""Hardware configuration of an analog in-memory-compute tile array.

Units and conventions used throughout :mod:`hadeq.analog`:

- A weight matrix is scaled by ``w_scale`` (max ``|W|`` of the layer, or of each output
  column) so that ``ŵ = W / w_scale ∈ [−1, 1]``, and stored as a differential pair of
  conductances ``G± = g_min + (g_max − g_min)·max(±ŵ, 0)``.
- Inputs are scaled by ``x_range`` (``input_range``, or the per-vector max ``|x|`` when
  ``input_range`` is None) so that ``x̂ ∈ [−1, 1]`` drives the DACs.
- **Full scale (FS)** of a tile output is the output of one fully programmed cell
  (``ŵ = 1``) driven by a full-scale input (``x̂ = 1``); in layer units it is
  ``FS = x_range · w_scale``. Noise, offsets and the ADC range are given as multiples of FS
  (the normalised convention of IBM aihwkit, where ``out_noise`` and ``out_bound`` are
  fractions/multiples of the same unit).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from hadeq import constants as C
from hadeq.errors import ConfigError
from hadeq.validation import check_choice, check_int, check_range, from_mapping, to_dict


class DeviceModel(StrEnum):
    """How programmed conductances deviate from their targets."""

    IDEAL = "ideal"
    """Conductances exactly as programmed (after weight quantization)."""
    GAUSSIAN = "gaussian"
    """Static Gaussian programming noise of std ``programming_noise · g_max`` per device."""
    PCM = "pcm"
    """Nandakumar et al. (ICECS 2019) PCM model: conductance-dependent programming noise,
    power-law drift to ``t_inference_s`` and accumulated 1/f read noise, with optional
    global drift compensation."""


class WeightScale(StrEnum):
    """Granularity of the digital weight scale ``w_scale``."""

    LAYER = "layer"
    """One scale ``max |W|`` for the whole layer."""
    COLUMN = "column"
    """One scale per output (crossbar column): ``max_i |W_ji|``."""


@dataclass(frozen=True)
class HardwareConfig:
    """Non-idealities of an analog crossbar array; all off by default (exact float).

    Build one directly, from a named preset (:meth:`preset`), or from a mapping of options
    (:meth:`parse`, which refuses unknown keys). Every field is validated on
    construction and a bad value raises :class:`hadeq.errors.ConfigError` naming it.
    """

    PRESET_NAMES: ClassVar[tuple[str, ...]] = ("ideal", "hermes_pcm_8bit", "rram_4bit")

    # --- weights / conductances ---------------------------------------------------------
    weight_bits: int | None = None
    """Resolution of each programmed weight, 1–16 bits: ``ŵ`` is rounded to ``2^b − 1``
    uniform levels on [−1, 1] (2 levels, ±1, for b = 1). None keeps float weights."""

    g_max_us: float = C.PCM_G_MAX_US
    """Largest device conductance g_max in µS (the device programmed for ``|ŵ| = 1``)."""

    g_min_us: float = 0.0
    """Smallest device conductance g_min in µS (the idle device of each pair), < g_max."""

    weight_scale: WeightScale = WeightScale.LAYER
    """Digital weight scale granularity: ``layer`` or ``column`` (see :class:`WeightScale`)."""

    # --- converters ---------------------------------------------------------------------
    input_bits: int | None = None
    """DAC resolution, 1–16 bits: ``x̂`` is clipped to [−1, 1] and rounded to ``2^b − 1``
    uniform levels. None: no input quantization."""

    input_range: float | None = None
    """DAC full scale ``x_range`` in units of the layer input (> 0); inputs beyond it are
    clipped. None: dynamic range, the max ``|x|`` of each input vector (never clips)."""

    output_bits: int | None = None
    """ADC resolution, 1–16 bits, over ``[−output_range, output_range]``; needs
    ``output_range``. None: no output quantization."""

    output_range: float | None = None
    """ADC full scale in multiples of the tile full scale FS (> 0); each tile's outputs
    are clipped to ±output_range·FS before the partial sums are added. None: no clipping."""

    # --- noise --------------------------------------------------------------------------
    read_noise: float = 0.0
    """Std of additive Gaussian noise at every tile output, as a fraction of FS, drawn
    fresh at every read (the aihwkit ``out_noise`` convention). Partial sums of ``R`` row
    tiles therefore carry ``read_noise·FS·sqrt(R)``."""

    programming_noise: float = 0.0
    """Static programming-noise std per device as a fraction of g_max (``gaussian`` device
    model only; 0 otherwise). Sampled by ``program(seed)``."""

    device_model: DeviceModel = DeviceModel.IDEAL
    """``ideal``, ``gaussian`` or ``pcm`` (see :class:`DeviceModel`)."""

    t_inference_s: float = 0.0
    """``pcm`` only: time since programming in s at which the array is read. Drift
    ``(t/t0)^(−ν)`` applies for t > t0 = 20 s; 1/f read noise accumulates for t > 250 ns."""

    drift_compensation: bool = True
    """``pcm`` only: rescale every layer's output by one global digital factor
    ``α = Σ|G+_prog − G−_prog| / Σ|G+(t) − G−(t)|`` (a noiseless calibration read)."""

    pcm_noise_scale: float = 1.0
    """``pcm`` only: multiplies the PCM programming and 1/f read-noise std (0 turns both
    off, leaving pure drift)."""

    # --- array geometry and periphery ---------------------------------------------------
    wire_resistance_ohm: float = 0.0
    """Word-line resistance between adjacent cells in Ω (IR drop; 0 turns it off). See
    :func:`hadeq.analog.crossbar.ir_drop_factor` for the first-order model."""

    tile_rows: int = C.HERMES_TILE_ROWS
    """Crossbar rows (inputs) per tile; larger inputs are split over tiles whose partial
    sums are added digitally after the ADC."""

    tile_cols: int = C.HERMES_TILE_COLS
    """Crossbar columns (outputs) per tile."""

    tau_ns: float = C.LOOP_TAU_NS
    """Time constant τ = R·C of the analog feedback loop's neurons in ns (> 0): the loop
    obeys τ·da/dt = −a + W·σ(a) + u. It sets how fast the loop settles and the amplifier
    bandwidth (hence bias power) the energy model charges for it."""

    gain_mismatch: float = 0.0
    """Static std of the relative gain error of each tile output amplifier (≥ 0)."""

    offset_mismatch: float = 0.0
    """Static std of each tile output amplifier's offset, as a fraction of FS (≥ 0)."""

    def __post_init__(self) -> None:
        for name in ("weight_bits", "input_bits", "output_bits"):
            value = getattr(self, name)
            if value is not None:
                check_int(name, value, 1, 16)
        check_range("g_max_us", self.g_max_us, 0.0, None, low_open=True)
        check_range("g_min_us", self.g_min_us, 0.0, self.g_max_us, high_open=True)
        self._coerce_enum("weight_scale", WeightScale)
        self._coerce_enum("device_model", DeviceModel)
        if self.input_range is not None:
            check_range("input_range", self.input_range, 0.0, None, low_open=True)
        if self.output_range is not None:
            check_range("output_range", self.output_range, 0.0, None, low_open=True)
        elif self.output_bits is not None:
            raise ConfigError("output_range", None, "a positive ADC range is required when "
                              "output_bits is set")
        check_range("read_noise", self.read_noise, 0.0, None)
        check_range("programming_noise", self.programming_noise, 0.0, None)
        check_range("t_inference_s", self.t_inference_s, 0.0, None)
        check_choice("drift_compensation", self.drift_compensation, (True, False))
        check_range("pcm_noise_scale", self.pcm_noise_scale, 0.0, None)
        check_range("wire_resistance_ohm", self.wire_resistance_ohm, 0.0, None)
        check_int("tile_rows", self.tile_rows, 1, 1 << 20)
        check_int("tile_cols", self.tile_cols, 1, 1 << 20)
        check_range("tau_ns", self.tau_ns, 0.0, None, low_open=True)
        check_range("gain_mismatch", self.gain_mismatch, 0.0, 1.0, high_open=True)
        check_range("offset_mismatch", self.offset_mismatch, 0.0, None)
        # Model-specific options set for another model would be silently ignored: refuse.
        if self.programming_noise > 0 and self.device_model != DeviceModel.GAUSSIAN:
            raise ConfigError("programming_noise", self.programming_noise,
                              "must be 0 unless device_model='gaussian' (pcm has its own model)")
        if self.device_model != DeviceModel.PCM:
            for name, default in (("t_inference_s", 0.0), ("pcm_noise_scale", 1.0),
                                  ("drift_compensation", True)):
                if getattr(self, name) != default:
                    raise ConfigError(name, getattr(self, name),
                                      f"only used by device_model='pcm'; leave it at {default!r}")

    def _coerce_enum(self, name: str, enum: type[StrEnum]) -> None:
        value = getattr(self, name)
        check_choice(name, value, [m.value for m in enum] + list(enum))
        object.__setattr__(self, name, enum(value))

    # --- derived properties -------------------------------------------------------------
    @property
    def is_exact(self) -> bool:
        """True when every non-ideality is off: layers then compute the float result."""
        return (
            self.weight_bits is None and self.input_bits is None and self.output_bits is None
            and self.input_range is None and self.output_range is None
            and self.read_noise == 0.0 and self.device_model == DeviceModel.IDEAL
            and self.wire_resistance_ohm == 0.0 and self.gain_mismatch == 0.0
            and self.offset_mismatch == 0.0
        )

    # --- construction -------------------------------------------------------------------
    def replace(self, **changes: Any) -> HardwareConfig:
        """A copy with some fields changed (validated again)."""
        for key in changes:
            if key not in {f.name for f in dataclasses.fields(self)}:
                raise ConfigError(f"HardwareConfig.{key}", changes[key], "not an option")
        return dataclasses.replace(self, **changes)

    @classmethod
    def parse(cls, value: Any, field: str = "hardware") -> HardwareConfig:
        """The one hardware parser: a HardwareConfig as it is, a preset name, or a mapping
        of fields (an optional ``preset`` key starts from that preset). Errors name
        ``field.<key>``."""
        if isinstance(value, HardwareConfig):
            return value
        try:
            if isinstance(value, str) and value in cls.PRESET_NAMES:
                return cls.preset(value)
            if isinstance(value, Mapping):
                data = dict(value)
                name = data.pop("preset", None)
                base = to_dict(cls.preset(name)) if name is not None else {}
                base.update(data)
                return from_mapping(cls, base, owner=field)
        except ConfigError as exc:
            raise exc.prefixed(field) from None
        raise ConfigError(field, value, "a preset name (" + ", ".join(cls.PRESET_NAMES)
                          + ") or a mapping of its fields")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready copy (enums as strings)."""
        return to_dict(self)

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> HardwareConfig:
        """A named preset (see :data:`PRESETS`), optionally with some fields changed."""
        check_choice("preset", name, cls.PRESET_NAMES)
        return PRESETS[name].replace(**overrides)


PRESETS: dict[str, HardwareConfig] = {
    # Exact float: AnalogLinear / AnalogConv2d reproduce nn.Linear / nn.Conv2d.
    "ideal": HardwareConfig(),
    # HERMES-like (Le Gallo et al. 2023): 256×256 PCM tiles, 8-bit I/O, PCM device model
    # read one hour after programming, with aihwkit's HWA output noise and ADC bound.
    "hermes_pcm_8bit": HardwareConfig(
        g_max_us=C.PCM_G_MAX_US,
        input_bits=C.HERMES_IO_BITS,
        output_bits=C.HERMES_IO_BITS,
        output_range=C.AIHWKIT_DEFAULT_OUT_BOUND,
        read_noise=C.AIHWKIT_HWA_OUT_NOISE,
        device_model=DeviceModel.PCM,
        t_inference_s=3600.0,  # one hour: a common evaluation point, not a hardware number
        tile_rows=C.HERMES_TILE_ROWS,
        tile_cols=C.HERMES_TILE_COLS,
    ),
    # Multi-level RRAM with 4-bit weights, aihwkit default converters and IR drop.
    "rram_4bit": HardwareConfig(
        weight_bits=4,
        g_max_us=C.RRAM_G_MAX_US,
        input_bits=C.AIHWKIT_DEFAULT_DAC_BITS,
        output_bits=C.AIHWKIT_DEFAULT_ADC_BITS,
        output_range=C.AIHWKIT_DEFAULT_OUT_BOUND,
        read_noise=C.AIHWKIT_HWA_OUT_NOISE,
        programming_noise=C.RRAM_PROG_NOISE,
        device_model=DeviceModel.GAUSSIAN,
        wire_resistance_ohm=C.WIRE_RESISTANCE_OHM_PER_CELL,
        tile_rows=C.HERMES_TILE_ROWS,
        tile_cols=C.HERMES_TILE_COLS,
    ),
}
"""Named hardware presets; ``HardwareConfig.preset(name)`` returns (a copy of) one."""
