"""The LeNet family as LeCun et al. built it in 1998: LeNet-1, LeNet-4 and LeNet-5.

Y. LeCun, L. Bottou, Y. Bengio, P. Haffner, "Gradient-Based Learning Applied to
Document Recognition", Proc. IEEE 86(11), 1998. Section numbers below refer to it.

Where the paper is specific (LeNet-5, section II.B and appendix A) these modules
follow it exactly. Where it is not (the connection schemes of LeNet-1 and
LeNet-4, section III.C), the choice made is stated in the docstring and in
docs/models.md.

The RBF output layer produces *penalties* (squared distances, smaller is
better). So that argmax, softmax, top-k and every other consumer work
unchanged, ``LeNet5Classic.forward`` returns their negation as scores.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "C3_TABLE",
    "DIGIT_BITMAPS",
    "EuclideanRBF",
    "LeNet1",
    "LeNet4",
    "LeNet5Classic",
    "SparseConv2d",
    "Subsampling",
    "lenet1",
    "lenet4",
    "lenet5_classic",
    "prototypes",
    "rbf_loss",
    "squash",
]

# Appendix A: f(a) = A tanh(S a) with A = 1.7159 and S = 2/3, so f(1) = 1 and f(-1) = -1.
SQUASH_AMPLITUDE = 1.7159
SQUASH_SLOPE = 2.0 / 3.0
# Eq. 9's constant j: the paper only says it is positive. exp(-j) acts as a
# "none of the classes" competitor that keeps penalties from all collapsing.
EQ9_J = 1.0

# Table I: which S2 maps (rows 0-5) feed each C3 map (columns 0-15).
# 6 maps from 3 adjacent maps, 6 from 4 adjacent, 3 from 4 non-adjacent, 1 from all six.
C3_TABLE: tuple[tuple[int, ...], ...] = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (4, 5, 0), (5, 0, 1),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (3, 4, 5, 0), (4, 5, 0, 1), (5, 0, 1, 2),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)

# LeNet-1's C3 (our reconstruction): each of the 6 pairs of S2 maps feeds two C3 maps.
LENET1_C3_TABLE: tuple[tuple[int, ...], ...] = tuple(
    pair for pair in ((0, 1), (2, 3), (0, 2), (1, 3), (0, 3), (1, 2)) for _ in range(2)
)

# Section II.B and Fig. 3: the output RBF prototypes are stylised 7x12 bitmaps of the
# characters, +1 for ink and -1 for background. Ours are drawn in the same spirit.
DIGIT_BITMAPS: tuple[str, ...] = (
    ".......|..###..|.#...#.|#.....#|#.....#|#.....#|#.....#|#.....#|#.....#|.#...#.|..###..|.......",
    ".......|...#...|..##...|.#.#...|...#...|...#...|...#...|...#...|...#...|...#...|.#####.|.......",
    ".......|.#####.|#.....#|......#|......#|.....#.|....#..|...#...|..#....|.#.....|#######|.......",
    ".......|.#####.|#.....#|......#|......#|..####.|......#|......#|......#|#.....#|.#####.|.......",
    ".......|.....#.|....##.|...#.#.|..#..#.|.#...#.|#....#.|#######|.....#.|.....#.|.....#.|.......",
    ".......|#######|#......|#......|######.|......#|......#|......#|......#|#.....#|.#####.|.......",
    ".......|..####.|.#.....|#......|#......|######.|#.....#|#.....#|#.....#|#.....#|.#####.|.......",
    ".......|#######|......#|.....#.|....#..|...#...|...#...|..#....|..#....|..#....|..#....|.......",
    ".......|.#####.|#.....#|#.....#|#.....#|.#####.|#.....#|#.....#|#.....#|#.....#|.#####.|.......",
    ".......|.#####.|#.....#|#.....#|#.....#|#.....#|.######|......#|......#|.....#.|.####..|.......",
)


def squash(x: torch.Tensor) -> torch.Tensor:
    """Appendix A's sigmoid: 1.7159 tanh(2x/3)."""
    return SQUASH_AMPLITUDE * torch.tanh(SQUASH_SLOPE * x)


