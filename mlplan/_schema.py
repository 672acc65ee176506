"""The JSON Schema of a plan, for editors (yaml-language-server) and other tools."""

from __future__ import annotations

import json
from typing import Any

from mlplan._models import Plan

__all__ = ["plan_schema", "plan_schema_json"]


def plan_schema() -> dict[str, Any]:
    schema = Plan.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "mlplan plan"
    return schema


def plan_schema_json() -> str:
    return json.dumps(plan_schema(), indent=2, sort_keys=True) + "\n"
