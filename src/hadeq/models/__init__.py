"""Models: the hybrid analog-digital DEQ (the digital DEQ is its ``ideal`` preset)."""

from hadeq.models.config import HybridDEQConfig
from hadeq.models.hybrid import HybridDEQ, HybridOutput, fake_quantize

__all__ = ["HybridDEQ", "HybridDEQConfig", "HybridOutput", "fake_quantize"]
