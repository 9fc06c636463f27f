"""``torch.ao.nn.quantized.dynamic``: int8 weights, activations quantized on the fly."""

from .modules import LSTM, Linear  # noqa: E402

__all__: list[str] = ["LSTM", "Linear"]
