"""Generation without torch: sampling rules on logits and a fast NumPy stepping runtime.

Nothing here imports torch, so `rnntext sample` starts fast and a trained model samples on a
machine that has only NumPy. rules.py documents the random-number design every path shares.
"""

from rnntext.generation.rules import RowSampler, Rule, Sampler, Uniforms, choose, probabilities, top_tokens
from rnntext.generation.runtime import Runtime, Streams, generate

__all__ = ["Rule", "RowSampler", "Runtime", "Sampler", "Streams", "Uniforms", "choose", "generate", "probabilities",
           "top_tokens"]
