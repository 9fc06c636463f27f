"""mbtorch.text.models.GPT2LMHeadModel against Hugging Face's: a tiny random
``transformers.GPT2LMHeadModel`` is written in Hugging Face's layouts (its own
``save_pretrained``, a ``torch.save``d ``pytorch_model.bin``, the published ``gpt2`` key
spelling with the old mask buffers), loaded with ``from_pretrained``, and must give the same
logits, cache, loss and greedy tokens, on ``cpu`` and ``mini``."""

from __future__ import annotations

import json

import numpy as np
import pytest

import mbtorch as mt
from mbtorch.text.models import GPT2Config, GPT2LMHeadModel, GPT2Model, filter_logits

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
from safetensors.torch import save_file  # noqa: E402 - needs torch

VOCAB, N_POS = 97, 48
HF_KW = dict(vocab_size=VOCAB, n_positions=N_POS, n_embd=32, n_layer=2, n_head=4,
             bos_token_id=0, eos_token_id=0, initializer_range=0.3)


def _hf_model(seed=0, **kwargs):
    """A random HF model with logits spread wide enough that greedy picks are no near-ties,
    LayerNorms and biases randomized too (HF initializes them to ones and zeros)."""
    torch.manual_seed(seed)
    model = transformers.GPT2LMHeadModel(transformers.GPT2Config(**{**HF_KW, **kwargs}))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias") or ".ln_" in name:
                p.add_(torch.randn_like(p) * 0.1)
    return model.eval()


@pytest.fixture(scope="module")
def hf():
    return _hf_model()


@pytest.fixture(scope="module")
def folders(hf, tmp_path_factory):
    """The same model in four layouts: HF's save_pretrained (safetensors; transformers 5
    writes nothing else), a torch.save'd pytorch_model.bin with prefixed keys and the tied
    head, and the published gpt2 spelling (no prefix, attn.bias/masked_bias buffers) as a
    legacy-format torch.save and as safetensors."""
    root = tmp_path_factory.mktemp("gpt2")
    hf.save_pretrained(root / "safetensors")
    (root / "bin").mkdir()
    (root / "bin" / "config.json").write_text((root / "safetensors" / "config.json").read_text())
    torch.save(hf.state_dict(), root / "bin" / "pytorch_model.bin")
    (root / "published").mkdir()
    (root / "published" / "config.json").write_text(
        (root / "safetensors" / "config.json").read_text())
    published = {k.removeprefix("transformer."): v for k, v in hf.state_dict().items()
                 if k != "lm_head.weight"}
    for i in range(HF_KW["n_layer"]):
        published[f"h.{i}.attn.bias"] = torch.tril(torch.ones(N_POS, N_POS)).view(
            1, 1, N_POS, N_POS)
        published[f"h.{i}.attn.masked_bias"] = torch.tensor(-1e4)
    torch.save(published, root / "published" / "pytorch_model.bin",
               _use_new_zipfile_serialization=False)
    (root / "published_st").mkdir()
    (root / "published_st" / "config.json").write_text(
        (root / "safetensors" / "config.json").read_text())
    save_file({k: v.contiguous() for k, v in published.items()},
              root / "published_st" / "model.safetensors", metadata={"format": "pt"})
    return root


def _ids(shape, seed=0):
    return np.random.default_rng(seed).integers(1, VOCAB, shape)


def _close(actual, expected):
    a = actual if isinstance(actual, np.ndarray) else actual.numpy(force=True)
    e = expected if isinstance(expected, np.ndarray) else expected.detach().numpy()
    assert a.dtype == np.float32 and a.shape == e.shape
    np.testing.assert_allclose(a, e, rtol=1e-4, atol=1e-5 * float(np.abs(e).max()))


def test_names_and_shapes_are_hugging_faces(hf):
    ours = GPT2LMHeadModel(GPT2Config.from_dict(hf.config.to_dict()))
    assert sorted((k, tuple(v.shape)) for k, v in ours.state_dict().items()) == \
        sorted((k, tuple(v.shape)) for k, v in hf.state_dict().items())
    assert ours.lm_head.weight is ours.transformer.wte.weight
    assert ours.num_parameters() == hf.num_parameters()


@pytest.mark.parametrize("layout", ["safetensors", "bin", "published", "published_st"])
def test_logits_equal(hf, folders, layout):
    ours = GPT2LMHeadModel.from_pretrained(folders / layout)
    assert not ours.training
    ids = _ids((2, 11))
    with torch.no_grad():
        expected = hf(torch.from_numpy(ids)).logits
    _close(ours(mt.tensor(ids)).logits, expected)


