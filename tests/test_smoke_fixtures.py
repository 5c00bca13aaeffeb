def test_tiny_models_load(tiny_embedder, tiny_generator):
    v = tiny_embedder.encode_docs(["hello world", "for loops"])
    assert v.shape == (2, 32)
    out = tiny_generator.generate(["hello"], max_new_tokens=4)
    assert isinstance(out[0], str)
