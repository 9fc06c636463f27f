"""The machinery behind ``mbtorch.save``/``mbtorch.load`` (the public API is
``mbtorch.serialization``).

- ``names``: PyTorch's global names (``torch._utils._rebuild_tensor_v2``, ``torch.FloatStorage``,
  ``torch.float32``...) and the mbtorch objects they stand for, in both directions; the
  weights-only allow-list and the user's additions to it.
- ``storage``: one serialized storage (its bytes read on first use, placed by ``map_location``)
  and the tensor rebuild functions a checkpoint's pickle calls.
- ``unpickler``: the restricted (weights-only) unpickler and the full one.
- ``torch_write`` / ``torch_read``: PyTorch's zip checkpoint format (and its legacy format).
- ``safetensors_io``: the safetensors format with mbtorch's JSON structure metadata.
"""

__all__: list[str] = []
