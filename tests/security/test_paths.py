"""Files are read and written only where they belong: static files by name from an allow-list,
export downloads only when they are Parquet files, exports and reports written without following
a planted symlink, backups restored without escaping their folder."""

from __future__ import annotations

import io
import json
import os
import tarfile
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelsteward.report.html import Section, write_report
from modelsteward.retrain.export import export_labelled
from modelsteward.retrain.requests import RetrainRequest, insert_request

from .conftest import MODEL, Secured, fill, sign_in

SECRET = "root:x:0:0:SECRET-CONTENT-NEVER-SERVED"


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "outside" / "passwd"
    path.parent.mkdir()
    path.write_text(SECRET, encoding="utf-8")
    return path


def test_static_files_cannot_be_reached_outside_the_allow_list(secured: Secured, secret_file: Path) -> None:
    c = secured.client
    rel = os.path.relpath(secret_file, "/")
    attempts = [
        "/static/web/../../../../../../etc/passwd", "/static/web/..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/static/web/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/static/web/%2e%2e%2f%2e%2e%2fserver%2fauth.py",
        "/static/web/%252e%252e%252fauth.py", "/static/web//etc/passwd", "/static/web/%2Fetc%2Fpasswd",
        f"/static/web/%2F{rel.replace('/', '%2F')}", "/static/web/..\\..\\auth.py", "/static/web/dashboard.css%00.py",
        "/static/web/templates/base.html", "/static/web/../_common.py", "/static/web/.", "/static/web/%2e",
        "/static/web/dashboard.css/../../auth.py", "/static/../server/auth.py", "/static/web/DASHBOARD.CSS",
    ]
    for path in attempts:
        answer = c.get(path)
        assert answer.status_code in (404, 405), (path, answer.status_code)
        for leak in ("root:", "SECRET-CONTENT", "def require_scope", "{% block"):
            assert leak not in answer.text, path
    assert c.get("/static/web/dashboard.css").status_code == 200  # the allow-list still works


def test_static_file_list_holds_no_symlink_or_folder() -> None:
    from modelsteward.server.web.static_files import FILES, STATIC

    for name in FILES:
        path = STATIC / name
        assert "/" not in name and not path.is_symlink() and path.is_file()
        assert path.resolve().parent == STATIC.resolve()


def _request(secured: Secured, export_path: str, request_id: str = "rr-000000000001") -> str:
    insert_request(secured.store, RetrainRequest(
        request_id=request_id, model=MODEL, trigger="t", kind="manual", dedup_key=request_id, reason="test", evidence={},
        as_of=datetime(2026, 3, 10), labels_total=0, new_labels=0, status="exported", export_path=export_path, export_rows=1))
    return request_id


def test_export_download_serves_only_parquet_files(secured: Secured, secret_file: Path, tmp_path: Path) -> None:
    c = secured.client
    link = tmp_path / "exports" / "planted.parquet"
    link.parent.mkdir()
    link.symlink_to(secret_file)  # a name that ends in .parquet, pointing at another file
    renamed = tmp_path / "exports" / "copy.parquet"
    renamed.write_text(SECRET, encoding="utf-8")
    real = tmp_path / "exports" / "real.parquet"
    pq.write_table(pa.table({"a": [1]}), real)
    ids = [_request(secured, str(link), "rr-00000000000a"), _request(secured, str(renamed), "rr-00000000000b"),
           _request(secured, str(secret_file), "rr-00000000000c"), _request(secured, str(real), "rr-00000000000d")]
    sign_in(c, "vera")
    for request_id in ids[:3]:
        answer = c.get(f"/models/{MODEL}/feedback/requests/{request_id}/export")
        assert answer.status_code == 404 and "SECRET-CONTENT" not in answer.text, request_id
    ok = c.get(f"/models/{MODEL}/feedback/requests/{ids[3]}/export")
    assert ok.status_code == 200 and ok.content[:4] == b"PAR1"
    assert pq.read_table(io.BytesIO(ok.content)).to_pylist() == [{"a": 1}]
    for hostile in ("..%2F..%2Fetc%2Fpasswd", "%2e%2e", "rr-00000000000d%00"):
        assert c.get(f"/models/{MODEL}/feedback/requests/{hostile}/export").status_code == 404


