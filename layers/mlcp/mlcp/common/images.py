"""Which container images a spec may name: the stack account's Amazon ECR registry in the stack's region,
SageMaker's own framework and algorithm registries for that region, and the registries the operator lists in the
template parameter ExtraImageRegistries. Anything else is refused at validation, naming the parameter.

- The stack's own registry is ``<stack account>.dkr.ecr.<stack region>.<domain>`` only: "the Docker image for
  inference container in Amazon EC2 Container Registry must be in the same region as the model"
  (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ContainerDefinition.html), and the stack's jobs
  run in its Region; another Region's repository of the same account is granted explicitly, like any registry.
- SageMaker's registries are the account IDs per Region listed by the SageMaker Python SDK in
  ``image_uri_config/*.json`` (https://github.com/aws/sagemaker-python-sdk), generated into
  ``sagemaker_registries.json`` by scripts/sagemaker_registries.py (source ref, commit and date in the file).
  These are the images ``sagemaker.image_uris.retrieve`` returns, so script-mode framework images work by default.
- ``public.ecr.aws`` and Docker Hub are not allowed by default: SageMaker training and processing jobs pull only
  from Amazon ECR private registries (or a private registry in the VPC); an operator may still list
  ``public.ecr.aws/<namespace>`` in ExtraImageRegistries (e.g. for batch job images).

An ExtraImageRegistries entry is a registry host (``111122223333.dkr.ecr.eu-west-1.amazonaws.com``: every
repository) or a host and repository prefix (``111122223333.dkr.ecr.eu-west-1.amazonaws.com/team-a/``: those
repositories); ``*`` is a wildcard as in IAM.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import cache
from importlib import resources

IMAGES_PARAMETER = "ExtraImageRegistries"

# <account>.dkr.ecr[-fips].<region>.<partition DNS suffix>/<repository>[:tag|@digest]
# https://docs.aws.amazon.com/AmazonECR/latest/userguide/Registries.html
ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d)\."
    r"(?:amazonaws\.com(?:\.cn)?|c2s\.ic\.gov|sc2s\.sgov\.gov|cloud\.adc-e\.uk|csp\.hci\.ic\.gov)/"
)


@cache
def sagemaker_registries() -> dict[str, frozenset[str]]:
    """Region -> SageMaker's image registry accounts there (sagemaker_registries.json)."""
    text = resources.files("mlcp.common").joinpath("sagemaker_registries.json").read_text(encoding="utf-8")
    return {region: frozenset(accounts) for region, accounts in json.loads(text)["registries"].items()}


def _granted(image: str, entry: str) -> bool:
    entry = entry.strip()
    if "/" not in entry.rstrip("/"):  # a registry host: every repository in it
        return fnmatchcase(image.split("/", 1)[0], entry.rstrip("/"))
    prefix = entry if entry.endswith("/") else entry + "/"
    host, _, path = image.partition("/")
    repository = path.partition("@")[0].partition(":")[0]  # without its tag or digest
    return fnmatchcase(image, prefix + "*") or fnmatchcase(f"{host}/{repository}", entry)


@dataclass(frozen=True)
class ImageScope:
    """The registries images may come from (see the module docstring)."""

    account: str  # the stack's account (12 digits)
    region: str  # the stack's Region
    extra_registries: tuple[str, ...] = ()

    def problem(self, image: str) -> str | None:
        """None if ``image`` may be used; otherwise a message naming ExtraImageRegistries."""
        match = ECR_IMAGE.match(image)
        account = match["account"] if match is not None and match["region"] == self.region else None
        if account is not None and (account == self.account or account in sagemaker_registries().get(self.region, ())):
            return None
        if any(_granted(image, entry) for entry in self.extra_registries):
            return None
        registry = image.split("/", 1)[0]
        granted = ", ".join(self.extra_registries) or "none"
        return (
            f"image registry {registry} is not allowed: images may come from the stack account's ECR registry "
            f"({self.account}.dkr.ecr.{self.region}.amazonaws.com), SageMaker's framework and algorithm registries "
            f"in {self.region}, and the template parameter {IMAGES_PARAMETER} (now: {granted}); add the registry "
            f"to {IMAGES_PARAMETER} and redeploy, or push the image to the stack account's ECR"
        )
