"""eigh/eigvalsh, svd/svdvals and what stands on them (pinv, matrix_rank, cond, the 2/-2/'nuc'
matrix norms, torch.svd, pinverse, nuclear/frobenius norms, svd/pca_lowrank, lobpcg) against
PyTorch: values, reconstructions, sign-free gradients, batching, empty inputs and errors; each
on the cpu backend's LAPACK kernels and on the Jacobi decompositions (opencl's and mini's)."""

import math

import numpy as np
import pytest

import mbtorch as mt
from mbtorch.core.op import OPS, Op
from tests.conftest import assert_close

RNG = np.random.default_rng(15)
SPECTRAL = (Op.EIGH, Op.SVD)
TOL = {mt.float32: 2e-4, mt.float64: 1e-10}


@pytest.fixture(params=["native", "decomposed"])
def path(request):
    """Run with the cpu backend's LAPACK kernels, or with the Jacobi decompositions."""
    kernels = mt.zeros(1)._be.kernels
    saved = {op: kernels[op] for op in SPECTRAL}
    if request.param == "decomposed":
        for op in SPECTRAL:
            kernels[op] = None
    yield request.param
    for op, k in saved.items():
        kernels[op] = k


def _pair(torch, arr, dtype="float64", grad=False):
    t = torch.tensor(arr, dtype=getattr(torch, dtype), requires_grad=grad)
    m = mt.tensor(arr, dtype=getattr(mt, dtype), requires_grad=grad)
    return t, m


def _recon_eigh(L, V):
    return (V * L.unsqueeze(-2)) @ V.mT


def _recon_svd(U, S, Vh):
    k = S.shape[-1]
    return (U[..., :k] * S.unsqueeze(-2)) @ Vh[..., :k, :]


# -- eigh -------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(1, 1), (3, 3), (4, 4), (2, 5, 5), (2, 1, 6, 6), (0, 3, 3),
                                   (2, 0, 0)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("uplo", ["L", "U"])
def test_eigh_matches_torch(torch_or_skip, path, shape, dtype, uplo):
    torch = torch_or_skip
    t, m = _pair(torch, RNG.standard_normal(shape), dtype)
    L, V = torch.linalg.eigh(t, UPLO=uplo)
    mL, mV = mt.linalg.eigh(m, UPLO=uplo)
    tol = TOL[mL.dtype]
    assert mL.dtype is m.dtype and mV.dtype is m.dtype
    assert_close(mL, L, rtol=tol, atol=tol)
    assert_close(mt.linalg.eigvalsh(m, uplo), L, rtol=tol, atol=tol)
    # vectors are defined up to sign: compare the matrix they rebuild and orthogonality
    assert_close(_recon_eigh(mL, mV), _recon_eigh(L, V), rtol=tol, atol=tol)
    n = shape[-1]
    assert_close(mV.mT @ mV, np.broadcast_to(np.eye(n), mV.shape), rtol=tol, atol=tol)


def test_eigh_reads_only_its_triangle(path):
    a = RNG.standard_normal((4, 4))
    low = mt.linalg.eigvalsh(mt.tensor(np.tril(a) + np.tril(a, -1).T))
    assert_close(mt.linalg.eigvalsh(mt.tensor(a)), low, rtol=1e-10, atol=1e-10)
    up = mt.linalg.eigvalsh(mt.tensor(np.triu(a) + np.triu(a, 1).T))
    assert_close(mt.linalg.eigvalsh(mt.tensor(a), UPLO="U"), up, rtol=1e-10, atol=1e-10)


def test_eigh_repeated_and_noncontiguous(path):
    eye = mt.eye(5, dtype=mt.float64)
    L, V = mt.linalg.eigh(eye * 2)
    assert_close(L, np.full(5, 2.0), rtol=0, atol=1e-14)
    assert_close(V @ V.mT, np.eye(5), rtol=0, atol=1e-14)
    a = RNG.standard_normal((3, 4, 4))
    x = mt.tensor(a).transpose(-1, -2)  # a non-contiguous view
    want = np.linalg.eigvalsh(np.swapaxes(a, -1, -2))
    assert_close(mt.linalg.eigvalsh(x), want, rtol=1e-10, atol=1e-10)


