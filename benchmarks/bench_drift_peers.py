#!/usr/bin/env python
"""Benchmark: one full drift report on a reference/current pair, beside Evidently and NannyML.

The data, the peers and their runners are the shared ones in ``../shared/bench/`` (read-only):

* ``gen_data.py`` writes, per size N, ``<data-dir>/nN/{reference,current}.parquet`` and
  ``truth.json``: 20 numeric and 5 categorical features, 7 injected drifts in ``current``
  (2 strong, 3 moderate, 2 subtle), 18 features left alone.  Generated once, reused after.
* ``run_evidently.py`` (Evidently 0.7.23, ``Report([DataDriftPreset()])`` defaults) and
  ``run_nannyml.py`` (NannyML 0.13.1, ``UnivariateDriftCalculator`` defaults) each run in their
  own virtual environment, created once under ``--venvs`` exactly as the shared README says
  (Evidently: ``evidently==0.7.23 'pandas<3' pyarrow``; NannyML: ``nannyml==0.13.1 statsmodels
  pyarrow``, run with ``NML_DISABLE_USAGE_LOGGING=1``).  A peer whose install fails is reported
  as unavailable and the run goes on.
* modelsteward: ``steward drift-report REFERENCE CURRENT --json`` - features and kinds inferred
  from the reference's schema, the reference summarised from scratch (both files read in place
  by DuckDB, one column at a time), every default test; exact statistics up to 200,000 rows in
  both files together, grid sketches with a stated error bound beyond (so 100k is exact, 1M and
  10M are sketched).

Every tool runs as a whole process under ``/usr/bin/time -v`` (Debian's ``time`` package is
installed with apt-get if it is missing): wall seconds, CPU seconds and peak RSS ("Maximum
resident set size") come from it.  Runs are interleaved (round 1 of every tool, then round 2,
...) and the median of ``--repeat`` rounds is reported (``--peer-repeat`` for the peers, which
are slow: Evidently takes ~160 s a run at 1M rows).

Each tool's verdict per feature is scored against ``truth.json``: injected drifts flagged
(modelsteward: ``drift`` or ``small_change``; its strong and moderate drifts should read
``drift``, the subtle ones ``small_change`` or ``drift``) and undrifted features flagged.
Targets (from the issue): no undrifted feature flagged; all 7 drifts reported, the subtle ones
as small-but-real; at least 10x faster than the faster peer and under a quarter of that peer's
peak memory; with ``--with-10m``, 10M current rows (reference 1M, modelsteward only) within
2 GB (2048 MiB) of peak memory.  Memory figures are MiB (RSS kB / 1024).

    .venv/bin/python benchmarks/bench_drift_peers.py                        # 100k and 1M, 3 rounds
    .venv/bin/python benchmarks/bench_drift_peers.py --repeat 1             # one round, quick look
    .venv/bin/python benchmarks/bench_drift_peers.py --peer-repeat 3 evidently=1 --with-10m
    .venv/bin/python benchmarks/bench_drift_peers.py --json                 # one JSON object on stdout

Progress goes to stderr.  Nothing asserts on timings; the exit status is 0 unless a tool
could not be run at all.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = REPO.parent / "shared" / "bench"
DEFAULT_DATA = REPO / "bench-data"  # git-ignored
DEFAULT_VENVS = Path("/work/bench-venvs")
TIME_BIN = "/usr/bin/time"

SPEED_TARGET = 10.0  # modelsteward at least 10x faster than the faster peer
MEMORY_TARGET = 0.25  # modelsteward peak under a quarter of that peer's peak
PEAK_10M_TARGET_MB = 2048.0  # 10M current rows within 2 GB (MiB)
N_10M, N_10M_REF = 10_000_000, 1_000_000

FLAGGED = ("drift", "small_change")

PEERS: dict[str, dict[str, Any]] = {
    "evidently": {
        "label": "Evidently 0.7.23",
        "runner": "run_evidently.py",
        "pip": ["evidently==0.7.23", "pandas<3", "pyarrow"],
        "check": "import evidently, pandas; from evidently.presets import DataDriftPreset; print(evidently.__version__)",
        "env": {},
    },
    "nannyml": {
        "label": "NannyML 0.13.1",
        "runner": "run_nannyml.py",
        "pip": ["nannyml==0.13.1", "statsmodels", "pyarrow"],
        "check": "import nannyml, statsmodels; print(nannyml.__version__)",
        "env": {"NML_DISABLE_USAGE_LOGGING": "1"},
    },
}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _tail(text: str, lines: int = 15) -> str:
    keep = [ln for ln in text.splitlines() if ln.strip() and "is ignored: it is neither a file nor a directory" not in ln]
    return "\n".join(keep[-lines:])


# -- /usr/bin/time ---------------------------------------------------------------------------------
def ensure_time() -> dict[str, Any]:
    if os.access(TIME_BIN, os.X_OK):
        return {"path": TIME_BIN, "installed_now": False}
    log(f"{TIME_BIN} is missing: installing Debian's 'time' package with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    r = subprocess.run([*sudo, "apt-get", "install", "-y", "time"], capture_output=True, text=True, env=env)
    if r.returncode != 0 or not os.access(TIME_BIN, os.X_OK):
        subprocess.run([*sudo, "apt-get", "update"], capture_output=True, text=True, env=env)
        r = subprocess.run([*sudo, "apt-get", "install", "-y", "time"], capture_output=True, text=True, env=env)
    if not os.access(TIME_BIN, os.X_OK):
        raise SystemExit(f"could not install {TIME_BIN} (apt-get install time):\n{_tail(r.stdout + r.stderr)}")
    return {"path": TIME_BIN, "installed_now": True}


_TIME_FIELDS = {
    "Elapsed (wall clock) time (h:mm:ss or m:ss)": "wall",
    "Maximum resident set size (kbytes)": "rss_kb",
    "User time (seconds)": "user",
    "System time (seconds)": "sys",
    "Exit status": "exit",
}


def parse_time_v(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for line in text.splitlines():
        key, _, value = line.strip().rpartition(": ")
        name = _TIME_FIELDS.get(key)
        if name is None:
            continue
        if name == "wall":
            secs = 0.0
            for part in value.split(":"):
                secs = secs * 60 + float(part)
            out["wall"] = secs
        else:
            out[name] = float(value)
    return out


def run_timed(cmd: list[str], *, cwd: Path | None, env: dict[str, str], timeout: float, tmp: Path) -> dict[str, Any]:
    tfile = tmp / "time.txt"
    tfile.unlink(missing_ok=True)
    t0 = time.perf_counter()
    try:
        r = subprocess.run([TIME_BIN, "-v", "-o", str(tfile), *cmd], cwd=cwd, env=env, capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"timed out after {timeout:.0f} s"}
    elapsed = time.perf_counter() - t0
    t = parse_time_v(tfile.read_text()) if tfile.exists() else {}
    res: dict[str, Any] = {
        "ok": r.returncode == 0,
        "wall_s": t.get("wall", elapsed),
        "cpu_s": t.get("user", 0.0) + t.get("sys", 0.0),
        "peak_mb": t.get("rss_kb", float("nan")) / 1024.0,
        "stdout": r.stdout,
    }
    if r.returncode != 0:
        res["error"] = f"exit status {r.returncode}: {_tail(r.stderr or r.stdout)}"
    return res


# -- data --------------------------------------------------------------------------------------------
def _pair_ready(d: Path) -> bool:
    return all((d / f).exists() for f in ("reference.parquet", "current.parquet", "truth.json"))


def ensure_data(sizes: list[int], data_dir: Path, shared: Path) -> None:
    missing = [n for n in sizes if not _pair_ready(data_dir / f"n{n}")]
    if not missing:
        return
    cmd = [sys.executable, str(shared / "gen_data.py"), "--n", *map(str, missing), "--out", str(data_dir)]
    try:
        import scipy  # noqa: F401  (gen_data.py needs it for the observed effect sizes in truth.json)
    except ImportError:
        cmd.append("--no-effects")
    log(f"generating data for n={missing} with {shared / 'gen_data.py'} into {data_dir}")
    subprocess.run(cmd, check=True, stdout=sys.stderr)


_GEN_10M = r"""
import json, os, sys
sys.path.insert(0, sys.argv[1])
import gen_data as g
n, n_ref, out = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
cur = g.make_frame(n, [g.SEED, n, 1], drifted=True)
cur.to_parquet(os.path.join(out, "current.parquet"), index=False)
doc = g.truth_doc(n, g.SEED, None)
doc["n_reference"] = n_ref
doc["note"] = f"current: gen_data.make_frame({n}, [SEED, {n}, 1], drifted=True); reference: the n{n_ref} reference"
with open(os.path.join(out, "truth.json"), "w") as f:
    json.dump(doc, f, indent=1)
