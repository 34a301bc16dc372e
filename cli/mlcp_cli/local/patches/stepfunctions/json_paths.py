"""``definite_json_paths``: a definite JSONPath (no wildcard, filter, slice) names one value, as in Step Functions.

A path without wildcards, filters, slices, unions or recursive descent is "definite": Step Functions returns the one
value it names (``$.ComputeEnvironments[0].ComputeEnvironmentArn`` is a string). moto wraps the value in a list
whenever an array index occurs before the last step (``$.Items[0].Name`` yields a one-element list).
"""

from __future__ import annotations

import importlib
import re
from typing import Any

from jsonpath_ng.ext import parse as jsonpath_parse  # moto's own dependency

from mlcp_cli.local.patches.context import active

_INDEFINITE = re.compile(r"\*|\.\.|\?\(|\[[^\]]*[:,][^\]]*\]")
_JSON_PATH = "moto.stepfunctions.parser.asl.utils.json_path"
# Modules that imported moto's extract_json by name: each gets the fixed one.
_JSON_PATH_IMPORTERS = (
    "moto.stepfunctions.parser.asl.component.common.string.string_expression",
    "moto.stepfunctions.parser.asl.component.intrinsic.argument.argument",
    "moto.stepfunctions.parser.asl.eval.states",
    "moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations.string_operators",
    "moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations.numeric",
    "moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations.boolean_equals",
    "moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations.timestamp_operators",
)


def _definite(path: str) -> bool:
    return path.startswith("$") and _INDEFINITE.search(path) is None


def install() -> None:
    json_path = importlib.import_module(_JSON_PATH)
    original = getattr(json_path, "extract_json")  # noqa: B009 - ModuleType attributes are untyped for mypy

    def extract_json(path: str, data: Any) -> Any:
        value = original(path, data)
        if active() is not None and _definite(path) and isinstance(value, list) and len(value) == 1:
            matches = jsonpath_parse(path).find(data)
            if len(matches) == 1:
                return matches[0].value
        return value

    for name in (_JSON_PATH, *_JSON_PATH_IMPORTERS):
        module = importlib.import_module(name)
        if getattr(module, "extract_json", None) is original:
            setattr(module, "extract_json", extract_json)  # noqa: B010
