from rnntext.cli import entry

entry()