"""


def ensure_10m(data_dir: Path, shared: Path) -> Path:
    """``N_10M`` current rows drawn with gen_data's own functions, beside the ``N_10M_REF`` reference."""
    d = data_dir / f"n{N_10M}_ref{N_10M_REF}"
    if _pair_ready(d):
        return d
    ensure_data([N_10M_REF], data_dir, shared)
    d.mkdir(parents=True, exist_ok=True)
    ref_src = data_dir / f"n{N_10M_REF}" / "reference.parquet"
    ref_dst = d / "reference.parquet"
    if not ref_dst.exists():
        try:
            os.link(ref_src, ref_dst)
        except OSError:
            shutil.copyfile(ref_src, ref_dst)
    log(f"generating {N_10M:,} current rows into {d} (gen_data.make_frame, ~1-2 min)")
    subprocess.run([sys.executable, "-c", _GEN_10M, str(shared), str(N_10M), str(N_10M_REF), str(d)], check=True)
    return d


# -- peer environments -------------------------------------------------------------------------------
def base_python() -> str:
    exe = getattr(sys, "_base_executable", None) or sys.executable
    return exe if os.path.exists(exe) else (shutil.which("python3") or sys.executable)


def ensure_peer(name: str, venvs: Path) -> dict[str, Any]:
    spec = PEERS[name]
    venv = venvs / name
    py = venv / "bin" / "python"
    marker = venv / ".bench-drift-peers.json"
    want = {"pip": spec["pip"]}

    def check() -> str | None:
        r = subprocess.run([str(py), "-c", spec["check"]], capture_output=True, text=True, env={**os.environ, **spec["env"]})
        return r.stdout.strip() if r.returncode == 0 else None

    if marker.exists() and json.loads(marker.read_text()) == want and py.exists():
        version = check()
        if version:
            return {"available": True, "python": str(py), "version": version}
    log(f"creating the {spec['label']} environment in {venv} (pip install {' '.join(spec['pip'])})")
    venvs.mkdir(parents=True, exist_ok=True)
    steps = [[base_python(), "-m", "venv", str(venv)], [str(py), "-m", "pip", "install", "-q", *spec["pip"]]]
    for cmd in steps:
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            reason = f"{' '.join(cmd[-4:])} failed:\n{_tail(r.stdout + r.stderr)}"
            log(f"{spec['label']} unavailable: {reason}")
            return {"available": False, "reason": reason}
    version = check()
    if not version:
        return {"available": False, "reason": f"installed, but `{spec['check']}` fails in {venv}"}
    marker.write_text(json.dumps(want))
    return {"available": True, "python": str(py), "version": version}


