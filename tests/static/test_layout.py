"""The floor plan as a contract (docs/architecture.md, "Where things live"), checked from the code's own imports.

- The core (layers/mlcp/mlcp) is split by capability: training/, batch/, scaling/ never import one another;
  common/ imports no capability; no capability imports rest/ or aws/ (the composition roots).
- boto3 is imported only under aws/ (the adapters); botocore only there too, except rest/errors.py, which maps
  botocore's ClientError to HTTP statuses.
- The core never imports functions/ or the CLI; a handler imports its capability's wiring, not another's.
- Every module of the core and of cli/mlcp_cli is under 500 lines, and no function's cyclomatic complexity (radon)
  is above 20.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from radon.complexity import cc_visit

from tests.support import FUNCTIONS, ROOT

CORE = ROOT / "layers" / "mlcp" / "mlcp"
CLI = ROOT / "cli" / "mlcp_cli"
CAPABILITIES = ("training", "batch", "scaling")
MAX_LINES = 500
MAX_COMPLEXITY = 20
# Where an AWS SDK import is allowed outside aws/, and why.
SDK_EXCEPTIONS = {"rest/errors.py": "maps botocore's ClientError (throttling, AccessDenied, ...) to HTTP statuses"}


def imports(source: str) -> Iterator[str]:
    """Every module ``source`` imports (absolute imports; ``from a import b`` yields ``a`` and ``a.b``)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def room(relative: str) -> str:
    """The room of a core module: its first folder under mlcp/ (``errors`` for mlcp/errors.py)."""
    return relative.split("/", maxsplit=1)[0].removesuffix(".py")


def room_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "mlcp" and len(parts) > 1 else None


def core_modules() -> list[Path]:
    return sorted(CORE.rglob("*.py"))


def violations(relative: str, source: str) -> list[str]:
    """What a core module (``relative`` to mlcp/, e.g. ``batch/api.py``) imports against the floor plan."""
    here = room(relative)
    found = []
    for module in set(imports(source)):
        there = room_of(module)
        top = module.split(".")[0]
        if top in {"boto3", "botocore"} and here != "aws" and relative not in SDK_EXCEPTIONS:
            found.append(f"imports {module} outside aws/")
        if top in {"mlcp_cli", "functions"}:
            found.append(f"imports {module}: the core never imports the CLI or the handlers")
        if there is None or there == here:
            continue
        if here in CAPABILITIES and there in CAPABILITIES:
            found.append(f"capability {here} imports capability {there} ({module})")
        if here in (*CAPABILITIES, "common", "errors") and there in {"rest", "aws"}:
            found.append(f"{here} imports the composition root {there} ({module})")
        if here in {"common", "errors"} and there in CAPABILITIES:
            found.append(f"{here} imports capability {there} ({module})")
    return sorted(found)


def test_the_core_has_one_room_per_capability() -> None:
    rooms = {p.name for p in CORE.iterdir() if p.is_dir() and not p.name.startswith("__")}
    assert rooms == {"common", "training", "batch", "scaling", "rest", "aws"}


@pytest.mark.parametrize("path", core_modules(), ids=lambda p: str(p.relative_to(CORE)))
def test_core_imports_follow_the_floor_plan(path: Path) -> None:
    assert violations(path.relative_to(CORE).as_posix(), path.read_text()) == []


def test_the_contract_catches_a_capability_importing_another() -> None:
    """GIVEN a batch module that imports training, rest and boto3 THEN the contract names each (it can fail)."""
    source = "import boto3\nfrom mlcp.training.spec import PipelineSpec\nfrom mlcp.rest import context\n"
    assert violations("batch/probe.py", source) == [
        "batch imports the composition root rest (mlcp.rest)",
        "batch imports the composition root rest (mlcp.rest.context)",
        "capability batch imports capability training (mlcp.training.spec)",
        "capability batch imports capability training (mlcp.training.spec.PipelineSpec)",
        "imports boto3 outside aws/",
    ]
    assert violations("common/probe.py", "from mlcp.scaling.policy import ScalingPolicy\n") == [
        "common imports capability scaling (mlcp.scaling.policy)",
        "common imports capability scaling (mlcp.scaling.policy.ScalingPolicy)",
    ]
    assert violations("aws/probe.py", "import boto3\nfrom mlcp.training.use_cases import Deps\n") == []


