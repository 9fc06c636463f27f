"""The cpu plugin's chunked PHILOX kernel gives the words of the core's definition
(``plugin_api.philox_words``) exactly, wherever a request starts and ends."""

from __future__ import annotations

import numpy as np
import pytest
from mbtorch_numpy.xp.philox import CHUNK_BLOCKS, philox_words_chunked

import mbtorch
from mbtorch.core.plugin_api import philox_words

CHUNK_WORDS = 4 * CHUNK_BLOCKS


@pytest.mark.parametrize("seed", [0, 1, 2**40 + 12345, 2**64 - 1])
@pytest.mark.parametrize("offset,n", [
    (0, 0), (0, 1), (3, 5), (2, 4),                      # inside one block
    (1, CHUNK_WORDS + 7),                                # a second, partial chunk
    (CHUNK_WORDS - 2, 9),                                # across a chunk boundary
    (0, 3 * CHUNK_WORDS),                                # whole chunks only
    (4 * 2**33 + 1, 100),                                # a block counter above 2**32
])
def test_chunked_words_equal_the_definition(seed, offset, n):
    expected = philox_words(np, seed, offset, n)
    actual = philox_words_chunked(np, seed, offset, n)
    assert actual.dtype == expected.dtype == np.int64
    assert actual.shape == (n,)
    np.testing.assert_array_equal(actual, expected)


def test_cpu_draws_use_the_same_stream_as_the_reference_backend(mini_device):
    """A large draw on cpu (chunked kernel) equals the same draw on the template backend (the
    definition itself), value for value."""
    shape = (3, CHUNK_WORDS // 3 + 5)
    mbtorch.manual_seed(7)
    cpu = mbtorch.empty(shape).uniform_().numpy()
    mbtorch.manual_seed(7)
    mini = mbtorch.empty(shape, device=mini_device).uniform_().numpy(force=True)
    np.testing.assert_array_equal(cpu, mini)
