"""Generation without torch: sampling rules on logits, a fast NumPy stepping runtime, beam
search and stop strings.

Nothing here imports torch, so `rnntext sample` starts fast and a trained model samples on a
machine that has only NumPy. rules.py documents the random-number design every path shares.
"""

from rnntext.generation.beam import beam_search, beam_steps
from rnntext.generation.rules import (
           Penalty,
           RowSampler,
           Rule,
           Sampler,
           Uniforms,
           choose,
           penalize,
           probabilities,
           top_tokens,
)
from rnntext.generation.runtime import Runtime, Streams, generate
from rnntext.generation.stops import Ending, StopDecoder, StopText, StopWatch, cut

__all__ = ["Ending", "Penalty", "RowSampler", "Rule", "Runtime", "Sampler", "StopDecoder", "StopText", "StopWatch", "Streams", "Uniforms",
           "beam_search", "beam_steps", "choose", "cut", "generate", "penalize", "probabilities", "top_tokens"]
