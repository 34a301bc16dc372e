"""Every error the `mlcp` command can meet, turned into one or two lines and an exit code, in one place.

Exit codes (README, "The REST API and the `mlcp` command"): 0 ok, 1 invalid input, 2 usage or missing
configuration, 3 not found, 4 conflict, 5 throttled / unreachable / server error, 6 not authorised or no
credentials, 7 the watched run ended FAILED/TIMED_OUT/ABORTED; 141 (128 + SIGPIPE) and no message when the reader
of the output goes away (`mlcp runs list | head -1`).

`explain(exc)` maps an exception to ``(exit code, lines)``; `main()` prints the lines on stderr. botocore's own
exceptions are named by class (botocore.exceptions) and AWS error codes by ``Error.Code``: the credential and
region chain (https://docs.aws.amazon.com/sdkref/latest/guide/standardized-credentials.html), AccessDenied and
friends (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html), throttling
(https://docs.aws.amazon.com/general/latest/gr/api-retries.html). Anything unknown is one line too, with
``MLCP_DEBUG=1`` to see the traceback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import yaml

from mlcp.errors import InputInvalid
from mlcp_cli.api_client import ApiError, ApiUnreachable
from mlcp_cli.images import ImageResolutionUnavailable

if TYPE_CHECKING:
    from collections.abc import Callable

EXIT_INVALID, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_CONFLICT, EXIT_UNAVAILABLE, EXIT_FORBIDDEN = 1, 2, 3, 4, 5, 6
EXIT_PIPE_CLOSED = 128 + 13  # the reader of stdout closed it (`| head -1`): the shell's status for SIGPIPE (13)
_STATUS_EXIT = {400: EXIT_INVALID, 404: EXIT_NOT_FOUND, 409: EXIT_CONFLICT, 403: EXIT_FORBIDDEN, 401: EXIT_FORBIDDEN}

CREDENTIALS_HINT = (
    "set AWS_PROFILE (see `aws configure list-profiles`) or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
    "or run against the local cloud with --local"
)
REGION_HINT = "pass --region, or set AWS_REGION (e.g. export AWS_REGION=us-east-1)"
UNREACHABLE_HINT = "check the network and --region; for the local cloud, start `mlcp local serve --example` first"
LOCAL_EXTRA_HINT = "pip install 'mlcp[local]'  (or `make bootstrap` in a clone: it installs .[dev,local])"
# The local cloud's own packages (the `local` extra of pyproject.toml); any other missing module is a broken install.
LOCAL_MODULES = ("moto", "samtranslator", "werkzeug", "flask", "flask_cors", "jsonpath_ng", "docker")

# AWS error codes, by what they mean for the user (IAM, STS and the services' common errors).
_FORBIDDEN_CODES = {
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidAccessKeyId",
    "ExpiredToken",
    "ExpiredTokenException",
    "RequestExpired",
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
    "MissingAuthenticationToken",
    "AuthFailure",
}
_THROTTLING_CODES = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
    "ProvisionedThroughputExceededException",
}
_NOT_FOUND_CODES = {"ResourceNotFoundException", "NoSuchKey", "NoSuchBucket", "NotFoundException", "404"}


def _client_error(exc: Any) -> tuple[int, list[str]]:
    """botocore ClientError: the operation, AWS's code and message, and what to do about it."""
    error = exc.response.get("Error", {})
    code = str(error.get("Code") or "")
    message = str(error.get("Message") or exc)
    operation = getattr(exc, "operation_name", "the AWS call")
    head = f"mlcp: {operation} failed: {code}: {message}"
    if code in _FORBIDDEN_CODES:
        return EXIT_FORBIDDEN, [head, f"  your AWS identity may not call {operation}; check the credentials in use"]
    if code in _THROTTLING_CODES:
        return EXIT_UNAVAILABLE, [head, "  AWS is throttling the account: retry in a moment"]
    if code in _NOT_FOUND_CODES or (code == "ValidationError" and "does not exist" in message):
        # CloudFormation answers DescribeStacks on an unknown stack with ValidationError "... does not exist".
        hint = "  deploy the stack, or name it with --stack / MLCP_STACK, or give --endpoint URL, or use --local"
        return EXIT_NOT_FOUND, [head, hint]
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    return (EXIT_UNAVAILABLE if status >= 500 else EXIT_INVALID), [head]


