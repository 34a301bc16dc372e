"""Cold-start benchmark of every Lambda handler, relative to a bare ``import boto3`` + one client.

Each sample is a fresh interpreter (``sys.executable -c SNIPPET``) in a Lambda-like environment that times, with
``time.perf_counter`` inside the child:

* a handler: importing ``functions/<name>/app.py`` (``import``) and initialising it as Lambda would before the first
  request, i.e. calling its ``deps()`` if it has one (``init``: settings validated from the environment; the AWS
  clients themselves are lazy);
* the baseline: ``import boto3`` (``import``) and ``boto3.client("s3")`` (``init``).

Baseline and handler runs alternate, so that machine noise hits both; every child runs once, discarded, before the
measured runs so that the OS file cache is warm for all. The ratio ``handler median / baseline median`` does not
depend much on the machine; the target is ``max_ratio <= 1.3`` for every handler. This is a benchmark, not a test: it
asserts nothing on time, prints a table, writes ``bench/results/cold_start.json`` and ends with the line
``RESULT max_ratio=<float> worst=<handler>``.

Each child's environment is the function's in template.yaml (``Globals.Function.Environment.Variables`` merged with
those of the ``AWS::Serverless::Function`` whose ``CodeUri`` is ``functions/<name>``), its intrinsics (``!Ref``,
``!GetAtt``, ``!Sub``, ``Fn::If``...) resolved to fake values of the right shape (see FakeStack), plus what the Lambda
runtime sets; the template's layers are on its PYTHONPATH (Lambda's /opt/python). A function that the template does
not define, or an intrinsic FakeStack cannot fake, stops the bench before any measurement.

    .venv/bin/python bench/cold_start.py [--runs 9] [--output FILE]
    .venv/bin/python bench/cold_start.py --quick               # smoke run: every handler once, nothing kept
    .venv/bin/python bench/cold_start.py --profile start_run   # top imports (python -X importtime)
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = ROOT / "functions"
RESULTS = ROOT / "bench" / "results" / "cold_start.json"
MIN_RUNS = 7
DEFAULT_RUNS = 9
QUICK_RUNS = 1  # --quick: a smoke run (the bench still works, every handler starts), not a measurement
TARGET = 1.3
MARKER = "BENCH_JSON "

# What is imported before the clock starts is the same in both kinds of child, so neither is favoured.
_PRELUDE = "import importlib.util, json, sys, time\n"

# argv: [-c, path of app.py, unique module name]
HANDLER_SNIPPET = (
    _PRELUDE
    + """
c0, t0 = time.process_time(), time.perf_counter()
spec = importlib.util.spec_from_file_location(sys.argv[2], sys.argv[1])
assert spec is not None and spec.loader is not None
module = importlib.util.module_from_spec(spec)
sys.modules[sys.argv[2]] = module
spec.loader.exec_module(module)
t1 = time.perf_counter()
deps = getattr(module, "deps", None)
if callable(deps):
    deps()
t2, c2 = time.perf_counter(), time.process_time()
print("BENCH_JSON " + json.dumps({"import_ms": (t1 - t0) * 1e3, "init_ms": (t2 - t1) * 1e3, "cpu_ms": (c2 - c0) * 1e3}))
"""
)

BASELINE_SNIPPET = (
    _PRELUDE
    + """
