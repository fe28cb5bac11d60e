"""Score helpers shared by the re-rankers."""

from __future__ import annotations

import numpy as np


def standardise(values: np.ndarray) -> np.ndarray:
    """(x - mean) / std; all zeros when the values are constant (or fewer than two)."""
    values = np.asarray(values, dtype=np.float64)
    if values.size < 2:
        return np.zeros_like(values)
    std = values.std()
    return np.zeros_like(values) if std == 0 or not np.isfinite(std) else (values - values.mean()) / std
