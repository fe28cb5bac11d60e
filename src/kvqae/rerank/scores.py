"""Score helpers shared by the re-rankers."""

from __future__ import annotations

import numpy as np


def standardise(values: np.ndarray) -> np.ndarray:
    """(x - mean) / std; all zeros when the values are constant (or fewer than two). Scores so large or so
    small that their squares overflow or vanish (1e200, 1e-310) are scaled first: their std was inf or 0,
    every z-score 0, and the run's order was lost."""
    values = np.asarray(values, dtype=np.float64)
    if values.size < 2:
        return np.zeros_like(values)
    with np.errstate(over="ignore", under="ignore"):
        std = values.std()
    if (std == 0 or not np.isfinite(std)) and np.isfinite(values).all() and values.max() > values.min():
        values = values / np.abs(values).max()  # the same z-scores, computed where squares fit
        std = values.std()
    return np.zeros_like(values) if std == 0 or not np.isfinite(std) else (values - values.mean()) / std
