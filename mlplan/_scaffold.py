"""``mlplan new``: a fresh plan from a template, which validates as generated."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import jinja2

from mlplan._files import write_new
from mlplan._resources import example_names, example_plan, templates_dir
from mlplan._schema import plan_schema_json
from mlplan.errors import ScaffoldError, UnknownTemplateError

__all__ = ["SCHEMA_FILE", "available_templates", "new_plan"]

SCHEMA_FILE = "mlplan.schema.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
_SCHEMA_LINE = re.compile(r"^# yaml-language-server:.*\n", re.MULTILINE)
_ID_LINE = re.compile(r"^id: .*$", re.MULTILINE)


def available_templates() -> list[str]:
    return ["blank", *example_names()]


def new_plan(
    name: str,
    *,
    template: str = "blank",
    directory: Path | None = None,
    today: dt.date | None = None,
) -> Path:
    """Write ``<directory>/<name>.yaml`` from ``template`` and return its path.

    Never overwrites: an existing plan file is an error. The JSON Schema the plan points at is
    written beside it unless a file of that name is already there.
    """
    if template not in available_templates():
        raise UnknownTemplateError(
            f"unknown template {template!r}; available: {', '.join(available_templates())}"
        )
    name = _checked_name(name)
    directory = directory or Path.cwd()
    target = directory / f"{name}.yaml"
    text = _render(template, name, target.name, today or dt.date.today())
    try:
        write_new(target, text)
    except FileExistsError:
        raise ScaffoldError(
            f"{target} already exists; mlplan new never overwrites a file. "
            "Choose another name or --dir."
        ) from None
    schema = directory / SCHEMA_FILE
    if not schema.exists():
        write_new(schema, plan_schema_json())
    return target


def _checked_name(name: str) -> str:
    name = name.removesuffix(".yaml")
    if "/" in name or "\\" in name or ".." in name:
        raise ScaffoldError(
            f"{name!r} is not a plan name: it must not contain path separators or '..'. "
            "Use --dir to choose the folder."
        )
    if not _NAME.match(name):
        raise ScaffoldError(
            f"{name!r} is not a plan name: use letters, digits, '-' or '_' "
            "(up to 63, starting with a letter or digit)."
        )
    return name


def _plan_id(name: str) -> str:
    return name.lower().replace("_", "-")


def _render(template: str, name: str, file_name: str, today: dt.date) -> str:
    if template == "blank":
        return _render_blank(name, file_name, today)
    return _from_example(template, name)


def _render_blank(name: str, file_name: str, today: dt.date) -> str:
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


def _from_example(example: str, name: str) -> str:
    text = _SCHEMA_LINE.sub("", example_plan(example).read_text(encoding="utf-8"))
    text = _ID_LINE.sub(f"id: {_plan_id(name)}", text, count=1)
    return f"# yaml-language-server: $schema={SCHEMA_FILE}\n{text}"
