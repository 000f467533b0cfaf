"""``python -m lenet_cli``: the same as the ``lenet`` command."""

from .cli.main import main

if __name__ == "__main__":
    main()
