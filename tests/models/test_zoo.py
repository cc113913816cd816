"""The registry (``get_model``, ``list_models``) and the course's convolution summary."""

import pytest

import axon
from axon import models, nn


def test_summary_of_a_convolution_shows_28x28():
    """The course's example: a 5x5 convolution shrinks 32x32 to 32 - 5 + 1 = 28."""
    lines = []
    s = axon.summary(nn.Conv2d(3, 6, 5), input_shape=(1, 3, 32, 32), print_fn=lines.append)
    assert s.rows[0].output_shape == (1, 6, 28, 28)
    assert s.total_params == 6 * 3 * 5 * 5 + 6 == 456
    assert "(1, 6, 28, 28)" in lines[0]


def test_get_model_builds_by_name():
    model = models.get_model("mlp", sizes=[784, 16, 16, 10], activation="sigmoid")
    assert model.num_parameters() == 13_002
    assert isinstance(models.get_model("LeNet5"), models.LeNet5)
    classic = models.get_model("lenet5_classic", num_classes=5)
    assert isinstance(classic.features[1], nn.Tanh)
    assert isinstance(classic.features[2], nn.AvgPool2d)
    assert classic.classifier[4].out_features == 5
    assert models.get_model("resnet18", num_classes=10).fc.out_features == 10


def test_list_and_unknown_names():
    names = models.list_models()
    for name in (
        "mlp",
        "lenet5",
        "alexnet",
        "vgg11",
        "vgg16",
        "vgg11_bn",
        "vgg16_bn",
        "resnet18",
        "resnet34",
    ):
        assert name in names
    with pytest.raises(ValueError, match="unknown model 'resnet9'"):
        models.get_model("resnet9")


def test_register_model():
    models.register_model("tiny_mlp_for_test", lambda: models.mlp([2, 2]))
    try:
        assert isinstance(models.get_model("tiny_mlp_for_test"), nn.Sequential)
        with pytest.raises(ValueError, match="already registered"):
            models.register_model("tiny_mlp_for_test", lambda: None)
    finally:
        models._REGISTRY.pop("tiny_mlp_for_test")


def test_every_constructor_is_exported():
    for name in models.__all__:
        assert hasattr(models, name)