def steward_available(steward: str) -> dict[str, Any]:
    if not Path(steward).exists() and not shutil.which(steward):
        return {"available": False, "reason": f"{steward} not found"}
    r = subprocess.run([steward, "drift-report", "--help"], capture_output=True, text=True)
    if r.returncode != 0:
        return {"available": False, "reason": f"`steward drift-report --help` failed: {_tail(r.stderr or r.stdout, 3)}"}
    try:
        from importlib.metadata import version

        v = version("modelsteward")
    except Exception:  # noqa: BLE001 - the version is cosmetic
        v = "?"
    return {"available": True, "version": v}


# -- verdicts ---------------------------------------------------------------------------------------
_P_KEYS = ("p_adjusted", "adjusted_p", "p_value_adjusted", "adjusted_p_value", "p_adj")
_NAME_KEYS = ("feature", "subject", "name", "column")


def _features_of(doc: Any) -> dict[str, dict[str, Any]]:
    """Per-feature entries of ``steward drift-report --json``: {name: {status, effect, p, reading}}."""
    found: dict[str, dict[str, Any]] = {}

    def entry(d: dict[str, Any]) -> dict[str, Any]:
        p = next((d[k] for k in _P_KEYS if k in d), None)
        return {
            "status": d["status"],
            "kind": d.get("kind"),
            "effect": d.get("effect"),
            "effect_name": d.get("effect_name") or d.get("effect_test"),
            "threshold": d.get("threshold"),
            "p_adjusted": p,
            "reading": d.get("reading"),
        }

    def walk(x: Any, key: str | None) -> None:
        if isinstance(x, dict):
            if "status" in x and isinstance(x["status"], str):
                name = next((x[k] for k in _NAME_KEYS if isinstance(x.get(k), str)), key)
                if name and (name.startswith("num_") or name.startswith("cat_")):
                    found.setdefault(name, entry(x))
                    return
            for k, v in x.items():
                walk(v, k)
        elif isinstance(x, list):
            for v in x:
                walk(v, None)

    walk(doc, None)
    return found


