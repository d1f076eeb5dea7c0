"""The training operations written for speed compute what torch's own would."""
import platform

import pytest
import torch
import torch.nn.functional as F

from recommender.ml.ops import Dropout, keep_freed_memory, linear_cross_entropy


@pytest.mark.parametrize("chunk", [1, 5, 64])
def test_linear_cross_entropy_equals_torch_and_so_do_its_gradients(chunk):
    torch.manual_seed(0)
    h = torch.randn(37, 8, requires_grad=True)
    W = torch.randn(11, 8, requires_grad=True)
    targets = torch.randint(0, 11, (37,))
    ours = linear_cross_entropy(h * 2, W, targets, chunk=chunk)
    (ours * 3).backward()
    grads = h.grad.clone(), W.grad.clone()
    h.grad = W.grad = None
    theirs = F.cross_entropy((h * 2) @ W.t(), targets)
    (theirs * 3).backward()
    assert torch.allclose(ours, theirs, atol=1e-6)
    assert torch.allclose(grads[0], h.grad, atol=1e-6) and torch.allclose(grads[1], W.grad, atol=1e-6)


def test_linear_cross_entropy_of_nothing_is_nan_as_torch_says():
    assert torch.isnan(linear_cross_entropy(torch.zeros(0, 4), torch.ones(3, 4), torch.zeros(0, dtype=torch.long)))


def test_dropout_drops_its_share_keeps_the_mean_and_is_off_in_eval():
    torch.manual_seed(0)
    drop = Dropout(0.1)
    x = torch.ones(500, 1000)
    y = drop(x)
    assert abs(float((y == 0).float().mean()) - 26 / 256) < 0.002
    assert abs(float(y.mean()) - 1.0) < 0.005
    torch.manual_seed(0)
    assert torch.equal(drop(x), y), "the mask comes from torch's seeded generator"
    assert torch.equal(drop.eval()(x), x)
    assert torch.equal(Dropout(0.0).train()(x), x)
    with pytest.raises(ValueError):
        Dropout(1.0)


def test_the_allocator_keeps_freed_memory_on_glibc():
    """It takes effect on glibc (this project's Linux) and never raises elsewhere."""
    assert keep_freed_memory() is (platform.libc_ver()[0] == "glibc")
