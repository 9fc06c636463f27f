"""mbtorch.export with dynamic dimensions: ``Dim``s make sizes symbolic (shapes print as
``float32[s0, 10]``, size attrs are expressions of the symbols), the program runs at every
size in range and checks its inputs, code that specializes a dynamic size is refused naming
the Dim, and save/load round-trips the expressions. Compared with torch.export on real
values."""

from __future__ import annotations

import io
import json
import math
import zipfile

import numpy as np
import pytest

import mbtorch as mt
from mbtorch.export import ConstraintViolationError, Dim, dims
from mbtorch.graph.ir import SymExpr
from tests.nn._compare import close, copy_state, to_mt

torch = pytest.importorskip("torch")


def _mlp(lib):
    return lib.nn.Sequential(lib.nn.Linear(10, 16), lib.nn.ReLU(), lib.nn.Linear(16, 3))


def _cnn(lib):
    return lib.nn.Sequential(lib.nn.Conv2d(1, 4, 3, padding=1), lib.nn.BatchNorm2d(4),
                             lib.nn.ReLU(), lib.nn.MaxPool2d(2), lib.nn.Flatten(),
                             lib.nn.Linear(4 * 4 * 4, 3))


def _pair(make):
    torch.manual_seed(0)
    tmod = make(torch).eval()
    mmod = make(mt).eval()
    copy_state(tmod, mmod)
    return tmod, mmod


@pytest.mark.parametrize("make,shape", [(_mlp, (4, 10)), (_cnn, (3, 1, 8, 8))])
def test_dynamic_batch_matches_torch_export_at_every_size(make, shape):
    tmod, mmod = _pair(make)
    tep = torch.export.export(tmod, (torch.randn(*shape),),
                              dynamic_shapes=({0: torch.export.Dim("batch", max=64)},))
    mep = mt.export.export(mmod, (mt.randn(*shape),),
                           dynamic_shapes=({0: Dim("batch", max=64)},))
    assert f"float32[s0, {', '.join(map(str, shape[1:]))}] = input['x']" in str(mep.graph)
    assert mep.range_constraints == {"s0": mt.export._dims.ValueRange(0, 64)}
    assert repr(mep.range_constraints["s0"]) == "VR[0, 64]"
    tm, mm = tep.module(), mep.module()
    for n in (0, 1, 2, 5, 17, 64):
        x = torch.randn(n, *shape[1:])
        with mt.no_grad():
            close(mm(to_mt(x)), tm(x), 1e-5, 1e-5, f"batch {n}")


def test_a_flattening_view_stores_its_target_as_an_expression():
    class Flat(mt.nn.Module):
        def forward(self, x):
            return x.view(x.shape[0], -1) * 2

    ep = mt.export.export(Flat(), (mt.randn(3, 4, 5),), dynamic_shapes=({0: Dim("b")},))
    view = next(n for n in ep.graph.op_nodes() if n.op.name == "VIEW")
    assert view.attrs == ((SymExpr.symbol("s0"), 20),)
    assert "float32[s0, 20] = view(%x, (s0, 20))" in str(ep.graph)
    for n in (2, 7):
        x = mt.randn(n, 4, 5)
        assert mt.equal(ep.module()(x), x.reshape(n, 20) * 2)


class _Tagger(mt.nn.Module):
    """Embedding + linear over (B, T), the last step's features and the length as a scalar."""

    def __init__(self, lib=mt):
        super().__init__()
        self.emb, self.out = lib.nn.Embedding(11, 6), lib.nn.Linear(6, 4)

    def forward(self, tokens):
        h = self.out(self.emb(tokens))
        return h, h[:, -1] + tokens.shape[1]


