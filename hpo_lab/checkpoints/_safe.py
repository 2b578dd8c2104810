"""What a checkpoint may hold: what ``torch.load(..., weights_only=True)`` reads back."""

from __future__ import annotations

import collections
from typing import Any

_SCALARS = (bool, int, float, complex, str, bytes, type(None))


def check_weights_only(obj: Any, path: str = "state") -> None:
    """Raise ``TypeError`` naming the first part of ``obj`` that ``weights_only`` loading rejects.

    Allowed: tensors, Python scalars and strings, ``torch.Size``/``dtype``/``device``, and lists,
    tuples, dicts (``OrderedDict`` too) of those — what model, optimizer and scheduler
    ``state_dict()``\\ s and ``torch.get_rng_state()`` produce.
    """
    import torch

    stack = [(obj, path)]
    seen: set[int] = set()
    while stack:
        o, p = stack.pop()
        if isinstance(o, (torch.Tensor, torch.Size, torch.dtype, torch.device, *_SCALARS)):
            continue
        if id(o) in seen:
            continue
        seen.add(id(o))
        if isinstance(o, (dict, collections.OrderedDict)):
            for k, v in o.items():
                if not isinstance(k, _SCALARS):
                    raise TypeError(
                        f"{p} has a key of type {type(k).__name__}; use str or int keys"
                    )
                stack.append((v, f"{p}[{k!r}]"))
        elif isinstance(o, (list, tuple)):
            stack.extend((v, f"{p}[{i}]") for i, v in enumerate(o))
        else:
            raise TypeError(
                f"{p} is a {type(o).__module__}.{type(o).__qualname__}, which a checkpoint cannot "
                "hold (checkpoints are loaded with torch.load(weights_only=True)): store tensors, "
                "numbers, strings and lists/dicts of them, e.g. model.state_dict(), "
                "optimizer.state_dict(), torch.get_rng_state()"
            )