def verdicts_of(tool: str, stdout: str, out_file: Path | None) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Per-feature verdicts and a few run facts, from a tool's JSON output."""
    if tool == "modelsteward":
        doc = json.loads(stdout)
        # DriftReport.to_dict(): {"features": {column: {status, effect_test, effect, p_adjusted, ...}},
        # "outputs": {...}, "inputs": {status, reading} (the window-level verdict), "tests": [...], "seconds"}
        feats = _features_of(doc.get("features", doc) if isinstance(doc, dict) else doc)
        facts: dict[str, Any] = {"window_verdict": doc.get("inputs") if isinstance(doc, dict) else None}
        if isinstance(doc, dict):
            facts["seconds_in_report"] = doc.get("seconds")
            facts["outputs"] = {k: {"status": v.get("status"), "effect_test": v.get("effect_test"), "effect": v.get("effect"),
                                    "p_adjusted": v.get("p_adjusted")} for k, v in (doc.get("outputs") or {}).items()}
            facts["n_tests"] = len(doc.get("tests") or [])
        return feats, facts
    text = out_file.read_text() if out_file and out_file.exists() else stdout.strip().splitlines()[-1]
    doc = json.loads(text)
    feats = {}
    for f, v in doc["per_feature"].items():
        e = {"status": "drift" if v.get("drift") else "no_drift"}
        e.update({k: v[k] for k in ("score", "method", "threshold", "alert_chunks", "n_chunks", "max_value", "upper_threshold")
                  if k in v})
        feats[f] = e
    return feats, {"version": doc.get("version"), "seconds_read": doc.get("seconds_read"),
                   "seconds_compute": doc.get("seconds_compute"), "dataset_drift": doc.get("dataset_drift")}


def score(feats: dict[str, dict[str, Any]], truth: dict[str, Any]) -> dict[str, Any]:
    detail = truth["drift_detail"]
    injected = truth["drifted"]
    undrifted = truth["not_drifted"]
    status = {f: feats.get(f, {}).get("status", "missing") for f in truth["features"]}
    flagged_inj = [f for f in injected if status[f] in FLAGGED]
    missed = [f for f in injected if status[f] not in FLAGGED]
    subtle = [f for f in injected if detail[f]["magnitude"] == "subtle"]
    large = [f for f in injected if detail[f]["magnitude"] != "subtle"]
    false_pos = [f for f in undrifted if status[f] in FLAGGED]
    return {
        "status": status,
        "injected_flagged": len(flagged_inj),
        "injected_total": len(injected),
        "injected_missed": missed,
        "subtle": {f: status[f] for f in subtle},
        "large_as_drift": sum(status[f] == "drift" for f in large),
        "large_total": len(large),
        "large_not_drift": {f: status[f] for f in large if status[f] != "drift"},
        "undrifted_flagged": false_pos,
        "undrifted_flagged_status": {f: status[f] for f in false_pos},
        "undrifted_total": len(undrifted),
        "missing_features": [f for f in truth["features"] if status[f] == "missing"],
    }


