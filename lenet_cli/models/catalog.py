"""The registered models, declared once; CLI choices, docs and tests derive from here."""

from __future__ import annotations

from .registry import ModelSpec, register_model

register_model(
    ModelSpec(
        name="lenet5",
        builder="lenet_cli.models.lenet5:lenet5",
        input_shape=(1, 32, 32),
        num_classes=10,
        description="Modern LeNet-5: ReLU, max-pooling, 32x32 input (28x28 images padded by 2)",
        origin="LeCun et al. 1998, modernised as in most PyTorch tutorials",
        num_params=61_706,
    )
)
register_model(
    ModelSpec(
        name="lenet5-d2l",
        builder="lenet_cli.models.lenet5:lenet5_d2l",
        input_shape=(1, 28, 28),
        num_classes=10,
        description="Textbook LeNet-5: sigmoid, average pooling, padded first conv on 28x28",
        origin="Zhang et al., Dive into Deep Learning, section 7.6 (LeNet)",
        num_params=61_706,
    )
)
