"""``mlplan new``: a fresh plan from a template, which validates as generated."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import jinja2

from mlplan import _clock
from mlplan._files import STORE_DIR, write_atomically, write_new
from mlplan._plan.schema import plan_schema_json
from mlplan._resources import example_names, templates_dir
from mlplan.errors import ScaffoldError, UnknownTemplateError

__all__ = ["SCHEMA_FILE", "Scaffolded", "available_templates", "new_plan", "scaffold"]

SCHEMA_FILE = "mlplan.schema.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
_IGNORED = re.compile(rf"^/?{re.escape(STORE_DIR)}/?\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Scaffolded:
    """What `mlplan new` wrote: the plan, and the files beside it it wrote or left alone."""

    plan: Path
    written: tuple[Path, ...] = ()
    kept: tuple[Path, ...] = ()
    notes: tuple[str, ...] = ()  # what was left undone, and why


def available_templates() -> list[str]:
    return ["blank", *example_names()]


def new_plan(
    name: str,
    *,
    template: str = "blank",
    directory: Path | None = None,
    today: dt.date | None = None,
) -> Scaffolded:
    """Write ``<directory>/<name>.yaml`` from ``template``, and beside it what it needs; say
    what was written (``.plan``, the plan's path), what was kept, and what was left undone."""
    return scaffold(name, template=template, directory=directory, today=today)


def scaffold(
    name: str,
    *,
    template: str = "blank",
    directory: Path | None = None,
    today: dt.date | None = None,
) -> Scaffolded:
    """Write a new plan from ``template``, and beside it what it needs.

    Never overwrites: an existing plan file is an error; an existing schema or study module
    is left as it is. Beside the plan: the JSON Schema it points at, a worked example's study
    modules, and a .gitignore that keeps the embedded store out of git.
    """
    if template not in available_templates():
        raise UnknownTemplateError(
            f"unknown template {template!r}; available: {', '.join(available_templates())}"
        )
    name = _checked_name(name)
    directory = directory or Path.cwd()
    target = directory / f"{name}.yaml"
    text = _fill(template, name, target.name, today or _clock.today())
    try:
        write_new(target, text)
    except FileExistsError:
        raise ScaffoldError(
            f"{target} already exists; a new plan never overwrites a file. "
            "Choose another name or directory.",
            arguments=("name", "directory"),
        ) from None
    written: list[Path] = []
    kept: list[Path] = []
    schema = directory / SCHEMA_FILE
    if not schema.exists():
        write_new(schema, plan_schema_json())
        written.append(schema)
    for module in _study_modules(template):
        copy = directory / module.name
        (kept if copy.exists() else written).append(copy)
        if not copy.exists():
            shutil.copyfile(module, copy)
    notes: list[str] = []
    if _ignore_store(directory, notes):
        written.append(directory / ".gitignore")
    return Scaffolded(target, tuple(written), tuple(kept), tuple(notes))


def _study_modules(template: str) -> list[Path]:
    if template not in example_names():
        return []
    from mlplan._plan.starters import study_modules

    return study_modules(template)


def _ignore_store(directory: Path, notes: list[str]) -> bool:
    """Write or extend ``.gitignore`` so the embedded store stays out of git; True if written.

    A symlinked ``.gitignore`` stays a link: its target is written when it lies inside the
    plan's folder, else it is left alone and ``notes`` says what to add by hand (a shared
    ignore file elsewhere is not mlplan's to edit).
    """
    path = directory / ".gitignore"
    line = f"{STORE_DIR}/"
    if path.is_symlink():
        target = path.resolve()
        if not (target.is_relative_to(directory.resolve()) and target.is_file()):
            notes.append(
                f"{path} is a link to {target}, outside this folder (or not a file): left as it "
                f"is; add the line {line} to it by hand to keep the store out of git"
            )
            return False
        path = target
    if not path.exists():
        write_new(path, f"# mlplan's embedded MLflow store, outbox and locks\n{line}\n")
        return True
    raw = path.read_bytes()
    text = raw.decode("utf-8", errors="replace")
    if _IGNORED.search(text):
        return False
    newline = "\r\n" if "\r\n" in text else "\n"
    separator = "" if not text or text.endswith("\n") else newline
    addition = f"{separator}{line}{newline}".encode()
    write_atomically(path, raw + addition)
    return True


def _checked_name(name: str) -> str:
    name = name.removesuffix(".yaml")
    if "/" in name or "\\" in name or ".." in name:
        raise ScaffoldError(
            f"{name!r} is not a plan name: it must not contain path separators or '..'. "
            "Give the folder as the directory.",
            arguments=("directory",),
        )
    if not _NAME.match(name):
        raise ScaffoldError(
            f"{name!r} is not a plan name: use letters, digits, '-' or '_' "
            "(up to 63, starting with a letter or digit)."
        )
    return name


def _plan_id(name: str) -> str:
    return name.lower().replace("_", "-")


def _fill(template: str, name: str, file_name: str, today: dt.date) -> str:
    if template == "blank":
        return _fill_blank(name, file_name, today)
    return _from_example(template, name, today)


def _fill_blank(name: str, file_name: str, today: dt.date) -> str:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # YAML, not HTML
    )
    return environment.get_template("blank/plan.yaml.j2").render(
        plan_id=_plan_id(name),
        title=name.replace("-", " ").replace("_", " ").capitalize(),
        file_name=file_name,
        today=today.isoformat(),
        schema_path=SCHEMA_FILE,
    )


def _from_example(example: str, name: str, today: dt.date) -> str:
    from mlplan._plan.starters import starter_text

    return starter_text(example, _plan_id(name), SCHEMA_FILE, today)
