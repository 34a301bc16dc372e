"""The embedded local cloud: template.yaml, the state machines and the handlers on an in-process moto."""