# -- running ------------------------------------------------------------------------------------------
def commands(tool: str, data: Path, args: argparse.Namespace, env_info: dict[str, Any], tmp: Path
             ) -> tuple[list[str], Path | None, dict[str, str], Path | None]:
    env = {**os.environ}
    if tool == "modelsteward":
        cmd = [args.steward, "drift-report", str(data / "reference.parquet"), str(data / "current.parquet"), "--json"]
        return cmd, None, env, None
    spec = PEERS[tool]
    out = tmp / f"{tool}.json"
    out.unlink(missing_ok=True)
    env.update(spec["env"])
    cmd = [env_info["python"], str(args.shared / spec["runner"]), "--data", str(data), "--out", str(out)]
    return cmd, args.shared, env, out


def bench_pair(label: str, data: Path, tools: list[str], rounds: dict[str, int], args: argparse.Namespace,
               avail: dict[str, dict[str, Any]], tmp: Path) -> dict[str, Any]:
    truth = json.loads((data / "truth.json").read_text())
    runs: dict[str, list[dict[str, Any]]] = {t: [] for t in tools}
    verdicts: dict[str, list[dict[str, Any]]] = {t: [] for t in tools}
    facts: dict[str, dict[str, Any]] = {}
    errors: dict[str, str] = {}
    for r in range(max(rounds.values(), default=0)):
        for tool in tools:
            if r >= rounds[tool] or tool in errors:
                continue
            cmd, cwd, env, out = commands(tool, data, args, avail[tool], tmp)
            log(f"{label}: {tool} round {r + 1}/{rounds[tool]} ...")
            res = run_timed(cmd, cwd=cwd, env=env, timeout=args.timeout, tmp=tmp)
            if not res["ok"]:
                errors[tool] = res["error"]
                log(f"{label}: {tool} FAILED: {res['error']}")
                continue
            try:
                feats, fact = verdicts_of(tool, res["stdout"], out)
            except (ValueError, KeyError, IndexError) as exc:
                errors[tool] = f"could not read its verdicts: {exc!r}; stdout starts {res['stdout'][:300]!r}"
                log(f"{label}: {tool} FAILED: {errors[tool]}")
                continue
            runs[tool].append({k: res[k] for k in ("wall_s", "cpu_s", "peak_mb")})
            verdicts[tool].append(feats)
            facts[tool] = fact
            log(f"{label}: {tool} round {r + 1}: {res['wall_s']:.2f} s wall, {res['cpu_s']:.2f} s cpu, "
                f"{res['peak_mb']:.0f} MB peak")
    result: dict[str, Any] = {"data": str(data), "n_reference": None, "n_current": truth["n"], "tools": {}}
    result["n_reference"] = truth.get("n_reference", truth["n"])
    for tool in tools:
        if tool in errors and not runs[tool]:
            result["tools"][tool] = {"available": False, "reason": errors[tool]}
            continue
        rs = runs[tool]
        stable = all(_statuses(v) == _statuses(verdicts[tool][0]) for v in verdicts[tool])
        result["tools"][tool] = {
            "available": True,
            "label": tool_label(tool, avail),
            "runs": rs,
            "wall_s": statistics.median(x["wall_s"] for x in rs),
            "cpu_s": statistics.median(x["cpu_s"] for x in rs),
            "peak_mb": statistics.median(x["peak_mb"] for x in rs),
            "verdicts_stable_across_runs": stable,
            "per_feature": verdicts[tool][-1],
            "score": score(verdicts[tool][-1], truth),
            **facts.get(tool, {}),
            **({"error_in_later_round": errors[tool]} if tool in errors else {}),
        }
    result["truth"] = {f: truth["drift_detail"].get(f, {}).get("magnitude", "none") for f in truth["features"]}
    result["observed_effect"] = truth.get("observed_effect")
    result["targets"] = targets(result)
    return result


