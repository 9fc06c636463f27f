"""``mbtorch.nn.functional``: stateless layers, losses and helpers on public tensor ops."""

from .activation import (  # noqa: F401
    celu,
    dropout,
    dropout1d,
    dropout2d,
    elu,
    gelu,
    glu,
    hardsigmoid,
    hardswish,
    hardtanh,
    leaky_relu,
    log_softmax,
    logsigmoid,
    mish,
    relu,
    relu6,
    relu_,
    selu,
    sigmoid,
    silu,
    softmax,
    softmin,
    softplus,
    softsign,
    tanh,
    tanhshrink,
    threshold,
)
from .attention import multi_head_attention_forward, scaled_dot_product_attention  # noqa: F401
from .conv import conv1d, conv2d, conv_transpose2d, fold, unfold  # noqa: F401
from .linear import bilinear, embedding, linear, normalize, one_hot  # noqa: F401
from .loss import (  # noqa: F401
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cosine_similarity,
    cross_entropy,
    huber_loss,
    kl_div,
    l1_loss,
    mse_loss,
    nll_loss,
    smooth_l1_loss,
)
from .norm import batch_norm, group_norm, instance_norm, layer_norm  # noqa: F401
from .padding import interpolate, pad, upsample  # noqa: F401
from .pooling import (  # noqa: F401
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
)

__all__ = [
    "celu", "dropout", "dropout1d", "dropout2d", "elu", "gelu", "glu", "hardsigmoid", "hardswish",
    "hardtanh", "leaky_relu", "log_softmax", "logsigmoid", "mish", "relu", "relu6", "relu_",
    "selu", "sigmoid", "silu", "softmax", "softmin", "softplus", "softsign", "tanh", "tanhshrink",
    "threshold", "multi_head_attention_forward", "scaled_dot_product_attention", "conv1d",
    "conv2d", "conv_transpose2d", "fold", "unfold", "bilinear", "embedding", "linear", "normalize",
    "one_hot", "binary_cross_entropy", "binary_cross_entropy_with_logits", "cosine_similarity",
    "cross_entropy", "huber_loss", "kl_div", "l1_loss", "mse_loss", "nll_loss", "smooth_l1_loss",
    "batch_norm", "group_norm", "instance_norm", "layer_norm", "interpolate", "pad", "upsample",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "avg_pool1d", "avg_pool2d", "max_pool1d",
    "max_pool2d"
]
