"""Generation without torch: sampling rules on logits, a fast NumPy stepping runtime, beam
search and stop strings.

rules.py     how the next token is drawn (temperature, top-k, top-p, greedy, the repetition
             penalty) and the random-number design every path shares (Rule, Sampler, Uniforms)
runtime.py   the stepping runtime: B streams of a trained model in NumPy float32, and `generate`
packing.py   the weights packed once for stepping
beam.py      beam search
stops.py     stop strings, and the record of which streams have ended

Nothing here imports torch, so `rnntext sample` starts fast and a trained model samples on a
machine that has only NumPy.
"""
