"""The registered models, declared once; CLI choices, docs and tests derive from here."""

from __future__ import annotations

from .registry import ModelSpec, PaperFigures, register_model

# The paper's names for the layers of the LeNet-5 built from nn.Sequential blocks (lenet5.LeNet5):
# convolutions C1, C3; subsampling S2, S4; C5 (120 units: a 5x5 convolution over 5x5 maps, a linear layer
# here); F6; the output layer. The activation after a layer is drawn with it: lenet5 pools, then squashes, as
# the paper's subsampling layers do; lenet5-d2l squashes, then pools, so its pooling layers come one place later.
_LENET5 = (("features.0", "C1"), ("features.1", "S2"), ("features.3", "C3"), ("features.4", "S4"),
           ("classifier.0", "C5"), ("classifier.2", "F6"), ("classifier.4", "OUTPUT"))
_D2L_LENET5 = (("features.0", "C1"), ("features.2", "S2"), ("features.3", "C3"), ("features.5", "S4"),
               ("classifier.0", "C5"), ("classifier.2", "F6"), ("classifier.4", "OUTPUT"))
# lenet5-avgpool has no activation after its convolutions, so its pooling layers come one place earlier.
_AVGPOOL_LENET5 = (("features.0", "C1"), ("features.1", "S2"), ("features.2", "C3"), ("features.3", "S4"),
                   ("classifier.0", "C5"), ("classifier.2", "F6"), ("classifier.4", "OUTPUT"))
# LeNet-1 and LeNet-4 name their modules after the paper's layers.
_NAMED_LAYERS = tuple((name, name.upper()) for name in ("c1", "s2", "c3", "s4", "f5", "output"))

register_model(
    ModelSpec(
        name="lenet5",
        builder="lenet_cli.models.lenet5:lenet5",
        input_shape=(1, 32, 32),
        num_classes=10,
        description="Modern LeNet-5: ReLU, max-pooling, 32x32 input (28x28 images padded by 2)",
        origin="LeCun et al. 1998, modernised as in most PyTorch tutorials",
        num_params=61_706,
        layer_labels=_LENET5,
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
        layer_labels=_D2L_LENET5,
    )
)
register_model(
    ModelSpec(
        name="lenet5-avgpool",
        builder="lenet_cli.models.lenet5:lenet5_avgpool",
        input_shape=(1, 28, 28),
        num_classes=10,
        description="Tutorial LeNet-5 on 28x28: linear convolutions, average pooling, 320/80 ReLU hidden units",
        origin="A common PyTorch tutorial variant of LeNet-5 (Fashion-MNIST)",
        num_params=111_302,
        layer_labels=_AVGPOOL_LENET5,
    )
)
register_model(
    ModelSpec(
        name="lenet5-classic",
        builder="lenet_cli.models.classic:lenet5_classic",
        input_shape=(1, 32, 32),
        num_classes=10,
        description="LeNet-5 as in the paper: Table I C3, trainable subsampling, scaled tanh, RBF output",
        origin="LeCun et al. 1998, section II.B and appendix A",
        num_params=60_000,
        input_range=(-0.1, 1.175),
        paper=PaperFigures(
            section="II.B", test_error=0.95, params=60_000, connections=340_908,
            layers=(
                ("c1", "C1", 156, 122_304),
                ("s2", "S2", 12, 5_880),
                ("c3", "C3", 1_516, 151_600),
                ("s4", "S4", 32, 2_000),
                ("c5", "C5", 48_120, 48_120),
                ("f6", "F6", 10_164, 10_164),
                ("output", "OUTPUT", 0, 840),
            ),
        ),
    )
)
register_model(
    ModelSpec(
        name="lenet1",
        builder="lenet_cli.models.classic:lenet1",
        input_shape=(1, 28, 28),
        num_classes=10,
        description="LeNet-1: 4-4-12-12 maps, 16x16 digits centred in 28x28, about 2,600 parameters",
        origin="LeCun et al. 1998, section III.C.5",
        num_params=2_678,
        input_range=(-0.1, 1.175),
        content_scale=0.8,  # MNIST digits fill 20x20; the paper's LeNet-1 read them at 16x16
        layer_labels=_NAMED_LAYERS,
        paper=PaperFigures(section="III.C.5", test_error=1.7, params=2_600, connections=100_000, approximate=True),
    )
)
register_model(
    ModelSpec(
        name="lenet4",
        builder="lenet_cli.models.classic:lenet4",
        input_shape=(1, 32, 32),
        num_classes=10,
        description="LeNet-4: 4-8-16-16 maps, 120 hidden units, 32x32 input",
        origin="LeCun et al. 1998, section III.C.6",
        num_params=52_698,
        input_range=(-0.1, 1.175),
        layer_labels=_NAMED_LAYERS,
        paper=PaperFigures(section="III.C.6", test_error=1.1, params=17_000, connections=260_000, approximate=True),
    )
)