c0, t0 = time.process_time(), time.perf_counter()
import boto3
t1 = time.perf_counter()
boto3.client("s3")
t2, c2 = time.perf_counter(), time.process_time()
print("BENCH_JSON " + json.dumps({"import_ms": (t1 - t0) * 1e3, "init_ms": (t2 - t1) * 1e3, "cpu_ms": (c2 - c0) * 1e3}))
"""
)

BASELINE = "baseline"


@dataclass
class Samples:
    import_ms: list[float] = field(default_factory=list)
    init_ms: list[float] = field(default_factory=list)
    total_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)  # process time of the same span: less hit by other loads

    def add(self, measure: dict[str, float]) -> None:
        self.import_ms.append(measure["import_ms"])
        self.init_ms.append(measure["init_ms"])
        self.total_ms.append(measure["import_ms"] + measure["init_ms"])
        self.cpu_ms.append(measure["cpu_ms"])

    def medians(self) -> dict[str, float]:
        return {
            "import_ms": statistics.median(self.import_ms),
            "init_ms": statistics.median(self.init_ms),
            "total_ms": statistics.median(self.total_ms),
            "cpu_ms": statistics.median(self.cpu_ms),
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "samples": {
                "import_ms": self.import_ms,
                "init_ms": self.init_ms,
                "total_ms": self.total_ms,
                "cpu_ms": self.cpu_ms,
            },
            "median": self.medians(),
            "min_total_ms": min(self.total_ms),
            "max_total_ms": max(self.total_ms),
        }


# --- the functions' configuration, from template.yaml -----------------------------------------------------------

TEMPLATE = ROOT / "template.yaml"
FAKE_ACCOUNT = "123456789012"
FAKE_REGION = "us-east-1"
FAKE_PARTITION = "aws"
FAKE_STACK = "mlcp-bench"
_NO_VALUE = object()  # AWS::NoValue: the key or list item is dropped


def _arn(service: str, resource: str) -> str:
    """The format of a regional ARN (``{partition}``, ``{region}``, ``{account}``, ``{name}`` filled in later)."""
    return f"arn:{{partition}}:{service}:{{region}}:{{account}}:{resource}"


# Per resource type: what `Ref` returns ("name", "arn", "url" or "id"), the ARN's format and the property that names the
# resource (when the template sets it; otherwise CloudFormation makes up a name from the stack and the logical id).
_SHAPES: dict[str, tuple[str, str, str]] = {
    "AWS::S3::Bucket": ("name", "arn:{partition}:s3:::{name}", "BucketName"),
    "AWS::DynamoDB::Table": ("name", _arn("dynamodb", "table/{name}"), "TableName"),
    "AWS::SNS::Topic": ("arn", _arn("sns", "{name}"), "TopicName"),
    "AWS::SQS::Queue": ("url", _arn("sqs", "{name}"), "QueueName"),
    "AWS::Serverless::StateMachine": ("arn", _arn("states", "stateMachine:{name}"), "Name"),
    "AWS::StepFunctions::StateMachine": ("arn", _arn("states", "stateMachine:{name}"), "StateMachineName"),
    "AWS::IAM::Role": ("name", "arn:{partition}:iam::{account}:role/{name}", "RoleName"),
    "AWS::IAM::ManagedPolicy": ("arn", "arn:{partition}:iam::{account}:policy/{name}", "ManagedPolicyName"),
    "AWS::Serverless::Function": ("name", _arn("lambda", "function:{name}"), "FunctionName"),
    "AWS::Lambda::Function": ("name", _arn("lambda", "function:{name}"), "FunctionName"),
    "AWS::Serverless::LayerVersion": ("arn", _arn("lambda", "layer:{name}:1"), "LayerName"),
    "AWS::Lambda::LayerVersion": ("arn", _arn("lambda", "layer:{name}:1"), "LayerName"),
    "AWS::Logs::LogGroup": ("name", _arn("logs", "log-group:{name}:*"), "LogGroupName"),
    "AWS::Events::Rule": ("name", _arn("events", "rule/{name}"), "Name"),
    "AWS::Scheduler::Schedule": ("name", _arn("scheduler", "schedule/default/{name}"), "Name"),
    "AWS::CloudWatch::Alarm": ("name", _arn("cloudwatch", "alarm:{name}"), "AlarmName"),
    "AWS::Batch::JobQueue": ("arn", _arn("batch", "job-queue/{name}"), "JobQueueName"),
    "AWS::Batch::ComputeEnvironment": ("arn", _arn("batch", "compute-environment/{name}"), "ComputeEnvironmentName"),
    "AWS::Batch::JobDefinition": ("arn", _arn("batch", "job-definition/{name}:1"), "JobDefinitionName"),
    "AWS::Serverless::Api": ("id", "arn:{partition}:apigateway:{region}::/restapis/{id}", "Name"),
    "AWS::ApiGateway::RestApi": ("id", "arn:{partition}:apigateway:{region}::/restapis/{id}", "Name"),
}


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """template.yaml as data, the short-form tags (``!Ref``, ``!GetAtt``, ``!Sub``...) in their long form.

    samtranslator's loader (the SAM translator, installed with aws-sam-cli and cfn-lint; it imports in a tenth of the
    time cfn-lint's does). It registers its ``!`` constructor on yaml.SafeLoader, which this script does not use.
    """
    from samtranslator.yaml_helper import yaml_parse  # noqa: PLC0415 - only the parent needs it

    data: dict[str, Any] = yaml_parse(path.read_text())
    return data


def _digest(text: str, length: int, alphabet: str) -> str:
    """A made-up, stable identifier (as CloudFormation appends to the names it generates)."""
    number = int.from_bytes(hashlib.sha256(text.encode()).digest()[:16], "big")
    chars = []
    for _ in range(length):
        number, index = divmod(number, len(alphabet))
        chars.append(alphabet[index])
    return "".join(chars)


class FakeStack:
    """Resolves the intrinsic functions of a template as if the stack had been deployed under a fake account.

    ``Ref`` of a parameter is its default; ``Ref``/``Fn::GetAtt`` of a resource give a value of the shape AWS gives
    (a name, an ARN, a queue URL, an id) in account 123456789012, region us-east-1; conditions are evaluated.
    An intrinsic it does not know raises ValueError: the bench must not run with a made-up environment.
    """

    def __init__(self, template: dict[str, Any], stack_name: str = FAKE_STACK) -> None:
        self.template = template
        self.resources: dict[str, Any] = template.get("Resources") or {}
        self.stack_name = stack_name
        self.context = {"partition": FAKE_PARTITION, "region": FAKE_REGION, "account": FAKE_ACCOUNT}
        stack_id = _digest(stack_name, 8, "0123456789abcdef")
        self.pseudo: dict[str, Any] = {
            "AWS::AccountId": FAKE_ACCOUNT,
            "AWS::Region": FAKE_REGION,
            "AWS::Partition": FAKE_PARTITION,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{FAKE_REGION}:{FAKE_ACCOUNT}:stack/{stack_name}/{stack_id}",
            "AWS::NotificationARNs": [],
            "AWS::NoValue": _NO_VALUE,
        }
        self.parameters: dict[str, Any] = {}
        for name, spec in (template.get("Parameters") or {}).items():
            default = spec.get("Default", "")
            kind = str(spec.get("Type", "String"))
            if kind == "CommaDelimitedList" or kind.startswith("List<"):
                self.parameters[name] = default if isinstance(default, list) else str(default).split(",")
            else:
                self.parameters[name] = _text(default)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict):
            if len(value) == 1:
                ((key, argument),) = value.items()
                if key == "Ref":
                    return self.ref(argument)
                if key.startswith("Fn::") or key == "Condition":
                    return self._function(key, argument)
            resolved = {key: self.resolve(item) for key, item in value.items()}
            return {key: item for key, item in resolved.items() if item is not _NO_VALUE}
        if isinstance(value, list):
            return [item for item in (self.resolve(item) for item in value) if item is not _NO_VALUE]
        return value

    def ref(self, name: str) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        return self._value(name, self._shape(name)[0])

    def get_att(self, name: str, attribute: str) -> Any:
        for suffix, what in (("Arn", "arn"), ("Url", "url"), ("Id", "id")):
            if attribute.endswith(suffix):
                return self._value(name, what)
        return self._value(name, "name")  # Name, TopicName, QueueName, ...

    def condition(self, name: str) -> bool:
        conditions = self.template.get("Conditions") or {}
        if name not in conditions:
            raise ValueError(f"unknown condition {name!r}")
        return bool(self.resolve(conditions[name]))

    # --- internals

    def _shape(self, name: str) -> tuple[str, str, str]:
        if name not in self.resources:
            raise ValueError(f"Ref/GetAtt of {name!r}: no such parameter or resource in the template")
        kind = str(self.resources[name].get("Type", ""))
        if kind in _SHAPES:
            return _SHAPES[kind]
        _, service, what = [*kind.split("::"), "", "", ""][:3]
        return "name", _arn(service.lower(), what.lower() + "/{name}"), "Name"

    def _physical(self, name: str) -> str:
        resource = self.resources[name]
        named = (resource.get("Properties") or {}).get(self._shape(name)[2])
        if named is not None:
            return _text(self.resolve(named))
        suffix = _digest(name, 12, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        generated = f"{self.stack_name}-{name}-{suffix}"
        return generated.lower() if resource.get("Type") == "AWS::S3::Bucket" else generated

    def _value(self, name: str, what: str) -> str:
        """``what`` of resource ``name``: its "name", "arn", "url" (SQS) or "id"."""
        physical = self._physical(name)
        fake_id = _digest(name, 10, "abcdefghijklmnopqrstuvwxyz0123456789")
        if what == "name":
            return physical
        if what == "id":
            return fake_id
        if what == "url":
            return f"https://sqs.{FAKE_REGION}.amazonaws.com/{FAKE_ACCOUNT}/{physical}"
        return self._shape(name)[1].format(name=physical, id=fake_id, **self.context)

    def _function(self, key: str, argument: Any) -> Any:
        if key == "Fn::GetAtt":
            name, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
            return self.get_att(name, self.resolve(attribute))
        if key == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            return self._sub(text, {key: self.resolve(value) for key, value in variables.items()})
        if key == "Fn::If":
            condition, if_true, if_false = argument
            return self.resolve(if_true if self.condition(condition) else if_false)
        if key == "Condition":
            return self.condition(argument)
        if key == "Fn::Equals":
            left, right = (_text(self.resolve(item)) for item in argument)
            return left == right
        if key == "Fn::Not":
            return not self.resolve(argument[0])
        if key == "Fn::And":
            return all(self.resolve(item) for item in argument)
        if key == "Fn::Or":
            return any(self.resolve(item) for item in argument)
        if key == "Fn::Join":
            separator, items = argument
            return str(separator).join(_text(item) for item in self.resolve(items))
        if key == "Fn::Select":
            index, items = argument
            return self.resolve(items)[int(self.resolve(index))]
        if key == "Fn::Split":
            separator, text = argument
            return _text(self.resolve(text)).split(str(separator))
        if key == "Fn::FindInMap":
            mapping, top, second = (_text(self.resolve(item)) for item in argument)
            return self.resolve(self.template["Mappings"][mapping][top][second])
        if key == "Fn::Base64":
            return base64.b64encode(_text(self.resolve(argument)).encode()).decode()
        if key == "Fn::GetAZs":
            return [f"{FAKE_REGION}{zone}" for zone in "abc"]
        raise ValueError(f"{key} is not faked by bench/cold_start.py (FakeStack): add it there")

    def _sub(self, text: str, variables: dict[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"  # ${!Literal}
            if name in variables:
                return _text(variables[name])
            if name in self.pseudo or name in self.parameters or "." not in name:
                return _text(self.ref(name))
            resource, attribute = name.split(".", 1)
            return _text(self.get_att(resource, attribute))

        return re.sub(r"\$\{([^}]+)\}", replace, text)


def _text(value: Any) -> str:
    """A value as CloudFormation passes it on (environment variables are strings; booleans are lowercase)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str | int | float):
        return str(value)
    raise ValueError(f"{value!r} is not a scalar")


