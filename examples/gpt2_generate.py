"""Continue a prompt of GPT-2 token ids with mbtorch's GPT2LMHeadModel.

    python examples/gpt2_generate.py --model-dir gpt2 --ids 464 2068 7586 --max-new-tokens 20
    python examples/gpt2_generate.py --random-tiny --ids 464 2068 7586

``--model-dir`` is a local folder in Hugging Face's layout (``config.json`` and
``model.safetensors`` or ``pytorch_model.bin``), e.g. one fetched elsewhere with
``hf download gpt2 --local-dir gpt2``. ``--random-tiny`` builds a tiny model with random
weights and GPT-2's vocabulary instead (no files needed; its tokens are noise). The token ids
are printed; if the folder also holds ``tokenizer.json`` and the ``tokenizers`` package is
installed, the text is printed as well (optional: the model never needs a tokenizer).
"""

from __future__ import annotations

import argparse
import os
import sys

__all__ = ["main"]


def _decoder(model_dir: str | None):
    """``ids -> text`` from the folder's tokenizer.json, or None without one."""
    path = os.path.join(model_dir, "tokenizer.json") if model_dir else ""
    if not os.path.isfile(path):
        return None
    try:
        from tokenizers import Tokenizer
    except ImportError:
        return None
    tokenizer = Tokenizer.from_file(path)
    return lambda ids: tokenizer.decode(ids)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = ap.add_mutually_exclusive_group(required=True)
    source.add_argument("--model-dir", help="a local Hugging Face GPT-2 folder")
    source.add_argument("--random-tiny", action="store_true",
                        help="a tiny random model with GPT-2's vocabulary")
    ap.add_argument("--ids", type=int, nargs="+", required=True, help="prompt token ids")
    ap.add_argument("--max-new-tokens", type=int, default=20)
    ap.add_argument("--sample", action="store_true", help="sample instead of greedy decoding")
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--top-k", type=int, default=None)
    ap.add_argument("--top-p", type=float, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--save-dir", help="also write the model there (save_pretrained)")
    args = ap.parse_args(argv)

    import mbtorch
    from mbtorch.text.models import GPT2Config, GPT2LMHeadModel

    mbtorch.manual_seed(args.seed)
    if args.random_tiny:
        config = GPT2Config(n_positions=128, n_embd=32, n_layer=2, n_head=4,
                            initializer_range=0.2)
        model = GPT2LMHeadModel(config).eval()
    else:
        model = GPT2LMHeadModel.from_pretrained(args.model_dir)
    if args.save_dir:
        model.save_pretrained(args.save_dir)
    model.to(args.device)
    prompt = mbtorch.tensor([args.ids], device=args.device)
    try:
        out = model.generate(prompt, args.max_new_tokens, do_sample=args.sample,
                             temperature=args.temperature, top_k=args.top_k, top_p=args.top_p)
    except (ValueError, IndexError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    ids = out[0].tolist()
    print(f"parameters: {model.num_parameters():,}")
    print(f"prompt ids: {ids[:len(args.ids)]}")
    print(f"new ids: {ids[len(args.ids):]}")
    decode = _decoder(args.model_dir)
    if decode is not None:
        print(f"text: {decode(ids)!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
