"""Models: the hybrid analog-digital DEQ (the digital DEQ is its ``ideal`` preset) and the
baselines: feed-forward analog networks (AnalogMLP, AnalogCNN) and the ff-EBM (EP).

Every model is a :class:`HadeqModel` (the written interface other layers rely on) and
returns a :class:`ModelOutput`; :data:`MODEL_KINDS` is the table of kinds a config file
can name.
"""

from hadeq.models.config import ConvHybridDEQConfig, HybridDEQConfig
from hadeq.models.conv_hybrid import ConvHybridDEQ
from hadeq.models.core import AnalogCoreDEQ, LoopCalibration
from hadeq.models.ep import EPFunction, ep_gradients, hopfield_energy
from hadeq.models.feedforward import AnalogCNN, AnalogCNNConfig, AnalogMLP, AnalogMLPConfig
from hadeq.models.ffebm import FFEBM, EnergyBlock, FFEBMConfig
from hadeq.models.hybrid import HybridDEQ
from hadeq.models.interface import HadeqModel, ModelOutput, parameter_count
from hadeq.models.precision import DIGITAL_PRECISIONS, at_precision, fake_quantize
from hadeq.models.registry import (
    MODEL_KINDS,
    ModelHints,
    ModelSpec,
    build_model,
    parse_model_section,
)

__all__ = [
    "DIGITAL_PRECISIONS",
    "FFEBM",
    "MODEL_KINDS",
    "AnalogCNN",
    "AnalogCNNConfig",
    "AnalogCoreDEQ",
    "AnalogMLP",
    "AnalogMLPConfig",
    "ConvHybridDEQ",
    "ConvHybridDEQConfig",
    "EPFunction",
    "EnergyBlock",
    "FFEBMConfig",
    "HadeqModel",
    "HybridDEQ",
    "HybridDEQConfig",
    "LoopCalibration",
    "ModelHints",
    "ModelOutput",
    "ModelSpec",
    "at_precision",
    "build_model",
    "ep_gradients",
    "fake_quantize",
    "hopfield_energy",
    "parameter_count",
    "parse_model_section",
]
