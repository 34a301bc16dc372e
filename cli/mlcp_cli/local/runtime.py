"""In-process Lambda runtime: a moto Lambda invocation runs the real handler from the function's code directory.

What AWS gives a handler, the runtime gives it too: the function's environment variables (plus the reserved
``AWS_LAMBDA_*`` ones), a context object, and its stdout collected as the invocation's log. An exception becomes a
function error whose ``errorType`` is the exception class name, so ASL Retry/Catch see the same error names as on
AWS. Handlers share one process, so while the runtime runs ``os.environ`` is a :class:`InvocationEnviron`: in a
thread that runs an invocation it reads and writes that invocation's own copy (the process environment as the
runtime found it, plus the function's variables), so a function never sees another function's variables, and the
process environment itself is never changed under other threads.

The layer is the ``mlcp`` package this process already imports (``layers/mlcp`` is installed in editable mode),
which is the code SAM packages as the layer.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO


@dataclass(frozen=True)
class FunctionConfig:
    """What an invocation needs to know of a function (read from moto's Lambda backend)."""

    name: str
    arn: str
    handler: str
    environment: dict[str, str]
    timeout: int
    memory_size: int
    log_group: str
    role: str = ""  # the execution role's ARN


@dataclass
class LambdaContext:
    """The context object of the Python runtime (the attributes and method handlers use)."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline: float = field(repr=False)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


@dataclass
class Invocation:
    """One finished invocation: the response payload, the function error (None on success) and the log."""

    request_id: str
    payload: Any
    function_error: str | None
    log: str
    duration_ms: float


# Which invocation (if any) the current thread runs, shared by every runtime of the process: Powertools keeps the
# stream it first saw, so a stream from an earlier local cloud must still route this cloud's invocations.
_CURRENT = threading.local()


def restore_environ(saved: dict[str, str | None]) -> None:
    """Put back variables saved before they were set (None: the variable was not set)."""
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


class InvocationEnviron(os._Environ):  # type: ignore[type-arg]  # os.environ's own class, private but stable
    """The class of ``os.environ`` while a local cloud runs: per-invocation environments on one process.

    A thread that runs an invocation (``_CURRENT.environ`` set) reads and writes its own dict; every other thread
    reads and writes the process environment as before. The object stays the same (only its class changes), so
    whoever kept a reference to ``os.environ`` (botocore's credential provider does) sees the invocation's view too.
    On AWS each function runs in its own execution environment and sees only its own variables and the reserved ones
    (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime).
    """

    def __getitem__(self, key: str) -> str:
        own: dict[str, str] | None = getattr(_CURRENT, "environ", None)
        return super().__getitem__(key) if own is None else own[key]

    def __setitem__(self, key: str, value: str) -> None:
        own: dict[str, str] | None = getattr(_CURRENT, "environ", None)
        if own is None:
            super().__setitem__(key, value)
        else:
            own[key] = value

    def __delitem__(self, key: str) -> None:
        own: dict[str, str] | None = getattr(_CURRENT, "environ", None)
        if own is None:
            super().__delitem__(key)
        else:
            del own[key]

    def __iter__(self) -> Iterator[str]:
        own: dict[str, str] | None = getattr(_CURRENT, "environ", None)
        return super().__iter__() if own is None else iter(list(own))

    def __len__(self) -> int:
        own: dict[str, str] | None = getattr(_CURRENT, "environ", None)
        return super().__len__() if own is None else len(own)

    def copy(self) -> dict[str, str]:
        """What ``os.environ.copy()`` gives (subprocess and botocore call it)."""
        return dict(self)

    def process(self) -> dict[str, str]:
        """The process environment, whichever thread asks."""
        data: dict[bytes, bytes] = self._data  # type: ignore[attr-defined]  # os._Environ's own store
        return {self.decodekey(k): self.decodevalue(v) for k, v in list(data.items())}


class _RoutingStream(io.TextIOBase):
    """sys.stdout while the local cloud runs: an invoking thread writes to its invocation's log, others through."""

    def __init__(self, target: TextIO) -> None:
        self._target = target
        self._local = _CURRENT

    def write(self, s: str) -> int:
        buffer: io.StringIO | None = getattr(self._local, "buffer", None)
        if buffer is not None:
            return buffer.write(s)
        return self._target.write(s)

    def flush(self) -> None:
        if getattr(self._local, "buffer", None) is None:
            self._target.flush()


class LambdaRuntime:
    def __init__(self) -> None:
        self._code: dict[str, Path] = {}
        self._modules: dict[str, ModuleType] = {}
        self._lock = threading.RLock()
        self._local = _CURRENT
        self._original_stdout: TextIO | None = None
        self._swapped_environ = False
        self.invocations: list[tuple[str, str, str | None]] = []  # (function, request id, error type)
        self.log_sink: Callable[[FunctionConfig, Invocation], None] | None = None
        # The execution role's credentials (AWS_ACCESS_KEY_ID, ...) for a role ARN; None: the process's own.
        self.credentials: Callable[[str], dict[str, str]] | None = None

    # --- lifecycle -----------------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._original_stdout is None:
            self._original_stdout = sys.stdout
            sys.stdout = _RoutingStream(sys.stdout)
        if type(os.environ) is os._Environ:
            os.environ.__class__ = InvocationEnviron
            self._swapped_environ = True

    def stop(self) -> None:
        if self._original_stdout is not None:
            sys.stdout = self._original_stdout
            self._original_stdout = None
        if self._swapped_environ:
            os.environ.__class__ = os._Environ
            self._swapped_environ = False

    def register(self, function_name: str, code_dir: Path) -> None:
        """The directory holding this function's code (its CodeUri)."""
        self._code[function_name] = code_dir

    # --- invocation ----------------------------------------------------------------------------------------------
    @contextmanager
    def _environment(self, fn: FunctionConfig) -> Iterator[None]:
        """Run this thread's invocation in its own environment: the process's, plus the function's variables.

        The process environment supplies what the local cloud itself needs (endpoint, region, test credentials);
        variables that other functions define are not there, as they are not on AWS. With IAM enforcement the
        function's credentials are its execution role's (``credentials``), as the Lambda runtime sets them.
        """
        if not isinstance(os.environ, InvocationEnviron):
            self.start()  # invocations need the per-thread environment; stop() puts the process's back
        process = os.environ.process() if isinstance(os.environ, InvocationEnviron) else dict(os.environ)
        role_credentials = self.credentials(fn.role) if self.credentials is not None and fn.role else {}
        own = {
            **dict(process),
            **fn.environment,
            **role_credentials,
            "AWS_LAMBDA_FUNCTION_NAME": fn.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
            "AWS_LAMBDA_LOG_GROUP_NAME": fn.log_group,
            # No X-Ray daemon here: the Tracer would only warn.
            "POWERTOOLS_TRACE_DISABLED": "true",
        }
        outer: dict[str, str] | None = getattr(_CURRENT, "environ", None)
        _CURRENT.environ = own
        try:
            yield
        finally:
            _CURRENT.environ = outer

    def _module(self, fn: FunctionConfig) -> ModuleType:
        module = self._modules.get(fn.name)
        if module is not None:
            return module
        code_dir = self._code.get(fn.name)
        if code_dir is None:
            raise LookupError(f"function {fn.name} has no local code (only functions of the deployed template run)")
        module_name, _, _ = fn.handler.rpartition(".")
        path = code_dir / (module_name.replace(".", "/") + ".py")
        spec = importlib.util.spec_from_file_location(f"mlcp_local_{fn.name.replace('-', '_')}", path)
        if spec is None or spec.loader is None:
            raise LookupError(f"handler {fn.handler} not found in {code_dir}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)  # module-level code (Powertools init) sees the function's environment
        self._modules[fn.name] = module
        return module

    def invoke(self, fn: FunctionConfig, event: Any) -> Invocation:
        request_id = str(uuid.uuid4())
        buffer = io.StringIO()
        started = time.monotonic()
        context = LambdaContext(
            function_name=fn.name,
            function_version="$LATEST",
            invoked_function_arn=fn.arn,
            memory_limit_in_mb=fn.memory_size,
            aws_request_id=request_id,
            log_group_name=fn.log_group,
            log_stream_name=f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}",
            deadline=started + fn.timeout,
        )
        function_error: str | None = None
        with self._lock, self._environment(fn):
            self._local.buffer = buffer
            try:
                handler = getattr(self._module(fn), fn.handler.rpartition(".")[2])
                payload: Any = handler(event, context)
                json.dumps(payload)  # the runtime serialises the response; an unserialisable one is an error
            except Exception as exc:
                function_error = "Unhandled"
                payload = {
                    "errorMessage": str(exc),
                    "errorType": type(exc).__name__,
                    "requestId": request_id,
                    "stackTrace": traceback.format_tb(exc.__traceback__),
                }
                buffer.write(json.dumps({"level": "ERROR", "errorType": type(exc).__name__, "message": str(exc)}))
                buffer.write("\n")
            finally:
                self._local.buffer = None
        invocation = Invocation(
            request_id, payload, function_error, buffer.getvalue(), (time.monotonic() - started) * 1e3
        )
        with self._lock:
            self.invocations.append((fn.name, request_id, payload.get("errorType") if function_error else None))
        if self.log_sink is not None:
            self.log_sink(fn, invocation)
        return invocation
