"""The GGUF conversion's one change to its libraries: each file parsed once while it runs."""

from __future__ import annotations

import numpy as np

from codesign.measurements.quantize.models import gguf_parsed_once


def _tiny_gguf(path) -> None:
    import gguf

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_block_count(2)
    writer.add_tensor("token_embd.weight", np.arange(12, dtype=np.float32).reshape(3, 4))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def test_a_gguf_is_parsed_once_inside_and_as_usual_outside(tmp_path):
    import gguf

    path = tmp_path / "tiny.gguf"
    _tiny_gguf(path)
    original_reader, original_map = gguf.GGUFReader, gguf.get_tensor_name_map
    with gguf_parsed_once():
        first = gguf.GGUFReader(path)
        assert gguf.GGUFReader(str(path)) is first  # the same parse serves every call
        assert first.fields["general.architecture"].contents() == "llama"
        np.testing.assert_array_equal(
            first.tensors[0].data.reshape(3, 4), np.arange(12).reshape(3, 4)
        )
        arch = gguf.MODEL_ARCH.LLAMA
        assert gguf.get_tensor_name_map(arch, 2) is gguf.get_tensor_name_map(arch, 2)
    assert gguf.GGUFReader is original_reader and gguf.get_tensor_name_map is original_map
    assert gguf.GGUFReader(path) is not gguf.GGUFReader(path)
