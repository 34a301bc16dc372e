"""Regenerate layers/mlcp/mlcp/common/sagemaker_registries.json: the ECR registries (account per region) of
SageMaker's own framework and algorithm images, as the SageMaker Python SDK lists them in its
``image_uri_config/*.json`` files (every ``"registries": {region: account}`` map found in them).

The container image allow-list (mlcp.common.images) accepts these registries for the stack's region, so the images
``sagemaker.image_uris.retrieve`` returns (script-mode framework images, built-in algorithms) work by default. The
layer reads the generated JSON; it never imports the ``sagemaker`` package.

Usage (from the repository root; needs git and a clone of https://github.com/aws/sagemaker-python-sdk)::

    python scripts/sagemaker_registries.py /path/to/sagemaker-python-sdk [--ref v2.257.6] [--check]

``--ref`` is a tag or commit of that clone (default: the one the shipped table was made from); both SDK layouts
are read: v2's ``src/sagemaker/image_uri_config`` and v3's ``sagemaker-core/src/sagemaker/core/image_uri_config``.
``--check`` exits 1 when the shipped table differs from what the ref gives (nothing is written).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "layers/mlcp/mlcp/common/sagemaker_registries.json"
DEFAULT_REF = "v2.257.6"
CONFIG_DIRS = ("src/sagemaker/image_uri_config", "sagemaker-core/src/sagemaker/core/image_uri_config")
SOURCE = "https://github.com/aws/sagemaker-python-sdk"


def _git(repo: Path, *args: str) -> str:
    command = [shutil.which("git") or "git", "-C", str(repo), *args]  # a fixed git command on the operator's own clone
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout  # noqa: S603


def _registries(document: Any) -> Iterator[dict[str, str]]:
    """Every ``registries`` map (region -> 12-digit account) anywhere in an image_uri_config document."""
    if isinstance(document, dict):
        for key, value in document.items():
            if key == "registries" and isinstance(value, dict):
                yield {r: a for r, a in value.items() if isinstance(a, str) and a.isdigit() and len(a) == 12}
            else:
                yield from _registries(value)
    elif isinstance(document, list):
        for item in document:
            yield from _registries(item)


def build(repo: Path, ref: str) -> dict[str, Any]:
    """{"source", "sdk_ref", "sdk_commit", "sdk_commit_date", "files", "registries": {region: [accounts]}}."""
    commit, date = _git(repo, "log", "-1", "--format=%H %cI", ref).split()
    accounts: dict[str, set[str]] = {}
    files = 0
    for config_dir in CONFIG_DIRS:
        listing = _git(repo, "ls-tree", "--name-only", commit, f"{config_dir}/")  # empty if absent at this ref
        names = [n.rsplit("/", 1)[-1] for n in listing.split() if n.endswith(".json")]
        for name in names:
            files += 1
            document = json.loads(_git(repo, "show", f"{commit}:{config_dir}/{name}"))
            for registries in _registries(document):
                for region, account in registries.items():
                    accounts.setdefault(region, set()).add(account)
    if not files:
        raise SystemExit(f"no image_uri_config/*.json at {ref} (looked in {', '.join(CONFIG_DIRS)})")
    return {
        "source": f"{SOURCE} image_uri_config/*.json (every 'registries' map)",
        "generated_by": "scripts/sagemaker_registries.py",
        "sdk_ref": ref,
        "sdk_commit": commit,
        "sdk_commit_date": date,
        "files": files,
        "registries": {region: sorted(accounts[region]) for region in sorted(accounts)},
    }


def render(table: dict[str, Any]) -> str:
    """JSON with one line per region (reviewable diffs)."""
    head = {k: v for k, v in table.items() if k != "registries"}
    lines = [json.dumps(head, indent=2)[:-2] + ","]
    lines.append('  "registries": {')
    regions = list(table["registries"].items())
    for i, (region, accounts) in enumerate(regions):
        comma = "," if i < len(regions) - 1 else ""
        lines.append(f"    {json.dumps(region)}: {json.dumps(accounts)}{comma}")
    lines += ["  }", "}", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repo", type=Path, help="a clone (or bare git dir) of aws/sagemaker-python-sdk")
    parser.add_argument("--ref", default=DEFAULT_REF, help=f"tag or commit (default {DEFAULT_REF})")
    parser.add_argument("--check", action="store_true", help="compare with the shipped table; write nothing")
    args = parser.parse_args(argv)
    text = render(build(args.repo, args.ref))
    if args.check:
        same = TABLE.read_text() == text
        print("up to date" if same else f"{TABLE} differs from {args.ref}")
        return 0 if same else 1
    TABLE.write_text(text)
    print(f"wrote {TABLE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
