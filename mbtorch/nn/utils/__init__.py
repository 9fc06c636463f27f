"""``nn.utils``: gradient clipping, parameter/vector conversion, the ``rnn`` helpers for
variable-length sequences, ``parametrize``/``parametrizations`` (weight norm, spectral norm,
orthogonal) and their hook-based predecessors, conv/linear + batch-norm fusion,
``skip_init``, ``stateless.functional_call`` and ``prune``."""

from __future__ import annotations

from . import clip_grad, convert_parameters, fusion, parametrizations, parametrize, prune, rnn
from . import stateless
from ._legacy_norms import remove_spectral_norm, remove_weight_norm, spectral_norm, weight_norm
from .clip_grad import (
    clip_grad_norm,
    clip_grad_norm_,
    clip_grad_value_,
    clip_grads_with_norm_,
    get_total_norm,
)
from .convert_parameters import parameters_to_vector, vector_to_parameters
from .fusion import (
    fuse_conv_bn_eval,
    fuse_conv_bn_weights,
    fuse_linear_bn_eval,
    fuse_linear_bn_weights,
)
from .init import skip_init

__all__ = [
    "clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "clip_grads_with_norm_",
    "get_total_norm", "parameters_to_vector", "vector_to_parameters", "rnn", "parametrize",
    "parametrizations", "weight_norm", "remove_weight_norm", "spectral_norm",
    "remove_spectral_norm", "fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval",
    "fuse_linear_bn_weights", "skip_init", "stateless", "clip_grad", "convert_parameters",
    "fusion", "prune"
]
