"""The reference batch worker (examples/batch/worker.py) as plain Python: its shard, its items, its results."""

from __future__ import annotations

import importlib.util
import io
import json
import sys
import tarfile
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlcp.batch.planner import items_of
from tests.support import ROOT

WORKER = ROOT / "examples" / "batch" / "worker.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mlcp_example_batch_worker", WORKER)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


worker = _load()


class FakeStorage:
    def __init__(self, objects: dict[str, bytes] | None = None) -> None:
        self.objects = dict(objects or {})
        self.versions: dict[str, bytes] = {}  # "<uri>?versionId=<id>" -> an older version's body

    def read(self, uri: str, version_id: str | None = None) -> bytes:
        return self.versions[f"{uri}?versionId={version_id}"] if version_id else self.objects[uri]

    def write(self, uri: str, body: bytes) -> None:
        self.objects[uri] = body


def _model(job: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        meta = json.dumps({"job": job}).encode()
        info = tarfile.TarInfo("mlcp-model.json")
        info.size = len(meta)
        archive.addfile(info, io.BytesIO(meta))
    return buffer.getvalue()


def _env(**extra: str) -> dict[str, str]:
    return {"MLCP_ITEMS_PER_CHILD": "4", "MLCP_ITEM_COUNT": "10", "MLCP_OUTPUT_URI": "s3://b/out/", **extra}


@given(st.integers(1, 500), st.integers(1, 5000), st.data())
def test_the_worker_reads_the_same_shard_as_the_planner_plans(per_child: int, count: int, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, (count - 1) // per_child))
    env = {
        "AWS_BATCH_JOB_ARRAY_INDEX": str(index),
        "MLCP_ITEMS_PER_CHILD": str(per_child),
        "MLCP_ITEM_COUNT": str(count),
    }
    shard, positions = worker.shard_of(env, FakeStorage())
    assert shard == index
    assert positions == items_of(index, per_child, count)


def test_a_child_scores_its_items_and_writes_its_shard() -> None:
    manifest = {"items": [f"img/{i}.jpg" for i in range(10)]}
    storage = FakeStorage({"s3://b/m.json": json.dumps(manifest).encode(), "s3://b/model.tar.gz": _model("best-1")})
    env = _env(AWS_BATCH_JOB_ARRAY_INDEX="2", MLCP_MANIFEST_URI="s3://b/m.json", MODEL_URI="s3://b/model.tar.gz")

    summary = worker.run(env, storage, clock=iter([0.0, 1.5]).__next__)

    assert summary == {"shard": 2, "items": 2, "result": "s3://b/out/shard-00002.jsonl", "seconds": 1.5}
    lines = [json.loads(line) for line in storage.objects["s3://b/out/shard-00002.jsonl"].decode().splitlines()]
    assert [line["item"] for line in lines] == ["img/8.jpg", "img/9.jpg"]
    assert all(0 <= line["score"] < 1 for line in lines)
    # the same model scores the same item the same way (a retried child writes the same result)
    assert worker.run(env, storage)["result"] == summary["result"]
    assert [json.loads(x) for x in storage.objects[summary["result"]].decode().splitlines()] == lines


def test_a_child_reads_the_manifest_version_that_triggered_the_run() -> None:
    storage = FakeStorage({"s3://b/m.json": json.dumps(["newer"] * 10).encode()})
    storage.versions["s3://b/m.json?versionId=v1"] = json.dumps([f"v1-{i}" for i in range(10)]).encode()
    env = _env(MLCP_MANIFEST_URI="s3://b/m.json", MLCP_MANIFEST_VERSION_ID="v1")

    assert worker.item_keys(env, storage, range(2)) == ["v1-0", "v1-1"]


def test_a_shard_retry_maps_the_child_index_to_the_original_shard() -> None:
    storage = FakeStorage({"s3://b/map.json": b"[1, 2]"})
    env = _env(AWS_BATCH_JOB_ARRAY_INDEX="1", MLCP_INDEX_MAP_URI="s3://b/map.json")
    assert worker.run(env, storage)["result"] == "s3://b/out/shard-00002.jsonl"
    assert storage.objects["s3://b/out/shard-00002.jsonl"].decode().splitlines()[0].startswith('{"item": "8"')


def test_a_single_job_is_shard_zero() -> None:
    shard, positions = worker.shard_of(_env(MLCP_ITEMS_PER_CHILD="10"), FakeStorage())
    assert (shard, positions) == (0, range(10))


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MLCP_ITEM_COUNT": "10"}, "MLCP_ITEMS_PER_CHILD is not set"),
        ({"MLCP_ITEMS_PER_CHILD": "x", "MLCP_ITEM_COUNT": "10"}, "must be an integer"),
        ({"MLCP_ITEMS_PER_CHILD": "4", "MLCP_ITEM_COUNT": "10", "AWS_BATCH_JOB_ARRAY_INDEX": "3"}, "beyond the 10"),
        ({"MLCP_ITEMS_PER_CHILD": "0", "MLCP_ITEM_COUNT": "10"}, ">= 1"),
    ],
)
def test_a_bad_shard_contract_is_a_clear_error(env: dict[str, str], message: str) -> None:
    with pytest.raises(worker.ShardError, match=message):
        worker.shard_of(env, FakeStorage())


