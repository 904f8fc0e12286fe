"""Registry entries of the classic architectures (filled in by models/classic.py work)."""

from __future__ import annotations

from kerasvision.models._spec import ModelSpec

CLASSIC_MODELS: dict[str, ModelSpec] = {}