def test_eigh_gradients_match_torch(torch_or_skip, path):
    torch = torch_or_skip
    a = RNG.standard_normal((2, 4, 4))
    w = RNG.standard_normal((2, 4, 4))
    t, m = _pair(torch, a, grad=True)
    L, V = torch.linalg.eigh(t)
    mL, mV = mt.linalg.eigh(m)
    # sign-free: eigenvalues, the rebuilt matrix, a projector onto two eigenvectors
    (torch.sin(L).sum() + (_recon_eigh(L * L, V) * torch.tensor(w)).sum()
     + (V[..., :2] @ V[..., :2].mT * torch.tensor(w)).sum()).backward()
    (mL.sin().sum() + (_recon_eigh(mL * mL, mV) * mt.tensor(w)).sum()
     + (mV[..., :2] @ mV[..., :2].mT * mt.tensor(w)).sum()).backward()
    assert_close(m.grad, t.grad, rtol=1e-8, atol=1e-8)
    assert mL.grad_fn.name() == "LinalgEighBackward0"


def test_eigvalsh_gradient_with_repeated_eigenvalues(torch_or_skip, path):
    """Only the eigenvalues are used: finite even where the eigenvalue gaps are zero."""
    torch = torch_or_skip
    t, m = _pair(torch, np.eye(3) * 2.0, grad=True)
    torch.linalg.eigvalsh(t).pow(2).sum().backward()
    mt.linalg.eigvalsh(m).pow(2).sum().backward()
    assert_close(m.grad, t.grad, rtol=1e-12, atol=1e-12)


# -- svd --------------------------------------------------------------------------------------
SVD_SHAPES = [(1, 1), (3, 3), (4, 2), (2, 5), (2, 3, 4), (3, 5, 3), (2, 1, 2, 6), (0, 3, 2),
              (3, 0), (0, 4), (7, 6)]


@pytest.mark.parametrize("shape", SVD_SHAPES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("full", [False, True])
def test_svd_matches_torch(torch_or_skip, path, shape, dtype, full):
    torch = torch_or_skip
    t, m = _pair(torch, RNG.standard_normal(shape), dtype)
    U, S, Vh = torch.linalg.svd(t, full_matrices=full)
    mU, mS, mVh = mt.linalg.svd(m, full_matrices=full)
    tol = TOL[mS.dtype]
    assert (mU.shape, mS.shape, mVh.shape) == (U.shape, S.shape, Vh.shape)
    assert mU.dtype is mS.dtype is mVh.dtype is m.dtype
    assert_close(mS, S, rtol=tol, atol=tol)
    assert_close(mt.linalg.svdvals(m), S, rtol=tol, atol=tol)
    assert_close(_recon_svd(mU, mS, mVh), t, rtol=tol, atol=tol)
    for Q in (mU.mT @ mU, mVh @ mVh.mT):
        assert_close(Q, np.broadcast_to(np.eye(Q.shape[-1]), Q.shape), rtol=tol, atol=tol)


@pytest.mark.parametrize("shape", [(3, 3), (5, 3), (3, 5)])
def test_svd_of_rank_deficient_matrices(path, shape):
    """Rank 1: the null directions of U (and V) are completed to orthonormal bases."""
    a = np.outer(RNG.standard_normal(shape[0]), RNG.standard_normal(shape[1]))
    for x in (mt.tensor(a), mt.tensor(a[:1]).expand(*shape), mt.zeros(*shape, dtype=mt.float64)):
        want = np.linalg.svd(x.numpy(), compute_uv=False)
        for full in (False, True):
            U, S, Vh = mt.linalg.svd(x, full_matrices=full)
            assert_close(S, want, rtol=1e-10, atol=1e-10)
            assert_close(_recon_svd(U, S, Vh), x, rtol=1e-10, atol=1e-10)
            assert_close(U.mT @ U, np.eye(U.shape[-1]), rtol=0, atol=1e-10)
            assert_close(Vh @ Vh.mT, np.eye(Vh.shape[-2]), rtol=0, atol=1e-10)


@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 4), (2, 3, 2)])
@pytest.mark.parametrize("full", [False, True])
def test_svd_gradients_match_torch(torch_or_skip, path, shape, full):
    torch = torch_or_skip
    a, w = RNG.standard_normal(shape), RNG.standard_normal(shape)
    t, m = _pair(torch, a, grad=True)

    def loss(lib, x, wt):
        U, S, Vh = lib.linalg.svd(x, full_matrices=full)
        k = S.shape[-1]
        Uk, Vk = U[..., :k], Vh[..., :k, :]
        return ((S ** 3).sum() + ((Uk * S.unsqueeze(-2).sqrt()) @ Vk * wt).sum()
                + (Uk[..., :1] @ Uk[..., :1].mT).pow(2).sum() + (Vk[..., :1, :].mT @ Vk[..., :1, :]
                                                                  ).sum())

    loss(torch, t, torch.tensor(w)).backward()
    loss(mt, m, mt.tensor(w)).backward()
    assert_close(m.grad, t.grad, rtol=1e-8, atol=1e-8)
    t.grad = m.grad = None
    torch.linalg.svdvals(t).sum().backward()
    mt.linalg.svdvals(m).sum().backward()
    assert_close(m.grad, t.grad, rtol=1e-10, atol=1e-10)


