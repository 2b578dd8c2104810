"""Which device each trial gets: ``device="auto"`` spreads trials over the CUDA GPUs round-robin
(several workers may share one GPU), else uses the CPU."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def resolve_devices(device: Any) -> list[str]:
    """The list of device names trials are spread over.

    Args:
        device: ``"auto"``, a device name (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``), a
            ``torch.device``, or a sequence of those.

    Raises:
        ValueError / TypeError: a name torch does not understand, or an empty sequence.
    """
    import torch

    if isinstance(device, str) and device.strip().lower() == "auto":
        if torch.cuda.is_available() and torch.cuda.device_count() > 0:
            return [f"cuda:{i}" for i in range(torch.cuda.device_count())]
        return ["cpu"]
    items: Sequence[Any] = [device] if isinstance(device, (str, torch.device)) else device
    if not isinstance(items, Sequence) or not items:
        raise TypeError(
            f"device must be 'auto', a device name such as 'cpu' or 'cuda:0', a torch.device, or "
            f"a non-empty list of those; got {device!r}"
        )
    out = []
    for d in items:
        try:
            out.append(str(torch.device(d)))
        except (RuntimeError, TypeError) as exc:
            raise ValueError(f"device {d!r} is not a device torch understands: {exc}") from None
    return out


def device_for_slot(devices: Sequence[str], slot: int) -> str:
    """The device of worker slot ``slot`` (round-robin)."""
    return devices[slot % len(devices)]
