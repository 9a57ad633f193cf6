"""How ``steward demo`` shows its result to a person (the data comes from :mod:`modelsteward.demo`)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from modelsteward.demo import DemoResult

__all__ = ["print_demo"]

_SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "white"}


def print_demo(console: Console, result: DemoResult) -> None:
    console.rule("[bold]The course lab, monitored by modelsteward")
    weekly = Table(title="Task 1: weekly metrics (logged through the SDK, aggregated in the store)")
    for col in ("week", "window", "accuracy", "mean confidence", "% technical", "labelled", "equal to the lab"):
        weekly.add_column(col, justify="right")
    for w in result.weekly:
        weekly.add_row(str(w["week"]), w["window_start"], f"{w['accuracy']:.3f}", f"{w['mean_confidence']:.6f}",
                       f"{w['technical_share']:.3f}", f"{w['label_coverage']:.0%}",
                       "[green]yes[/]" if w["matches_lab"] else "[red]NO[/]")
    console.print(weekly)

    ks, tech = result.ks, result.technical
    console.print("\n[bold]Task 2: drift detection, training against weeks 5–8[/]")
    console.print(f"Confidence distribution (KS test, n = {ks['n_reference']:,} vs {ks['n_current']:,}):", highlight=False)
    console.print(f"  Statistic: {ks['statistic']:.4f}, p-value: {ks['p_value']:.4f}  (p = {ks['p_value']:.6g}; "
                  f"scipy.stats.ks_2samp on the lab's arrays: {ks['scipy_statistic']:.4f}, {ks['scipy_p_value']:.6g} — "
                  f"{'equal' if ks['matches_scipy'] else 'DIFFERENT'})", highlight=False)
    console.print(f"  Drift detected: {'YES ⚠️' if ks['drift_detected'] else 'No'}", highlight=False)
    console.print("Technical ticket rate:", highlight=False)
    console.print(f"  Training: {tech['training']:.1%}\n  Recent production: {tech['recent']:.1%}\n"
                  f"  Change: {tech['change_pp']:+.1f} percentage points (chi-square p = {tech['chi2_p_value']:.2g})\n"
                  f"  Drift detected: {'YES ⚠️' if tech['drift_detected'] else 'No'}", highlight=False)

    console.print("\n[bold]Task 3: alerts, as they fired week by week[/]")
    for a in result.alerts:
        style = _SEVERITY_STYLE[a["severity"]]
        trigger = " [dim](retraining trigger)[/]" if a["retrain"] else ""
        console.print(f"  week {a['week']}  [{style}]{a['severity'].upper():<6}[/] [bold]{a['rule']}[/]{trigger}: {a['message']}",
                      highlight=False)
        if a["action"]:
            console.print(f"           → {a['action']}", style="dim", highlight=False)
    if not result.alerts:
        console.print("  no alert fired")

    console.print("\n[bold]The lab's questions, answered from the data[/]")
    for a in result.answers:
        console.print(f"[bold]{a['question']}[/]", highlight=False)
        console.print(f"  {a['answer']}\n", highlight=False)
    console.print(f"HTML report with the lab's three panels: [bold]{result.report}[/]", highlight=False)
    console.print(f"Store: {result.store} — explore it with `steward metrics -c {result.folder}/steward.yaml`", highlight=False)
