"""Vision Transformer with torchvision's names (``conv_proj``, ``class_token``,
``encoder.pos_embedding``, ``encoder.layers.encoder_layer_N.{ln_1,self_attention,ln_2,mlp}``,
``encoder.ln``, ``heads.head``): ViT-B/16 and a tiny variant for tests and experiments."""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any

import mbtorch as torch
from mbtorch import nn

from ._api import WeightsEnum, _build, _imagenet
from ._utils import _no_weights

__all__ = ["ViT_B_16_Weights", "VisionTransformer", "vit_b_16", "vit_tiny"]


class MLPBlock(nn.Sequential):
    """Linear -> GELU -> Dropout -> Linear -> Dropout (children ``0`` to ``4``)."""

    def __init__(self, in_dim: int, mlp_dim: int, dropout: float) -> None:
        super().__init__(nn.Linear(in_dim, mlp_dim), nn.GELU(), nn.Dropout(dropout),
                         nn.Linear(mlp_dim, in_dim), nn.Dropout(dropout))
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.normal_(m.bias, std=1e-6)


class EncoderBlock(nn.Module):
    """Pre-norm transformer block: x + attention(ln_1(x)), then + mlp(ln_2(.))."""

    def __init__(self, num_heads: int, hidden_dim: int, mlp_dim: int, dropout: float,
                 attention_dropout: float) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(hidden_dim, eps=1e-6)
        self.self_attention = nn.MultiheadAttention(hidden_dim, num_heads,
                                                    dropout=attention_dropout, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.ln_2 = nn.LayerNorm(hidden_dim, eps=1e-6)
        self.mlp = MLPBlock(hidden_dim, mlp_dim, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.ln_1(x)
        y, _ = self.self_attention(y, y, y, need_weights=False)
        x = x + self.dropout(y)
        return x + self.mlp(self.ln_2(x))


class Encoder(nn.Module):
    """Learned position embedding, ``layers.encoder_layer_N`` blocks, final LayerNorm ``ln``."""

    def __init__(self, seq_length: int, num_layers: int, num_heads: int, hidden_dim: int,
                 mlp_dim: int, dropout: float, attention_dropout: float) -> None:
        super().__init__()
        self.pos_embedding = nn.Parameter(torch.empty(1, seq_length, hidden_dim))
        nn.init.normal_(self.pos_embedding, std=0.02)
        self.dropout = nn.Dropout(dropout)
        self.layers = nn.Sequential(OrderedDict(
            (f"encoder_layer_{i}",
             EncoderBlock(num_heads, hidden_dim, mlp_dim, dropout, attention_dropout))
            for i in range(num_layers)))
        self.ln = nn.LayerNorm(hidden_dim, eps=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ln(self.layers(self.dropout(x + self.pos_embedding)))


class VisionTransformer(nn.Module):
    """ViT (Dosovitskiy et al. 2020): non-overlapping patches by a strided convolution, a class
    token, a transformer encoder, a linear head on the class token.

    >>> VisionTransformer(32, 8, num_layers=1, num_heads=2, hidden_dim=16, mlp_dim=32,
    ...                   num_classes=3)(mbtorch.zeros(1, 3, 32, 32)).shape
    mbtorch.Size([1, 3])
    """

    def __init__(self, image_size: int, patch_size: int, num_layers: int, num_heads: int,
                 hidden_dim: int, mlp_dim: int, dropout: float = 0.0,
                 attention_dropout: float = 0.0, num_classes: int = 1000) -> None:
        super().__init__()
        if image_size % patch_size != 0:
            raise ValueError(f"VisionTransformer: image_size {image_size} is not divisible by "
                             f"patch_size {patch_size}")
        self.image_size, self.patch_size, self.hidden_dim = image_size, patch_size, hidden_dim
        self.conv_proj = nn.Conv2d(3, hidden_dim, kernel_size=patch_size, stride=patch_size)
        seq_length = (image_size // patch_size) ** 2 + 1
        self.class_token = nn.Parameter(torch.zeros(1, 1, hidden_dim))
        self.encoder = Encoder(seq_length, num_layers, num_heads, hidden_dim, mlp_dim, dropout,
                               attention_dropout)
        self.seq_length = seq_length
        self.heads = nn.Sequential(OrderedDict([("head", nn.Linear(hidden_dim, num_classes))]))
        nn.init.trunc_normal_(self.conv_proj.weight,
                              std=math.sqrt(1 / (3 * patch_size * patch_size)))
        nn.init.zeros_(self.conv_proj.bias)
        # a zero head, as torchvision: fine-tuning starts from the pretrained features alone
        nn.init.zeros_(self.heads.head.weight)
        nn.init.zeros_(self.heads.head.bias)

    def _process_input(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or tuple(x.shape[1:]) != (3, self.image_size, self.image_size):
            raise ValueError(f"VisionTransformer.forward: expected input of shape (N, 3, "
                             f"{self.image_size}, {self.image_size}), got {tuple(x.shape)}")
        n = x.shape[0]
        x = self.conv_proj(x).reshape(n, self.hidden_dim, -1)
        return x.permute(0, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self._process_input(x)
        cls = self.class_token.expand(x.shape[0], -1, -1)
        x = self.encoder(torch.cat([cls, x], dim=1))
        return self.heads(x[:, 0])


class ViT_B_16_Weights(WeightsEnum):
    IMAGENET1K_V1 = _imagenet(
        "https://download.pytorch.org/models/vit_b_16-c867db91.pth", 86_567_656, 81.072, 95.318,
        "https://github.com/pytorch/vision/tree/main/references/classification#vit_b_16",
        min_size=(224, 224))
    DEFAULT = IMAGENET1K_V1


def _vit_b_16(**kwargs: Any) -> VisionTransformer:
    return VisionTransformer(**{"image_size": 224, **kwargs}, patch_size=16, num_layers=12,
                             num_heads=12, hidden_dim=768, mlp_dim=3072)


def vit_b_16(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VisionTransformer:
    """ViT-B/16 at 224x224 (86,567,656 parameters at 1000 classes), torchvision's layout.
    ``weights``: a :class:`ViT_B_16_Weights` member or its name."""
    return _build("vit_b_16", _vit_b_16, ViT_B_16_Weights, weights, progress, kwargs)


def vit_tiny(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VisionTransformer:
    """A tiny ViT (not in torchvision): 32x32 images, 8x8 patches, 2 layers of width 64 with
    2 heads; the same module names as ViT-B/16, for tests and small experiments."""
    _no_weights("vit_tiny", weights)
    config = {"image_size": 32, "patch_size": 8, "num_layers": 2, "num_heads": 2,
              "hidden_dim": 64, "mlp_dim": 128}
    return VisionTransformer(**{**config, **kwargs})
