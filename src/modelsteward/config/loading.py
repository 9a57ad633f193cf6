"""Loading ``steward.yaml``: YAML read with a loader that refuses duplicate keys, validation into
:class:`~modelsteward.config.model.StewardConfig`, paths resolved against the file's folder, and
pydantic's report turned into one :class:`~modelsteward.errors.ConfigError` naming the key path."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError as PydanticValidationError

from modelsteward.config.model import StewardConfig
from modelsteward.errors import ConfigError

__all__ = [
    "config_error_from_pydantic",
    "load_config",
]


def _key_path(loc: tuple[Any, ...]) -> str:
    out = ""
    prev = None
    for part in loc:
        if prev == "condition" and part in ("below", "above", "change", "outside_band"):
            prev = part
            continue  # pydantic adds the union tag to the location; people never write it
        if isinstance(prev, int) and out.endswith(f"triggers[{prev}]") and part in ("metric", "drift", "schedule"):
            prev = part
            continue  # the same for the kinds of retraining triggers
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
        prev = part
    return out


# A model-level check names the key below it as "<path>: <problem>".
_NESTED_PATH = re.compile(r"^((?:alerts|features|models)\[\d+\]\.\w+|retraining\.triggers\[\d+\]\.\w+|labels|positive_label|reference\.baselines): (.*)$", re.S)


def config_error_from_pydantic(exc: PydanticValidationError, file: str | None) -> ConfigError:
    """Turn pydantic's report into one ConfigError naming the key path of the first problem."""
    problems = []
    for err in exc.errors():
        path = _key_path(tuple(err["loc"]))
        msg = err["msg"].removeprefix("Value error, ")
        nested = _NESTED_PATH.match(msg)
        if nested:  # a model-level check that names the key below it
            path = f"{path}.{nested.group(1)}" if path else nested.group(1)
            msg = nested.group(2)
        if err["type"] == "extra_forbidden":
            msg = "unknown setting (check its spelling against docs/configuration.md)"
        elif err["type"] == "missing":
            msg = "required setting is missing"
        problems.append((path, msg))
    path, msg = problems[0]
    if len(problems) > 1:
        msg += " (and " + "; ".join(f"{p}: {m}" for p, m in problems[1:4]) + (" …" if len(problems) > 4 else "") + ")"
    return ConfigError(msg, file=file, path=path or "(top level)")


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, except that a key given twice in one mapping is an error (YAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *base`: keys written here override it
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
            except TypeError:  # an unhashable key: the base class reports it
                break
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} is given twice in the same mapping", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_config(path: str | Path) -> StewardConfig:
    """Read and validate a ``steward.yaml``; relative paths in it are resolved against its folder."""
    path = Path(path)
    if not path.exists():
        raise ConfigError("file not found", file=str(path), hint="run `steward init` to write a commented example")
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        raise ConfigError(f"not valid YAML: {getattr(exc, 'problem', exc)}", file=str(path), path=where) from None
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping with a `models` list at the top level", file=str(path))
    try:
        cfg = StewardConfig.model_validate(data)
    except PydanticValidationError as exc:
        raise config_error_from_pydantic(exc, str(path)) from None
    base = path.resolve().parent
    store = str((base / cfg.store).resolve()) if not _is_url(cfg.store) else cfg.store
    models = []
    for m in cfg.models:
        ref = m.reference
        if ref is not None and ref.file and not Path(ref.file).is_absolute():
            ref = ref.model_copy(update={"file": str((base / ref.file).resolve())})
        retraining = m.retraining
        if retraining is not None and not Path(retraining.export_dir).is_absolute():
            retraining = retraining.model_copy(update={"export_dir": str((base / retraining.export_dir).resolve())})
        models.append(m.model_copy(update={"reference": ref, "retraining": retraining}))
    return cfg.model_copy(update={"store": store, "models": models})


def _is_url(text: str) -> bool:
    return "://" in text
