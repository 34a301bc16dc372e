"""Fixes to moto's Step Functions interpreter (``moto.stepfunctions.parser``), one concern per module:

- :mod:`.parameters`: ``task_parameter_names`` (ASL's PascalCase parameters and results);
- :mod:`.errors`: ``sdk_error_names`` and ``fail_error_names`` (error names as AWS gives them);
- :mod:`.waits`: ``simulated_waits`` (Wait states and Retry intervals on the simulated clock);
- :mod:`.parse_cache`: ``asl_parse_cache`` (one ANTLR parse per definition);
- :mod:`.json_paths`: ``definite_json_paths`` (a definite JSONPath names one value);
- :mod:`.executions`: ``stop_starting_executions``, ``default_execution_names`` and ``execution_status_events``;
- :mod:`.redrive`: ``redrive_execution``;
- :mod:`.sync` (shared by the ``.sync`` integrations), :mod:`.sagemaker_sync`: ``sagemaker_sync``,
  :mod:`.batch_sync`: ``batch_sync``;
- :mod:`.cloudformation`: ``cfn_state_machines`` (state machines of a CloudFormation stack).
"""
