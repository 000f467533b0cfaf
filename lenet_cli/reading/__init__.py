"""Reading photos: finding the ink on real paper (``ink``), the pieces that make each digit (``segment``),
and the MNIST-style preparation of a digit or a row of digits (``prepare``). NumPy and Pillow only."""
