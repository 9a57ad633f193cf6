"""The contract shared by the online drift detectors.

A detector reads a stream one value at a time (for a model's error stream: 1 when the
prediction was wrong, 0 when it was right, in arrival order) and raises
:attr:`DriftDetector.drift_detected` on the update at which it decides the stream changed.

* Hyperparameters are public attributes named like the constructor arguments, validated in
  the constructor; :meth:`DriftDetector.clone` rebuilds a detector from them.
* Changing state is private and rebuilt by ``_reset()``.
* The flag is transient: it is true only for the update that detected the change, and is
  recomputed by the next update.
"""

from __future__ import annotations

import abc
import inspect
import math
import numbers
from collections.abc import Iterable
from typing import Any, Self

__all__ = ["DriftDetector"]


class DriftDetector(abc.ABC):
    """Base class of the online drift detectors.

    A subclass stores every constructor argument under an attribute of the same name (so
    :meth:`clone` and ``repr`` can read them back), builds its state in ``_reset()`` (which
    must call ``super()._reset()``) and implements :meth:`update`.
    """

    def __init__(self) -> None:
        self._drift_detected = False

    @property
    def drift_detected(self) -> bool:
        """Whether the last call to :meth:`update` detected a change."""
        return self._drift_detected

    @abc.abstractmethod
    def update(self, x: float) -> None:
        """Read the next value of the stream.

        Parameters
        ----------
        x : float
            The next value (for an error stream, 1 for a wrong prediction, 0 for a right one).
        """

    def update_many(self, values: Iterable[float]) -> list[int]:
        """Read several values in order and say where drift was detected.

        Parameters
        ----------
        values : iterable of float
            The next values of the stream, oldest first.

        Returns
        -------
        list of int
            The 0-based positions, within ``values``, of the updates that detected drift.
        """
        detected = []
        for i, x in enumerate(values):
            self.update(x)
            if self._drift_detected:
                detected.append(i)
        return detected

    def clone(self) -> Self:
        """A new detector with the same hyperparameters and a fresh state."""
        return type(self)(**self._params())

    def _reset(self) -> None:
        """Clear the changing state, keeping the hyperparameters."""
        self._drift_detected = False

    def _params(self) -> dict[str, Any]:
        """The hyperparameters, read back from the attributes named like the arguments."""
        names = list(inspect.signature(type(self).__init__).parameters)[1:]
        return {name: getattr(self, name) for name in names}

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={value!r}" for name, value in self._params().items())
        return f"{type(self).__name__}({args})"


#: Largest magnitude of a stream value: sums of squares of up to 1e12 such values stay finite,
#: so no running total overflows into a false alarm (an error stream holds 0 and 1).
MAX_ABS_VALUE = 1e100


def _check_int(name: str, value: object, minimum: int) -> int:
    """``value`` as an int of at least ``minimum`` (booleans are refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def _check_real(name: str, value: object) -> float:
    """``value`` as a finite float (booleans and strings are refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return float(value)


def _check_value(x: object) -> float:
    """A stream value as a finite float."""
    try:
        if isinstance(x, str | bytes):  # float("1") would accept text
            raise TypeError
        value = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"stream values must be real numbers, got {x!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"stream values must be finite, got {x!r}")
    if abs(value) > MAX_ABS_VALUE:
        raise ValueError(f"stream values must be at most {MAX_ABS_VALUE:g} in size (the detectors sum them and "
                         f"their squares), got {x!r}; rescale the stream")
    return value