def test_svd_gradient_names(torch_or_skip):
    m = mt.tensor(RNG.standard_normal((3, 2)), requires_grad=True)
    assert mt.linalg.svd(m).S.grad_fn.name() == "LinalgSvdBackward0"


def test_old_svd_and_methods(torch_or_skip, path):
    torch = torch_or_skip
    a = RNG.standard_normal((2, 4, 3))
    t, m = _pair(torch, a)
    for some in (True, False):
        U, S, V = torch.svd(t, some=some)
        mU, mS, mV = mt.svd(m, some=some)
        assert (mU.shape, mV.shape) == (U.shape, V.shape)
        k = S.shape[-1]
        assert_close((mU[..., :k] * mS.unsqueeze(-2)) @ mV[..., :k].mT, t, rtol=1e-10,
                     atol=1e-10)
    U, S, V = torch.svd(t, compute_uv=False)
    mU, mS, mV = m.svd(compute_uv=False)
    assert_close(mS, S, rtol=1e-10, atol=1e-10)
    assert_close(mU, U)
    assert_close(mV, V)
    assert repr(mt.svd(m)).startswith("mbtorch.return_types.svd(")
    assert mt.linalg.svd(m)._fields == ("U", "S", "Vh")
    assert mt.linalg.eigh(m[0, :3]).eigenvalues.shape == (3,)


# -- built on them ----------------------------------------------------------------------------
PINV_KW = [{}, {"hermitian": True}, {"rtol": 0.3}, {"atol": 0.5}, {"atol": 0.2, "rtol": 0.1},
           {"rcond": 0.25}]


@pytest.mark.parametrize("kw", PINV_KW)
@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 2, 5), (0, 3), (2, 0, 2)])
def test_pinv_and_matrix_rank(torch_or_skip, path, kw, shape):
    torch = torch_or_skip
    if kw.get("hermitian") and shape[-1] != shape[-2]:
        return
    a = RNG.standard_normal(shape)
    if kw.get("hermitian"):
        a = a + np.swapaxes(a, -1, -2)
    t, m = _pair(torch, a)
    if "rcond" in kw:
        want, got = torch.linalg.pinv(t, kw["rcond"]), mt.linalg.pinv(m, kw["rcond"])
        tol = {"tol": kw["rcond"]}
    else:
        want, got = torch.linalg.pinv(t, **kw), mt.linalg.pinv(m, **kw)
        tol = kw
    assert_close(got, want, rtol=1e-9, atol=1e-9)
    assert_close(mt.linalg.matrix_rank(m, **tol), torch.linalg.matrix_rank(t, **tol))


