"""The what-if simulator: CloudWatch alarm evaluation, the replay, and `mlcp scaling simulate`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlcp.errors import InputInvalid
from mlcp.scaling.policy import AlarmDefinition, ScaleOutRule, ScalingPolicy, from_zero_problems, parse_policy
from mlcp.scaling.simulator import (
    DEFAULT_START as START,
)
from mlcp.scaling.simulator import (
    Action,
    AlarmModel,
    SimConfig,
    count_flaps,
    flap_window_seconds,
    parse_trace,
    simulate,
    static_node_hours,
)
from mlcp_cli.main import main

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE_POLICY = ROOT / "examples" / "scaling" / "policy.yaml"
HIGH, LOW = "mlcp-scaling-high", "mlcp-scaling-low"


def definition(**overrides: Any) -> AlarmDefinition:
    base: dict[str, Any] = {
        "name": HIGH,
        "threshold": 75,
        "comparison": "GreaterThanThreshold",
        "evaluation_periods": 3,
        "datapoints_to_alarm": 2,
    }
    return AlarmDefinition.model_validate(base | overrides)


def evaluate(alarm: AlarmModel, points: list[float | None]) -> list[str]:
    states = []
    for point in points:
        if point is not None:
            alarm.samples.append(point)
        alarm.close_period(START)
        states.append(alarm.state)
    return states


@pytest.mark.parametrize(
    ("treat", "points", "states"),
    [
        ("missing", [70, 80, 90], ["OK", "OK", "ALARM"]),  # 2 of 3 breaching
        ("missing", [None, None, None], ["INSUFFICIENT_DATA"] * 3),
        ("missing", [None, None, 90], ["INSUFFICIENT_DATA", "INSUFFICIENT_DATA", "ALARM"]),  # "- - X": ALARM
        ("missing", [90, None, None, 70], ["ALARM", "ALARM", "ALARM", "OK"]),  # a partial range with an OK point
        ("missing", [90, 90, None, None, None], ["ALARM", "ALARM", "ALARM", "ALARM", "INSUFFICIENT_DATA"]),
        ("ignore", [90, 90, None, None, None], ["INSUFFICIENT_DATA", "ALARM", "ALARM", "ALARM", "ALARM"]),
        ("ignore", [None, None, 70], ["INSUFFICIENT_DATA", "INSUFFICIENT_DATA", "OK"]),
        ("breaching", [80, None, 10], ["OK", "ALARM", "ALARM"]),
        ("notBreaching", [80, None, 90, None, None], ["OK", "OK", "ALARM", "OK", "OK"]),
    ],
)
def test_alarm_evaluation_m_of_n_and_missing_data(treat: str, points: list[float | None], states: list[str]) -> None:
    alarm = AlarmModel(definition(treat_missing_data=treat), START)
    assert evaluate(alarm, points) == states


def test_alarm_definition_rejects_m_greater_than_n() -> None:
    with pytest.raises(ValueError, match="datapoints_to_alarm must be <= evaluation_periods"):
        definition(datapoints_to_alarm=4)


def test_flaps_are_quick_reversals() -> None:
    actions = [
        Action(0, "out", 2, 4, ""),
        Action(10, "in", 4, 3, ""),
        Action(40, "out", 3, 5, ""),
        Action(45, "out", 5, 6, ""),
    ]
    assert count_flaps(actions, 900) == 1


def test_parse_trace() -> None:
    assert parse_trace("# comment\nminute,demand\n0,1.5\n1,\n2,3\n") == [1.5, None, 3.0]
    with pytest.raises(InputInvalid) as raised:
        parse_trace("minute,demand\n0,1\n1,lots\n", source="t.csv")
    assert str(raised.value.errors[0]) == "row 2.demand: 'lots' is not a number"
    with pytest.raises(InputInvalid, match="'demand' column"):
        parse_trace("minute,load\n0,1\n")
    with pytest.raises(InputInvalid, match="must be a number >= 0"):
        parse_trace("demand\n-1\n")


def policy(mode: str = "desired") -> ScalingPolicy:
    return ScalingPolicy.model_validate(
        {
            "cluster": "c1",
            "name": "gpu",
            "mode": mode,
            "nodegroups": [{"name": "a"}, {"name": "b"}],
            "min_size": 2,
            "max_size": 20,
            "max_step": 6,
            "scale_out": [{"alarm": HIGH, "add_percent": 50}],
            "scale_in": [{"alarm": LOW, "remove": 2}],
            "alarms": [
                definition().model_dump(),
                definition(
                    name=LOW, threshold=40, comparison="LessThanThreshold", evaluation_periods=5, datapoints_to_alarm=5
                ).model_dump(),
            ],
        }
    )


STEP_UP_AND_DOWN = [2.0] * 30 + [12.0] * 120 + [2.0] * 240


@pytest.mark.parametrize("mode", ["desired", "bounds"])
def test_simulate_follows_a_step_in_demand(mode: str) -> None:
    result = simulate(policy(mode), STEP_UP_AND_DOWN, SimConfig(startup_seconds=120, update_seconds=60))
    peak_window = result.capacity[100:150]
    assert min(peak_window) >= 12  # caught up with the step
    assert result.nodes[-1] < 8  # and came back down
    assert result.flaps == 0
    assert result.actions[0].direction == "out"
    assert 0 < result.under_capacity_minutes < 60  # the start-up delay costs some minutes
    hours, peak = static_node_hours(STEP_UP_AND_DOWN, 1.0)
    assert peak == 12
    assert result.node_hours < hours


def test_simulate_without_cooldowns_flaps_on_noise() -> None:
    noisy = [6.0 + (1.6 if i % 4 < 2 else -1.6) for i in range(600)]
    steady = simulate(policy(), noisy)
    jumpy_policy = policy().model_copy(
        update={
            "cooldowns": policy().cooldowns.model_copy(update={"scale_out_seconds": 0, "scale_in_seconds": 0}),
            "scale_in_stabilisation_seconds": 0,
            "alarms": [
                a.model_copy(update={"evaluation_periods": 1, "datapoints_to_alarm": 1}) for a in policy().alarms
            ],
        }
    )
    # Both judged by the original policy's window (cooldowns + stabilisation); without cooldowns it would be 0.
    jumpy = simulate(jumpy_policy, noisy, SimConfig(flap_window_seconds=flap_window_seconds(policy())))
    assert steady.flaps == 0
    assert jumpy.flaps > steady.flaps
    assert len(jumpy.actions) > len(steady.actions)


# --- the CLI -----------------------------------------------------------------------------------------------------
def test_cli_simulate_prints_the_summary_and_draws_the_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    png = tmp_path / "out.png"
    code = main(
        [
            "scaling",
            "simulate",
            "--policy",
            str(EXAMPLE_POLICY),
            "--trace",
            str(ROOT / "examples/scaling/diurnal.csv"),
            "--plot",
            str(png),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "node_hours_saved_pct" in out
    assert "flaps                   0" in out
    assert "runaway                 0" in out
    assert png.read_bytes().startswith(b"\x89PNG")


def test_cli_simulate_json(capsys: pytest.CaptureFixture[str]) -> None:
    trace = str(ROOT / "examples/scaling/ramp.csv")
    assert main(["scaling", "simulate", "--policy", str(EXAMPLE_POLICY), "--trace", trace, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["summary"]["flaps"] == 0
    assert report["summary"]["actions"] == len(report["actions"]) > 0
    assert {a["direction"] for a in report["actions"]} == {"out", "in"}


def test_cli_simulate_invalid_policy_is_field_level(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "policy.yaml"
    bad.write_text("cluster: c1\nname: gpu\nnodegroups: [{name: a}]\nmin_size: 5\nmax_size: 2\n")
    trace = tmp_path / "t.csv"
    trace.write_text("demand\n1\n")
    assert main(["scaling", "simulate", "--policy", str(bad), "--trace", str(trace)]) == 1
    err = capsys.readouterr().err
    assert "min_size: must be <= max_size (2)" in err
    assert "Traceback" not in err


def test_cli_simulate_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["scaling", "simulate", "--policy", str(EXAMPLE_POLICY), "--trace", "x.csv", "--node-capacity", "0"]
    assert main(args) == 2
    assert "--node-capacity > 0" in capsys.readouterr().out


def test_cli_validate_and_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scaling", "validate", str(EXAMPLE_POLICY)]) == 0
    assert "valid scaling policy 'ml-inference/gpu' (desired mode) for gpu-a (weight 1)" in capsys.readouterr().out
    assert main(["scaling", "validate", str(EXAMPLE_POLICY), "--environment", "local"]) == 0
    assert "valid scaling policy" in capsys.readouterr().out
    # The example's alarms are the "local" stack's: a "prod" stack forwards mlcp-scaling-prod-* only.
    assert main(["scaling", "validate", str(EXAMPLE_POLICY), "--environment", "prod"]) == 1
    err = capsys.readouterr().err
    assert "the 'prod' stack would refuse to register it" in err
    assert "scale_out.0.alarm: must start with 'mlcp-scaling-prod-'" in err
    assert "scale_in.1.alarm: must start with 'mlcp-scaling-prod-'" in err
    assert main(["scaling", "schema"]) == 0
    committed = json.loads((ROOT / "docs" / "scaling-policy.schema.json").read_text())
    assert json.loads(capsys.readouterr().out) == committed


def test_scale_from_zero_case_is_flagged_and_simulated_as_cloudwatch_would(capsys: pytest.CaptureFixture[str]) -> None:
    """tests/data/cases/scaling/policy-scale-from-zero.yaml: node CPU alarms only, min_size 0."""
    case = ROOT / "tests/data/cases/scaling/policy-scale-from-zero.yaml"
    assert main(["scaling", "validate", str(case)]) == 1  # registration would refuse it: not a pass
    captured = capsys.readouterr()
    assert "a stack would refuse to register it" in captured.err
    assert "scale_out: min_size is 0 but every scale-out alarm watches a per-node metric" in captured.err
    assert "pod_status_pending" in captured.err
    assert "ApproximateNumberOfMessagesVisible" in captured.err  # the SQS metric, not the queue attribute
    assert "ApproximateNumberOfMessages," not in captured.err
    assert "valid scaling policy 'gpu-batch" not in captured.out
    args = ["scaling", "simulate", "--policy", str(case), "--trace", str(ROOT / "examples/scaling/spike.csv")]
    assert main(args) == 0  # simulate still runs it, with the warning
    assert "warning: scale_out: min_size is 0" in capsys.readouterr().err
    policy = parse_policy(case.read_text())
    result = simulate(policy, [5.0] * 60)
    assert result.peak_nodes == 0  # no node, no data point: INSUFFICIENT_DATA, the group never leaves 0
    assert result.under_capacity_minutes == 60
    assert not result.actions
    # The same policy with a pending-pods alarm (a signal that exists at zero nodes) leaves 0.
    pending = policy.model_copy(
        update={
            "scale_out": [*policy.scale_out, ScaleOutRule(alarm="mlcp-scaling-gpu-batch-pending", add=2)],
            "alarms": [
                *policy.alarms,
                AlarmDefinition(
                    name="mlcp-scaling-gpu-batch-pending",
                    metric="pod_status_pending",
                    threshold=0,
                    comparison="GreaterThanThreshold",
                    evaluation_periods=1,
                    datapoints_to_alarm=1,
                ),
            ],
        }
    )
    assert from_zero_problems(pending) == []
    assert simulate(pending, [5.0] * 60).peak_nodes >= 2