def _statuses(feats: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {f: v["status"] for f, v in feats.items()}


def tool_label(tool: str, avail: dict[str, dict[str, Any]]) -> str:
    if tool == "modelsteward":
        return f"modelsteward {avail[tool].get('version', '')}".strip()
    return PEERS[tool]["label"]


def targets(res: dict[str, Any]) -> dict[str, Any]:
    ms = res["tools"].get("modelsteward")
    if not ms or not ms.get("available"):
        return {}
    sc = ms["score"]
    t: dict[str, Any] = {
        "no_undrifted_flagged": {"met": not sc["undrifted_flagged"], "value": sc["undrifted_flagged_status"]},
        "all_injected_reported": {
            "met": sc["injected_flagged"] == sc["injected_total"] and sc["large_as_drift"] == sc["large_total"],
            "value": f"{sc['injected_flagged']} of {sc['injected_total']} flagged, "
                     f"{sc['large_as_drift']} of {sc['large_total']} strong/moderate as drift",
        },
        "subtle_small_but_real": {"met": all(s in FLAGGED for s in sc["subtle"].values()), "value": sc["subtle"]},
    }
    peers = {k: v for k, v in res["tools"].items() if k != "modelsteward" and v.get("available")}
    if peers:
        fast_name, fast = min(peers.items(), key=lambda kv: kv[1]["wall_s"])
        speed = fast["wall_s"] / ms["wall_s"]
        mem = ms["peak_mb"] / fast["peak_mb"]
        t["faster_peer"] = fast_name
        t["speed_vs_faster_peer"] = {"met": speed >= SPEED_TARGET, "value": speed, "target": f">= {SPEED_TARGET:g}x"}
        t["memory_vs_faster_peer"] = {"met": mem < MEMORY_TARGET, "value": mem, "target": f"< {MEMORY_TARGET:g}"}
    if res["n_current"] >= N_10M:
        t["peak_10m_within_2gb"] = {"met": ms["peak_mb"] < PEAK_10M_TARGET_MB, "value": ms["peak_mb"],
                                    "target": f"< {PEAK_10M_TARGET_MB:.0f} MB"}
    return t


# -- printing ----------------------------------------------------------------------------------------
def _n(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k" if n % 1000 == 0 else str(n)


def _injected_cell(sc: dict[str, Any], is_steward: bool) -> str:
    subtle = ", ".join(f"{f} {s}" for f, s in sc["subtle"].items())
    cell = f"{sc['injected_flagged']} of {sc['injected_total']}"
    if is_steward:
        cell += f" ({sc['large_as_drift']} drift; subtle: {subtle})"
    elif sc["injected_missed"]:
        cell += f" (missed {', '.join(sc['injected_missed'])})"
    else:
        cell += f" (subtle: {', '.join(sc['subtle'])} flagged)"
    return cell


def _undrifted_cell(sc: dict[str, Any]) -> str:
    fp = sc["undrifted_flagged_status"]
    cell = f"{len(fp)} of {sc['undrifted_total']}"
    if fp:
        cell += " (" + ", ".join(f"{f}" + ("" if s == "drift" else f" {s}") for f, s in fp.items()) + ")"
    return cell


def _fmt_p(p: Any) -> str:
    if p is None:
        return "-"
    p = float(p)
    if p <= 1e-300:  # the library floors p-values there (modelsteward.drift.correction.P_FLOOR)
        return "< 1e-300"
    return f"{p:.2g}" if p >= 1e-4 else f"{p:.1e}"


def _fmt_e(e: Any) -> str:
    return "-" if e is None else f"{float(e):.3g}"


def print_pair(res: dict[str, Any], rounds: dict[str, int]) -> None:
    nr, nc = res["n_reference"], res["n_current"]
    title = f"N = {_n(nc)} each side" if nr == nc else f"reference {_n(nr)}, current {_n(nc)}"
    rr = ", ".join(f"{t} {k}" for t, k in rounds.items())
    print(f"\n## {title}  (median of rounds: {rr})\n")
    print("| tool | wall s | cpu s | peak MB | injected drifts flagged | undrifted flagged |")
    print("|---|---:|---:|---:|---|---|")
    for tool, t in res["tools"].items():
        if not t.get("available"):
            print(f"| {tool} | unavailable | | | {t.get('reason', '').splitlines()[0][:80]} | |")
            continue
        sc = t["score"]
        print(f"| {t['label']} | {t['wall_s']:.2f} | {t['cpu_s']:.2f} | {t['peak_mb']:,.0f} | "
              f"{_injected_cell(sc, tool == 'modelsteward')} | {_undrifted_cell(sc)} |")
    tg = res["targets"]
    if tg:
        print()
        if "faster_peer" in tg:
            fp = tg["faster_peer"]
            print(f"modelsteward vs the faster peer ({res['tools'][fp]['label']}): "
                  f"{tg['speed_vs_faster_peer']['value']:.1f}x faster (target >= {SPEED_TARGET:g}x: "
                  f"{'met' if tg['speed_vs_faster_peer']['met'] else 'NOT met'}), peak memory "
                  f"{tg['memory_vs_faster_peer']['value']:.2f}x of its peak (target < {MEMORY_TARGET:g}: "
                  f"{'met' if tg['memory_vs_faster_peer']['met'] else 'NOT met'})")
        for k in ("no_undrifted_flagged", "all_injected_reported", "subtle_small_but_real", "peak_10m_within_2gb"):
            if k in tg:
                v = tg[k]["value"]
                v = f"{v:,.0f} MB" if isinstance(v, float) else v
                print(f"  {k}: {'met' if tg[k]['met'] else 'NOT met'} ({v})")
    ms = res["tools"].get("modelsteward", {})
    if ms.get("available") and ms.get("window_verdict") is not None:
        wv = ms["window_verdict"]
        print(f"  modelsteward window verdict: {wv.get('status', wv) if isinstance(wv, dict) else wv}")
    # verdict per feature
    tools = [t for t, v in res["tools"].items() if v.get("available")]
    print("\n| feature | injected | " + " | ".join(res["tools"][t]["label"] for t in tools) + " |")
    print("|---|---|" + "---|" * len(tools))
    for f, mag in res["truth"].items():
        cells = []
        for t in tools:
            e = res["tools"][t]["per_feature"].get(f, {})
            st = e.get("status", "missing")
            if t == "modelsteward":
                cells.append(f"{st} ({e.get('effect_name') or 'effect'} {_fmt_e(e.get('effect'))}, p_adj {_fmt_p(e.get('p_adjusted'))})")
            elif "score" in e:
                cells.append(f"{st} ({e.get('method')} {_fmt_e(e['score'])})")
            elif "alert_chunks" in e:
                cells.append(f"{st} ({e['alert_chunks']}/{e['n_chunks']} chunks)")
            else:
                cells.append(st)
        print(f"| {f} | {mag} | " + " | ".join(cells) + " |")


def machine() -> dict[str, Any]:
    mem_gb = None
    try:
        with open("/proc/meminfo") as fh:
            mem_gb = round(int(fh.readline().split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return {"cores": os.cpu_count(), "ram_gb": mem_gb, "python": platform.python_version(), "date": date.today().isoformat()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000], help="rows each side (default 100000 1000000)")
    ap.add_argument("--repeat", type=int, default=3, help="timed rounds per size; the median is reported (default 3)")
    ap.add_argument("--peer-repeat", nargs="+", default=None, metavar="N|PEER=N",
                    help="rounds for the peers (default: --repeat); e.g. `--peer-repeat 3 evidently=1`")
    ap.add_argument("--with-10m", action="store_true", help=f"also {N_10M:,} current rows against the {N_10M_REF:,}-row reference, "
                    "modelsteward only")
    ap.add_argument("--repeat-10m", type=int, default=1, help="rounds at 10M rows (default 1: the figure there is memory)")
    ap.add_argument("--tools", nargs="+", choices=["modelsteward", *PEERS], default=["modelsteward", *PEERS])
    ap.add_argument("--data-dir", type=Path, default=DEFAULT_DATA, help=f"where the data goes (default {DEFAULT_DATA})")
    ap.add_argument("--venvs", type=Path, default=DEFAULT_VENVS, help=f"peer virtual environments (default {DEFAULT_VENVS})")
    ap.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help=f"gen_data.py and the peer runners (default {DEFAULT_SHARED})")
    ap.add_argument("--steward", default=str(Path(sys.executable).parent / "steward"), help="the steward executable")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds before one run is abandoned (default 1800)")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the tables")
    ap.add_argument("--json-out", type=Path, help="also write the JSON object to this file")
    args = ap.parse_args(argv)
    args.shared = args.shared.resolve()
    args.data_dir = args.data_dir.resolve()
    peer_repeat: dict[str, int] = dict.fromkeys(PEERS, args.repeat)
    for item in args.peer_repeat or []:
        name, _, k = item.rpartition("=")
        if name and name not in PEERS:
            ap.error(f"--peer-repeat: unknown peer {name!r}")
        if not k.isdigit() or int(k) < 1:
            ap.error("--peer-repeat: rounds must be integers >= 1")
        for p in [name] if name else PEERS:
            peer_repeat[p] = int(k)
    if args.repeat < 1:
        ap.error("--repeat must be >= 1")

    t_start = time.perf_counter()
    time_info = ensure_time()
    ensure_data(args.sizes, args.data_dir, args.shared)
    avail: dict[str, dict[str, Any]] = {}
    for tool in args.tools:
        avail[tool] = steward_available(args.steward) if tool == "modelsteward" else ensure_peer(tool, args.venvs)
        if not avail[tool]["available"]:
            log(f"{tool} unavailable: {avail[tool]['reason']}")
    tools = [t for t in args.tools if avail[t]["available"]]
    rounds = {t: (args.repeat if t == "modelsteward" else peer_repeat[t]) for t in tools}

    doc: dict[str, Any] = {
        "benchmark": "bench_drift_peers",
        "machine": machine(),
        "time": time_info,
        "repeat": args.repeat,
        "peer_repeat": peer_repeat,
        "unavailable": {t: v["reason"] for t, v in avail.items() if not v["available"]},
        "sizes": {},
    }
    with tempfile.TemporaryDirectory(prefix="bench-drift-peers-") as tmp_s:
        tmp = Path(tmp_s)
        for n in args.sizes:
            res = bench_pair(f"n={_n(n)}", args.data_dir / f"n{n}", tools, rounds, args, avail, tmp)
            for t, v in avail.items():
                if not v["available"]:
                    res["tools"][t] = {"available": False, "reason": v["reason"]}
            doc["sizes"][str(n)] = res
            if not args.json:
                print_pair(res, rounds)
                sys.stdout.flush()
        if args.with_10m:
            if "modelsteward" in tools:
                d = ensure_10m(args.data_dir, args.shared)
                r10 = {"modelsteward": args.repeat_10m}
                res = bench_pair(f"n={_n(N_10M)}", d, ["modelsteward"], r10, args, avail, tmp)
                doc["sizes"][f"{N_10M}_ref{N_10M_REF}"] = res
                if not args.json:
                    print_pair(res, r10)
            else:
                log("--with-10m: modelsteward is unavailable, skipped")
    doc["total_seconds"] = round(time.perf_counter() - t_start, 1)
    if args.json_out:
        args.json_out.write_text(json.dumps(doc, indent=1, default=str) + "\n")
    if args.json:
        print(json.dumps(doc, indent=1, default=str))
    else:
        print(f"\n/usr/bin/time {'installed now (apt-get install time)' if time_info['installed_now'] else 'was present'}; "
              f"total {doc['total_seconds']:.0f} s; machine {doc['machine']}")
    return 1 if "modelsteward" in args.tools and not avail["modelsteward"]["available"] else 0


if __name__ == "__main__":
    sys.exit(main())
