"""Model architectures with torchvision's module names (``torchvision.models`` layout), so a
torchvision state dict loads with ``model.load_state_dict(mbtorch.load(path))``, and weight
enums (``ResNet18_Weights.IMAGENET1K_V1``...) that fetch torchvision's published checkpoints
through :mod:`mbtorch.hub`."""

from ._api import Weights, WeightsEnum, get_weight
from ._registry import get_model, get_model_builder, get_model_weights, list_models
from .fashioncnn import FashionCNN_Weights, fashion_cnn
from .lenet import LeNet5, lenet5
from .mobilenetv2 import MobileNet_V2_Weights, MobileNetV2, mobilenet_v2
from .resnet import ResNet, ResNet18_Weights, ResNet34_Weights, ResNet50_Weights, resnet18
from .resnet import resnet34, resnet50
from .vgg import VGG, VGG11_BN_Weights, VGG11_Weights, VGG16_BN_Weights, VGG16_Weights, vgg11
from .vgg import vgg11_bn, vgg16, vgg16_bn
from .vit import ViT_B_16_Weights, VisionTransformer, vit_b_16, vit_tiny

__all__ = ["FashionCNN_Weights", "LeNet5", "MobileNetV2", "MobileNet_V2_Weights", "ResNet",
           "ResNet18_Weights", "ResNet34_Weights", "ResNet50_Weights", "VGG", "VGG11_BN_Weights",
           "VGG11_Weights", "VGG16_BN_Weights", "VGG16_Weights", "ViT_B_16_Weights",
           "VisionTransformer", "Weights", "WeightsEnum", "fashion_cnn", "get_model",
           "get_model_builder", "get_model_weights", "get_weight", "lenet5", "list_models",
           "mobilenet_v2", "resnet18", "resnet34", "resnet50", "vgg11", "vgg11_bn", "vgg16",
           "vgg16_bn", "vit_b_16", "vit_tiny"]