def test_export_does_not_write_through_a_planted_symlink(secured: Secured, tmp_path: Path, secret_file: Path) -> None:
    mon = secured.client.app.state.monitor  # type: ignore[attr-defined]
    fill(mon, items=0)
    target = tmp_path / "exports" / "x.parquet"
    target.parent.mkdir()
    (target.parent / "x.parquet.partial").symlink_to(secret_file)  # the temporary name an older version used
    target.symlink_to(secret_file)  # and the target itself
    assert export_labelled(mon.store, mon.model(MODEL), target) == 60
    assert secret_file.read_text(encoding="utf-8") == SECRET  # neither link was written through
    assert not target.is_symlink() and pq.read_table(target).num_rows == 60
    assert [p.name for p in target.parent.iterdir() if p.name.endswith(".partial") and not p.is_symlink()] == []


def test_retrain_export_lands_inside_its_folder(tmp_path: Path) -> None:
    from server.conftest import model_dict

    from modelsteward.config import StewardConfig
    from modelsteward.monitor import Monitor
    from modelsteward.retrain.evaluate import export_request

    exports = tmp_path / "exports"
    cfg = StewardConfig.model_validate({"models": [model_dict() | {"retraining": {"export_dir": str(exports)}}]})
    with Monitor(cfg, store=tmp_path / "s.duckdb") as mon:
        fill(mon, items=0)
        request = RetrainRequest(request_id="rr-0123456789ab", model=MODEL, trigger="t", kind="manual", dedup_key="k", reason="r",
                                 evidence={}, as_of=datetime(2026, 3, 10), labels_total=0, new_labels=0)
        insert_request(mon.store, request)
        done = export_request(mon, request)
    assert done.export_path is not None
    assert Path(done.export_path).resolve().is_relative_to(exports.resolve())


def test_report_replaces_a_symlinked_target_instead_of_writing_through_it(tmp_path: Path, secret_file: Path) -> None:
    target = tmp_path / "report.html"
    target.symlink_to(secret_file)
    write_report(target, title="t", subtitle=None, sections=[Section("s", [])])
    assert secret_file.read_text(encoding="utf-8") == SECRET
    assert not target.is_symlink() and "<html" in target.read_text(encoding="utf-8").lower()


# -- backups (store/backup.py, built by H3 this session) -------------------------------------------
def _tar_with(path: Path, members: dict[str, bytes], *, symlink: tuple[str, str] | None = None) -> Path:
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if symlink is not None:
            info = tarfile.TarInfo(symlink[0])
            info.type, info.linkname = tarfile.SYMTYPE, symlink[1]
            tar.addfile(info)
    return path


def test_restore_refuses_backups_that_escape_their_folder(tmp_path: Path, secret_file: Path) -> None:
    backup = pytest.importorskip("modelsteward.store.backup")
    from modelsteward.errors import BackupError

    manifest = json.dumps({"format": backup.FORMAT, "format_version": backup.FORMAT_VERSION, "modelsteward_version": "0",
                           "schema_version": 1, "engine": "duckdb", "created_at": "2026-01-01", "tables": []}).encode()
    bad = {
        "dotdot": _tar_with(tmp_path / "a.tar", {"manifest.json": manifest, "../../escaped.txt": b"x"}),
        "absolute": _tar_with(tmp_path / "b.tar", {"manifest.json": manifest, str(tmp_path / "abs.txt"): b"x"}),
        "symlink": _tar_with(tmp_path / "c.tar", {"manifest.json": manifest}, symlink=("tables", str(secret_file.parent))),
    }
    for what, tar in bad.items():
        with pytest.raises(BackupError):
            backup.restore_store(tar, tmp_path / f"{what}.duckdb")
        assert not (tmp_path / f"{what}.duckdb").exists()
    assert not (tmp_path / "abs.txt").exists() and not (tmp_path.parent / "escaped.txt").exists()
    assert secret_file.read_text(encoding="utf-8") == SECRET


def test_restore_refuses_a_manifest_naming_files_or_tables_outside_the_backup(tmp_path: Path) -> None:
    backup = pytest.importorskip("modelsteward.store.backup")
    from modelsteward.errors import BackupError

    for name, file in (('x"; DROP TABLE feedback; --', "tables/x.parquet"), ("feedback", "../../feedback.parquet"),
                       ("feedback", "/etc/passwd")):
        folder = tmp_path / f"b{abs(hash((name, file)))}"
        folder.mkdir()
        (folder / "manifest.json").write_text(json.dumps({
            "format": backup.FORMAT, "format_version": backup.FORMAT_VERSION, "modelsteward_version": "0", "schema_version": 1,
            "engine": "duckdb", "created_at": "2026-01-01",
            "tables": [{"name": name, "file": file, "rows": 0, "columns": [], "sha256": "0", "bytes": 0}]}), encoding="utf-8")
        with pytest.raises(BackupError):
            backup.restore_store(folder, tmp_path / "r.duckdb")
        assert not (tmp_path / "r.duckdb").exists()
