"""``task_parameter_names``: optimised and aws-sdk task parameters are PascalCase in ASL; boto3 wants the API's own
member names (``JobName`` -> ``jobName``), and responses come back PascalCase with datetimes as ISO-8601 strings.

moto 5.2.5 calls boto3 with the ASL names as they are (``Name=`` for EKS's ``name``, and without parameter
validation the rest-json serializer simply misses the member) and returns the API's own names and datetimes. With the
fix, parameters and responses are mapped through the botocore service model, as Step Functions does.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from botocore.model import OperationModel, ServiceModel
from botocore.session import get_session
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service
from moto.stepfunctions.parser.utils import camel_to_snake_case

from mlcp_cli.local.patches.common import iso
from mlcp_cli.local.patches.context import active


@cache
def _service_model(service: str) -> ServiceModel:
    return get_session().get_service_model(service)


def operation(service: str, snake_action: str) -> OperationModel | None:
    """The botocore model of ``service``'s operation named ``snake_action`` (snake_case), if it has one."""
    model = _service_model(service)
    for name in model.operation_names:
        if camel_to_snake_case(name) == snake_action:
            return model.operation_model(name)
    return None


def install() -> None:
    cls = state_task_service.StateTaskService
    original_params = cls._normalise_parameters
    original_response = cls._normalise_response

    def _normalise_parameters(
        self: Any,
        parameters: dict[str, Any],
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        if active() is None:
            original_params(self, parameters, boto_service_name, service_action_name)
            return
        service = self._get_boto_service_name(boto_service_name)
        model = operation(service, self._get_boto_service_action(service_action_name))
        if model is not None and model.input_shape is not None:
            self._to_boto_request(parameters, model.input_shape)

    def _normalise_response(
        self: Any, response: Any, boto_service_name: str | None = None, service_action_name: str | None = None
    ) -> None:
        if active() is None:
            original_response(self, response, boto_service_name, service_action_name)
            return
        if not isinstance(response, dict):
            return
        service = self._get_boto_service_name(boto_service_name)
        model = operation(service, self._get_boto_service_action(service_action_name))
        if model is not None and model.output_shape is not None:
            self._from_boto_response(response, model.output_shape)
        converted = iso(response)
        response.clear()
        response.update(converted)

    cls._normalise_parameters = _normalise_parameters
    cls._normalise_response = _normalise_response