def _botocore(exc: Exception) -> tuple[int, list[str]] | None:
    """botocore's client-side exceptions (credentials, region, connection) and ClientError."""
    try:
        from botocore import exceptions as bce  # noqa: PLC0415 - boto3 is a dependency, imported only when needed
    except ImportError:  # pragma: no cover - botocore comes with boto3, a core dependency
        return None
    table: list[tuple[type[Exception] | tuple[type[Exception], ...], Callable[[Any], tuple[int, list[str]]]]] = [
        (bce.ClientError, _client_error),
        (
            (bce.NoCredentialsError, bce.PartialCredentialsError, bce.CredentialRetrievalError),
            lambda e: (EXIT_FORBIDDEN, [f"mlcp: no usable AWS credentials ({e})", f"  {CREDENTIALS_HINT}"]),
        ),
        (
            (bce.TokenRetrievalError, bce.SSOTokenLoadError, bce.UnauthorizedSSOTokenError),
            lambda e: (EXIT_FORBIDDEN, [f"mlcp: {e}", "  run `aws sso login` (with your AWS_PROFILE), or use --local"]),
        ),
        (
            bce.ProfileNotFound,
            lambda e: (EXIT_USAGE, [f"mlcp: {e}", "  unset AWS_PROFILE or name a profile of ~/.aws/config"]),
        ),
        (bce.NoRegionError, lambda _: (EXIT_USAGE, ["mlcp: no AWS region configured", f"  {REGION_HINT}"])),
        (
            (bce.EndpointConnectionError, bce.ConnectTimeoutError, bce.ReadTimeoutError, bce.ConnectionClosedError),
            lambda e: (EXIT_UNAVAILABLE, [f"mlcp: cannot reach the endpoint: {e}", f"  {UNREACHABLE_HINT}"]),
        ),
        (bce.ParamValidationError, lambda e: (EXIT_INVALID, [f"mlcp: {e}"])),
    ]
    for kinds, explain_one in table:
        if isinstance(exc, kinds):
            return explain_one(exc)
    return None


def _missing_module(exc: ImportError) -> tuple[int, list[str]]:
    name = (exc.name or "").split(".")[0]
    if name in LOCAL_MODULES:
        return EXIT_USAGE, [f"mlcp: the local cloud needs {name!r}, which is not installed", f"  {LOCAL_EXTRA_HINT}"]
    return EXIT_USAGE, [f"mlcp: {exc} (a broken install? reinstall mlcp: pip install .)"]


def _api_error(exc: ApiError) -> tuple[int, list[str]]:
    """The API's error body: its message once, then each field as `mlcp spec validate` prints it (``field:
    message``; a query, path or header parameter is named as such)."""
    if not exc.errors:
        return _STATUS_EXIT.get(exc.status, EXIT_UNAVAILABLE), [f"mlcp: {exc.code} (HTTP {exc.status}): {exc.message}"]
    subject = exc.message.split(": ", 1)[0]  # "<subject> is invalid: <the same fields, listed>"
    lines = [f"{subject} (HTTP {exc.status} {exc.code}):"]
    for error in exc.errors:
        location = error.get("location") or "body"
        where = "" if location == "body" else f"{location} parameter "
        lines.append(f"  {where}{error.get('field')}: {error.get('message')}")
    return _STATUS_EXIT.get(exc.status, EXIT_UNAVAILABLE), lines


def _os_error(exc: OSError) -> tuple[int, list[str]]:
    """A file the command was given (missing, a directory, unreadable): the file and what is wrong, never
    ``[Errno N]``; any other OS error by its strerror."""
    name = f"{exc.filename}" if exc.filename is not None else ""
    if isinstance(exc, FileNotFoundError) and name:
        return EXIT_INVALID, [f"mlcp: {name}: no such file or directory"]
    if isinstance(exc, IsADirectoryError) and name:
        return EXIT_INVALID, [f"mlcp: {name} is a directory, not a file"]
    if isinstance(exc, PermissionError) and name:
        return EXIT_INVALID, [f"mlcp: {name}: permission denied"]
    reason = exc.strerror or str(exc)
    return EXIT_INVALID, [f"mlcp: {name}: {reason}" if name else f"mlcp: {reason}"]


def explain(exc: Exception) -> tuple[int, list[str]] | None:
    """(exit code, lines for stderr) of a known error; None for an unexpected one (a bug)."""
    if isinstance(exc, InputInvalid):
        return EXIT_INVALID, [f"{exc.subject} is invalid:", *(f"  {error}" for error in exc.errors)]
    if isinstance(exc, ApiError):
        return _api_error(exc)
    if isinstance(exc, ApiUnreachable):
        return EXIT_UNAVAILABLE, [f"mlcp: cannot reach the API: {exc}", f"  {UNREACHABLE_HINT}"]
    if isinstance(exc, ImportError):
        return _missing_module(exc)
    botocore = _botocore(exc)
    if botocore is not None:
        return botocore
    if isinstance(exc, OSError):
        return _os_error(exc)
    if isinstance(exc, (ImageResolutionUnavailable, ValueError, yaml.YAMLError)):
        return EXIT_INVALID, [f"mlcp: {exc}"]
    if isinstance(exc, LookupError):  # e.g. the stack has no ApiUrl output
        return EXIT_NOT_FOUND, [f"mlcp: {exc}"]
    return None


def unexpected(exc: Exception) -> tuple[int, list[str]]:
    """A bug: one line naming it, and how to see the traceback."""
    return EXIT_UNAVAILABLE, [
        f"mlcp: unexpected error {type(exc).__name__}: {exc}",
        "  rerun with MLCP_DEBUG=1 for the traceback, and report it",
    ]
