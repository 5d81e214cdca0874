import pytest

from hadeq.analog import PRESETS, DeviceModel, HardwareConfig
from hadeq.errors import ConfigError


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("weight_bits", 0),
        ("weight_bits", 17),
        ("input_bits", 2.5),
        ("g_max_us", -1.0),
        ("read_noise", -0.1),
        ("read_noise", float("nan")),
        ("tile_rows", 0),
        ("device_model", "flash"),
        ("weight_scale", "row"),
        ("input_range", 0.0),
        ("gain_mismatch", 1.0),
    ],
)
def test_bad_values_raise_config_error_naming_the_field(field, value):
    with pytest.raises(ConfigError) as info:
        HardwareConfig(**{field: value})
    assert info.value.field == field
    assert "\n" not in str(info.value)


def test_model_specific_options_are_refused_for_other_models():
    with pytest.raises(ConfigError) as info:
        HardwareConfig(programming_noise=0.1)  # device_model ideal
    assert info.value.field == "programming_noise"
    with pytest.raises(ConfigError) as info:
        HardwareConfig(device_model="gaussian", t_inference_s=10.0)
    assert info.value.field == "t_inference_s"
    with pytest.raises(ConfigError) as info:
        HardwareConfig(output_bits=8)  # needs an ADC range
    assert info.value.field == "output_range"


def test_parse_refuses_unknown_keys_and_applies_presets():
    with pytest.raises(ConfigError) as info:
        HardwareConfig.parse({"weigth_bits": 4})
    assert "weight_bits" in str(info.value)
    assert info.value.field.startswith("hardware")
    cfg = HardwareConfig.parse({"preset": "rram_4bit", "weight_bits": 3})
    assert cfg.weight_bits == 3 and cfg.device_model == DeviceModel.GAUSSIAN
    assert HardwareConfig.parse(cfg.to_dict()) == cfg
    assert HardwareConfig.parse(cfg) is cfg
    assert HardwareConfig.parse("rram_4bit") == HardwareConfig.preset("rram_4bit")
    with pytest.raises(ConfigError):
        HardwareConfig.preset("nope")


def test_presets():
    assert set(PRESETS) == set(HardwareConfig.PRESET_NAMES)
    assert HardwareConfig.preset("ideal").is_exact
    hermes = HardwareConfig.preset("hermes_pcm_8bit")
    assert (hermes.tile_rows, hermes.tile_cols, hermes.input_bits, hermes.output_bits) == (
        256, 256, 8, 8)
    assert hermes.device_model == DeviceModel.PCM
    assert HardwareConfig.preset("rram_4bit").weight_bits == 4