def test_tolerances_as_tensors(torch_or_skip, path):
    """``atol``/``rtol`` tensors broadcast against the batch, one tolerance per matrix."""
    torch = torch_or_skip
    t, m = _pair(torch, RNG.standard_normal((3, 4, 4)))
    tol = np.array([0.1, 0.8, 1.5])
    assert_close(mt.linalg.pinv(m, atol=mt.tensor(tol)),
                 torch.linalg.pinv(t, atol=torch.tensor(tol)), rtol=1e-10, atol=1e-10)
    assert_close(mt.linalg.matrix_rank(m, atol=mt.tensor(tol), rtol=mt.tensor(0.2)),
                 torch.linalg.matrix_rank(t, atol=torch.tensor(tol), rtol=torch.tensor(0.2)))


def test_pinv_gradient_and_pinverse(torch_or_skip, path):
    torch = torch_or_skip
    t, m = _pair(torch, RNG.standard_normal((4, 3)), grad=True)
    torch.linalg.pinv(t).pow(2).sum().backward()
    mt.linalg.pinv(m).pow(2).sum().backward()
    assert_close(m.grad, t.grad, rtol=1e-8, atol=1e-8)
    t, m = t.detach(), m.detach()
    assert_close(m.pinverse(), t.pinverse(), rtol=1e-10, atol=1e-10)
    assert_close(mt.pinverse(m, 0.5), torch.pinverse(t, 0.5), rtol=1e-10, atol=1e-10)


def test_matrix_rank_of_singular_matrices(torch_or_skip, path):
    torch = torch_or_skip
    a = np.stack([np.outer([1.0, 2, 3], [1.0, -1, 2]), np.eye(3), np.zeros((3, 3))])
    t, m = _pair(torch, a)
    want = torch.linalg.matrix_rank(t)
    assert_close(mt.linalg.matrix_rank(m), want)
    assert_close(mt.linalg.matrix_rank(m + m.mT, hermitian=True),
                 torch.linalg.matrix_rank(t + t.mT, hermitian=True))
    assert mt.linalg.matrix_rank(m).dtype is mt.int64


