"""The Python API: train, load and use models from a script or a notebook; every command calls it.

``training`` (``train``, ``Run``, ``runs``), ``model`` (``load``, ``Model``, ``summary``), ``inputs`` (what
``Model.predict`` accepts) and ``progress`` (training progress in a notebook or a log). The names are
public as ``lenet_cli.train``, ``lenet_cli.load`` and so on; this package imports nothing itself.
"""
