"""QConfig, the default qconfigs per backend and QConfigMapping against PyTorch's: the
observers they build have the same class and settings; qconfig_equals; bad input."""

from __future__ import annotations

import pytest

import mbtorch as mt
from mbtorch.ao import quantization as Q

torch = pytest.importorskip("torch")
tq = torch.ao.quantization

from tests.ao._util import mt_of  # noqa: E402

_ATTRS = ("dtype", "qscheme", "quant_min", "quant_max", "reduce_range", "is_dynamic", "ch_axis",
          "averaging_constant", "bins", "has_customized_qrange")


def _settings(obj):
    """A comparable description of an observer / fake-quantize instance."""
    out = {"class": type(obj).__name__}
    for a in _ATTRS:
        if hasattr(obj, a):
            v = getattr(obj, a)
            out[a] = str(v).split(".")[-1] if a in ("dtype", "qscheme") else v
    if hasattr(obj, "eps"):
        out["eps"] = float(obj.eps) if not hasattr(obj.eps, "numel") else float(obj.eps[0])
    app = getattr(obj, "activation_post_process", None)
    if app is not None:
        out["observer"] = _settings(app)
    return out


def _same_qconfig(mq, tq_):
    for role in ("activation", "weight"):
        m, t = getattr(mq, role), getattr(tq_, role)
        if t is None:
            assert m is None
            continue
        assert _settings(m()) == _settings(t()), role


QCONFIGS = ["default_qconfig", "default_debug_qconfig", "default_per_channel_qconfig",
            "default_dynamic_qconfig", "per_channel_dynamic_qconfig",
            "float_qparams_weight_only_qconfig", "default_qat_qconfig",
            "default_dynamic_qat_qconfig", "default_weight_only_qconfig",
            "default_activation_only_qconfig", "default_qat_qconfig_v2",
            "default_symmetric_qnnpack_qconfig", "default_per_channel_symmetric_qnnpack_qconfig",
            "default_symmetric_qnnpack_qat_qconfig",
            "default_per_channel_symmetric_qnnpack_qat_qconfig", "default_quint8_weight_qconfig"]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", QCONFIGS)
def test_named_qconfigs_build_the_same_observers(name):
    _same_qconfig(getattr(Q, name), getattr(tq, name))


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("backend", ["x86", "fbgemm", "qnnpack", "onednn"])
def test_default_qconfig_per_backend(backend):
    _same_qconfig(Q.get_default_qconfig(backend), tq.get_default_qconfig(backend))
    for version in (0, 1):
        _same_qconfig(Q.get_default_qat_qconfig(backend, version),
                      tq.get_default_qat_qconfig(backend, version))


def test_qconfig_is_a_namedtuple_of_constructors():
    qc = Q.QConfig(activation=Q.MinMaxObserver.with_args(dtype=mt.quint8),
                   weight=Q.default_weight_observer)
    assert qc._fields == ("activation", "weight") and qc.activation() is not qc.activation()
    with pytest.raises(ValueError, match="observer instance"):
        Q.QConfig(activation=Q.MinMaxObserver(), weight=Q.default_weight_observer)
    with pytest.warns(FutureWarning):
        Q.QConfigDynamic(weight=Q.default_weight_observer)


def test_qconfig_equals():
    assert Q.qconfig_equals(Q.default_qconfig, Q.QConfig(
        activation=Q.MinMaxObserver.with_args(quant_min=0, quant_max=127),
        weight=Q.MinMaxObserver.with_args(dtype=mt.qint8, qscheme=mt.per_tensor_symmetric)))
    assert not Q.qconfig_equals(Q.default_qconfig, Q.default_per_channel_qconfig)
    assert Q.qconfig_equals(Q.default_qat_qconfig, Q.QConfig(
        activation=Q.default_fake_quant, weight=Q.default_weight_fake_quant))
    assert not Q.qconfig_equals(Q.get_default_qat_qconfig("x86"),
                                Q.get_default_qat_qconfig("qnnpack"))
    assert Q.qconfig_equals(None, None) and not Q.qconfig_equals(Q.default_qconfig, None)


def test_bad_backend_and_version():
    for fn in (Q.get_default_qconfig, Q.get_default_qat_qconfig):
        with pytest.raises(AssertionError, match="backend: tpu not supported"):
            fn("tpu")
        with pytest.raises(AssertionError):
            getattr(tq, fn.__name__)("tpu")  # PyTorch raises the same type
    with pytest.raises(AssertionError, match="Version number"):
        Q.get_default_qconfig("x86", 1)
    with pytest.raises(AssertionError, match="Version number"):
        Q.get_default_qat_qconfig("x86", 2)


