"""Online drift detectors for a model's error stream, one value at a time.

Feed each detector 1 when a prediction was wrong and 0 when it was right, in arrival order;
``drift_detected`` is true on the update at which the detector decides the error rate changed.

* :class:`DDM` - Drift Detection Method (Gama et al., 2004), with a warning zone.
* :class:`ADWIN` - adaptive windowing (Bifet and Gavaldà, 2007).
* :class:`PageHinkley` - Page-Hinkley cumulative-sum test (Page, 1954).

All share the contract of :class:`DriftDetector`: ``update(x)``, ``update_many(values)``
returning the positions of the detections, ``clone()`` and validated hyperparameters.
"""

from __future__ import annotations

from modelsteward.drift.online.adwin import ADWIN
from modelsteward.drift.online.base import DriftDetector
from modelsteward.drift.online.ddm import DDM
from modelsteward.drift.online.page_hinkley import PageHinkley

__all__ = ["ADWIN", "DDM", "DriftDetector", "PageHinkley"]
