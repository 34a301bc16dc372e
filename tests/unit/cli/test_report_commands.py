"""`mlcp runs report` and `mlcp runs compare` (mlcp_cli.report_commands) through main(), over a fake API client:
the files they write, their text and JSON output, and readable one-line errors (no traceback) for an unknown run,
a run without trials yet and an output path that cannot be written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlcp_cli import api_commands
from mlcp_cli.main import main
from tests.unit.cli.test_report import FakeApi, record, trial, trials_of


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> FakeApi:
    fake = FakeApi(
        [
            record(run_id="churn-v1-0a1b", dataset_version="v1", created_at="2026-11-30T08:00:00Z"),
            record(
                run_id="churn-v2-0c1d", dataset_version="v2", created_at="2026-11-30T09:00:00Z", cost={"total": 0.25}
            ),
        ]
    )
    monkeypatch.setattr(api_commands, "client", lambda args: fake)
    return fake


def test_report_writes_the_html_file(api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "reports" / "run.html"  # its directory is created

    code = main(["runs", "report", "churn-v1-0a1b", "--pipeline", "churn", "--html", str(out), "--local"])

    assert code == 0
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert capsys.readouterr().out == f"wrote {out}: run churn-v1-0a1b (SUCCEEDED), 1 trials\n"


def test_report_of_an_unknown_run_is_one_line_and_exit_3(
    api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["runs", "report", "churn-v9-nope", "--pipeline", "churn", "--html", str(tmp_path / "r.html")])

    err = capsys.readouterr().err
    assert code == 3
    assert err == "mlcp: NotFound (HTTP 404): pipeline 'churn' has no run 'churn-v9-nope'\n"
    assert not (tmp_path / "r.html").exists()


def test_report_of_a_run_without_trials_yet_is_written_and_says_why(
    api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    reason = "run churn-v1-0a1b has no tuning job yet (run RUNNING, tune stage not started)"
    monkeypatch.setattr(api, "get_run_trials", lambda pipeline, run_id: {**trials_of(), "reason": reason})

    code = main(["runs", "report", "churn-v1-0a1b", "--pipeline", "churn", "--html", str(tmp_path / "r.html")])

    captured = capsys.readouterr()
    assert code == 0
    assert captured.err == f"mlcp: note: {reason}\n"
    assert reason in (tmp_path / "r.html").read_text()


def test_report_of_a_malformed_run_id_is_a_usage_error_naming_the_pattern(
    api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not the 404 of an unknown run: the id cannot be one (the API's RunId pattern), and nothing is asked."""
    with pytest.raises(SystemExit) as usage:
        main(["runs", "report", "bad id!", "--html", str(tmp_path / "r.html")])

    err = capsys.readouterr().err
    assert usage.value.code == 2
    assert "argument run_id: 'bad id!' is not a run id: run ids are 1..80 characters matching ^[A-Za-z0-9_-]+$" in err
    assert api.calls == []
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize("kind", ["directory", "under a file"])
def test_report_to_a_path_that_cannot_be_written_is_one_line_and_exit_1(
    api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    (tmp_path / "file.txt").write_text("x")
    target = tmp_path if kind == "directory" else tmp_path / "file.txt" / "r.html"

    code = main(["runs", "report", "churn-v1-0a1b", "--pipeline", "churn", "--html", str(target)])

    err = capsys.readouterr().err
    assert code == 1
    expected = f"{target} is a directory, not a file" if kind == "directory" else f"{target.parent}: Not a directory"
    assert err == f"mlcp: {expected}\n"


def test_compare_prints_one_row_per_dataset_version(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["runs", "compare", "--pipeline", "churn"])

    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert lines[0].split() == ["DATASET_VERSION", "RUN_ID", "STATUS", "BEST_OBJECTIVE", "SIZE_AFTER", "COST"]
    assert lines[1].split() == ["v1", "churn-v1-0a1b", "SUCCEEDED", "0.93", "18.1", "KiB", "\u2014"]
    assert lines[2].split() == ["v2", "churn-v2-0c1d", "SUCCEEDED", "0.93", "18.1", "KiB", "$0.2500", "USD"]


def test_compare_json_and_html(api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json  # noqa: PLC0415

    out = tmp_path / "compare.html"
    code = main(["runs", "compare", "--pipeline", "churn", "--json", "--html", str(out)])

    captured = capsys.readouterr()
    data: dict[str, Any] = json.loads(captured.out)
    assert code == 0
    assert [row["dataset_version"] for row in data["rows"]] == ["v1", "v2"]
    assert [row["cost_total"] for row in data["rows"]] == [None, 0.25]
    assert captured.err == f"wrote {out}: 2 dataset versions\n"
    assert 'data-chart-count="3"' in out.read_text()  # objective, size, cost


def test_without_plotly_the_commands_say_which_extra_to_install(
    api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys  # noqa: PLC0415

    monkeypatch.setitem(sys.modules, "plotly", None)  # import plotly raises ImportError

    code = main(["runs", "report", "churn-v1-0a1b", "--html", str(tmp_path / "r.html")])

    assert code == 2
    assert capsys.readouterr().err == (
        "mlcp: reports need plotly: pip install 'mlcp[plot]'  (in a clone, `make bootstrap` installs it)\n"
    )


def test_the_trial_fixture_is_a_trial() -> None:  # the shapes the fake API answers with are the route's
    from mlcp.training.api_models import RunTrials  # noqa: PLC0415

    assert RunTrials.model_validate(trials_of(trial(1, 0.7, eta="0.1"))).trials[0].hyperparameters == {"eta": "0.1"}
