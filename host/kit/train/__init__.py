"""Training: lab model builders, int8 quantization, evaluation, model cards and the model cache.

    from kit.train import train_lab, reference_model, build_card
"""

from kit.train.card import build_card, card_markdown, write_card
from kit.train.lab import TRAIN_CODE_VERSION
from kit.train.pipeline import TrainResult, export_result, train_lab
from kit.train.reference import list_reference_models, reference_model

__all__ = [
    "TRAIN_CODE_VERSION",
    "TrainResult",
    "build_card",
    "card_markdown",
    "export_result",
    "list_reference_models",
    "reference_model",
    "train_lab",
    "write_card",
]
