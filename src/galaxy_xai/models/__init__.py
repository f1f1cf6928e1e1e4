"""Architectures as plain ``nn.Module``s, output heads, and the registry.

Every model maps ``(N, C, H, W)`` images to ``(N, num_outputs)`` raw outputs; its
dropout layers are ``nn.Dropout`` (MC dropout), its layers have stable names listed in
``conv_layers``/``dense_layers`` (transfer learning), and ``gradcam_layer`` is its last
convolutional block (Grad-CAM).
"""

from galaxy_xai.models.compact import CompactCNN
from galaxy_xai.models.gamornet import GaMorNet
from galaxy_xai.models.heads import (
    TASKS,
    ClassificationHead,
    DirichletHead,
    Head,
    RegressionHead,
    VoteFractionHead,
    build_head,
    dirichlet_multinomial_nll,
)
from galaxy_xai.models.registry import (
    available_models,
    build_from_spec,
    build_model,
    register_model,
)
from galaxy_xai.models.resnet import ResNet
from galaxy_xai.models.trained import LoadedModel, load_model, save_model
from galaxy_xai.models.vgg import VGG

__all__ = [
    "TASKS",
    "VGG",
    "ClassificationHead",
    "CompactCNN",
    "DirichletHead",
    "GaMorNet",
    "Head",
    "LoadedModel",
    "RegressionHead",
    "ResNet",
    "VoteFractionHead",
    "available_models",
    "build_from_spec",
    "build_head",
    "build_model",
    "dirichlet_multinomial_nll",
    "load_model",
    "register_model",
    "save_model",
]
