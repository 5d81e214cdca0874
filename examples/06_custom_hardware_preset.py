"""Describe your own chip: a HardwareConfig of your own, from code or from a mapping.

    python examples/06_custom_hardware_preset.py [--quick]

A ``HardwareConfig`` holds every non-ideality of a crossbar array (all off by default:
exact float). Build one directly, start from a named preset (``ideal``,
``hermes_pcm_8bit``, ``rram_4bit``) with ``HardwareConfig.preset(name, **changes)``, or
parse a mapping with ``HardwareConfig.parse`` — the one parser behind config files,
``--set model.hardware.<field>=...`` and every model's ``set_hardware``. Each field is
validated; a bad value raises ``hadeq.ConfigError`` naming the field.
"""

import argparse

import torch
import yaml

import hadeq
from hadeq.analog import AnalogLinear, HardwareConfig, measure_snr_db

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--quick", action="store_true", help="a smaller layer (for tests)")
args = parser.parse_args()
size, batch = (256, 64) if args.quick else (1024, 512)

# 1. in code: a 6-bit RRAM-like chip with 128×128 tiles and programming noise
my_rram = HardwareConfig(
    weight_bits=6, g_max_us=50.0, device_model="gaussian", programming_noise=0.02,
    input_bits=8, output_bits=8, output_range=10.0, read_noise=0.02,
    tile_rows=128, tile_cols=128, wire_resistance_ohm=0.5,
)

# 2. from a mapping, e.g. a YAML file: a preset plus overrides
my_pcm = HardwareConfig.parse(yaml.safe_load("""
preset: hermes_pcm_8bit
weight_bits: 8
read_noise: 0.05          # fraction of the tile full scale, fresh at every read
t_inference_s: 86400      # read one day after programming (PCM drift)
tau_ns: 5                 # a faster analog loop
"""))
print("my_pcm differs from hermes_pcm_8bit in:",
      {k: v for k, v in my_pcm.to_dict().items()
       if v != HardwareConfig.preset("hermes_pcm_8bit").to_dict()[k]})

# 3. the same weights on each chip: SNR of the layer output against float
torch.manual_seed(0)
x = torch.randn(batch, size)
for name, hw in (("ideal", HardwareConfig()), ("my_rram", my_rram), ("my_pcm", my_pcm),
                 ("rram_4bit", HardwareConfig.preset("rram_4bit"))):
    layer = AnalogLinear(size, size, hardware=hw, seed=0)
    tiles = f"{layer.n_row_tiles}×{layer.n_col_tiles} tiles"
    print(f"{name:<10} {tiles:<12} output SNR {measure_snr_db(layer, x):6.1f} dB")

# 4. a round trip through a plain dict (what checkpoints and results.json store)
assert HardwareConfig.parse(my_rram.to_dict()) == my_rram

# 5. mistakes are caught where they are made
for bad in ({"preset": "hermes_pcm_8bit", "read_nois": 0.05},
            {"weight_bits": 32},
            {"device_model": "pcm", "programming_noise": 0.1}):
    try:
        HardwareConfig.parse(bad)
    except hadeq.ConfigError as exc:
        print(f"refused {bad}: {exc}")

# A model takes the chip the same way: HybridDEQConfig(..., hardware=my_pcm), or in a
# training config `model: {hardware: {preset: hermes_pcm_8bit, t_inference_s: 86400}}`.
