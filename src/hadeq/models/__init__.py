"""Models: the hybrid analog-digital DEQ (the digital DEQ is its ``ideal`` preset) and the
baselines: feed-forward analog networks (AnalogMLP, AnalogCNN) and the ff-EBM (EP)."""

from hadeq.models.config import HybridDEQConfig
from hadeq.models.conv_config import ConvHybridDEQConfig
from hadeq.models.conv_hybrid import ConvHybridDEQ
from hadeq.models.core import AnalogCoreDEQ, fake_quantize
from hadeq.models.ep import EPFunction, ep_gradients, hopfield_energy
from hadeq.models.feedforward import (
    AnalogCNN,
    AnalogCNNConfig,
    AnalogMLP,
    AnalogMLPConfig,
    FeedForwardOutput,
    parameter_count,
)
from hadeq.models.ffebm import FFEBM, EnergyBlock, FFEBMConfig, FFEBMOutput
from hadeq.models.hybrid import HybridDEQ, HybridOutput

__all__ = [
    "FFEBM",
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
    "FFEBMOutput",
    "FeedForwardOutput",
    "HybridDEQ",
    "HybridDEQConfig",
    "HybridOutput",
    "ep_gradients",
    "fake_quantize",
    "hopfield_energy",
    "parameter_count",
]
