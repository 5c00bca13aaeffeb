import json

import pytest

from ragadapt.atomic import atomic_dir
from ragadapt.errors import ManifestError
from ragadapt.manifest import read_manifest, write_manifest


def saved(tmp_path):
    with atomic_dir(tmp_path / "d") as d:
        (d / "a.txt").write_text("hello")
        write_manifest(d, "thing", dim=4)
    return tmp_path / "d"


def test_roundtrip_and_expectations(tmp_path):
    d = saved(tmp_path)
    assert read_manifest(d, "thing", {"dim": 4})["files"]["a.txt"]["size"] == 5
    with pytest.raises(ManifestError, match="dim: saved 4, expected 8"):
        read_manifest(d, "thing", {"dim": 8})
    with pytest.raises(ManifestError, match="holds a 'thing', expected 'other'"):
        read_manifest(d, "other")


def test_edited_file_and_newer_format(tmp_path):
    d = saved(tmp_path)
    (d / "a.txt").write_text("HELLO")
    with pytest.raises(ManifestError, match="checksum differs"):
        read_manifest(d, "thing")
    m = json.loads((d / "manifest.json").read_text())
    m["format_version"] = 99
    (d / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ManifestError, match="newer than this ragadapt"):
        read_manifest(d, "thing", verify_hashes=False)
    (d / "manifest.json").write_text("{broken")
    with pytest.raises(ManifestError, match="corrupted manifest"):
        read_manifest(d, "thing")


def test_atomic_dir_error_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_dir(tmp_path / "d") as d:
            (d / "partial").write_text("x")
            raise RuntimeError
    assert list(tmp_path.iterdir()) == []


def test_append_log_survives_a_torn_write(tmp_path):
    from ragadapt.jsonl import AppendLog

    path = tmp_path / "log.jsonl"
    log = AppendLog(path)
    log.append([{"a": 1}])
    log.append([{"a": 2}])
    assert path.read_text() == '{"a": 1}\n{"a": 2}\n'  # no blank lines between clean appends
    with open(path, "a") as f:
        f.write('{"a": 3, "b"')  # interrupted
    assert log.read() == [{"a": 1}, {"a": 2}]
    log.append([{"a": 4}])
    assert log.read() == [{"a": 1}, {"a": 2}, {"a": 4}]
