"""Memory accounting for hypergradient computations (CPU and CUDA alike).

* :class:`SavedBytes` counts what autograd saves for backward; the offline methods report it in
  ``stats`` when called with ``track_memory=True``.
* :class:`LiveTensorBytes` independently tracks the peak bytes of all tensor storages created
  inside it and still alive, like an allocator's peak statistic; benchmarks and tests use it to
  check the methods' own accounting.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten


class SavedBytes:
    """Counts the bytes of distinct storages that autograd saves for backward inside ``track()``.

    With ``enabled=False`` nothing is recorded and :attr:`total` is ``None`` (the hooks cost a
    few percent of a hypergradient computation).

    Example:
        >>> x = torch.ones(10, requires_grad=True)
        >>> counter = SavedBytes()
        >>> with counter.track():
        ...     y = (x * x).sum()
        >>> counter.total
        40
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._seen: dict[tuple[torch.device, int], int] = {}

    @property
    def total(self) -> int | None:
        """Bytes of all distinct storages saved so far (``None`` when disabled)."""
        return sum(self._seen.values()) if self.enabled else None

    def _pack(self, t: Tensor) -> Tensor:
        storage = t.untyped_storage()
        self._seen[(t.device, storage.data_ptr())] = storage.nbytes()
        # Returning ``t`` itself would make a saved output reference its own grad_fn: a C++
        # reference cycle, invisible to Python's garbage collector, that keeps the whole graph
        # alive for good. Autograd restores the metadata of the unpacked tensor itself.
        return t.detach()

    @contextmanager
    def track(self) -> Iterator[SavedBytes]:
        """Context manager recording every tensor autograd saves (forward and double backward)."""
        if not self.enabled:
            yield self
            return
        with torch.autograd.graph.saved_tensors_hooks(self._pack, lambda t: t):
            yield self


class LiveTensorBytes(TorchDispatchMode):
    """Peak bytes of the tensor storages created inside the mode that are alive at once.

    Example:
        >>> with LiveTensorBytes() as m:
        ...     a = torch.ones(1000)  # 4000 bytes
        ...     b = a * 2  # 4000 more
        ...     del a, b
        ...     c = torch.ones(10)
        >>> m.peak, m.live
        (8000, 40)
    """

    def __init__(self) -> None:
        super().__init__()
        self.live = 0
        self.peak = 0
        self._seen: set[tuple[str, int]] = set()

    def _track(self, t: Tensor) -> None:
        storage = t.untyped_storage()
        key, size = (str(t.device), storage.data_ptr()), storage.nbytes()
        if key in self._seen or size == 0:
            return
        self._seen.add(key)
        self.live += size
        self.peak = max(self.peak, self.live)
        weakref.finalize(storage, self._free, key, size)

    def _free(self, key: tuple[str, int], size: int) -> None:
        self._seen.discard(key)
        self.live -= size

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        inputs = {
            t.untyped_storage().data_ptr()
            for t in tree_flatten((args, kwargs))[0]
            if isinstance(t, Tensor) and t.layout == torch.strided
        }
        for t in tree_flatten(out)[0]:
            if (
                isinstance(t, Tensor)
                and t.layout == torch.strided
                and t.device.type != "meta"
                and t.untyped_storage().data_ptr() not in inputs  # views, aliases, in-place
            ):
                self._track(t)
        return out
