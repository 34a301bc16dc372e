"""Wire each capability's ports to the AWS adapters, one module per capability, so that a handler loads only its own.

Every function here takes the function's environment (a mapping: the handler passes ``os.environ``) and the
core's Meter, validates the capability's settings once (InputInvalid "function environment" when one is missing),
and returns the capability's Deps. AWS clients are created lazily, on first use.
"""
