"""One thin, typed adapter per AWS service. The only package in the core that calls boto3."""
