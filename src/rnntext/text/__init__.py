"""Reading, normalising and tokenizing text (NumPy and the standard library only).

read.py reads and normalises corpora (files, folders, the built-in python-docs), gutenberg.py
finds Project Gutenberg's header and licence to leave out; levels/ holds
one module per token level and their registry. Nothing is imported here: rnntext.config reads
the level names, and must stay cheap to import.
"""