@dataclass(frozen=True)
class HandlerConfig:
    """What template.yaml configures for one handler directory, intrinsics resolved by FakeStack."""

    logical_id: str
    variables: dict[str, str]  # Globals.Function.Environment.Variables, then the function's own
    layer_dirs: tuple[Path, ...]  # the local layers' content (Lambda's /opt/python), in order
    memory_mb: int
    runtime: str


def function_configs(template: dict[str, Any], names: list[str]) -> dict[str, HandlerConfig]:
    """One HandlerConfig per handler directory; a handler with no function in the template is an error."""
    stack = FakeStack(template)
    globals_ = (template.get("Globals") or {}).get("Function") or {}
    by_dir: dict[Path, tuple[str, dict[str, Any]]] = {}
    for logical_id, resource in stack.resources.items():
        properties = resource.get("Properties") or {}
        code_uri = properties.get("CodeUri")
        if resource.get("Type") == "AWS::Serverless::Function" and isinstance(code_uri, str):
            by_dir[(ROOT / code_uri).resolve()] = (logical_id, properties)
    configs: dict[str, HandlerConfig] = {}
    missing = []
    for name in names:
        found = by_dir.get((FUNCTIONS / name).resolve())
        if found is None:
            missing.append(name)
            continue
        logical_id, properties = found
        raw = {
            **((globals_.get("Environment") or {}).get("Variables") or {}),
            **((properties.get("Environment") or {}).get("Variables") or {}),
        }
        variables: dict[str, str] = {}
        for key, value in raw.items():
            try:
                resolved = stack.resolve(value)
                if resolved is not _NO_VALUE:
                    variables[key] = _text(resolved)
            except (ValueError, KeyError, TypeError) as error:
                raise ValueError(f"{logical_id}: environment variable {key}: {error}") from error
        layers = [*(globals_.get("Layers") or []), *(properties.get("Layers") or [])]
        configs[name] = HandlerConfig(
            logical_id=logical_id,
            variables=variables,
            layer_dirs=tuple(path for path in (_layer_dir(stack, layer) for layer in layers) if path is not None),
            memory_mb=int(properties.get("MemorySize", globals_.get("MemorySize", 128))),
            runtime=str(properties.get("Runtime", globals_.get("Runtime", "python3.13"))),
        )
    if missing:
        raise ValueError(f"no AWS::Serverless::Function in {TEMPLATE.name} has CodeUri functions/<name> for: {missing}")
    return configs