def test_attention_mask_left_and_right_padding(hf, folders):
    ours = GPT2LMHeadModel.from_pretrained(folders / "safetensors")
    ids = _ids((3, 9), seed=1)
    mask = np.ones((3, 9), dtype=np.int64)
    mask[0, :3] = 0  # left padding
    mask[1, 6:] = 0  # right padding
    with torch.no_grad():
        expected = hf(torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)).logits
    actual = ours(mt.tensor(ids), attention_mask=mt.tensor(mask)).logits.numpy(force=True)
    keep = mask.astype(bool)  # a padding row's output is nobody's business
    _close(actual[keep], expected.numpy()[keep])
    # the mask changes the unpadded rows' logits (it is not ignored)
    plain = ours(mt.tensor(ids)).logits.numpy(force=True)
    assert not np.allclose(plain[0, 3:], actual[0, 3:], atol=1e-3)


def test_cache_continues_a_prefix_as_the_whole_sequence(hf, folders):
    ours = GPT2LMHeadModel.from_pretrained(folders / "safetensors")
    ids = _ids((2, 10), seed=2)
    with torch.no_grad():
        full = hf(torch.from_numpy(ids)).logits
        hf_prefix = hf(torch.from_numpy(ids[:, :6]), use_cache=True)
    first = ours(mt.tensor(ids[:, :6]), use_cache=True)
    assert len(first.past_key_values) == 2
    for (k, v), layer in zip(first.past_key_values, hf_prefix.cache.layers):
        assert tuple(k.shape) == (2, 4, 6, 8)
        _close(k, layer.keys)
        _close(v, layer.values)
    second = ours(mt.tensor(ids[:, 6:]), past_key_values=first.past_key_values, use_cache=True)
    _close(second.logits, full[:, 6:])
    assert second.past_key_values[0][0].shape[2] == 10
    # with a mask covering the cache and the new tokens
    mask = mt.ones(2, 10, dtype=mt.int64)
    third = ours(mt.tensor(ids[:, 6:]), past_key_values=first.past_key_values,
                 attention_mask=mask)
    _close(third.logits, full[:, 6:])


def test_loss_with_labels(hf, folders):
    ours = GPT2LMHeadModel.from_pretrained(folders / "bin")
    ids = _ids((2, 8), seed=3)
    labels = ids.copy()
    labels[0, 5:] = -100
    with torch.no_grad():
        expected = hf(torch.from_numpy(ids), labels=torch.from_numpy(labels)).loss
    loss = ours(mt.tensor(ids), labels=mt.tensor(labels)).loss
    assert abs(loss.item() - expected.item()) <= 1e-5 * abs(expected.item())
    loss.backward()  # it trains: the tied embedding gets the head's gradient too
    assert ours.transformer.wte.weight.grad is not None


def _greedy_hf(hf, ids, new, **kwargs):
    with torch.no_grad():
        out = hf.generate(torch.from_numpy(ids), max_new_tokens=new, do_sample=False,
                          output_scores=True, return_dict_in_generate=True, **kwargs)
    # a meaningful comparison needs clear winners: the best two logits apart at every step
    for scores in out.scores:
        top2 = scores.topk(2).values
        assert float((top2[:, 0] - top2[:, 1]).min()) > 1e-3
    return out.sequences.numpy()


@pytest.mark.parametrize("device", ["cpu", "mini"])
def test_greedy_generate_equals_hugging_faces(hf, folders, device, request):
    if device == "mini":
        request.getfixturevalue("mini_device")
    ours = GPT2LMHeadModel.from_pretrained(folders / "safetensors").to(device)
    ids = _ids((2, 5), seed=4)
    expected = _greedy_hf(hf, ids, 12, eos_token_id=None, pad_token_id=0)
    actual = ours.generate(mt.tensor(ids, device=device), max_new_tokens=12, eos_token_id=[])
    assert actual.device.type == device
    np.testing.assert_array_equal(actual.numpy(force=True), expected)
    # an eos id the first row reaches mid-way: it stops there and is padded, as HF's
    eos = int(expected[0, 5 + 4])
    expected = _greedy_hf(hf, ids, 12, eos_token_id=eos, pad_token_id=eos)
    actual = ours.generate(mt.tensor(ids, device=device), max_new_tokens=12, eos_token_id=eos)
    np.testing.assert_array_equal(actual.numpy(force=True), expected)


def test_greedy_generate_left_padded_batch(hf, folders):
    ours = GPT2LMHeadModel.from_pretrained(folders / "safetensors")
    ids = _ids((2, 7), seed=5)
    mask = np.ones((2, 7), dtype=np.int64)
    mask[1, :3] = 0
    ids[1, :3] = 0
    expected = _greedy_hf(hf, ids, 8, attention_mask=torch.from_numpy(mask),
                          eos_token_id=None, pad_token_id=0)
    actual = ours.generate(mt.tensor(ids), 8, eos_token_id=[], attention_mask=mt.tensor(mask))
    np.testing.assert_array_equal(actual.numpy(force=True), expected)