def test_main_exits_2_on_a_bad_contract(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(worker, "S3Storage", FakeStorage)
    monkeypatch.delenv("MLCP_ITEMS_PER_CHILD", raising=False)
    assert worker.main() == 2
    assert "MLCP_ITEMS_PER_CHILD is not set" in capsys.readouterr().err


# --- a model with weights: the breast-cancer example's format (examples/pipelines/breast-cancer/src) --------------
EXAMPLE_SRC = ROOT / "examples" / "pipelines" / "breast-cancer" / "src"


def _example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"mlcp_example_bc_{name}", EXAMPLE_SRC / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("mlp", _MLP)  # compress.py imports its sibling as ``mlp``
    spec.loader.exec_module(module)
    return module


def _load_mlp() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mlp", EXAMPLE_SRC / "mlp.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_MLP = _load_mlp()


def _weights(features: int = 3, hidden: int = 5) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(4)
    return {
        "mean": rng.normal(size=features).astype(np.float32),
        "scale": (rng.random(features) + 0.5).astype(np.float32),
        "W0": rng.normal(size=(features, hidden)).astype(np.float32),
        "b0": rng.normal(size=hidden).astype(np.float32),
        "W1": rng.normal(size=(hidden, 1)).astype(np.float32),
        "b1": rng.normal(size=1).astype(np.float32),
    }


def _archive(folder: Path, prefix: str = "") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name in ("model.npz", "model.json"):
            archive.add(folder / name, arcname=prefix + name)
    return buffer.getvalue()


ROWS_CSV = "label,a,b,c\n1,0.5,1.5,-2\n0,3,0.25,1\n1,-1,-1,0.5\n"
ROWS = [[0.5, 1.5, -2.0], [3.0, 0.25, 1.0], [-1.0, -1.0, 0.5]]


@pytest.mark.parametrize("storage", ["float32", "int8", "pruned"])
def test_a_model_with_weights_scores_the_csv_rows_as_the_example_does(storage: str, tmp_path: Path) -> None:
    arrays = _weights()
    compress = _example("compress")
    stored = {"float32": arrays, "int8": compress.quantize(arrays), "pruned": compress.prune(arrays, 0.5)}[storage]
    _MLP.save(tmp_path, stored, {"format": storage})
    expected = _MLP.scores(_MLP.dense(stored, storage), np.asarray(ROWS))
    storage_ = FakeStorage({"s3://b/m.tar.gz": _archive(tmp_path, "./"), "s3://b/rows.csv": ROWS_CSV.encode()})
    manifest = {"items": ["s3://b/rows.csv#2", "s3://b/rows.csv#0", "s3://b/rows.csv#1"]}
    storage_.objects["s3://b/manifest.json"] = json.dumps(manifest).encode()
    env = {
        **_env(MODEL_URI="s3://b/m.tar.gz", MLCP_MANIFEST_URI="s3://b/manifest.json"),
        "MLCP_ITEMS_PER_CHILD": "2",
        "MLCP_ITEM_COUNT": "3",
    }
    summary = worker.run(env, storage_)
    assert summary["items"] == summary["rows"] == 2
    lines = [json.loads(line) for line in storage_.objects["s3://b/out/shard-00000.jsonl"].decode().splitlines()]
    assert [line["item"] for line in lines] == ["s3://b/rows.csv#2", "s3://b/rows.csv#0"]
    assert [line["label"] for line in lines] == [1, 1]
    assert [line["score"] for line in lines] == pytest.approx([expected[2], expected[0]], abs=1e-6)
    assert all(0.0 < line["score"] < 1.0 for line in lines)


def test_a_whole_csv_file_item_scores_every_row(tmp_path: Path) -> None:
    _MLP.save(tmp_path, _weights(), {"format": "float32"})
    unlabelled = "a,b,c\n" + "\n".join(",".join(str(v) for v in row) for row in ROWS) + "\n"
    storage = FakeStorage({"s3://b/m.tar.gz": _archive(tmp_path), "s3://b/x.csv": unlabelled.encode()})
    model = worker.load_model({"MODEL_URI": "s3://b/m.tar.gz"}, storage)
    records = worker.score_rows(model, ["s3://b/x.csv"], storage)
    assert [r["item"] for r in records] == ["s3://b/x.csv#0", "s3://b/x.csv#1", "s3://b/x.csv#2"]
    assert all("label" not in r for r in records)


@pytest.mark.parametrize(
    ("item", "data", "message"),
    [
        ("images/0001.jpg", ROWS_CSV, "is not a CSV row"),
        ("s3://b/rows.csv#7", ROWS_CSV, "the file has 3 rows"),
        ("s3://b/rows.csv#0", "label,a,b\n1,2,3\n", "2 features, the model takes 3"),
        ("s3://b/rows.csv#0", "label,a,b,c\n1,x,3,4\n", "could not convert"),
    ],
)
def test_bad_rows_for_a_model_with_weights_are_clear_errors(item: str, data: str, message: str, tmp_path: Path) -> None:
    _MLP.save(tmp_path, _weights(), {"format": "float32"})
    storage = FakeStorage({"s3://b/m.tar.gz": _archive(tmp_path), "s3://b/rows.csv": data.encode()})
    model = worker.load_model({"MODEL_URI": "s3://b/m.tar.gz"}, storage)
    with pytest.raises(worker.ShardError, match=message):
        worker.score_rows(model, [item], storage)


def test_an_archive_without_a_model_is_a_clear_error() -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("other.txt")
        archive.addfile(info, io.BytesIO(b""))
    storage = FakeStorage({"s3://b/m.tar.gz": buffer.getvalue()})
    with pytest.raises(worker.ShardError, match=r"neither model\.npz"):
        worker.load_model({"MODEL_URI": "s3://b/m.tar.gz"}, storage)
