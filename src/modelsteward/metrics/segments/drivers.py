"""Which subjects moved most in a window: :func:`explain_drift`, from the drift verdicts ``check`` stored."""

from __future__ import annotations

from datetime import datetime

from modelsteward.config import ModelConfig
from modelsteward.errors import NotFoundError
from modelsteward.metrics.segments.query import _model_config
from modelsteward.metrics.segments.results import DriftDriver, DriftExplanation
from modelsteward.metrics.window import window_bounds
from modelsteward.store.base import Store
from modelsteward.times import naive_utc

__all__ = ["explain_drift"]

_STATUS_ORDER = ("drift", "small_change", "no_drift", "not_enough_data", "no_reference")


def explain_drift(
    store: Store,
    model: ModelConfig | str,
    *,
    window: datetime | None = None,
    top: int = 5,
) -> DriftExplanation:
    """The subjects that moved most in a window, from the drift verdicts stored by ``check``.

    Parameters
    ----------
    store, model
        The store and the model (its configuration, or its name in the store).
    window
        Any time inside the window to explain (an alert's ``window_start`` will do); by
        default the latest window with drift results.
    top
        How many subjects to return.

    Returns
    -------
    DriftExplanation
        Verdicts ordered by status (``drift``, then ``small_change``, ``no_drift``,
        ``not_enough_data``, ``no_reference``), then by effect relative to its threshold (the verdict's effect test and threshold,
        recorded with each verdict: normalised Wasserstein for numeric subjects, total
        variation for categorical ones, by default), largest first.

    Raises
    ------
    NotFoundError
        No drift results are stored for that window (run ``check`` first, with a reference).
    """
    cfg = _model_config(store, model)
    if window is None:
        latest = store.query("SELECT max(window_start) FROM drift_results WHERE model = ? AND test = 'verdict'", [cfg.name])[0][0]
        if latest is None:
            raise NotFoundError(f"model {cfg.name!r} has no drift results yet",
                                hint="run `steward check` (drift needs a reference in steward.yaml)")
        ws: datetime = latest
    else:
        ws = window_bounds(cfg, naive_utc(window))[0]
    status_rank = " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(_STATUS_ORDER))
    # Each verdict row records the test its effect comes from and that test's threshold.
    rows = store.query(
        f"""SELECT subject, status, effect_size, p_value, reading, n_reference, n_current, window_end,
                   coalesce(json_extract_string(details, '$.effect_test'), '') AS effect_test,
                   TRY_CAST(json_extract(details, '$.threshold') AS DOUBLE) AS threshold,
                   effect_size / nullif(TRY_CAST(json_extract(details, '$.threshold') AS DOUBLE), 0) AS relative
            FROM drift_results WHERE model = ? AND window_start = ? AND test = 'verdict' AND subject <> 'inputs'
            ORDER BY CASE status {status_rank} ELSE {len(_STATUS_ORDER)} END, relative DESC NULLS LAST, subject""",
        [cfg.name, ws],
    )
    if not rows:
        raise NotFoundError(f"model {cfg.name!r} has no drift results for the window starting {ws}",
                            hint="run `steward check` for that window (drift needs a reference in steward.yaml)")
    features = {f.name for f in cfg.features}
    drivers = tuple(
        DriftDriver(subject=subject, kind="feature" if subject in features else subject, status=status,
                    effect_size=effect, effect_unit=effect_test, threshold=threshold,
                    relative_effect=relative, p_value=p, reading=reading, n_reference=n_ref, n_current=n_cur)
        for subject, status, effect, p, reading, n_ref, n_cur, _, effect_test, threshold, relative in rows
    )
    drifted = sum(d.status == "drift" for d in drivers)
    first = drivers[0]
    when = f"the window starting {ws:%Y-%m-%d %H:%M}"
    if drifted:
        rest = [d.subject for d in drivers[1:drifted]]
        summary = (f"{drifted} of {len(drivers)} subjects drifted in {when}; first: {first.reading}"
                   + (f"; then {', '.join(rest)}" if rest else "") + ".")
    elif first.status == "small_change":
        summary = f"nothing drifted beyond its effect threshold in {when}; the clearest change: {first.reading}."
    else:
        summary = f"no subject drifted in {when}; {first.reading}."
    return DriftExplanation(model=cfg.name, window_start=ws, window_end=rows[0][7], drifted=drifted, tested=len(drivers),
                            drivers=drivers[:max(top, 0)], summary=summary)
