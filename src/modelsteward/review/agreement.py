"""Agreement between reviewers: Cohen's kappa (two raters) and Fleiss' kappa (N raters an item).

Both compare the agreement observed with the agreement expected by chance from how often each
category is used: ``kappa = (p_observed - p_chance) / (1 - p_chance)``; 1 is perfect
agreement, 0 is what chance gives. When chance agreement is already 1 (every rating in one
category) kappa is undefined and NaN is returned.

References: J. Cohen (1960), *A coefficient of agreement for nominal scales*, Educational and
Psychological Measurement 20(1); J. L. Fleiss (1971), *Measuring nominal scale agreement among
many raters*, Psychological Bulletin 76(5).

>>> round(cohen_kappa(["a", "a", "b", "b"], ["a", "b", "b", "b"]), 4)
0.5
>>> round(fleiss_kappa([[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
...                     [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]), 3)
0.21
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence

import numpy as np

__all__ = ["cohen_kappa", "fleiss_kappa", "rating_table"]


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """Cohen's kappa of two raters who rated the same items (``a[i]`` and ``b[i]`` rate item i)."""
    if len(a) != len(b):
        raise ValueError(f"the two raters rated {len(a)} and {len(b)} items; kappa needs the same items")
    if not a:
        raise ValueError("kappa needs at least one item rated by both raters")
    cats = sorted(set(a) | set(b), key=repr)
    index = {c: i for i, c in enumerate(cats)}
    confusion = np.zeros((len(cats), len(cats)))
    for x, y in zip(a, b, strict=True):
        confusion[index[x], index[y]] += 1
    n = confusion.sum()
    observed = np.trace(confusion) / n
    chance = float(confusion.sum(axis=1) @ confusion.sum(axis=0)) / n**2
    return math.nan if chance >= 1 else float((observed - chance) / (1 - chance))


def fleiss_kappa(table: Sequence[Sequence[int]] | np.ndarray) -> float:
    """Fleiss' kappa of a table of counts: one row per item, one column per category.

    Every item must have the same number of ratings (the row sums), at least 2.
    """
    counts = np.asarray(table, dtype=float)
    if counts.ndim != 2 or counts.shape[0] == 0:
        raise ValueError("expected a table with one row per item and one column per category")
    per_item = counts.sum(axis=1)
    n = per_item[0]
    if n < 2 or not np.all(per_item == n):
        raise ValueError(f"every item needs the same number (>= 2) of ratings; got {sorted(set(per_item.tolist()))}")
    p_item = ((counts**2).sum(axis=1) - n) / (n * (n - 1))
    p_cat = counts.sum(axis=0) / counts.sum()
    chance = float((p_cat**2).sum())
    return math.nan if chance >= 1 else float((p_item.mean() - chance) / (1 - chance))


def rating_table(ratings: Sequence[Sequence[Hashable]]) -> tuple[np.ndarray, list[Hashable]]:
    """Counts per item and category from each item's list of ratings, and the categories (columns)."""
    cats = sorted({r for item in ratings for r in item}, key=repr)
    index = {c: i for i, c in enumerate(cats)}
    table = np.zeros((len(ratings), len(cats)), dtype=int)
    for row, item in enumerate(ratings):
        for r in item:
            table[row, index[r]] += 1
    return table, cats
