"""The demo's real example: its dataset (scikit-learn's bundled breast-cancer data as CSV channels) and its spec
packaged as the CLI sends a script-mode spec (source_dir as a content-addressed ``sourcedir.tar.gz``, the framework
image resolved), so `mlcp local demo` trains it for real with the local job runner.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import random
from pathlib import Path
from typing import Any, Final, TextIO

import yaml

from mlcp.training.spec import parse_spec
from mlcp_cli.scriptmode import CodeTarget, prepare_document

EXAMPLE = "breast-cancer"
"""The pipeline `mlcp local demo` runs: real training of a real dataset by the local job runner."""
_MEASURES = (
    "radius", "texture", "perimeter", "area", "smoothness", "compactness", "concavity", "concave_points", "symmetry",
    "fractal_dimension",
)  # fmt: skip
BREAST_CANCER_FEATURES = (
    *(f"mean_{m}" for m in _MEASURES),
    *(f"{m}_error" for m in _MEASURES),
    *(f"worst_{m}" for m in _MEASURES),
)
"""The 30 columns of scikit-learn's bundled breast-cancer data, in its order (sklearn.datasets.load_breast_cancer)."""


def breast_cancer_channels(validation_fraction: float = 0.2, seed: int = 7) -> dict[str, bytes]:
    """scikit-learn's bundled Wisconsin breast-cancer data (569 rows, 30 features; no download) as the example's
    ``train`` and ``validation`` CSV channels: a header row, ``label`` first (1 = malignant), a stratified split.

    The CSV file is read straight from the installed package (importing scikit-learn takes seconds).
    Raises RuntimeError when scikit-learn is not installed (the ``local`` extra has it)."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or spec.origin is None:
        raise RuntimeError("the demo's dataset ships with scikit-learn: pip install '.[local]'")
    source = Path(spec.origin).parent / "datasets" / "data" / "breast_cancer.csv"
    lines = source.read_text().splitlines()[1:]  # the first line is "569,30,malignant,benign"
    rows = [row.split(",") for row in lines if row.strip()]
    by_label: dict[int, list[list[str]]] = {}
    for row in rows:
        by_label.setdefault(1 - int(float(row[-1])), []).append(row[:-1])  # sklearn: 0 = malignant
    rng = random.Random(seed)  # noqa: S311 - a reproducible split, not a secret
    split: dict[str, list[list[str]]] = {"train": [], "validation": []}
    for label, members in sorted(by_label.items()):
        rng.shuffle(members)
        cut = round(len(members) * validation_fraction)
        split["validation"] += [[str(label), *m] for m in members[:cut]]
        split["train"] += [[str(label), *m] for m in members[cut:]]
    out: dict[str, bytes] = {}
    for channel, channel_rows in split.items():
        rng.shuffle(channel_rows)
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(["label", *BREAST_CANCER_FEATURES])
        writer.writerows(channel_rows)
        out[f"{channel}/breast-cancer-{channel}.csv"] = text.getvalue().encode()
    return out


# sagemaker-python-sdk v2 src/sagemaker/image_uri_config/sklearn.json: the scikit-learn container's account in
# us-east-1 and its tag "<version>-cpu-<py_version>".
_SKLEARN_ACCOUNT: Final = {"us-east-1": "683313688378"}
_STAGES: Final = (("augment",), ("tuning", "training"), ("compression",))


def _image(stage: dict[str, Any], region: str) -> str:
    account = _SKLEARN_ACCOUNT.get(region, _SKLEARN_ACCOUNT["us-east-1"])
    tag = f"{stage['framework_version']}-cpu-{stage.get('py_version') or 'py3'}"
    return f"{account}.dkr.ecr.{region}.amazonaws.com/sagemaker-scikit-learn:{tag}"


def packaged_spec(
    spec_file: Path, *, bucket: str, region: str, s3: Any | None = None, log: TextIO | None = None
) -> bytes:
    """The spec as `mlcp spec package` sends it (mlcp_cli.scriptmode.prepare_document): each stage's local
    ``source_dir`` uploaded with ``s3`` (None: only the URIs are computed) as
    ``code/<pipeline>/<sha256>/sourcedir.tar.gz``, the augment job's ``runproc.sh`` beside it. The scikit-learn
    image is filled in here for the example's stages (the URI the SDK's image_uris gives), so the demo does not
    import the SageMaker SDK. Raises ValueError for a framework other than sklearn, SpecInvalid for a bad spec."""
    document = yaml.safe_load(spec_file.read_text())
    for path in _STAGES:
        stage: Any = document
        for part in path:
            stage = stage.get(part) if isinstance(stage, dict) else None
        if not isinstance(stage, dict) or not stage.get("framework"):
            continue
        if stage["framework"] != "sklearn":
            raise ValueError(f"the demo resolves the sklearn image only, not {stage['framework']!r}")
        stage.setdefault("image_uri", _image(stage, region))
    source = str(spec_file)
    target = CodeTarget(bucket=bucket, region=region, s3=s3, log=log or io.StringIO())
    prepare_document(
        document, parse_spec(document, source=source), base_dir=spec_file.parent, target=target, source=source
    )
    return yaml.safe_dump(document, sort_keys=False).encode()
