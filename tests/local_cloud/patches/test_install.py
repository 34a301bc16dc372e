"""Guards of cli/mlcp_cli/local/patches: one test (or a few) per fix in ``patches.FIXES``, and their installation.

Each guard test first runs its scenario on moto 5.2.5 as released (no local context active) and asserts the gap, so
that it fails when a future moto closes the gap and the fix can go; then it activates the fixes and asserts the AWS
behaviour. Tests named ``test_<fix>_...`` belong to that fix and live in the test module that mirrors the patch
module making the fix (``patches/stepfunctions/errors.py`` -> ``stepfunctions/test_errors.py`` here);
``test_every_fix_has_a_guard`` checks the naming, the mirror and the documentation.

A few tests end in ``pytest.xfail`` when they hit a known defect of a fix (the reason says which); once the fix is
repaired they run to their assertions.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import moto
import pytest
from moto.awslambda.models import LambdaFunction
from moto.core.responses import BaseResponse
from moto.events.models import Rule

from mlcp_cli.local import patches

HERE = Path(__file__).resolve().parent


def _guard_module(patch_module: str) -> Path:
    """The test module mirroring a patch module: ``mlcp_cli.local.patches.a.b`` -> ``<here>/a/test_b.py``."""
    *package, name = patch_module.removeprefix(f"{patches.__name__}.").split(".")
    return HERE.joinpath(*package, f"test_{name}.py")


def _test_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}


# --- installation ------------------------------------------------------------------------------------------------
def test_every_fix_has_a_guard() -> None:
    assert len(set(patches.FIXES)) == len(patches.FIXES) >= 12
    for fix, install_fix in patches.INSTALLERS:
        module = sys.modules[install_fix.__module__]
        guards = _guard_module(module.__name__)
        assert guards.is_file(), f"{module.__name__} has no test module {guards}"
        assert any(name.startswith(f"test_{fix}_") for name in _test_names(guards)), f"no test guards {fix}"
        assert f"``{fix}``" in (patches.__doc__ or ""), f"{fix} is not listed in the patches' docstring"
        assert f"``{fix}``" in (module.__doc__ or ""), f"{fix} is not documented in {module.__name__}'s docstring"


def test_install_refuses_another_moto_version(monkeypatch: pytest.MonkeyPatch) -> None:
    # The pin: when moto moves, every fix has to be checked again (the guard tests say which still apply).
    assert moto.__version__ == patches.MOTO_VERSION == "5.2.5"
    monkeypatch.setattr(patches, "_INSTALLED", False)  # restored by monkeypatch, like moto.__version__
    monkeypatch.setattr(moto, "__version__", "5.3.0")
    with pytest.raises(RuntimeError, match=r"written for moto 5\.2\.5, not 5\.3\.0"):
        patches.install()


def test_install_is_idempotent_and_inactive_by_default() -> None:
    patches.install()
    patched = (Rule.send_to_targets, LambdaFunction.invoke, BaseResponse.call_action)
    patches.install()
    assert (Rule.send_to_targets, LambdaFunction.invoke, BaseResponse.call_action) == patched
    assert patches.active() is None
