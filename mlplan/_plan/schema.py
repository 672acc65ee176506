"""The JSON Schema of a plan, for editors (yaml-language-server) and other tools."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mlplan._files import check_output, write_output
from mlplan._plan.models import Plan
from mlplan.errors import OutputError

__all__ = ["plan_schema", "plan_schema_json", "write_schema"]


def plan_schema(output: str | Path | None = None) -> dict[str, Any]:
    """The JSON Schema of a plan file; with ``output``, also write it there (as JSON, keys
    sorted), replacing only a file that is already a JSON schema."""
    if output is not None:
        write_schema(Path(output))
    schema = Plan.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "mlplan plan"
    return schema


def plan_schema_json() -> str:
    return json.dumps(plan_schema(), indent=2, sort_keys=True) + "\n"


def write_schema(path: Path) -> None:
    """Write the schema to ``path``, replacing only a file that is already a JSON schema."""
    check_output(path)
    if path.is_file():
        with path.open("rb") as existing:
            start = existing.read(64).lstrip()
        if not start.startswith(b"{"):
            raise OutputError(
                f"{path} exists and is not a JSON schema; only a schema written before is "
                "replaced: choose another name"
            )
    write_output(path, plan_schema_json())