class _TorchTagger(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb, self.out = torch.nn.Embedding(11, 6), torch.nn.Linear(6, 4)

    def forward(self, tokens):
        h = self.out(self.emb(tokens))
        return h, h[:, -1] + tokens.shape[1]


def test_two_dynamic_dims_batch_and_sequence_length():
    torch.manual_seed(0)
    tmod, mmod = _TorchTagger(), _Tagger()
    copy_state(tmod, mmod)
    b, t = dims("b", "t", max=40)
    example = torch.randint(0, 11, (3, 5))
    tb, tt = torch.export.dims("b", "t", max=40)
    tep = torch.export.export(tmod, (example,), dynamic_shapes={"tokens": {0: tb, 1: tt}})
    mep = mt.export.export(mmod, (to_mt(example),), dynamic_shapes={"tokens": (b, t)})
    text = str(mep.graph)
    assert "int64[s0, s1] = input['x']" in text and "float32[s0, s1, 4]" in text
    assert "s0*s1" in text and "s1 - 1" in text  # the flattened indices, the last step
    assert set(mep.range_constraints) == {"s0", "s1"} and mep.dim_names == {"s0": "b", "s1": "t"}
    for n, m in ((2, 2), (1, 9), (6, 40)):
        x = torch.randint(0, 11, (n, m))
        with mt.no_grad():
            for a, e in zip(mep.module()(to_mt(x)), tep.module()(x)):
                close(a, e, 1e-5, 1e-5, f"{n}x{m}")


def test_inputs_outside_the_range_or_with_other_static_sizes_are_refused():
    _, mmod = _pair(_mlp)
    ep = mt.export.export(mmod, (mt.randn(4, 10),),
                          dynamic_shapes=({0: Dim("batch", min=3, max=8)},))
    m = ep.module()
    with pytest.raises(AssertionError, match=r"input at \*args\[0\]\.shape\[0\] to be in "
                                             r"\[3, 8\] \(Dim 'batch' \(s0\)\), but got 9"):
        m(mt.randn(9, 10))
    with pytest.raises(RuntimeError, match=r"\[3, 8\].*got 2"):
        m(mt.randn(2, 10))
    with pytest.raises(AssertionError, match=r"\*args\[0\]\.shape\[1\] to be equal to 10, "
                                             r"but got 11"):
        m(mt.randn(5, 11))
    with pytest.raises(AssertionError, match=r"\*args\[0\] to be a float32\[s0, 10\] tensor"):
        m(mt.randn(5, 10, 1))


def test_one_dim_shared_by_two_inputs_needs_equal_sizes():
    class Add(mt.nn.Module):
        def forward(self, x, y):
            return x + y

    b = Dim("b")
    ep = mt.export.export(Add(), (mt.randn(3, 2), mt.randn(3, 2)),
                          dynamic_shapes=({0: b}, {0: b}))
    assert str(ep.graph).count("float32[s0, 2]") == 3
    x = mt.randn(5, 2)
    assert mt.equal(ep.module()(x, x), x + x)
    with pytest.raises(AssertionError, match=r"\*args\[1\]\.shape\[0\] to be equal to 5 "
                                             r"\(the size of Dim 'b' \(s0\)"):
        ep.module()(x, mt.randn(4, 2))
    # two independent Dims the code needs equal: broadcasting fails at another size
    with pytest.raises(ConstraintViolationError, match=r"Constraints violated \(b\)! .*b=4 .*"
                                                       r"must match the size"):
        mt.export.export(Add(), (mt.randn(3, 2), mt.randn(3, 2)),
                         dynamic_shapes=({0: b}, {0: Dim("b2")}))


class _Mixed(mt.nn.Module):
    def forward(self, xs, y=None):
        both = mt.cat(xs, 0)  # (s0 + s1) rows
        ramp = mt.arange(y.shape[0]).view(-1, 1)  # a factory sized by a dim
        return both.sum(0) + y.mean(), y * ramp


def test_nested_inputs_kwargs_factories_and_sums_of_dims():
    xs, y = [mt.randn(3, 2), mt.randn(4, 2)], mt.randn(5, 2)
    ep = mt.export.export(_Mixed(), (xs,), {"y": y},
                          dynamic_shapes={"xs": [{0: Dim("a")}, (Dim("b"), None)],
                                          "y": {0: Dim("n")}})
    text = str(ep.graph)
    assert "float32[s0 + s1, 2] = cat(%x, %x1, 0)" in text and "iota(s2, 0)" in text
    xs, y = [mt.randn(6, 2), mt.randn(2, 2)], mt.randn(9, 2)
    for a, e in zip(ep.module()(*xs, y), _Mixed()(xs, y=y)):
        assert mt.allclose(a, e)
    with pytest.raises(ValueError, match=r"dynamic_shapes for \*args\[0\]\[1\] has 1 entries"):
        mt.export.export(_Mixed(), (xs,), {"y": y},
                         dynamic_shapes=([None, (Dim("b"),)], None))


class _Specializes(mt.nn.Module):
    def forward(self, x):
        if x.shape[0] == 4:
            return x * 2
        return x * 3


class _Halves(mt.nn.Module):
    def forward(self, x):
        return x[: x.shape[0] // 2]


def test_code_that_specializes_a_dynamic_dim_is_refused_naming_the_dim():
    with pytest.raises(ConstraintViolationError, match=r"Constraints violated \(batch\)!.*"
                                                       r"specializes"):
        mt.export.export(_Specializes(), (mt.randn(4, 3),),
                         dynamic_shapes=({0: Dim("batch")},))
    with pytest.raises(ConstraintViolationError, match=r"\(n\)!.*not a polynomial of the dims"):
        mt.export.export(_Halves(), (mt.randn(6, 3),), dynamic_shapes=({0: Dim("n")},))
    assert issubclass(ConstraintViolationError, RuntimeError)
    # torch refuses the first the same way
    with pytest.raises(torch._dynamo.exc.UserError, match=r"Constraints violated \(batch\)"):
        torch.export.export(_TorchSpecializes(), (torch.randn(4, 3),),
                            dynamic_shapes=({0: torch.export.Dim("batch")},))


class _TorchSpecializes(torch.nn.Module):
    def forward(self, x):
        if x.shape[0] == 4:
            return x * 2
        return x * 3


def test_examples_that_cannot_be_traced_dynamically_are_refused():
    with pytest.raises(ConstraintViolationError, match=r"size 1.*>= 2"):
        mt.export.export(_Halves(), (mt.randn(1, 3),), dynamic_shapes=({0: Dim("n")},))
    with pytest.raises(ConstraintViolationError, match=r"4, not in the Dim's range \[5, inf\]"):
        mt.export.export(_Halves(), (mt.randn(4, 3),), dynamic_shapes=({0: Dim("n", min=5)},))
    with pytest.raises(ValueError, match="inconsistent min=5, max=2"):
        Dim("n", min=5, max=2)
    with pytest.raises(ValueError, match="has 2 element"):
        mt.export.export(_Halves(), (mt.randn(4, 3),), dynamic_shapes=({0: Dim("n")}, None))
    with pytest.raises(ValueError, match=r"names \['y'\]"):
        mt.export.export(_Halves(), (mt.randn(4, 3),), dynamic_shapes={"y": {0: Dim("n")}})
    with pytest.raises(IndexError, match="dimension 2 is out of range"):
        mt.export.export(_Halves(), (mt.randn(4, 3),), dynamic_shapes=({2: Dim("n")},))
    with pytest.raises(TypeError, match="must be a Dim"):
        mt.export.export(_Halves(), (mt.randn(4, 3),), dynamic_shapes=({0: "n"},))


def test_dim_hints_and_reprs_follow_torch():
    for name, kw in (("b", {}), ("c", {"min": 2}), ("d", {"min": 1, "max": 100}),
                     ("e", {"max": 9})):
        assert repr(Dim(name, **kw)) == repr(torch.export.Dim(name, **kw))
    assert Dim("b").min == 0 and Dim("b").max == math.inf
    assert repr(Dim.DYNAMIC(max=64)) == repr(torch.export.Dim.DYNAMIC(max=64))
    assert [repr(d) for d in dims("a", "b", min=3)] == ["Dim('a', min=3)", "Dim('b', min=3)"]
    # AUTO: the code specializes the dim, so it turns static; DYNAMIC refuses
    ep = mt.export.export(_Specializes(), (mt.randn(4, 3),), dynamic_shapes=({0: Dim.AUTO},))
    assert ep.range_constraints == {} and "float32[4, 3] = input['x']" in str(ep.graph)
    with pytest.raises(ConstraintViolationError):
        mt.export.export(_Specializes(), (mt.randn(4, 3),),
                         dynamic_shapes=({0: Dim.DYNAMIC},))
    ep = mt.export.export(mt.nn.Linear(3, 2), (mt.randn(4, 3),),
                          dynamic_shapes=([Dim.AUTO, Dim.STATIC],))
    assert repr(ep.range_constraints["s0"]) == "VR[2, inf]"  # torch's range for hints
    assert "float32[s0, 3]" in str(ep.graph)


def test_save_and_load_round_trip_the_expressions(tmp_path):
    ep = mt.export.export(_Tagger(), (mt.randint(0, 11, (3, 5)),),
                          dynamic_shapes=({0: Dim("b"), 1: Dim("t", max=50)},))
    path = tmp_path / "tagger.mbtorch-export"
    mt.export.save(ep, path)
    with zipfile.ZipFile(path) as z:
        doc = json.loads(z.read("graph.json"))
    assert doc["version"] == 2
    assert doc["range_constraints"] == {"s0": {"min": 0, "max": None, "dim": "b"},
                                        "s1": {"min": 0, "max": 50, "dim": "t"}}
    shapes = [o["shape"] for n in doc["nodes"] for o in n["outputs"]]
    assert ["s0", "s1"] in shapes and ["s0*s1"] in shapes
    assert {"sym": "s1 - 1"} in [a for n in doc["nodes"] for a in n["attrs"]]
    back = mt.export.load(path)
    assert str(back.graph) == str(ep.graph) and back.range_constraints == ep.range_constraints
    x = mt.randint(0, 11, (4, 7))
    for a, e in zip(back.module()(x), ep.module()(x)):
        assert mt.equal(a, e)
    with pytest.raises(AssertionError, match=r"\[0, 50\] \(Dim 't' \(s1\)\), but got 51"):
        back.module()(mt.randint(0, 11, (2, 51)))


def test_run_decompositions_keeps_the_dims():
    _, mmod = _pair(_cnn)
    ep = mt.export.export(mmod, (mt.randn(3, 1, 8, 8),), dynamic_shapes=({0: Dim("b")},))
    prim = ep.run_decompositions()
    assert prim.range_constraints == ep.range_constraints and "[s0, 1, 8, 8]" in str(prim.graph)
    for n in (2, 6):
        x = mt.randn(n, 1, 8, 8)
        with mt.no_grad():
            assert mt.allclose(prim.module()(x), mmod(x), atol=1e-5)


class _Counter(mt.nn.Module):
    """A buffer the call updates and a random draw whose shape follows the batch."""

    def __init__(self):
        super().__init__()
        self.register_buffer("calls", mt.zeros(()))
        self.drop = mt.nn.Dropout(0.5)

    def forward(self, x):
        self.calls.add_(1)
        return self.drop(x)


def test_tracing_at_several_sizes_leaves_the_module_and_the_generator_as_one_call_would():
    net = _Counter().train()
    mt.manual_seed(3)
    mt.export.export(net, (mt.randn(4, 5),))
    after_static = mt.get_rng_state()
    mt.manual_seed(3)
    ep = mt.export.export(net, (mt.randn(4, 5),), dynamic_shapes=({0: Dim("b")},))
    assert mt.equal(mt.get_rng_state(), after_static)
    assert float(net.calls) == 0.0  # five traces, the buffer restored after each
    m = ep.module()
    out = m(mt.ones(9, 5))
    assert out.shape == (9, 5) and float(m.get_buffer("calls")) == 1.0
    assert set(np.unique(out.numpy())) <= {0.0, 2.0}


def test_a_bn_in_training_mode_specializes_the_batch_and_keeps_its_stats():
    _, mmod = _pair(_cnn)
    mmod.train()
    with pytest.raises(ConstraintViolationError, match=r"\(b\)!.*not a polynomial"):
        mt.export.export(mmod, (mt.randn(3, 1, 8, 8),), dynamic_shapes=({0: Dim("b")},))
    assert mt.equal(mmod[1].running_mean, mt.zeros(4))
    assert float(mmod[1].num_batches_tracked) == 0


def test_symexpr_prints_and_parses():
    for text in ("s0", "4*s0*s1 + s0 - 3", "-s0 + 5", "2*s0*s0", "7"):
        assert str(SymExpr.parse(text)) == text
    e = SymExpr.parse("4*s0*s1 + s0 - 3")
    assert e.evaluate({"s0": 3, "s1": 2}) == 24 and e.free_symbols == {"s0", "s1"}
    with pytest.raises(ValueError, match="not a size expression|bad factor"):
        SymExpr.parse("s0 / 2")
    buf = io.BytesIO()
    ep = mt.export.export(mt.nn.Linear(3, 2), (mt.randn(4, 3),))
    mt.export.save(ep, buf)
    with zipfile.ZipFile(buf) as z:
        assert json.loads(z.read("graph.json"))["version"] == 1  # static programs: version 1