@pytest.mark.parametrize("app", sorted(FUNCTIONS.glob("*/app.py")), ids=lambda p: p.parent.name)
def test_a_handler_wires_one_capability_and_stays_thin(app: Path) -> None:
    source = app.read_text()
    wired = {m for m in imports(source) if m.startswith("mlcp.aws.wiring.") and m.count(".") == 3}
    assert len(wired) == 1, f"{app.parent.name} wires {sorted(wired)}"
    tree = ast.parse(source)
    functions = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert "lambda_handler" in functions
    assert set(functions) <= {"lambda_handler", "deps", "idempotency_store"}, functions
    assert not any(m.startswith(("boto3", "botocore")) for m in imports(source)), "handlers call AWS through aws/"


def module_level_imports(source: str) -> Iterator[str]:
    """What importing ``source`` imports at once: module-level imports, not those inside functions (loaded on first
    use) nor under ``if TYPE_CHECKING:``."""

    def walk(body: list[ast.stmt]) -> Iterator[str]:
        for node in body:
            if isinstance(node, ast.Import):
                yield from (alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                yield node.module
                yield from (f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.If):
                if not (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
                    yield from walk(node.body)
                yield from walk(node.orelse)
            elif isinstance(node, ast.Try):
                yield from walk(node.body)

    yield from walk(ast.parse(source).body)


def core_file(module: str) -> Path | None:
    """The file of a core module (``mlcp.training.spec`` -> training/spec.py), or None if it is not one."""
    if module != "mlcp" and not module.startswith("mlcp."):
        return None
    base = CORE.parent.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def loaded_by(source: str) -> set[str]:
    """Every core module that importing ``source`` loads (the transitive closure of module-level imports)."""
    seen: set[str] = set()
    pending = list(module_level_imports(source))
    while pending:
        module = pending.pop()
        if module in seen or core_file(module) is None:
            continue
        seen.add(module)
        pending.extend(module_level_imports(core_file(module).read_text()))  # type: ignore[union-attr]
    return seen


# What the API function may load of batch and scaling at its cold start (their routes' models and settings).
API_EAGER = {"api_models", "settings"}


@pytest.mark.parametrize("app", sorted(FUNCTIONS.glob("*/app.py")), ids=lambda p: p.parent.name)
def test_a_handler_loads_only_its_own_capability(app: Path) -> None:
    """GIVEN a handler WHEN Lambda imports it THEN the core modules it loads belong to its own capability, common/,
    aws/ and errors (the API: training, rest/, and only the models and settings of batch and scaling)."""
    loaded = loaded_by(app.read_text())
    rooms = {r for m in loaded if (r := room_of(m)) in CAPABILITIES}
    if app.parent.name == "api":
        eager = {m for m in loaded if room_of(m) in {"batch", "scaling"} and m.count(".") == 2}
        assert {m.split(".")[2] for m in eager} <= API_EAGER, sorted(eager)
        return
    assert len(rooms) == 1, (
        f"{app.parent.name} loads {sorted(rooms)}: {sorted(m for m in loaded if room_of(m) in rooms)}"
    )


def test_the_closure_follows_module_level_imports_only() -> None:
    """The closure sees through a chain of imports, and not into a function body or a TYPE_CHECKING block."""
    chained = loaded_by("from mlcp.aws.wiring.batch import batch_deps\n")
    assert "mlcp.batch.planner" in chained  # wiring -> batch.use_cases -> batch.planner
    lazy = loaded_by("from mlcp.aws.wiring import api\n")
    assert "mlcp.training.use_cases" in lazy
    assert "mlcp.batch.use_cases" not in lazy  # imported inside the provider, on first use
    assert "mlcp.batch.api" not in lazy  # under TYPE_CHECKING


def blocks(visited: list[Any]) -> Iterator[Any]:
    """Every function radon measured: top-level ones, methods and closures (nested patch functions included)."""
    for block in visited:
        yield block
        yield from blocks(list(getattr(block, "methods", [])) + list(getattr(block, "closures", [])))


def _python_files() -> list[Path]:
    return sorted([*CORE.rglob("*.py"), *CLI.rglob("*.py")])


@pytest.mark.parametrize("path", _python_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_modules_are_small_and_functions_simple(path: Path) -> None:
    source = path.read_text()
    lines = source.count("\n")
    assert lines < MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines: split it by concern or by AWS service"
    complex_ = [f"{b.fullname} ({b.complexity})" for b in blocks(cc_visit(source)) if b.complexity > MAX_COMPLEXITY]
    assert not complex_, f"cyclomatic complexity above {MAX_COMPLEXITY}: {complex_}"