def _layer_dir(stack: FakeStack, layer: Any) -> Path | None:
    """The content directory of a layer of this template (``!Ref SomeLayer``); None for a layer ARN."""
    if not (isinstance(layer, dict) and set(layer) == {"Ref"}):
        return None
    resource = stack.resources.get(layer["Ref"]) or {}
    content = (resource.get("Properties") or {}).get("ContentUri")
    return (ROOT / content).resolve() if isinstance(content, str) else None


def handlers() -> list[str]:
    return sorted(p.name for p in FUNCTIONS.iterdir() if (p / "app.py").is_file())


def lambda_env(handler: str, config: HandlerConfig) -> dict[str, str]:
    """A Lambda-like environment: only what the runtime and template.yaml set, none of the caller's variables.

    LAMBDA_TASK_ROOT matters: Powertools enables its Tracer (aws_xray_sdk, patching of botocore) only inside Lambda.
    PYTHONDONTWRITEBYTECODE is left unset: a Lambda package may ship its bytecode caches. PYTHONPATH holds the
    template's layers (what Lambda extracts to /opt/python), so that the handler imports this checkout's core.
    """
    task_root = FUNCTIONS / handler
    return {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "PYTHONPATH": os.pathsep.join(str(path) for path in config.layer_dirs),
        # the Lambda runtime
        "LAMBDA_TASK_ROOT": str(task_root),
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{config.runtime}",
        "AWS_LAMBDA_FUNCTION_NAME": handler,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_mb),
        "AWS_REGION": FAKE_REGION,
        "AWS_DEFAULT_REGION": FAKE_REGION,
        "AWS_ACCESS_KEY_ID": "testing",  # fake credentials: nothing is sent
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        # no user ~/.aws files may change what botocore loads; no instance metadata look-ups
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        # template.yaml: Globals.Function.Environment.Variables, then the function's own, intrinsics faked
        **config.variables,
    }


