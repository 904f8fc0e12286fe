"""`ModelSpec`: one registry entry (plain data, no Keras import)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ModelSpec:
    """How to build one registered scratch architecture.

    Attributes:
        builder: `"module:function"` import path of the builder. The builder takes
            `(input_shape, num_classes, **kwargs)` and returns an uncompiled
            functional `keras.Model`.
        description: One line shown by `kerasvision models`.
        default_size: Input height/width used when the caller gives none and the
            data has no natural size.
        min_size: Smallest input height/width the default configuration accepts.
        feature_layer: Name of the last spatial feature map layer of the default
            configuration (Grad-CAM target, cut point for reuse as a backbone), or
            `None` to locate it from the built model with `find_feature_layer`.
        defaults: Keyword arguments applied before the caller's.
        aux_loss_weight: Loss weight of each auxiliary classifier output. Models
            with auxiliary heads (Inception v1) have outputs
            `[predictions, aux1_predictions, ...]` while training; training weighs
            the extra outputs by this and export/evaluation keep `predictions`
            only. 0 for single-output models.
    """

    builder: str
    description: str
    default_size: int = 32
    min_size: int = 8
    feature_layer: str | None = None
    defaults: dict[str, Any] = field(default_factory=dict)
    aux_loss_weight: float = 0.0

    def resolve_builder(self):
        module_name, _, function_name = self.builder.partition(":")
        return getattr(importlib.import_module(module_name), function_name)