def prototypes(num_classes: int, features: int = 84) -> torch.Tensor:
    """``num_classes`` x ``features`` codes of +-1: the digit bitmaps for up to 10 classes.

    For more classes (letters, say) the paper drew the whole ASCII set; we use
    fixed pseudo-random +-1 codes instead, the same on every machine.
    """
    if num_classes <= len(DIGIT_BITMAPS) and features == 84:
        rows = [[1.0 if ch == "#" else -1.0 for ch in bitmap.replace("|", "")] for bitmap in DIGIT_BITMAPS]
        return torch.tensor(rows[:num_classes])
    generator = torch.Generator().manual_seed(1998)
    return torch.randint(0, 2, (num_classes, features), generator=generator).float() * 2 - 1


def _uniform_init(module: nn.Module, fan_in: int) -> None:
    """Appendix A: weights (and biases) uniform in +-2.4 / fan-in."""
    bound = 2.4 / fan_in
    for parameter in module.parameters(recurse=False):
        nn.init.uniform_(parameter, -bound, bound)


class Subsampling(nn.Module):
    """S2/S4 (section II.B): each 2x2 block summed, times a trainable coefficient, plus a trainable bias, per map."""

    def __init__(self, channels: int, kernel_size: int = 2) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.weight = nn.Parameter(torch.empty(channels))
        self.bias = nn.Parameter(torch.empty(channels))
        _uniform_init(self, kernel_size * kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = self.kernel_size
        block_sum = F.avg_pool2d(x, k, k) * (k * k)
        return block_sum * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)

    def connections(self, output_shape: list[int]) -> int:
        """Every output unit reads k*k inputs plus the bias."""
        return math.prod(output_shape) * (self.kernel_size**2 + 1)


