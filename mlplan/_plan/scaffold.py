"""``mlplan new``: a fresh plan from a template, which validates as generated."""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
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

    Never overwrites and never writes through a symbolic link: an existing plan file is an
    error; an existing schema or study module is left as it is. Beside the plan: the JSON
    Schema it points at, a worked example's study modules, and a .gitignore that keeps the
    embedded store out of git. Every name is checked before anything is written, and what was
    created is removed again if a later write fails: a refusal leaves nothing half-scaffolded.
    """
    if template not in available_templates():
        raise UnknownTemplateError(
            f"unknown template {template!r}; available: {', '.join(available_templates())}"
        )
    name = _checked_name(name)
    directory = directory or Path.cwd()
    target = directory / f"{name}.yaml"
    text = _fill(template, name, target.name, today or _clock.today())
    _check_plan_name(target)
    files = {directory / SCHEMA_FILE: plan_schema_json().encode("utf-8")}
    files |= {directory / m.name: m.read_bytes() for m in _study_modules(template)}
    kept = [path for path in files if _exists_as_file(path)]
    notes: list[str] = []
    ignore = _ignore_store(directory, notes)
    new = {target: text.encode("utf-8")} | {p: b for p, b in files.items() if p not in kept}
    _write_all(new, ignore)
    written = [*list(new)[1:], *([ignore.path] if ignore else [])]
    return Scaffolded(target, tuple(written), tuple(kept), tuple(notes))


def _check_plan_name(target: Path) -> None:
    if _lstat(target) is None:
        return
    link = f" (a symbolic link to {target.readlink()})" if target.is_symlink() else ""
    raise ScaffoldError(
        f"{target} already exists{link}; a new plan never overwrites a file. "
        "Choose another name or directory.",
        arguments=("name", "directory"),
    )


def _lstat(path: Path) -> os.stat_result | None:
    """``path``'s own status (a link's, not its target's), or None if nothing has the name."""
    try:
        return path.lstat()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise ScaffoldError(
            f"cannot use {path}: {error.strerror or error}; nothing was written. "
            "Check the folder, or choose another directory.",
            arguments=("directory",),
        ) from None


def _exists_as_file(path: Path) -> bool:
    """True if ``path`` is a file to leave as it is; False if it is free to create. Anything
    else (a dangling link, a link to a directory, a directory) is refused: creating the file
    would write through the link, to wherever it points."""
    info = _lstat(path)
    if info is None:
        return False
    if stat.S_ISREG(info.st_mode):
        return True
    if stat.S_ISLNK(info.st_mode):
        if path.is_file():
            return True
        missing = "does not exist" if not path.exists() else "is not a file"
        what = f"a symbolic link to {path.readlink()}, which {missing}"
    else:
        what = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
    raise ScaffoldError(
        f"{path} is {what}; mlplan new writes a file there and never writes through a link. "
        "Nothing was written: remove or rename it, or choose another directory.",
        arguments=("directory",),
    )


@dataclass(frozen=True)
class _IgnoreEdit:
    """The .gitignore to write (a link's target inside the folder, or the file itself), its
    whole new text, and whether it is new."""

    path: Path
    content: bytes
    new: bool


def _write_all(new: dict[Path, bytes], ignore: _IgnoreEdit | None) -> None:
    """Create every file in ``new`` and apply ``ignore``; on a failure, remove what was created
    and say so."""
    created: list[Path] = []
    path = next(iter(new))
    try:
        for path, content in new.items():
            write_new(path, content)
            created.append(path)
        if ignore is not None:
            path = ignore.path
            (write_new if ignore.new else write_atomically)(path, ignore.content)
    except OSError as error:
        for done in reversed(created):
            done.unlink(missing_ok=True)
        raise ScaffoldError(
            f"cannot write {path}: {error.strerror or error}; nothing was written. "
            "Check the folder's permissions, or choose another directory.",
            arguments=("directory",),
        ) from None


def _study_modules(template: str) -> list[Path]:
    if template not in example_names():
        return []
    from mlplan._plan.starters import study_modules

    return study_modules(template)


def _ignore_store(directory: Path, notes: list[str]) -> _IgnoreEdit | None:
    """How to write or extend ``.gitignore`` so the embedded store stays out of git; None if
    nothing is to be written (``notes`` then says why, when the line is missing).

    A symlinked ``.gitignore`` stays a link: its target is written when it lies inside the
    plan's folder, else it is left alone and ``notes`` says what to add by hand (a shared
    ignore file elsewhere is not mlplan's to edit). A read-only or hard-linked one is left
    alone likewise (the rules a plan file gets: ``check_rewritable``); a directory is refused.
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
            return None
        path = target
    info = _lstat(path)
    if info is None:
        text = f"# mlplan's embedded MLflow store, outbox and locks\n{line}\n"
        return _IgnoreEdit(path, text.encode("utf-8"), new=True)
    if not stat.S_ISREG(info.st_mode):
        raise ScaffoldError(
            f"{path} is {'a directory' if stat.S_ISDIR(info.st_mode) else 'not a file'}; git "
            f"reads .gitignore as a file. Nothing was written: remove or rename it, or choose "
            "another directory.",
            arguments=("directory",),
        )
    raw = _read(path)
    text = raw.decode("utf-8", errors="replace")
    if _IGNORED.search(text):
        return None
    if why := _left_alone(path, info):
        notes.append(f"{path} {why}: left as it is; add the line {line} to it by hand")
        return None
    newline = "\r\n" if "\r\n" in text else "\n"
    separator = "" if not text or text.endswith("\n") else newline
    return _IgnoreEdit(path, raw + f"{separator}{line}{newline}".encode(), new=False)


def _left_alone(path: Path, info: os.stat_result) -> str | None:
    """Why mlplan may not replace ``path`` (as check_rewritable, for a plan file), or None."""
    if not info.st_mode & stat.S_IWUSR:
        return "is read-only"
    if info.st_nlink > 1:
        return (
            f"has {info.st_nlink} hard links (replacing it would cut it off from the others, "
            "which would keep the old text)"
        )
    return None


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise ScaffoldError(
            f"cannot read {path}: {error.strerror or error}; nothing was written. "
            "Check its permissions, or choose another directory.",
            arguments=("directory",),
        ) from None


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