def child_command(handler: str, *, baseline: bool, python_flags: tuple[str, ...] = ()) -> list[str]:
    if baseline:
        return [sys.executable, *python_flags, "-c", BASELINE_SNIPPET]
    app = FUNCTIONS / handler / "app.py"
    return [sys.executable, *python_flags, "-c", HANDLER_SNIPPET, str(app), f"mlcp_bench_handler_{handler}"]


def run_child(handler: str, config: HandlerConfig, *, baseline: bool) -> dict[str, float]:
    """One fresh interpreter; the baseline runs in the handler's environment and directory too."""
    proc = subprocess.run(
        child_command(handler, baseline=baseline),
        env=lambda_env(handler, config),
        cwd=FUNCTIONS / handler,
        capture_output=True,
        text=True,
        check=False,
    )
    what = BASELINE if baseline else handler
    if proc.returncode != 0:
        raise RuntimeError(f"{what}: child exited {proc.returncode}\n{proc.stderr}")
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(MARKER):
            data: dict[str, float] = json.loads(line[len(MARKER) :])
            return data
    raise RuntimeError(f"{what}: no measurement in the child's output\n{proc.stdout}\n{proc.stderr}")


@dataclass
class Measurements:
    baseline: Samples
    handlers: dict[str, Samples]
    # per handler, the baseline run of the same pair (adjacent in time): the ratios of pairs share their noise
    paired_baseline: dict[str, Samples]

    def ratio(self, name: str) -> float:
        """The benchmark's figure: handler median / median of all the baseline runs."""
        return self.handlers[name].medians()["total_ms"] / self.baseline.medians()["total_ms"]

    def paired_ratio(self, name: str) -> float:
        """Median of the per-pair ratios (a noise check of ``ratio``)."""
        pairs = zip(self.handlers[name].total_ms, self.paired_baseline[name].total_ms, strict=True)
        return statistics.median(h / b for h, b in pairs)

    def cpu_ratio(self, name: str) -> float:
        """Like ``ratio`` with the children's process time instead of wall time."""
        return self.handlers[name].medians()["cpu_ms"] / self.baseline.medians()["cpu_ms"]


