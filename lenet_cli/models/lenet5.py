"""LeNet-5 as commonly built today, and the textbook (d2l) variant.

Both follow LeCun et al. 1998, "Gradient-Based Learning Applied to Document
Recognition", section II.B, with the simplifications used in modern teaching:
full C3 connectivity, plain pooling, a linear output layer with softmax
cross-entropy instead of RBF units. The paper-faithful network is
``lenet5-classic``.
"""

from __future__ import annotations

import sys

import torch
from torch import nn

__all__ = ["LeNet5", "LeNet5AvgPool", "lenet5", "lenet5_avgpool", "lenet5_d2l"]


def _feature_size(size: int, first_padding: int) -> int:
    """Side of the S4 maps: two 5x5 valid convolutions, each followed by 2x2 pooling."""
    side = ((size + 2 * first_padding - 4) // 2 - 4) // 2
    if side < 1:
        raise ValueError(f"Input size {size} is too small for LeNet-5 (needs at least {16 - 2 * first_padding})")
    return side


class LeNet5(nn.Module):
    """C1 conv 6@5x5 -> pool -> C3 conv 16@5x5 -> pool -> F5 120 -> F6 84 -> output."""

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 10,
        input_size: int = 32,
        activation: type[nn.Module] = nn.ReLU,
        pool: type[nn.Module] = nn.MaxPool2d,
        first_padding: int = 0,
    ) -> None:
        super().__init__()
        side = _feature_size(input_size, first_padding)
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, kernel_size=5, padding=first_padding),
            activation(),
            pool(kernel_size=2, stride=2),
            nn.Conv2d(6, 16, kernel_size=5),
            activation(),
            pool(kernel_size=2, stride=2),
        )
        self.classifier = nn.Sequential(
            nn.Linear(16 * side * side, 120),
            activation(),
            nn.Linear(120, 84),
            activation(),
            nn.Linear(84, num_classes),
        )
        # Max-pooling and ReLU commute (both keep the largest value), so in channels-last layout, the one lenet
        # trains and evaluates in, the network pools first: the ReLU and its backward then touch a quarter of the
        # values, with the same outputs and gradients bit for bit. On a 2-core CPU a training epoch takes about
        # 10 % less time and an evaluation pass 35 % less. In row-major layout it gains nothing in training and
        # costs 10 % in evaluation (the CPU's max-pooling is slower on raw convolution outputs than on the
        # ReLU's zeros there), so the declared order runs. It also runs for whatever watches the layers one by one
        # (hooks: lenet inspect, summary; a trace or an export), which then sees the maps the paper draws.
        self.pools_first = activation is nn.ReLU and pool is nn.MaxPool2d

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # N x C x 32 x 32 -> C1 N x 6 x 28 x 28 -> S2 N x 6 x 14 x 14
        # -> C3 N x 16 x 10 x 10 -> S4 N x 16 x 5 x 5
        pooled_first = self.pools_first and self._channels_last() and not self._layers_watched()
        x = self._features_pooled_first(x) if pooled_first else self.features(x)
        x = torch.flatten(x, 1)  # N x 400
        return self.classifier(x)  # N x num_classes (logits)

    def _features_pooled_first(self, x: torch.Tensor) -> torch.Tensor:
        """``self.features(x)`` with each ReLU applied after the max-pooling that follows it."""
        c1, relu1, s2, c3, relu3, s4 = self.features
        return relu3(s4(c3(relu1(s2(c1(x))))))

    def _channels_last(self) -> bool:
        """Whether the network was put in channels-last layout (C3's weights tell: C1's have one input channel)."""
        weight = self.features[3].weight
        return weight.is_contiguous(memory_format=torch.channels_last) and not weight.is_contiguous()

    def _layers_watched(self) -> bool:
        """Whether something sees the feature layers one by one: a hook on one, a trace or an export."""
        # No export runs before torch.onnx is imported, and importing it here would cost every first forward 30 ms.
        exporting = "torch.onnx" in sys.modules and torch.onnx.is_in_onnx_export()
        return (torch.jit.is_tracing() or exporting
                or any(layer._forward_hooks or layer._forward_pre_hooks for layer in self.features))


class LeNet5AvgPool(nn.Module):
    """A tutorial variant for 28x28 input: linear convolutions, average pooling, 320 and 80 hidden units.

    Its convolutions have no activation, so C1-S2-C3-S4 is one linear map; the
    non-linearity lives in the ReLU hidden layers.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10, input_size: int = 28) -> None:
        super().__init__()
        side = _feature_size(input_size, 0)
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, kernel_size=5),
            nn.AvgPool2d(kernel_size=2, stride=2),
            nn.Conv2d(6, 16, kernel_size=5),
            nn.AvgPool2d(kernel_size=2, stride=2),
        )
        self.classifier = nn.Sequential(
            nn.Linear(16 * side * side, 320),
            nn.ReLU(),
            nn.Linear(320, 80),
            nn.ReLU(),
            nn.Linear(80, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # N x C x 28 x 28 -> N x 6 x 24 x 24 -> N x 6 x 12 x 12 -> N x 16 x 8 x 8 -> N x 16 x 4 x 4
        x = self.features(x)
        return self.classifier(torch.flatten(x, 1))  # N x 256 -> N x num_classes (logits)


def lenet5(*, in_channels: int = 1, num_classes: int = 10, input_size: int = 32) -> LeNet5:
    """Modern LeNet-5 (ReLU, max-pooling) for ``input_size`` x ``input_size`` images."""
    return LeNet5(in_channels, num_classes, input_size)


def lenet5_d2l(*, in_channels: int = 1, num_classes: int = 10, input_size: int = 28) -> LeNet5:
    """The d2l.ai LeNet: sigmoid, average pooling, C1 padded by 2 so 28x28 images fit."""
    return LeNet5(in_channels, num_classes, input_size, nn.Sigmoid, nn.AvgPool2d, first_padding=2)


def lenet5_avgpool(*, in_channels: int = 1, num_classes: int = 10, input_size: int = 28) -> LeNet5AvgPool:
    """The tutorial LeNet with linear convolutions, average pooling and 320/80 hidden units."""
    return LeNet5AvgPool(in_channels, num_classes, input_size)
