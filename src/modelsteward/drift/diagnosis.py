"""The diagnosis of a window: which kinds of drift are present, and why, in plain language.

The course document's three questions, and the model's outputs beside them:

* **data drift** - did the inputs move? The window's ``inputs`` verdict (per-feature tests
  after multiple-testing correction), and where enabled the domain classifier, PCA
  reconstruction error and text drift.
* **prediction drift** - did the predicted class mix or the confidence move?
* **label drift** - did the ground-truth mix move?
* **concept drift** - did the relation between input and outcome change? Answered from
  labels, against what the model's calibrated confidence predicts (CBPE on the labelled
  predictions, :mod:`~modelsteward.drift.concept_window`): under covariate shift alone
  P(correct | confidence) holds, so realised accuracy follows the estimate even when it falls;
  realised accuracy *below* the estimate's interval says the relation changed. When the label
  mix moved as well, a change of class priors alone also moves P(correct | confidence), so the
  gap is reported as *possible* concept drift. Without a calibration (a reference without
  confidences and labels), a significant fall of accuracy while neither the inputs nor the
  label mix moved is concept drift, and a fall that came with moved inputs is *possible*.
  Without labels the diagnosis says what the estimate shows and that the concept question
  waits on labels.

Each kind gets a status, ``present``, ``possible``, ``absent`` or ``unknown`` (not enough data
to tell), and a reason built from the stored evidence; :func:`diagnose` needs only the window's
metrics and drift results, so it can be rerun on anything ``check`` stored.

Examples
--------
>>> from modelsteward.drift.window_drift import DriftResult
>>> evidence = [DriftResult("inputs", "verdict", "drift", "2 of 2 inputs drifted"),
...             DriftResult("length", "verdict", "drift", "length: mean 10 -> 14"),
...             DriftResult("label", "verdict", "no_drift", "label mix unchanged")]
>>> metrics = {"labelled": 500.0, "accuracy": 0.81, "concept.expected_accuracy": 0.80,
...            "concept.expected_accuracy_lower": 0.77, "concept.expected_accuracy_upper": 0.84,
...            "concept.accuracy_drop": 0.07, "concept.accuracy_drop_p_value": 1e-4, "concept.dropped": 1.0}
>>> d = diagnose(metrics, evidence)
>>> d.status("data"), d.status("concept"), d.status("label")
('present', 'absent', 'absent')
>>> print(d.summary)
Data drift: the inputs moved (length) and realised accuracy (0.810) is where the model's
confidence predicts (0.800, 95% interval 0.770-0.840): a covariate shift the model handles as expected.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from modelsteward.drift.window_drift import DriftResult

__all__ = ["KINDS", "Diagnosis", "Finding", "diagnose"]

KINDS = ("data", "concept", "label", "prediction")
_VALUE = {"present": 1.0, "possible": 0.5, "absent": 0.0}
_OUTPUTS = ("confidence", "prediction", "label", "inputs")
_OWN = ("concept", "errors", "multivariate", "diagnosis")


@dataclass(frozen=True)
class Finding:
    """One kind of drift in one window: ``present``, ``possible``, ``absent`` or ``unknown``, and why."""

    kind: str
    status: str
    reason: str


@dataclass(frozen=True)
class Diagnosis:
    """Which kinds of drift a window shows (one :class:`Finding` per kind) and a one-paragraph summary."""

    findings: tuple[Finding, ...]
    summary: str

    def status(self, kind: str) -> str:
        return next(f.status for f in self.findings if f.kind == kind)

    def finding(self, kind: str) -> Finding:
        return next(f for f in self.findings if f.kind == kind)

    def to_metrics(self) -> dict[str, float | None]:
        """``diagnosis.<kind>_drift``: 1 present, 0.5 possible, 0 absent; no value when unknown."""
        return {f"diagnosis.{f.kind}_drift": _VALUE.get(f.status) for f in self.findings}

    def to_results(self) -> list[DriftResult]:
        """Drift results of subject ``diagnosis``: one per kind, then ``summary``."""
        rows = [DriftResult("diagnosis", f.kind, f.status, f.reason) for f in self.findings]
        present = [f.kind for f in self.findings if f.status == "present"]
        rows.append(DriftResult("diagnosis", "summary", "present" if present else "absent", self.summary,
                                details={"present": present}))
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {"findings": [asdict(f) for f in self.findings], "summary": self.summary}


def _by(results: Sequence[DriftResult]) -> dict[tuple[str, str], DriftResult]:
    return {(r.subject, r.test): r for r in results}


def _data(results: Sequence[DriftResult], by: Mapping[tuple[str, str], DriftResult]) -> tuple[Finding, list[str]]:
    verdicts = [r for r in results if r.test == "verdict" and r.subject not in _OUTPUTS and r.subject not in _OWN]
    drifted = [r.subject for r in verdicts if r.status == "drift"]
    small = [r.subject for r in verdicts if r.status == "small_change"]
    inputs = by.get(("inputs", "verdict"))
    extra = []
    dc = by.get(("multivariate", "domain_classifier"))
    if dc is not None and dc.status == "drift":
        extra.append(f"a classifier tells the window's inputs from the reference's (AUC {dc.statistic:.2f})")
    pca = by.get(("multivariate", "pca_reconstruction"))
    if pca is not None and pca.status == "drift":
        extra.append(f"the way the inputs vary together changed (PCA reconstruction error x{pca.statistic:.2f})")
    texts = [r.subject.split(".", 1)[1] for r in results if r.test == "text_drift" and r.status == "drift"]
    if texts:
        extra.append(f"the text of {', '.join(texts)} reads differently")
    moved = drifted + texts
    if (inputs is not None and inputs.status == "drift") or drifted or extra:
        what = f"the inputs moved ({', '.join(drifted)})" if drifted else "the inputs moved"
        reason = what + ("; " + "; ".join(extra) if extra else "") + "."
        if drifted:
            first = next(r for r in verdicts if r.subject == drifted[0])
            reason += f" Largest: {first.reading}"
        return Finding("data", "present", reason), moved or ["inputs"]
    if inputs is None and not verdicts and dc is None:
        return Finding("data", "unknown", "no input could be compared with a reference (configure one in steward.yaml)."), []
    if inputs is not None and inputs.status == "not_enough_data":
        return Finding("data", "unknown", f"too few predictions to test the inputs: {inputs.reading}"), []
    reason = "no input moved beyond its effect threshold"
    if small:
        reason += f" (a small but real change in {', '.join(small)})"
    return Finding("data", "absent", reason + "."), []


def _output(kind: str, by: Mapping[tuple[str, str], DriftResult]) -> Finding:
    subjects = ("prediction", "confidence") if kind == "prediction" else ("label",)
    found = [by[(s, "verdict")] for s in subjects if (s, "verdict") in by]
    drifted = [r for r in found if r.status == "drift"]
    what = "the predicted class mix or the confidence" if kind == "prediction" else "the ground-truth label mix"
    if drifted:
        return Finding(kind, "present", f"{what} moved: " + " ".join(r.reading for r in drifted))
    known = [r for r in found if r.status in ("no_drift", "small_change")]
    if known:
        small = [r.subject for r in known if r.status == "small_change"]
        return Finding(kind, "absent", f"{what} did not move beyond its effect threshold"
                       + (f" (a small but real change in {', '.join(small)})." if small else "."))
    if kind == "label":
        return Finding(kind, "unknown", "too few labels in the window to compare the label mix with the reference.")
    return Finding(kind, "unknown", f"{what} could not be compared with a reference.")


def _pts(x: float) -> str:
    return f"{abs(x) * 100:.1f} points"


def _concept(metrics: Mapping[str, float | None], by: Mapping[tuple[str, str], DriftResult], data: Finding,
             label: Finding, ref: float | None) -> Finding:
    labelled = metrics.get("labelled") or 0.0
    accuracy = metrics.get("accuracy")
    detectors = [r for (s, _), r in by.items() if s == "errors" and r.status == "drift"]
    online = (" " + " ".join(r.reading for r in detectors)) if detectors else ""
    gate = by.get(("concept", "accuracy"))
    if accuracy is None or (gate is not None and gate.status == "not_enough_data"):
        est, lo, hi = (metrics.get(k) for k in ("estimated.accuracy", "estimated_lower.accuracy", "estimated_upper.accuracy"))
        if est is not None and lo is not None and hi is not None:
            against = f" against the reference's {ref:.3f}" if ref is not None else ""
            return Finding("concept", "unknown",
                           f"only {labelled:.0f} labelled predictions so far: the model's confidence estimates accuracy at {est:.3f} "
                           f"(95% interval {lo:.3f}-{hi:.3f}){against}; whether the input-outcome relation changed waits on labels.")
        return Finding("concept", "unknown", f"only {labelled:.0f} labelled predictions so far; the concept question waits on labels.")
    exp, lo, hi = (metrics.get(k) for k in ("concept.expected_accuracy", "concept.expected_accuracy_lower",
                                            "concept.expected_accuracy_upper"))
    drop, p = metrics.get("concept.accuracy_drop"), metrics.get("concept.accuracy_drop_p_value")
    fell = f"accuracy fell {_pts(drop)} against the reference (p = {p:.2g}); " if drop is not None and p is not None and drop > 0 else ""
    if exp is not None and lo is not None and hi is not None:
        where = (f"realised accuracy {accuracy:.3f} of {labelled:.0f} labelled predictions against {exp:.3f} "
                 f"(95% interval {lo:.3f}-{hi:.3f}) if the reference's confidence calibration held")
        if accuracy < lo:
            if label.status == "present":
                return Finding("concept", "possible",
                               f"{fell}{where}: below it, but the label mix moved too, and a change of class priors alone "
                               "moves P(correct | confidence); this may be label drift rather than a changed "
                               "input-outcome relation." + online)
            return Finding("concept", "present", f"{fell}{where}: well below it, so the relation between input and outcome changed "
                           "(the model is wrong more often than its confidence says)." + online)
        return Finding("concept", "absent", f"{fell}{where}: inside or above it, so the input-outcome relation holds." + online)
    dropped = (metrics.get("concept.dropped") or 0.0) >= 1.0
    if not dropped:
        return Finding("concept", "absent", f"accuracy did not fall significantly against the reference ({accuracy:.3f})." + online)
    if data.status == "present" or label.status == "present":
        return Finding("concept", "possible",
                       f"{fell}the inputs or the label mix moved too, and without a confidence calibration (a reference with "
                       "confidences and labels) a covariate shift cannot be told apart from a changed input-outcome relation." + online)
    return Finding("concept", "present",
                   f"{fell}while neither the inputs nor the label mix moved: the input-outcome relation changed." + online)


def _summary(findings: Sequence[Finding], metrics: Mapping[str, float | None], moved: Sequence[str]) -> str:
    by = {f.kind: f for f in findings}
    parts = []
    if by["concept"].status in ("present", "possible"):
        parts.append(("Concept drift" if by["concept"].status == "present" else "Possible concept drift") + ": " + by["concept"].reason)
    if by["data"].status == "present":
        exp, lo, hi, acc = (metrics.get(k) for k in ("concept.expected_accuracy", "concept.expected_accuracy_lower",
                                                     "concept.expected_accuracy_upper", "accuracy"))
        what = f"the inputs moved ({', '.join(moved)})" if moved and moved != ["inputs"] else "the inputs moved"
        if by["label"].status == "present":
            what += ", as a change of the class priors moves them"
        if by["concept"].status == "absent" and exp is not None and lo is not None and hi is not None and acc is not None:
            handled = "a covariate shift the model handles as expected" if by["label"].status != "present" else "the model copes with it"
            parts.append(f"Data drift: {what} and realised accuracy ({acc:.3f}) is where the model's confidence predicts "
                         f"({exp:.3f}, 95% interval {lo:.3f}-{hi:.3f}): {handled}.")
        elif by["concept"].status == "unknown":
            parts.append(f"Data drift: {what}. {by['concept'].reason[0].upper()}{by['concept'].reason[1:]}")
        else:
            parts.append(f"Data drift: {what}.")
    if by["label"].status == "present":
        parts.append("Label drift: " + by["label"].reason)
    if by["prediction"].status == "present":
        parts.append("Prediction drift: " + by["prediction"].reason)
    if not parts:
        unknown = [f.kind for f in findings if f.status == "unknown"]
        text = "No drift of any kind found"
        if by["concept"].status == "unknown":
            text += f". {by['concept'].reason[0].upper()}{by['concept'].reason[1:]}"
        elif unknown:
            text += f" (not enough data to tell for: {', '.join(unknown)})."
        else:
            text += "."
        return text
    return " ".join(parts)


def diagnose(metrics: Mapping[str, float | None], results: Sequence[DriftResult], *,
             reference_accuracy: float | None = None) -> Diagnosis:
    """Diagnose one window from its stored metrics and drift results (see the module notes).

    ``reference_accuracy`` (the reference's baseline) is quoted when the window has no labels yet.
    """
    by = _by(results)
    data, moved = _data(results, by)
    label = _output("label", by)
    prediction = _output("prediction", by)
    concept = _concept(metrics, by, data, label, reference_accuracy)
    findings = (data, concept, label, prediction)
    return Diagnosis(findings, _summary(findings, metrics, moved))