def measure(configs: dict[str, HandlerConfig], runs: int, *, quick: bool = False) -> Measurements:
    """``runs`` rounds of (baseline, handler) pairs per handler, after a warm-up round.

    ``quick``: no warm-up, and one baseline run per round, paired with every handler (a smoke run, not a measure).
    """
    names = list(configs)
    for name in [] if quick else names:  # discarded: the OS file cache (and bytecode caches) are warm for both
        run_child(name, configs[name], baseline=True)
        run_child(name, configs[name], baseline=False)
    result = Measurements(Samples(), {name: Samples() for name in names}, {name: Samples() for name in names})
    for round_ in range(runs):
        shared = run_child(names[0], configs[names[0]], baseline=True) if quick else None
        if shared is not None:
            result.baseline.add(shared)
        for name in names:
            if shared is not None:
                result.handlers[name].add(run_child(name, configs[name], baseline=False))
                result.paired_baseline[name].add(shared)
                continue
            # alternate which goes first, so that neither always runs right after the other
            order = (True, False) if round_ % 2 == 0 else (False, True)
            for is_baseline in order:
                sample = run_child(name, configs[name], baseline=is_baseline)
                if is_baseline:
                    result.baseline.add(sample)
                    result.paired_baseline[name].add(sample)
                else:
                    result.handlers[name].add(sample)
        print(f"  round {round_ + 1}/{runs} done", file=sys.stderr, flush=True)
    return result


