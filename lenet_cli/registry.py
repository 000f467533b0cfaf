"""One registry idiom for every kind of named thing: models, datasets, export formats.

In the spirit of torchvision's ``models/_api.py``: a plain dict filled by ``register``; a
duplicate name raises; an unknown name raises a usage error (exit 2) with the nearest
names and the valid ones; listing keeps the order of declaration, so tables, ``--help``
choices and docs read in the order their authors chose, the same on every run.
"""

from __future__ import annotations

import fnmatch
from typing import Generic, Iterator, TypeVar

from .errors import UsageError, did_you_mean

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Generic[T]):
    """Named items of one kind, in the order they were registered."""

    def __init__(self, kind: str, also_accepted: tuple[str, ...] = ()) -> None:
        self.kind = kind  # "model", "dataset", "export format": used in messages
        self.also_accepted = also_accepted  # forms outside the registry that the same option takes, e.g. "idx:DIR"
        self._items: dict[str, T] = {}

    def register(self, name: str, item: T) -> T:
        """Add ``item`` under ``name``; a name can be registered only once."""
        if name in self._items:
            raise ValueError(f"A {self.kind} named {name!r} is already registered")
        self._items[name] = item
        return item

    def __getitem__(self, name: str) -> T:
        """The item registered as ``name``; an unknown name is a usage error naming the nearest and the valid ones."""
        try:
            return self._items[name]
        except KeyError:
            valid = ", ".join([*self._items, *self.also_accepted])
            raise UsageError(f"Unknown {self.kind} {name!r}{did_you_mean(name, self._items)}; "
                             f"choose one of: {valid}") from None

    def names(self, pattern: str | None = None) -> list[str]:
        """Registered names in declaration order, optionally only those matching a glob ``pattern``."""
        return [name for name in self._items if pattern is None or fnmatch.fnmatchcase(name, pattern)]

    def values(self) -> list[T]:
        """The items in declaration order."""
        return list(self._items.values())

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)