@pytest.mark.parametrize("p", [None, 2, -2, "fro", "nuc", math.inf, -math.inf, 1, -1])
def test_cond(torch_or_skip, path, p):
    torch = torch_or_skip
    a = RNG.standard_normal((2, 4, 4))
    t, m = _pair(torch, a)
    assert_close(mt.linalg.cond(m, p), torch.linalg.cond(t, p), rtol=1e-8, atol=1e-8)
    singular = np.ones((3, 3))
    if p not in (None, 2, -2):  # a singular matrix by LU: infinitely ill-conditioned
        assert mt.linalg.cond(mt.tensor(singular), p).item() == math.inf
    if p in (None, 2, -2):
        r = RNG.standard_normal((3, 5))
        assert_close(mt.linalg.cond(mt.tensor(r), p), torch.linalg.cond(torch.tensor(r), p),
                     rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("ord", ["nuc", 2, -2])
def test_matrix_norm_spectral_orders(torch_or_skip, path, ord):
    torch = torch_or_skip
    a = RNG.standard_normal((2, 3, 4))
    t, m = _pair(torch, a, grad=True)
    for dim, keepdim in (((-2, -1), False), ((0, 2), True), ((2, 1), False)):
        want = torch.linalg.matrix_norm(t, ord, dim, keepdim)
        got = mt.linalg.matrix_norm(m, ord, dim, keepdim)
        assert_close(got, want.detach(), rtol=1e-10, atol=1e-10)
    torch.linalg.matrix_norm(t, ord).sum().backward()
    mt.linalg.matrix_norm(m, ord).sum().backward()
    assert_close(m.grad, t.grad, rtol=1e-8, atol=1e-8)
    assert_close(mt.linalg.norm(m[0], ord), torch.linalg.norm(t[0], ord).detach(), rtol=1e-10)
    assert_close(mt.linalg.matrix_norm(m, ord, dtype=mt.float64),
                 torch.linalg.matrix_norm(t, ord, dtype=torch.float64).detach(), rtol=1e-10)


@pytest.mark.filterwarnings("ignore::UserWarning")  # PyTorch deprecates these two names
def test_nuclear_and_frobenius_norm(torch_or_skip):
    torch = torch_or_skip
    a = RNG.standard_normal((3, 4, 2))
    t, m = _pair(torch, a)
    assert_close(mt.nuclear_norm(m[0]), torch.nuclear_norm(t[0]), rtol=1e-10)
    assert_close(mt.nuclear_norm(m[0], True), torch.nuclear_norm(t[0], True), rtol=1e-10)
    assert_close(mt.nuclear_norm(m, (0, 2)), torch.nuclear_norm(t, (0, 2)), rtol=1e-10)
    assert_close(mt.frobenius_norm(m, (1, 2)), torch.frobenius_norm(t, (1, 2)), rtol=1e-10)
    assert_close(mt.frobenius_norm(m, 0, True), torch.frobenius_norm(t, 0, True), rtol=1e-10)


def test_svd_and_pca_lowrank():
    mt.manual_seed(0)
    low = RNG.standard_normal((2, 30, 4)) @ RNG.standard_normal((2, 4, 20))  # rank 4
    x = mt.tensor(low)
    U, S, V = mt.svd_lowrank(x, q=6)
    assert (U.shape, S.shape, V.shape) == ((2, 30, 6), (2, 6), (2, 20, 6))
    assert_close(S[..., :4], np.linalg.svd(low, compute_uv=False)[..., :4], rtol=1e-8)
    assert_close((U * S.unsqueeze(-2)) @ V.mT, low, rtol=1e-8, atol=1e-8)
    U, S, V = mt.svd_lowrank(x.mT, q=5)  # wide: the transposed problem
    assert_close((U * S.unsqueeze(-2)) @ V.mT, low.swapaxes(-1, -2), rtol=1e-8, atol=1e-8)
    U, S, V = mt.pca_lowrank(x, q=4)
    centred = low - low.mean(-2, keepdims=True)
    assert_close(S, np.linalg.svd(centred, compute_uv=False)[..., :4], rtol=1e-8)
    with pytest.raises(ValueError, match="q"):
        mt.pca_lowrank(x, q=50)
    with pytest.raises(ValueError, match="niter"):
        mt.pca_lowrank(x, niter=-1)


@pytest.mark.parametrize("largest", [True, False])
def test_lobpcg_matches_torch(torch_or_skip, largest):
    torch = torch_or_skip
    a = RNG.standard_normal((2, 18, 18))
    A = a @ a.swapaxes(-1, -2) + np.eye(18)
    Bm = np.diag(RNG.uniform(1.0, 2.0, 18))
    t, m = _pair(torch, A)
    mt.manual_seed(1)
    for kw, tkw in (({}, {}), ({"B": mt.tensor(Bm[None].repeat(2, 0))},
                              {"B": torch.tensor(Bm[None].repeat(2, 0))})):
        E, X = mt.lobpcg(m, k=3, largest=largest, tol=1e-10, **kw)
        tE, tX = torch.lobpcg(t, k=3, largest=largest, tol=1e-10, **tkw)
        assert X.shape == tuple(tX.shape)
        assert_close(E, tE, rtol=1e-7, atol=1e-7)  # same order: descending when largest
        BX = X if not kw else kw["B"] @ X
        assert_close(m @ X, BX * E.unsqueeze(-2), rtol=1e-5, atol=1e-5)
    E, X = mt.lobpcg(m[0], X=mt.tensor(RNG.standard_normal((18, 2))), largest=largest)
    assert_close(E, torch.lobpcg(t[0], k=2, largest=largest)[0], rtol=1e-6, atol=1e-6)


def test_lobpcg_errors(torch_or_skip):
    torch = torch_or_skip
    for lib in (torch, mt):
        with pytest.raises(ValueError, match="3 x the number of requested eigenpairs"):
            lib.lobpcg(lib.eye(20, dtype=lib.float64), k=8)
        with pytest.raises(AssertionError):
            lib.lobpcg(lib.ones(3, 4), k=1)
    with pytest.raises(NotImplementedError, match="tracker"):
        mt.lobpcg(mt.eye(9, dtype=mt.float64), tracker=print)
    with pytest.raises(ValueError, match="method"):
        mt.lobpcg(mt.eye(9, dtype=mt.float64), method="fast")


# -- errors -----------------------------------------------------------------------------------
@pytest.mark.parametrize("fn, exc, msg", [
    (lambda: mt.linalg.eigh(mt.zeros(2, 3)), RuntimeError,
     "linalg.eigh: A must be batches of square matrices, but they are 2 by 3 matrices"),
    (lambda: mt.linalg.eigvalsh(mt.zeros(3)), RuntimeError,
     "linalg.eigh: The input tensor A must have at least 2 dimensions."),
    (lambda: mt.linalg.eigh(mt.zeros(2, 2, dtype=mt.int64)), NotImplementedError,
     "\"linalg_eigh_cpu\" not implemented for 'Long'"),
    (lambda: mt.linalg.eigh(mt.zeros(2, 2, dtype=mt.float16)), NotImplementedError,
     "not implemented for 'Half'"),
    (lambda: mt.linalg.eigh(mt.zeros(2, 2), UPLO="X"), RuntimeError,
     "Expected UPLO argument to be 'L' or 'U', but got X"),
    (lambda: mt.linalg.eigh([[1.0]]), TypeError, "must be Tensor"),
    (lambda: mt.linalg.svd(mt.zeros(3)), RuntimeError,
     "linalg.svd: The input tensor A must have at least 2 dimensions."),
    (lambda: mt.linalg.svd(mt.zeros(3, 2, dtype=mt.int32)), RuntimeError,
     "linalg.svd: Expected a floating point or complex tensor as input. Got Int"),
    (lambda: mt.linalg.svdvals(mt.zeros(2, 3, dtype=mt.float16)), NotImplementedError,
     "\"linalg_svd_cpu\" not implemented for 'Half'"),
    (lambda: mt.linalg.svd(mt.full((2, 2), math.nan)), mt.linalg.LinAlgError,
     "contained non-finite values"),
    (lambda: mt.linalg.svd(mt.zeros(2, 2), driver="gesvd"), RuntimeError, "driver"),
    (lambda: mt.svd(mt.zeros(3)), RuntimeError,
     "linalg.svd: input should have at least 2 dimensions, but has 1 dimensions instead"),
    (lambda: mt.linalg.pinv(mt.ones(3, dtype=mt.float64)), RuntimeError,
     "linalg.pinv(Double{[3]}): expected a tensor with 2 or more dimensions"),
    (lambda: mt.linalg.pinv(mt.ones(3, 2, dtype=mt.int64)), RuntimeError, "Long{[3, 2]}"),
    (lambda: mt.linalg.pinv(mt.ones(3, 2), hermitian=True), RuntimeError,
     "but they are 3 by 2 matrices"),
    (lambda: mt.linalg.matrix_rank(mt.ones(3)), RuntimeError, "at least 2 dimensions"),
    (lambda: mt.linalg.matrix_rank(mt.ones(3, 3, dtype=mt.int64)), RuntimeError,
     "doesn't handle types other than float and double"),
    (lambda: mt.linalg.cond(mt.ones(2, 3), 1), RuntimeError,
     "linalg.cond(ord=1): A must be batches of square matrices, but they are 2 by 3"),
    (lambda: mt.linalg.cond(mt.ones(2, 2), "abc"), RuntimeError,
     "linalg.cond got an invalid norm type: abc"),
    (lambda: mt.linalg.cond(mt.ones(2, 2), 3), RuntimeError, "invalid norm type: 3"),
    (lambda: mt.linalg.matrix_norm(mt.ones(0, 2), -2), IndexError, "non-zero size"),
    (lambda: mt.nuclear_norm(mt.ones(3)), RuntimeError, "at least 2 dimensions"),
    (lambda: mt.frobenius_norm(mt.ones(2, 2, 2), (0, 1, 2)), RuntimeError,
     "Expected at most 2 dimensions"),
])
def test_errors(fn, exc, msg):
    with pytest.raises(exc) as info:
        fn()
    assert msg in str(info.value)


def test_errors_are_pytorchs_types(torch_or_skip):
    torch = torch_or_skip
    assert issubclass(mt.linalg.LinAlgError, RuntimeError)
    for lib in (torch, mt):
        with pytest.raises(RuntimeError):
            lib.linalg.eigh(lib.zeros(2, 3))
        with pytest.raises(NotImplementedError):
            lib.linalg.eigh(lib.zeros(2, 2, dtype=lib.int64))
        with pytest.raises(lib.linalg.LinAlgError):
            lib.linalg.svd(lib.full((2, 2), math.nan))


def test_empty_norms_match_torch(torch_or_skip):
    torch = torch_or_skip
    for ord in ("nuc", 2):
        assert mt.linalg.matrix_norm(mt.ones(0, 2), ord).item() == \
            torch.linalg.matrix_norm(torch.ones(0, 2), ord).item()
    assert_close(mt.linalg.cond(mt.ones(2, 0, 0)), torch.linalg.cond(torch.ones(2, 0, 0)))


# -- the decompositions on every backend ------------------------------------------------------
def test_decompositions_match_native_kernels():
    x = mt.tensor(RNG.standard_normal((2, 5, 5)))
    sym = x + x.mT
    L, V = OPS[Op.EIGH].decomposition(sym, "L")
    assert_close(L, np.linalg.eigvalsh(sym.numpy()), rtol=1e-12, atol=1e-12)
    U, S, Vh = OPS[Op.SVD].decomposition(x[:, :, :3], True)
    assert U.shape == (2, 5, 5) and Vh.shape == (2, 3, 3)
    assert_close(S, np.linalg.svd(x[:, :, :3].numpy(), compute_uv=False), rtol=1e-12,
                 atol=1e-12)


def test_decomposition_path_on_mini(mini_device):
    a = RNG.standard_normal((2, 3, 3))
    x = mt.tensor(a, device=mini_device, requires_grad=True)
    L, V = mt.linalg.eigh(x + x.mT)
    assert L.device.type == "mini"
    assert_close(L, np.linalg.eigvalsh(a + a.swapaxes(-1, -2)), rtol=1e-10, atol=1e-10)
    assert_close(_recon_eigh(L, V), a + a.swapaxes(-1, -2), rtol=1e-10, atol=1e-10)
    U, S, Vh = mt.linalg.svd(x[:, :, :2])
    assert_close(S, np.linalg.svd(a[:, :, :2], compute_uv=False), rtol=1e-10, atol=1e-10)
    assert_close(_recon_svd(U, S, Vh), a[:, :, :2], rtol=1e-10, atol=1e-10)
    (L.sum() + S.sum()).backward()
    want = 2 * np.eye(3) + np.pad(np.linalg.svd(a[:, :, :2])[0][..., :2]
                                  @ np.linalg.svd(a[:, :, :2])[2], ((0, 0), (0, 0), (0, 1)))
    assert_close(x.grad, np.broadcast_to(want, (2, 3, 3)), rtol=1e-10, atol=1e-10)