def report(measured: Measurements, runs: int, output: Path, *, quick: bool = False) -> tuple[float, str]:
    results = measured.handlers
    base = measured.baseline.medians()
    ratios = {name: measured.ratio(name) for name in results}
    width = max(len(BASELINE), *(len(name) for name in results))
    header = (
        f"{'handler':<{width}}  {'import ms':>9}  {'init ms':>7}  {'total ms':>8}  {'ratio':>6}"
        f"  {'paired':>6}  {'cpu ratio':>9}"
    )
    print(header)
    print("-" * len(header))
    for name, samples in results.items():
        m = samples.medians()
        flag = "  > target" if ratios[name] > TARGET else ""
        print(
            f"{name:<{width}}  {m['import_ms']:>9.1f}  {m['init_ms']:>7.1f}  {m['total_ms']:>8.1f}"
            f"  {ratios[name]:>6.3f}  {measured.paired_ratio(name):>6.3f}  {measured.cpu_ratio(name):>9.3f}{flag}"
        )
    print("-" * len(header))
    print(
        f"{BASELINE:<{width}}  {base['import_ms']:>9.1f}  {base['init_ms']:>7.1f}  {base['total_ms']:>8.1f}"
        f"  {1.0:>6.3f}  {'':>6}  {1.0:>9.3f}"
    )
    print(
        f"medians of {runs} fresh interpreters per handler and of {len(measured.baseline.total_ms)} baseline runs"
        " (import boto3 + boto3.client('s3'));\n"
        "ratio = handler total / baseline total (the figure); paired = median of the ratios of adjacent"
        " baseline/handler pairs;\ncpu ratio = the same as ratio with the children's process time"
        " (both only show how noisy the run was)"
    )

    worst = max(ratios, key=lambda name: ratios[name])
    document = {
        "benchmark": "cold_start",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": sys.version,
        "python_executable": sys.executable,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "runs": runs,
        "quick": quick,
        "target_max_ratio": TARGET,
        "baseline": {"what": "import boto3; boto3.client('s3')", **measured.baseline.as_json()},
        "handlers": {
            name: {
                **samples.as_json(),
                "paired_baseline_total_ms": measured.paired_baseline[name].total_ms,
                "ratio": ratios[name],
                "paired_ratio": measured.paired_ratio(name),
                "cpu_ratio": measured.cpu_ratio(name),
            }
            for name, samples in results.items()
        },
        "max_ratio": ratios[worst],
        "worst": worst,
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(document, indent=2) + "\n")
    try:
        shown = output.relative_to(ROOT)
    except ValueError:
        shown = output
    print(f"results written to {shown}")
    return ratios[worst], worst