def test_logits_on_mini(hf, folders, mini_device):
    ours = GPT2LMHeadModel.from_pretrained(folders / "published").to(mini_device)
    ids = _ids((2, 9), seed=6)
    mask = np.ones((2, 9), dtype=np.int64)
    mask[1, 7:] = 0
    with torch.no_grad():
        full = hf(torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)).logits
        labelled = hf(torch.from_numpy(ids), labels=torch.from_numpy(ids)).loss
    first = ours(mt.tensor(ids[:, :5], device=mini_device), use_cache=True)
    rest = ours(mt.tensor(ids[:, 5:], device=mini_device), past_key_values=first.past_key_values,
                attention_mask=mt.tensor(mask, device=mini_device))
    assert rest.logits.device.type == "mini"
    _close(first.logits, full[:, :5])
    _close(rest.logits.numpy(force=True)[0], full[0, 5:])
    _close(rest.logits.numpy(force=True)[1, :2], full[1, 5:7])
    loss = ours(mt.tensor(ids, device=mini_device), labels=mt.tensor(ids, device=mini_device))
    assert abs(loss.loss.item() - labelled.item()) <= 1e-5 * labelled.item()


@pytest.mark.parametrize("safe", [True, False])
def test_save_pretrained_loads_in_transformers(hf, folders, tmp_path, safe):
    ours = GPT2LMHeadModel.from_pretrained(folders / "published")
    ours.save_pretrained(tmp_path, safe_serialization=safe)
    name = "model.safetensors" if safe else "pytorch_model.bin"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", name]
    back = transformers.GPT2LMHeadModel.from_pretrained(tmp_path).eval()
    ids = _ids((1, 12), seed=7)
    with torch.no_grad():
        _close(ours(mt.tensor(ids)).logits, back(torch.from_numpy(ids)).logits)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model_type"] == "gpt2" and config["n_embd"] == 32
    # and round-trips here
    again = GPT2LMHeadModel.from_pretrained(tmp_path)
    np.testing.assert_array_equal(again(mt.tensor(ids)).logits.numpy(force=True),
                                  ours(mt.tensor(ids)).logits.numpy(force=True))


def test_bare_model_and_untied_head(tmp_path):
    hf = _hf_model(seed=3, tie_word_embeddings=False)
    hf.save_pretrained(tmp_path)
    ours = GPT2LMHeadModel.from_pretrained(tmp_path)
    assert ours.lm_head.weight is not ours.transformer.wte.weight
    ids = _ids((1, 6), seed=8)
    with torch.no_grad():
        _close(ours(mt.tensor(ids)).logits, hf(torch.from_numpy(ids)).logits)
        hidden = hf.transformer(torch.from_numpy(ids)).last_hidden_state
    bare = GPT2Model.from_pretrained(tmp_path)  # the head's weight belongs to no module here
    _close(bare(mt.tensor(ids)).last_hidden_state, hidden)


def test_sampling_filters_are_hugging_faces():
    from transformers.generation.logits_process import (
        TemperatureLogitsWarper,
        TopKLogitsWarper,
        TopPLogitsWarper,
    )

    logits = np.random.default_rng(9).standard_normal((4, VOCAB)).astype(np.float32) * 3
    for temperature, top_k, top_p in [(0.7, 5, None), (1.0, None, 0.8), (1.3, 20, 0.5),
                                      (1.0, 1, None), (1.0, None, 0.01)]:
        expected = torch.from_numpy(logits)
        expected = TemperatureLogitsWarper(temperature)(None, expected)
        if top_k is not None:
            expected = TopKLogitsWarper(top_k)(None, expected)
        if top_p is not None:
            expected = TopPLogitsWarper(top_p)(None, expected)
        actual = filter_logits(mt.tensor(logits), temperature, top_k, top_p).numpy(force=True)
        np.testing.assert_array_equal(np.isinf(actual), np.isinf(expected.numpy()))
        keep = ~np.isinf(actual)
        np.testing.assert_allclose(actual[keep], expected.numpy()[keep], rtol=1e-6)


@pytest.mark.parametrize("options", [
    {"scale_attn_by_inverse_layer_idx": True, "n_inner": 48, "activation_function": "relu"},
    {"scale_attn_weights": False, "activation_function": "gelu", "layer_norm_epsilon": 1e-3},
])
def test_config_options_match(tmp_path, options):
    hf = _hf_model(seed=4, initializer_range=0.1, **options)
    hf.save_pretrained(tmp_path)
    ours = GPT2LMHeadModel.from_pretrained(tmp_path)
    assert ours.config.inner_dim == options.get("n_inner", 4 * 32)
    ids = _ids((2, 7), seed=10)
    with torch.no_grad():
        _close(ours(mt.tensor(ids)).logits, hf(torch.from_numpy(ids)).logits)