def test_invalid_observer_dtype_in_qconfig_is_named():
    bad = Q.QConfig(activation=Q.default_observer,
                    weight=Q.PlaceholderObserver.with_args(dtype=mt.float32))
    with pytest.raises(ValueError, match=r"qconfig\.weight observer dtype .*float32"):
        Q.qconfig._check_qconfig_dtypes(bad, "quantize_dynamic(fc)",
                                        weight_dtypes=(mt.qint8, mt.float16))
    with pytest.raises(AssertionError, match="'dtype'"):
        Q.QConfig(activation=Q.MinMaxObserver.with_args(dtype=mt.float32),
                  weight=Q.default_weight_observer).activation()


def test_qconfig_mapping_setters_and_dict_round_trip():
    m = (Q.QConfigMapping().set_global(Q.default_qconfig)
         .set_object_type(mt.nn.Linear, Q.default_per_channel_qconfig)
         .set_module_name_regex("enc.*", None)
         .set_module_name("fc", Q.default_dynamic_qconfig)
         .set_module_name_object_type_order("blk", mt.nn.Linear, 0, Q.default_qconfig))
    d = m.to_dict()
    assert d[""] is Q.default_qconfig
    assert d["object_type"] == [(mt.nn.Linear, Q.default_per_channel_qconfig)]
    assert d["module_name_regex"] == [("enc.*", None)]
    assert d["module_name"] == [("fc", Q.default_dynamic_qconfig)]
    assert d["module_name_object_type_order"] == [("blk", mt.nn.Linear, 0, Q.default_qconfig)]
    back = Q.QConfigMapping.from_dict(d)
    assert back.to_dict() == d
    assert "global_qconfig" in repr(back)
    with pytest.raises(TypeError, match="qconfig_dict"):
        Q.QConfigMapping.from_dict([("", None)])


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("qat", [False, True])
@pytest.mark.parametrize("backend", ["x86", "qnnpack"])
def test_default_qconfig_mapping_matches_torch(qat, backend):
    fn = "get_default_qat_qconfig_mapping" if qat else "get_default_qconfig_mapping"
    mm, tm = getattr(Q, fn)(backend), getattr(tq, fn)(backend)
    _same_qconfig(mm.global_qconfig, tm.global_qconfig)

    def key(k):
        return k if isinstance(k, str) else k.__name__

    mobj = {key(k): v for k, v in mm.object_type_qconfigs.items()}
    tobj = {key(k): v for k, v in tm.object_type_qconfigs.items()}
    assert sorted(mobj) == sorted(tobj)
    for k in tobj:
        _same_qconfig(mobj[k], tobj[k])
    assert mt_of(torch.qint8) is mt.qint8


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_deprecated_qconfig_dicts():
    with pytest.warns(FutureWarning):
        d = Q.get_default_qconfig_dict("qnnpack")
    _same_qconfig(d[""], tq.get_default_qconfig("qnnpack"))
    with pytest.warns(FutureWarning):
        d = Q.get_default_qat_qconfig_dict("x86")
    _same_qconfig(d[""], tq.get_default_qat_qconfig("x86"))


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_add_module_to_qconfig_obs_ctr_builds_on_the_module_device():
    lin = mt.nn.Linear(3, 2)
    qc = Q.qconfig._add_module_to_qconfig_obs_ctr(Q.get_default_qat_qconfig("x86"), lin)
    _same_qconfig(qc, tq.get_default_qat_qconfig("x86"))
    assert qc.weight().scale.device == lin.weight.device
    keep = Q.QConfig(activation=mt.nn.Identity, weight=Q.default_weight_observer)
    assert Q.qconfig._add_module_to_qconfig_obs_ctr(keep, lin).activation is mt.nn.Identity
    assert Q.qconfig._add_module_to_qconfig_obs_ctr(None, lin) is None


def test_stubs_are_identities_until_convert():
    x = mt.randn(2, 3)
    q, dq = Q.QuantStub(Q.default_qconfig), Q.DeQuantStub()
    assert q(x) is x and dq(x) is x
    assert q.qconfig is Q.default_qconfig and not hasattr(dq, "qconfig")
    inner = mt.nn.Linear(3, 2).eval()
    inner.qconfig = Q.default_qconfig
    w = Q.QuantWrapper(inner)
    assert [n for n, _ in w.named_children()] == ["quant", "dequant", "module"]
    assert w.quant.qconfig is Q.default_qconfig and not w.training
    assert mt.equal(w(x), inner(x))
    tw = tq.QuantWrapper(torch.nn.Linear(3, 2))
    assert [n for n, _ in tw.named_children()] == ["quant", "dequant", "module"]