def importtime(
    handler: str, config: HandlerConfig, *, baseline: bool
) -> tuple[list[tuple[int, int, str]], dict[str, float]]:
    """One child under ``python -X importtime``: (self us, cumulative us, module) per import, and its measure."""
    proc = subprocess.run(
        child_command(handler, baseline=baseline, python_flags=("-X", "importtime")),
        env=lambda_env(handler, config),
        cwd=FUNCTIONS / handler,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{handler}: child exited {proc.returncode}\n{proc.stderr}")
    rows: list[tuple[int, int, str]] = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        parts = line[len("import time:") :].split("|")
        if len(parts) != 3 or not parts[0].strip().isdigit():
            continue  # the header line
        rows.append((int(parts[0]), int(parts[1]), parts[2].rstrip()))
    measured: dict[str, float] = {}
    for line in proc.stdout.splitlines():
        if line.startswith(MARKER):
            measured = json.loads(line[len(MARKER) :])
    return rows, measured


def profile(handler: str, config: HandlerConfig, top: int) -> None:
    """``python -X importtime`` of one handler (import + init), after a warm-up run: the costliest imports."""
    run_child(handler, config, baseline=True)
    run_child(handler, config, baseline=False)
    rows, measured = importtime(handler, config, baseline=False)
    base_rows, _ = importtime(handler, config, baseline=True)
    print(
        f"{handler}: import {measured['import_ms']:.1f} ms + init {measured['init_ms']:.1f} ms"
        " (under -X importtime, which inflates it)"
    )
    for title, key in (("cumulative", 1), ("self", 0)):
        print(f"\ntop {top} imports by {title} time (us), of {len(rows)} modules:")
        print(f"{'self':>9}  {'cumulative':>10}  module")
        for self_us, cumulative_us, module in sorted(rows, key=lambda row: row[key], reverse=True)[:top]:
            print(f"{self_us:>9}  {cumulative_us:>10}  {module}")

    # What the handler adds to the baseline: the modules that `import boto3; boto3.client("s3")` does not load.
    in_baseline = {module.strip() for _, _, module in base_rows}
    packages: dict[str, list[int]] = {}
    for self_us, _, module in rows:
        name = module.strip()
        if name not in in_baseline:
            entry = packages.setdefault(name.split(".", 1)[0], [0, 0])
            entry[0] += self_us
            entry[1] += 1
    added = sum(us for us, _ in packages.values())
    print(f"\ntop {top} packages by self time (us) of the modules the baseline does not import ({added} us in all):")
    print(f"{'self':>9}  {'modules':>7}  package")
    for package, (self_us, count) in sorted(packages.items(), key=lambda item: item[1][0], reverse=True)[:top]:
        print(f"{self_us:>9}  {count:>7}  {package}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    parser.add_argument(
        "--runs",
        type=int,
        help=f"fresh interpreters per handler, >= {MIN_RUNS} (default {DEFAULT_RUNS}; --quick: {QUICK_RUNS}, >= 1)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: every handler once, one baseline run, no warm-up; results to a temporary file unless --output",
    )
    parser.add_argument("--profile", metavar="HANDLER", help="print the costliest imports of one handler and stop")
    parser.add_argument("--top", type=int, default=15, help="how many imports --profile prints (default 15)")
    parser.add_argument("--output", type=Path, help=f"JSON results file (default {RESULTS.relative_to(ROOT)})")
    args = parser.parse_args(argv)
    runs: int = args.runs if args.runs is not None else (QUICK_RUNS if args.quick else DEFAULT_RUNS)
    least = 1 if args.quick else MIN_RUNS
    if runs < least:
        parser.error(f"--runs: at least {least} (got {runs})")

    names = handlers()
    try:
        configs = function_configs(load_template(), names)
    except ValueError as error:
        parser.exit(2, f"{TEMPLATE.name}: {error}\n")
    if args.profile is not None:
        if args.profile not in names:
            parser.error(f"unknown handler {args.profile!r}; one of: {', '.join(names)}")
        profile(args.profile, configs[args.profile], args.top)
        return 0

    mode = " (--quick: a smoke run, not a measurement)" if args.quick else ""
    print(f"cold start of {len(names)} handlers, {runs} runs each, python {platform.python_version()}{mode}")
    with tempfile.TemporaryDirectory(prefix="mlcp-bench-") as scratch:
        output = args.output or (Path(scratch) / RESULTS.name if args.quick else RESULTS)
        measured = measure(configs, runs, quick=args.quick)
        max_ratio, worst = report(measured, runs, output, quick=args.quick)
        if args.output is None and args.quick:
            print("(--quick: that directory is removed at exit; --output FILE keeps the results)")
    print(f"RESULT max_ratio={max_ratio:.3f} worst={worst}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
