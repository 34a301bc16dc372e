"""The reference batch worker (examples/batch/worker.py) as plain Python: its shard, its items, its results."""

from __future__ import annotations

import importlib.util
import io
import json
import tarfile
from types import ModuleType

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
