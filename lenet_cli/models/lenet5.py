"""LeNet-5 as commonly built today, and the textbook (d2l) variant.

Both follow LeCun et al. 1998, "Gradient-Based Learning Applied to Document
Recognition", section II.B, with the simplifications used in modern teaching:
full C3 connectivity, plain pooling, a linear output layer with softmax
cross-entropy instead of RBF units. The paper-faithful network is
``lenet5-classic``.
"""

from __future__ import annotations

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
    """C1 conv 6@5x5 -> S2 pool -> C3 conv 16@5x5 -> S4 pool -> F5 120 -> F6 84 -> output.

    Each convolution is followed by pooling, then the activation, as the paper's subsampling
    layers squash *after* averaging (section II.B). With ReLU and max-pooling the order changes
    nothing (both keep the largest value), and the activation then touches a quarter of the values.
    Sigmoid and average pooling do not commute, so the d2l variant keeps its book's order:
    ``pool_first=False`` applies the activation before pooling.
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 10,
        input_size: int = 32,
        activation: type[nn.Module] = nn.ReLU,
        pool: type[nn.Module] = nn.MaxPool2d,
        first_padding: int = 0,
        pool_first: bool = True,
    ) -> None:
        super().__init__()
        side = _feature_size(input_size, first_padding)
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, kernel_size=5, padding=first_padding),  # C1
            *_in_order(pool(kernel_size=2, stride=2), activation(), pool_first),  # S2
            nn.Conv2d(6, 16, kernel_size=5),  # C3
            *_in_order(pool(kernel_size=2, stride=2), activation(), pool_first),  # S4
        )
        self.classifier = nn.Sequential(
            nn.Linear(16 * side * side, 120),  # F5 (the paper's C5)
            activation(),
            nn.Linear(120, 84),  # F6
            activation(),
            nn.Linear(84, num_classes),  # output
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # N x C x 32 x 32 -> C1 N x 6 x 28 x 28 -> S2 N x 6 x 14 x 14 -> C3 N x 16 x 10 x 10 -> S4 N x 16 x 5 x 5
        x = self.features(x)
        x = torch.flatten(x, 1)  # N x 400
        return self.classifier(x)  # N x num_classes (logits)


def _in_order(pool: nn.Module, activation: nn.Module, pool_first: bool) -> tuple[nn.Module, nn.Module]:
    """A subsampling layer's two steps in the order the model declares."""
    return (pool, activation) if pool_first else (activation, pool)


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
    return LeNet5(in_channels, num_classes, input_size, nn.Sigmoid, nn.AvgPool2d, first_padding=2, pool_first=False)


def lenet5_avgpool(*, in_channels: int = 1, num_classes: int = 10, input_size: int = 28) -> LeNet5AvgPool:
    """The tutorial LeNet with linear convolutions, average pooling and 320/80 hidden units."""
    return LeNet5AvgPool(in_channels, num_classes, input_size)
