"""Where the apps find ``../shared`` (the flowers5 photos and the offline weights)."""

from __future__ import annotations

import os

HERE = os.path.dirname(os.path.abspath(__file__))


def shared_root(shared: str | None = None) -> str:
    """--shared, else $KERASVISION_SHARED, else ../shared next to the repository."""
    if shared:
        return shared
    return os.environ.get(
        "KERASVISION_SHARED", os.path.join(HERE, "..", "..", "shared")
    )
