"""Random sampling: the Philox word stream (known answers), how words become values,
determinism and generator state, distribution moments, dtypes and argument errors."""

from __future__ import annotations

import numpy as np
import pytest

import mbtorch as mt
from mbtorch.core.plugin_api import philox_words

M0, M1, W0, W1, MASK = 0xD2511F53, 0xCD9E8D57, 0x9E3779B9, 0xBB67AE85, 0xFFFFFFFF


def philox_ref(ctr: tuple, key: tuple) -> tuple:
    """Philox4x32-10 written from the Salmon et al. (SC'11) description, one block at a time."""
    c0, c1, c2, c3 = ctr
    k0, k1 = key
    for rnd in range(10):
        if rnd:
            k0, k1 = (k0 + W0) & MASK, (k1 + W1) & MASK
        p0, p1 = M0 * c0, M1 * c2
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ k0, p1 & MASK, (p0 >> 32) ^ c3 ^ k1, p0 & MASK)
    return c0, c1, c2, c3


def stream_ref(seed: int, offset: int, n: int) -> list[int]:
    key = (seed & MASK, seed >> 32)
    out = []
    for i in range(offset, offset + n):
        block = i // 4
        out.append(philox_ref((block & MASK, block >> 32, 0, 0), key)[i % 4])
    return out


