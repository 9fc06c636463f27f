"""Tests of mbtorch.text (GPT-2 against Hugging Face transformers)."""
