"""Quality metrics from confusion counts: accuracy, precision, recall and F1.

Counts are aggregated in the engine (one row per predicted/true pair); the arithmetic here is
on that small table. Conventions follow scikit-learn's ``precision_recall_fscore_support``
with ``zero_division=0``: a class never predicted has precision 0, a class never true has
recall 0, and the macro average is over the classes seen in either the predictions or the
labels of the window.

>>> m = quality_metrics({("a", "a"): 8, ("a", "b"): 2, ("b", "b"): 5, ("b", "a"): 1})
>>> round(m["accuracy"], 4), round(m["precision.a"], 4), round(m["recall.a"], 4)
(0.8125, 0.8, 0.8889)
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["quality_metrics"]


def quality_metrics(confusion: Mapping[tuple[str, str], int]) -> dict[str, float]:
    """Metrics from ``{(predicted, true): count}``; empty when nothing is labelled."""
    total = sum(confusion.values())
    if total == 0:
        return {}
    seen = [key for key, n in confusion.items() if n]  # a cell with count 0 shows no class
    classes = sorted({p for p, _ in seen} | {t for _, t in seen})
    out: dict[str, float] = {"accuracy": sum(n for (p, t), n in confusion.items() if p == t) / total}
    precisions, recalls, f1s = [], [], []
    for c in classes:
        tp = confusion.get((c, c), 0)
        predicted = sum(n for (p, _), n in confusion.items() if p == c)
        actual = sum(n for (_, t), n in confusion.items() if t == c)
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[f"precision.{c}"], out[f"recall.{c}"], out[f"f1.{c}"] = precision, recall, f1
        precisions.append(precision)
        recalls.append(recall)
        f1s.append(f1)
    out["precision_macro"] = sum(precisions) / len(classes)
    out["recall_macro"] = sum(recalls) / len(classes)
    out["f1_macro"] = sum(f1s) / len(classes)
    return out
