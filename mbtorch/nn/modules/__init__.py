"""Layer classes; each family in its own module."""

from .activation import (  # noqa: F401
    CELU,
    ELU,
    GELU,
    GLU,
    SELU,
    Dropout,
    Dropout1d,
    Dropout2d,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    LeakyReLU,
    LogSigmoid,
    LogSoftmax,
    Mish,
    MultiheadAttention,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softmin,
    Softplus,
    Softsign,
    Tanh,
    Tanhshrink,
    Threshold,
)
from .container import (  # noqa: F401
    Identity,
    ModuleDict,
    ModuleList,
    ParameterDict,
    ParameterList,
    Sequential,
)
from .conv import Conv1d, Conv2d, ConvTranspose2d  # noqa: F401
from .linear import (  # noqa: F401
    Bilinear,
    Embedding,
    Flatten,
    Linear,
    NonDynamicallyQuantizableLinear,
    Unflatten,
)
from .loss import (  # noqa: F401
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from .module import Module  # noqa: F401
from .normalization import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm  # noqa: F401
from .pooling import (  # noqa: F401
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AvgPool1d,
    AvgPool2d,
    MaxPool1d,
    MaxPool2d,
    Upsample,
)
from .rnn import GRU, LSTM, RNN, RNNBase  # noqa: F401
from .transformer import TransformerEncoder, TransformerEncoderLayer  # noqa: F401

__all__ = [
    "CELU", "ELU", "GELU", "GLU", "SELU", "Dropout", "Dropout1d", "Dropout2d", "Hardsigmoid",
    "Hardswish", "Hardtanh", "LeakyReLU", "LogSigmoid", "LogSoftmax", "Mish", "MultiheadAttention",
    "ReLU", "ReLU6", "Sigmoid", "SiLU", "Softmax", "Softmin", "Softplus", "Softsign", "Tanh",
    "Tanhshrink", "Threshold", "Identity", "ModuleDict", "ModuleList", "ParameterDict",
    "ParameterList", "Sequential", "Conv1d", "Conv2d", "ConvTranspose2d", "Bilinear", "Embedding",
    "Flatten", "Linear", "NonDynamicallyQuantizableLinear", "Unflatten", "BCELoss",
    "BCEWithLogitsLoss", "CrossEntropyLoss", "HuberLoss", "KLDivLoss", "L1Loss", "MSELoss",
    "NLLLoss", "SmoothL1Loss", "Module", "BatchNorm1d", "BatchNorm2d", "GroupNorm", "LayerNorm",
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AvgPool1d", "AvgPool2d", "MaxPool1d", "MaxPool2d",
    "Upsample", "GRU", "LSTM", "RNN", "RNNBase", "TransformerEncoder", "TransformerEncoderLayer"
]