# Known-answer vectors of the Random123 distribution (kat_vectors, philox4x32 10 rounds).
KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((MASK, MASK, MASK, MASK), (MASK, MASK), (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


@pytest.mark.parametrize("ctr, key, expected", KAT)
def test_reference_matches_random123_known_answers(ctr, key, expected):
    assert philox_ref(ctr, key) == expected


def test_stream_known_answer_seed_zero():
    words = philox_words(np, 0, 0, 4)
    assert words.dtype == np.int64
    assert words.tolist() == [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]


@pytest.mark.parametrize("seed, offset, n", [(0, 0, 9), (1, 3, 7), (2**40 + 5, 1, 13),
                                             (2**64 - 1, 2**34 + 2, 6), (123, 0, 0)])
def test_philox_words_match_reference(seed, offset, n):
    assert philox_words(np, seed, offset, n).tolist() == stream_ref(seed, offset, n)


def test_rand_float32_from_words_and_offsets_advance():
    g = mt.Generator().manual_seed(7)
    a = mt.rand(5, generator=g)
    b = mt.rand(2, 2, generator=g)
    assert g.get_offset() == 9
    w = np.array(stream_ref(7, 0, 9), dtype=np.uint64)
    expected = (w >> 8).astype(np.float32) * np.float32(2.0 ** -24)
    np.testing.assert_array_equal(a.numpy(), expected[:5])
    np.testing.assert_array_equal(b.numpy(), expected[5:].reshape(2, 2))


def test_rand_float64_uses_53_bits_from_two_words():
    g = mt.Generator().manual_seed(11)
    x = mt.rand(3, generator=g, dtype=mt.float64)
    w = stream_ref(11, 0, 6)
    expected = [((w[i] >> 5) * 2**26 + (w[3 + i] >> 6)) * 2.0 ** -53 for i in range(3)]
    assert x.tolist() == expected
    assert g.get_offset() == 6


def test_randint_from_words():
    g = mt.Generator().manual_seed(5)
    x = mt.randint(-3, 1000, (4,), generator=g)
    w = stream_ref(5, 0, 8)
    expected = [-3 + ((w[i] >> 1) * 2**32 + w[4 + i]) % 1003 for i in range(4)]
    assert x.tolist() == expected


def test_manual_seed_reproduces_every_sampler():
    def draw():
        return [mt.rand(3), mt.randn(3), mt.randint(10, (3,)), mt.randperm(5),
                mt.bernoulli(mt.full((4,), 0.5)), mt.normal(0.0, 2.0, (3,)),
                mt.zeros(3).uniform_(-1, 1), mt.zeros(3).exponential_()]

    mt.manual_seed(1234)
    first = [t.tolist() for t in draw()]
    mt.manual_seed(1234)
    assert [t.tolist() for t in draw()] == first
    assert mt.initial_seed() == 1234


def test_generators_are_independent_of_the_default():
    g = mt.Generator().manual_seed(3)
    a = mt.randn(4, generator=g).tolist()
    mt.manual_seed(99)
    mt.rand(10)
    g.manual_seed(3)
    assert mt.randn(4, generator=g).tolist() == a


def test_state_round_trip():
    mt.manual_seed(42)
    mt.rand(3)
    state = mt.get_rng_state()
    assert state.dtype is mt.uint8 and state.shape == (16,)
    a = mt.rand(4).tolist()
    mt.set_rng_state(state)
    assert mt.rand(4).tolist() == a
    g = mt.Generator()
    g.set_state(state)
    assert g.initial_seed() == 42 and g.get_offset() == 3


def test_seed_and_negative_seed():
    s = mt.seed()
    assert 0 <= s < 2**64 and mt.initial_seed() == s
    assert mt.Generator().manual_seed(-1).initial_seed() == 2**64 - 1
    with pytest.raises(ValueError, match="seed"):
        mt.manual_seed(2**64)
    with pytest.raises(TypeError, match="uint8"):
        mt.Generator().set_state(mt.zeros(16))
    with pytest.raises(RuntimeError, match="16 bytes"):
        mt.Generator().set_state(mt.zeros(3, dtype=mt.uint8))


def test_default_seed_matches_torch_and_generator_repr():
    assert mt.Generator().initial_seed() == 67280421310721
    assert "seed=" in repr(mt.Generator())


# -- distributions ----------------------------------------------------------------------------
N = 40_000


def _np(t):
    return t.numpy().astype(np.float64)


def test_uniform_moments_and_range():
    mt.manual_seed(0)
    x = _np(mt.rand(N))
    assert 0.0 <= x.min() and x.max() < 1.0
    assert abs(x.mean() - 0.5) < 5 * np.sqrt(1 / 12 / N)
    assert abs(x.var() - 1 / 12) < 0.003
    y = _np(mt.zeros(N).uniform_(-2.0, 3.0))
    assert -2.0 <= y.min() and y.max() < 3.0 and abs(y.mean() - 0.5) < 0.05


def test_normal_moments():
    mt.manual_seed(1)
    for dtype in (mt.float32, mt.float64):
        z = _np(mt.randn(N, dtype=dtype))
        assert abs(z.mean()) < 5 / np.sqrt(N)
        assert abs(z.std() - 1.0) < 0.02
        assert abs(np.mean(z**3)) < 0.05 and abs(np.mean(z**4) - 3.0) < 0.15
    x = _np(mt.normal(3.0, 0.5, (N,)))
    assert abs(x.mean() - 3.0) < 0.02 and abs(x.std() - 0.5) < 0.01
    y = _np(mt.zeros(N, dtype=mt.float64).normal_(-1.0, 2.0))
    assert abs(y.mean() + 1.0) < 0.05 and abs(y.std() - 2.0) < 0.04


def test_normal_tensor_parameters_broadcast():
    mean = mt.tensor([[0.0], [100.0]])
    std = mt.tensor([1.0, 0.0, 2.0])
    out = mt.normal(mean, std)
    assert out.shape == (2, 3) and out.dtype is mt.float32
    assert out[1, 1].item() == 100.0 and out[0, 1].item() == 0.0
    assert mt.normal(mt.zeros(2, dtype=mt.float64), 1.0).dtype is mt.float64
    assert mt.normal(0.0, mt.ones(3)).shape == (3,)


def test_randint_covers_range_uniformly():
    mt.manual_seed(2)
    x = mt.randint(3, 9, (N,)).numpy()
    assert x.dtype == np.int64
    counts = np.bincount(x - 3, minlength=6)
    assert counts.sum() == N and x.min() == 3 and x.max() == 8
    expected = N / 6
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < 30  # 5 degrees of freedom: p ~ 1e-5


def test_randperm_is_a_permutation():
    mt.manual_seed(3)
    for n in (0, 1, 2, 17, 1000):
        p = mt.randperm(n)
        assert p.dtype is mt.int64 and sorted(p.tolist()) == list(range(n))
    assert mt.randperm(5, dtype=mt.float32).dtype is mt.float32
    assert mt.randperm(50).tolist() != list(range(50))


def test_bernoulli_and_exponential_means():
    mt.manual_seed(4)
    p = mt.full((N,), 0.3)
    b = mt.bernoulli(p)
    assert b.dtype is mt.float32 and set(np.unique(b.numpy())) <= {0.0, 1.0}
    assert abs(_np(b).mean() - 0.3) < 0.015
    assert abs(_np(mt.zeros(N).bernoulli_(0.8)).mean() - 0.8) < 0.015
    assert mt.bernoulli(mt.zeros(3), 1.0).tolist() == [1.0, 1.0, 1.0]
    assert mt.bernoulli(mt.tensor([0.0, 1.0])).tolist() == [0.0, 1.0]
    e = _np(mt.zeros(N).exponential_(2.0))
    assert e.min() >= 0 and abs(e.mean() - 0.5) < 0.02


def test_random_inplace_ranges():
    mt.manual_seed(5)
    assert set(mt.zeros(200, dtype=mt.int64).random_(4).tolist()) == {0, 1, 2, 3}
    assert set(mt.zeros(200, dtype=mt.int32).random_(-2, 1).tolist()) == {-2, -1, 0}
    assert set(mt.zeros(100, dtype=mt.bool).random_().tolist()) == {False, True}
    u8 = mt.zeros(2000, dtype=mt.uint8).random_().numpy()
    assert u8.max() > 240 and u8.min() < 15
    f = mt.zeros(1000).random_().numpy()
    assert f.max() <= 2**24 and f.min() >= 0 and np.all(f == np.floor(f))


# -- dtypes, shapes, kwargs --------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [mt.float16, mt.bfloat16, mt.float32, mt.float64])
def test_float_dtypes_stay_in_unit_interval(dtype):
    x = mt.rand(4000, dtype=dtype)
    assert x.dtype is dtype
    v = x.float().numpy()
    assert v.min() >= 0.0 and v.max() < 1.0
    assert mt.randn(3, dtype=dtype).dtype is dtype


def test_shapes_and_like_variants():
    assert mt.rand(2, 3).shape == (2, 3) and mt.rand((2, 3)).shape == (2, 3)
    assert mt.rand(()).shape == () and mt.randn(0, 4).shape == (0, 4)
    base = mt.zeros(2, 5, dtype=mt.float64)
    assert mt.rand_like(base).dtype is mt.float64 and mt.randn_like(base).shape == (2, 5)
    r = mt.randint_like(base, 10)
    assert r.dtype is mt.float64 and r.numpy().max() < 10
    assert mt.randint_like(mt.zeros(3, dtype=mt.int32), -4, -1).numpy().max() < -1
    assert mt.randint(5, size=(2,), dtype=mt.uint8).dtype is mt.uint8
    assert mt.randint(low=1, high=2, size=(3,)).tolist() == [1, 1, 1]
    x = mt.randn(3, requires_grad=True)
    assert x.requires_grad and x.is_leaf


@pytest.mark.parametrize("call, exc, match", [
    (lambda: mt.randint(5, 3, (2,)), RuntimeError, "less than 'high'"),
    (lambda: mt.randint(3, 3, (2,)), RuntimeError, "less than 'high'"),
    (lambda: mt.randint(300, (2,), dtype=mt.uint8), RuntimeError, "out of bounds for uint8"),
    (lambda: mt.randint(-1, 3, (2,), dtype=mt.uint8), RuntimeError, "out of bounds"),
    (lambda: mt.randint(-2**63, 2**63 - 1, (2,)), RuntimeError, "wider than 2\\*\\*63"),
    (lambda: mt.randint(3, (-2,)), RuntimeError, "negative dimension -2"),
    (lambda: mt.rand(-1), RuntimeError, "negative dimension -1"),
    (lambda: mt.randperm(-1), RuntimeError, "negative dimension"),
    (lambda: mt.randperm(300, dtype=mt.uint8), RuntimeError, "too large"),
    (lambda: mt.rand(2, dtype=mt.int64), NotImplementedError, "int64"),
    (lambda: mt.randn(2, dtype=mt.int32), NotImplementedError, "int32"),
    (lambda: mt.rand(2, generator=5), TypeError, "generator"),
    (lambda: mt.bernoulli(mt.tensor([1.5])), RuntimeError, r"\[0, 1\]"),
    (lambda: mt.bernoulli(mt.tensor([1])), NotImplementedError, "int64"),
    (lambda: mt.zeros(2).bernoulli_(2.0), RuntimeError, "p=2.0"),
    (lambda: mt.normal(0.0, -1.0, (2,)), RuntimeError, "std >= 0.0"),
    (lambda: mt.normal(mt.zeros(2), mt.tensor([1.0, -1.0])), RuntimeError, "std >= 0.0"),
    (lambda: mt.zeros(3).uniform_(2, 1), RuntimeError, "from=2 > to=1"),
    (lambda: mt.zeros(3).exponential_(-1), RuntimeError, "lambda > 0.0"),
    (lambda: mt.zeros(3).random_(5, 3), RuntimeError, "'from' to be less than 'to'"),
    (lambda: mt.zeros(3, dtype=mt.int64).uniform_(), NotImplementedError, "int64"),
    (lambda: mt.rand(2, device="xyz"), RuntimeError, "no backend provides device 'xyz'"),
])
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_error_types_match_torch():
    torch = pytest.importorskip("torch")
    pairs = [(lambda m: m.randint(5, 3, (2,)),), (lambda m: m.rand(-1),),
             (lambda m: m.zeros(3).uniform_(2, 1),), (lambda m: m.normal(0.0, -1.0, (2,)),),
             (lambda m: m.randint(300, (2,), dtype=m.uint8),),
             (lambda m: m.rand(2, dtype=m.int64),), (lambda m: m.zeros(3).exponential_(-1),)]
    for (call,) in pairs:
        with pytest.raises(Exception) as ours:
            call(mt)
        with pytest.raises(Exception) as theirs:
            call(torch)
        assert ours.type is theirs.type, (ours.value, theirs.value)


def test_inplace_samplers_bump_version_and_respect_views():
    x = mt.zeros(4, 4)
    v0 = x._version
    x[1].uniform_(5.0, 6.0)
    assert x._version > v0
    rows = x.numpy()
    assert np.all((rows[1] >= 5) & (rows[1] < 6)) and np.all(rows[[0, 2, 3]] == 0)
