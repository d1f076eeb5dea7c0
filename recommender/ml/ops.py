"""Two training operations written for speed on the CPU, with the same maths as torch's.

- ``linear_cross_entropy``: mean cross-entropy of ``h @ W.T`` against targets, computed in
  chunks of rows. The full-catalogue logits of a batch (12,800 positions x 3,416 ML-1M
  items = 175 MB) are never held at once: each chunk's gradients are worked out in the
  forward pass and only the (rows, d) and (items, d) gradients are kept. Besides memory,
  this is about time: a tensor that large is freshly mapped by the allocator at every
  step, and its first touch page-faults (about half of an ML-1M step went to that here);
  chunks small enough to be reused never fault.
- ``Dropout``: ``nn.Dropout`` with its keep-mask drawn as one random byte per element
  instead of one Bernoulli draw each, which torch's CPU kernel makes slow; the drop
  probability is rounded to a multiple of 1/256 (0.1 -> 26/256 = 0.1016).
- ``keep_freed_memory``: glibc's allocator maps every block over its threshold afresh and
  unmaps it when freed, so each training step page-faults its largest tensors again;
  a fixed 32 MiB threshold (the largest glibc allows) and no trimming keep them.

Figures: docs/benchmarks.md, "Training speed".
"""

from __future__ import annotations

import ctypes
import logging

import torch
import torch.nn as nn
import torch.nn.functional as F

log = logging.getLogger(__name__)

CHUNK_ROWS = 1024  # 1,024 x 3,416 logits = 14 MB: below the allocator's mapping threshold


class _LinearCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, h: torch.Tensor, W: torch.Tensor, targets: torch.Tensor, chunk: int) -> torch.Tensor:
        n = h.shape[0]
        total = torch.zeros((), dtype=torch.float32, device=h.device)
        grad_h, grad_W = torch.empty_like(h), torch.zeros_like(W)
        for start in range(0, n, chunk):
            hc, tc = h[start:start + chunk], targets[start:start + chunk]
            logits = hc @ W.t()  # (c, N)
            lse = torch.logsumexp(logits, dim=1)  # (c,)
            total += (lse - logits.gather(1, tc.unsqueeze(1)).squeeze(1)).sum()
            # d(mean loss)/d(logits) = (softmax - onehot) / n, built in the logits' memory
            grad = logits.sub_(lse.unsqueeze(1)).exp_()
            grad.scatter_add_(1, tc.unsqueeze(1), torch.full_like(grad[:, :1], -1.0))
            grad.div_(n)
            grad_h[start:start + chunk] = grad @ W
            grad_W.addmm_(grad.t(), hc)
        ctx.save_for_backward(grad_h, grad_W)
        return total / n

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):
        grad_h, grad_W = ctx.saved_tensors
        return grad_h * grad_out, grad_W * grad_out, None, None


def linear_cross_entropy(h: torch.Tensor, W: torch.Tensor, targets: torch.Tensor,
                         chunk: int = CHUNK_ROWS) -> torch.Tensor:
    """Return ``F.cross_entropy(h @ W.T, targets)`` for h (n, d), W (N, d) and class
    indices ``targets`` (n,), computed ``chunk`` rows at a time (float32)."""
    if h.shape[0] == 0:  # as F.cross_entropy: the mean of nothing
        return F.cross_entropy(h @ W.t(), targets)
    return _LinearCrossEntropy.apply(h, W, targets, chunk)


class Dropout(nn.Module):
    """``nn.Dropout(p)`` with a keep-mask from one random byte per element."""

    def __init__(self, p: float):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability {p} is not in [0, 1)")
        self.threshold = round(p * 256)  # a byte below this drops its element
        self.scale = 256 / (256 - self.threshold)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.threshold == 0:
            return x
        n = x.numel()
        # full-range 64-bit draws, 8 uniform bytes each (random_() alone leaves the top bit 0)
        bits = torch.randint(-2**63, 2**63 - 1, ((n + 7) // 8,), dtype=torch.int64, device=x.device)
        keep = bits.view(torch.uint8)[:n].view(x.shape) >= self.threshold
        return x * keep * self.scale

    def extra_repr(self) -> str:
        return f"p={self.threshold / 256:.4f}"


def keep_freed_memory() -> bool:
    """Make this process's allocator keep freed blocks of up to 32 MiB for reuse instead of
    returning them to the system (glibc only; elsewhere nothing changes). Return whether it
    took effect. Process-wide: call it in processes that train or score."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        return bool(libc.mallopt(m_mmap_threshold, 32 << 20)) and bool(libc.mallopt(m_trim_threshold, 1 << 30))
    except (OSError, AttributeError):
        log.info("not glibc: the allocator keeps its defaults")
        return False