class SparseConv2d(nn.Module):
    """A convolution in which output map ``j`` sees only the input maps listed in ``table[j]``.

    Only the connected kernels are parameters (``weight`` is connections x k x k),
    so parameter counts are the paper's; a fixed 0/1 matrix spreads them into a
    dense kernel for ``F.conv2d``, which keeps the layer exportable.
    """

    def __init__(self, in_channels: int, table: tuple[tuple[int, ...], ...], kernel_size: int = 5) -> None:
        super().__init__()
        self.in_channels, self.out_channels, self.kernel_size = in_channels, len(table), kernel_size
        self.table = table
        pairs = [(out, inp) for out, inputs in enumerate(table) for inp in inputs]
        if any(not 0 <= inp < in_channels for _, inp in pairs):
            raise ValueError(f"The connection table refers to input maps beyond {in_channels}")
        spread = torch.zeros(self.out_channels * in_channels, len(pairs))
        for column, (out, inp) in enumerate(pairs):
            spread[out * in_channels + inp, column] = 1.0
        self.register_buffer("spread", spread, persistent=False)
        self.weight = nn.Parameter(torch.empty(len(pairs), kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.empty(self.out_channels))
        with torch.no_grad():  # each output map's fan-in is its own number of inputs x k x k
            for out, inputs in enumerate(table):
                bound = 2.4 / (len(inputs) * kernel_size * kernel_size)
                columns = [c for c, (o, _) in enumerate(pairs) if o == out]
                self.weight[columns] = torch.empty(len(columns), kernel_size, kernel_size).uniform_(-bound, bound)
                self.bias[out].uniform_(-bound, bound)

    def dense_weight(self) -> torch.Tensor:
        """The out x in x k x k kernel with zeros where the table has no connection."""
        k = self.kernel_size
        dense = self.spread @ self.weight.reshape(self.weight.shape[0], k * k)
        return dense.reshape(self.out_channels, self.in_channels, k, k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.dense_weight(), self.bias)

    def connections(self, output_shape: list[int]) -> int:
        """Each output position repeats every weight and bias of its map."""
        return math.prod(output_shape[1:]) * (self.weight.numel() + self.bias.numel())

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, connections={self.weight.shape[0]}"


class EuclideanRBF(nn.Module):
    """Output layer (section II.B, eq. 7): y_i = sum_j (x_j - w_ij)^2 with fixed +-1 prototypes w_i."""

    def __init__(self, in_features: int, num_classes: int) -> None:
        super().__init__()
        self.register_buffer("prototypes", prototypes(num_classes, in_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # N x 84 against num_classes x 84 -> N x num_classes penalties
        return (x.unsqueeze(1) - self.prototypes).pow(2).sum(-1)

    def connections(self, output_shape: list[int]) -> int:
        return self.prototypes.numel()


def rbf_loss(scores: torch.Tensor, target: torch.Tensor, kind: str = "eq9") -> torch.Tensor:
    """The paper's losses on scores = -penalties.

    ``mse`` is eq. 8, the penalty of the correct class. ``eq9`` adds
    log(exp(-j) + sum_i exp(-y_i)), which pushes the wrong classes' penalties
    up; written on scores it is cross-entropy over the classes plus one extra
    competitor with the constant score -j.
    """
    if kind == "mse":
        return -scores.gather(1, target.unsqueeze(1)).mean()
    if kind == "eq9":
        rejection = scores.new_full((scores.shape[0], 1), -EQ9_J)
        return F.cross_entropy(torch.cat([scores, rejection], dim=1), target)
    raise ValueError(f"Unknown RBF loss {kind!r}")


def _init_paper(model: nn.Module) -> None:
    """Appendix A's initialisation for every standard layer (custom layers do their own)."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            _uniform_init(module, module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1])
        elif isinstance(module, nn.Linear):
            _uniform_init(module, module.in_features)


def _side_after(size: int, *ops: str) -> int:
    """Feature-map side after valid 5x5 convolutions ("c") and 2x2 subsampling ("s")."""
    for op in ops:
        size = size - 4 if op == "c" else size // 2
    return size


class LeNet5Classic(nn.Module):
    """LeNet-5 exactly as section II.B describes it (Fig. 2).

    INPUT 32x32 (background -0.1, ink 1.175) -> C1 6@28x28 -> S2 6@14x14 ->
    C3 16@10x10 (Table I) -> S4 16@5x5 -> C5 120 -> F6 84 -> 10 Euclidean RBF units.
    Every layer up to F6 is squashed by 1.7159 tanh(2a/3).
    """

    native_loss = "eq9"
    supported_losses = ("eq9", "mse", "cross-entropy")
    output_description = "negated RBF penalties (argmax is the class)"  # for export metadata

    def __init__(self, in_channels: int = 1, num_classes: int = 10, input_size: int = 32) -> None:
        super().__init__()
        side = _side_after(input_size, "c", "s", "c", "s")
        if side < 5:
            raise ValueError(f"Input size {input_size} is too small for lenet5-classic (needs at least 32)")
        self.c1 = nn.Conv2d(in_channels, 6, kernel_size=5)
        self.s2 = Subsampling(6)
        self.c3 = SparseConv2d(6, C3_TABLE)
        self.s4 = Subsampling(16)
        # C5 is a convolution: on 32x32 input its maps are 1x1, i.e. fully connected to S4.
        self.c5 = nn.Conv2d(16, 120, kernel_size=5)
        self.f6 = nn.Linear(120 * (side - 4) ** 2, 84)
        self.output = EuclideanRBF(84, num_classes)
        _init_paper(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = squash(self.c1(x))  # N x 6 x 28 x 28
        x = squash(self.s2(x))  # N x 6 x 14 x 14
        x = squash(self.c3(x))  # N x 16 x 10 x 10
        x = squash(self.s4(x))  # N x 16 x 5 x 5
        x = squash(self.c5(x))  # N x 120 x 1 x 1
        x = squash(self.f6(torch.flatten(x, 1)))  # N x 84
        return -self.output(x)  # N x num_classes scores (negated RBF penalties)


class LeNet1(nn.Module):
    """LeNet-1 (section III.C.5): 28x28 input holding a 16x16 digit.

    C1 4@24x24 -> S2 4@12x12 -> C3 12@8x8 -> S4 12@4x4 -> 10 outputs.
    The paper gives no C3 connection table, only "about 2600" parameters and
    "about 100,000" multiply-adds; each C3 map reading two S2 maps (each of the
    six pairs twice) gives 2,678 and 101,000, so that is what is built here.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10, input_size: int = 28) -> None:
        super().__init__()
        side = _side_after(input_size, "c", "s", "c", "s")
        if side < 1:
            raise ValueError(f"Input size {input_size} is too small for lenet1 (needs at least 16)")
        self.c1 = nn.Conv2d(in_channels, 4, kernel_size=5)
        self.s2 = Subsampling(4)
        self.c3 = SparseConv2d(4, LENET1_C3_TABLE)
        self.s4 = Subsampling(12)
        self.output = nn.Linear(12 * side * side, num_classes)
        _init_paper(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = squash(self.c1(x))  # N x 4 x 24 x 24
        x = squash(self.s2(x))  # N x 4 x 12 x 12
        x = squash(self.c3(x))  # N x 12 x 8 x 8
        x = squash(self.s4(x))  # N x 12 x 4 x 4
        return self.output(torch.flatten(x, 1))  # N x num_classes logits


class LeNet4(nn.Module):
    """LeNet-4 (section III.C.6), read literally: 32x32 input.

    C1 4@28x28 -> S2 8@14x14 (two subsampling maps per C1 map) -> C3 16@10x10 ->
    S4 16@5x5 -> F5 120 -> 10 outputs. With C3 fully connected this has 52,698
    parameters; the paper says "about 17,000" and 260,000 connections, which no
    reading of its prose reproduces (F5 alone has 48,120), so the prose wins.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10, input_size: int = 32) -> None:
        super().__init__()
        side = _side_after(input_size, "c", "s", "c", "s")
        if side < 1:
            raise ValueError(f"Input size {input_size} is too small for lenet4 (needs at least 16)")
        self.c1 = nn.Conv2d(in_channels, 4, kernel_size=5)
        self.s2 = Subsampling(8)
        self.c3 = nn.Conv2d(8, 16, kernel_size=5)
        self.s4 = Subsampling(16)
        self.f5 = nn.Linear(16 * side * side, 120)
        self.output = nn.Linear(120, num_classes)
        _init_paper(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = squash(self.c1(x))  # N x 4 x 28 x 28
        x = x.repeat_interleave(2, dim=1)  # each C1 map feeds two S2 maps
        x = squash(self.s2(x))  # N x 8 x 14 x 14
        x = squash(self.c3(x))  # N x 16 x 10 x 10
        x = squash(self.s4(x))  # N x 16 x 5 x 5
        x = squash(self.f5(torch.flatten(x, 1)))  # N x 120
        return self.output(x)  # N x num_classes logits


def lenet5_classic(*, in_channels: int = 1, num_classes: int = 10, input_size: int = 32) -> LeNet5Classic:
    """LeNet-5 as in the 1998 paper: Table I C3, trainable subsampling, RBF output."""
    return LeNet5Classic(in_channels, num_classes, input_size)


def lenet1(*, in_channels: int = 1, num_classes: int = 10, input_size: int = 28) -> LeNet1:
    """LeNet-1 of section III.C.5 (about 2,600 parameters)."""
    return LeNet1(in_channels, num_classes, input_size)


def lenet4(*, in_channels: int = 1, num_classes: int = 10, input_size: int = 32) -> LeNet4:
    """LeNet-4 of section III.C.6 (4-8-16-16 maps, 120 hidden units)."""
    return LeNet4(in_channels, num_classes, input_size)
