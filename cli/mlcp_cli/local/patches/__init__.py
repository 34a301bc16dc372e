"""Every fix the local cloud makes to moto, one module per service (moto is pinned: see MOTO_VERSION).

moto 5.2.5 runs ASL, but it lacks the pieces a real SAM application leans on. Each fix is named after the AWS
behaviour it restores, documented in the docstring of the module that makes it (what moto does, why that is not
enough, what the fix does) and guarded by a test in tests/local_cloud/patches/ that fails when moto changes
underneath (the test shows the gap on plain moto, then the behaviour with the fix). The fixes, in the order
:func:`install` applies them:

- ``task_parameter_names``: :mod:`.stepfunctions.parameters`
- ``sagemaker_sync``: :mod:`.stepfunctions.sagemaker_sync`
- ``sdk_error_names``, ``fail_error_names``: :mod:`.stepfunctions.errors`
- ``simulated_waits``: :mod:`.stepfunctions.waits`
- ``cfn_state_machines``: :mod:`.stepfunctions.cloudformation`
- ``stop_starting_executions``: :mod:`.stepfunctions.executions`
- ``asl_parse_cache``: :mod:`.stepfunctions.parse_cache`
- ``default_execution_names``, ``execution_status_events``: :mod:`.stepfunctions.executions`
- ``eventbridge_targets``: :mod:`.events`
- ``s3_eventbridge_events``: :mod:`.s3`
- ``alarm_state_events``: :mod:`.cloudwatch`
- ``lambda_invoke``, ``layer_version_ref``: :mod:`.awslambda`
- ``api_faults``: :mod:`.core` (moto's BaseResponse, every service)
- ``eks_updates``: :mod:`.eks`
- ``redrive_execution``: :mod:`.stepfunctions.redrive`
- ``cfn_rest_api_body``: :mod:`.apigateway`
- ``definite_json_paths``: :mod:`.stepfunctions.json_paths`
- ``batch_compute_resize``: :mod:`.batch`
- ``batch_sync``: :mod:`.stepfunctions.batch_sync`
- ``iam_enforcement``, ``state_machine_credentials``: :mod:`.iam` (what each request asks for: :mod:`.iam_actions`)
- ``request_validation``: :mod:`.validation` (botocore, every client)
- ``keyword_path_parameters``: :mod:`.stepfunctions.keyword_paths`

The fixes are installed once per process and act only while a local cloud is active (``activate``); otherwise moto
behaves exactly as released, so plain-moto tests in the same process are unaffected. The SageMaker and Batch job
lifecycles are not fixes but job backends: :mod:`mlcp_cli.local.backends`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import moto

from mlcp_cli.local.patches import apigateway, awslambda, batch, cloudwatch, core, eks, events, iam, s3, validation
from mlcp_cli.local.patches.context import LocalContext, active, set_active
from mlcp_cli.local.patches.stepfunctions import (
    batch_sync,
    cloudformation,
    errors,
    executions,
    json_paths,
    keyword_paths,
    parameters,
    parse_cache,
    redrive,
    sagemaker_sync,
    waits,
)

__all__ = ["FIXES", "INSTALLERS", "MOTO_VERSION", "LocalContext", "activate", "active", "deactivate", "install"]

MOTO_VERSION = "5.2.5"

# (fix, what installs it), in the order the fixes are applied.
INSTALLERS: tuple[tuple[str, Callable[[], None]], ...] = (
    ("task_parameter_names", parameters.install),
    ("sagemaker_sync", sagemaker_sync.install),
    ("sdk_error_names", errors.install_sdk_error_names),
    ("fail_error_names", errors.install_fail_error_names),
    ("simulated_waits", waits.install),
    ("cfn_state_machines", cloudformation.install),
    ("stop_starting_executions", executions.install_stop_starting),
    ("asl_parse_cache", parse_cache.install),
    ("default_execution_names", executions.install_default_names),
    ("execution_status_events", executions.install_status_events),
    ("eventbridge_targets", events.install),
    ("s3_eventbridge_events", s3.install),
    ("alarm_state_events", cloudwatch.install),
    ("lambda_invoke", awslambda.install),
    ("layer_version_ref", awslambda.install_layer_version_ref),
    ("api_faults", core.install),
    ("eks_updates", eks.install),
    ("redrive_execution", redrive.install),
    ("cfn_rest_api_body", apigateway.install),
    ("definite_json_paths", json_paths.install),
    ("batch_compute_resize", batch.install),
    ("batch_sync", batch_sync.install),
    ("iam_enforcement", iam.install_authorisation),
    ("state_machine_credentials", iam.install_state_machine_credentials),
    ("request_validation", validation.install),
    ("keyword_path_parameters", keyword_paths.install),
)
FIXES = tuple(fix for fix, _ in INSTALLERS)

_INSTALLED = False
_INSTALL_LOCK = threading.Lock()


def activate(context: LocalContext) -> None:
    install()
    set_active(context)


def deactivate() -> None:
    set_active(None)


def install() -> None:
    """Patch moto once per process (idempotent). Refuses another moto version: the fixes are written against it."""
    global _INSTALLED  # noqa: PLW0603
    with _INSTALL_LOCK:
        if _INSTALLED:
            return
        if moto.__version__ != MOTO_VERSION:
            raise RuntimeError(
                f"the local cloud's moto fixes are written for moto {MOTO_VERSION}, not {moto.__version__}"
            )
        for _, install_fix in INSTALLERS:
            install_fix()
        _INSTALLED = True
