"""``keyword_path_parameters``: a parameter whose name is an ASL keyword takes a path too (``"RoleArn.$"``).

In Parameters, a field whose name ends in ``.$`` takes its value from a path
(https://docs.aws.amazon.com/step-functions/latest/dg/input-output-inputpath-params.html). moto 5.2.5's ASL lexer
reads ``"RoleArn.$"`` as the keyword token of a task's ``Credentials`` (ROLEARNPATH), not as a path field, so the
binding keeps the literal name ``RoleArn.$`` and the path string as its value: a SageMaker task given
``"RoleArn.$": "$.request.RoleArn"`` sends no RoleArn at all (the optimised integration drops the unknown member), and
moto creates the job without a role, which AWS refuses. With the fix such a binding is evaluated as the path field
it is (``$``-paths and ``$$``-context paths).
"""

from __future__ import annotations

from typing import Any

from moto.stepfunctions.parser.asl.component.common.payload.payloadvalue.payloadbinding.payload_binding import (
    PayloadBindingStringExpressionSimple,
)
from moto.stepfunctions.parser.asl.component.common.payload.payloadvalue.payloadvaluelit.payload_value_str import (
    PayloadValueStr,
)
from moto.stepfunctions.parser.asl.component.common.string.string_expression import StringContextPath, StringJsonPath
from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

from mlcp_cli.local.patches.context import active


def install() -> None:
    original = Preprocessor.visitPayload_binding_value

    def visitPayload_binding_value(self: Any, ctx: Any) -> Any:  # noqa: N802 - ANTLR's visitor name
        binding = original(self, ctx)
        value = getattr(binding, "payload_value", None)
        if active() is None or not binding.field.endswith(".$") or not isinstance(value, PayloadValueStr):
            return binding
        path = str(value.val)
        if path.startswith("$$"):
            expression: StringJsonPath = StringContextPath(context_object_path=path)
        elif path.startswith("$"):
            expression = StringJsonPath(json_path=path)
        else:
            return binding  # an intrinsic function or a variable: left to moto
        return PayloadBindingStringExpressionSimple(field=binding.field[:-2], string_expression_simple=expression)

    Preprocessor.visitPayload_binding_value = visitPayload_binding_value
