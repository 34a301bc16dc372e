"""`mlcp batch plan|schema`: the table, --json, --plot, and clear errors with exit codes 1 and 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlcp.batch.spec import batch_spec_json_schema
from mlcp_cli.main import main
from tests.support import ROOT

EXAMPLE = str(ROOT / "examples" / "batch" / "batch.yaml")


def test_plan_prints_a_table_for_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["batch", "plan", EXAMPLE, "--items", "200000"]) == 0
    out = capsys.readouterr().out
    assert "items per child      348" in out
    assert "array of 575" in out
    assert "queues considered" in out


def test_plan_from_flags_alone_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["batch", "plan", "--items", "10", "--per-item", "0.01", "--startup", "30", "--json"])
    assert code == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["children"] == 1
    assert plan["array_size"] is None


def test_plan_writes_a_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "plan.png"
    assert main(["batch", "plan", EXAMPLE, "--items", "20000", "--no-target", "--plot", str(out)]) == 0
    assert out.read_bytes().startswith(b"\x89PNG")
    assert f"plot: {out}" in capsys.readouterr().out


def test_an_impossible_plan_exits_1_with_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["batch", "plan", "--items", "200000", "--max-items", "5"]) == 1
    assert "10,000-child array limit" in capsys.readouterr().err


def test_bad_numbers_exit_1_with_field_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["batch", "plan", "--items", "0"]) == 1
    assert "item_count: must be >= 1" in capsys.readouterr().err
    assert main(["batch", "plan", "--items", "5", "--target", "10"]) == 1
    assert "target_child_seconds" in capsys.readouterr().err


def test_schema_prints_the_committed_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["batch", "schema"]) == 0
    assert json.loads(capsys.readouterr().out) == batch_spec_json_schema()


def test_usage_errors_exit_2() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["batch", "plan", "--items", "many"])
    assert exc.value.code == 2
