"""`rnntext prepare`: read text (or import the Caffe lab's HDF5 files) into a prepared dataset."""

from __future__ import annotations

from rnntext.cli.flags import add_config_flags, add_section_flags, section_values
from rnntext.errors import ConfigError

HELP = "read text and write a prepared HDF5 dataset"
DESCRIPTION = ("Read text and write a prepared HDF5 dataset. Normalisation order: line ends to \\n, NFC, lowercase, "
               "keep, max-chars.")


def add_arguments(p) -> None:
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="text files, directories, or a built-in corpus (python-docs)")
    p.add_argument("-o", "--output", required=True, help="the dataset file to write (e.g. data.h5)")
    p.add_argument("--force", action="store_true", help="replace an existing output file")
    p.add_argument("--from", dest="from_format", choices=("text", "caffe-hdf5"), default="text",
                   help="input format: text (default), or a Caffe HDF5 list file (LIST.txt) to import")
    p.add_argument("--vocab", help="with --from caffe-hdf5: the Caffe lab's JSON character dictionary (default: vocab.json "
                                   "beside the list)")
    add_config_flags(p)
    add_section_flags(p, "data")


def run(args) -> int:
    from rnntext import api

    if args.from_format == "caffe-hdf5":
        return import_caffe(args)
    summary = api.prepare(args.inputs, args.output, force=args.force, preset=args.preset, config=args.config,
                          **section_values(args, "data"))
    from rnntext.text import levels

    vocab = summary.pop("vocab")
    level = levels.of(vocab)
    splits = summary["splits"]
    for listing in summary["listings"]:
        print(listing_line(listing))
    print(f"read {summary['tokens']:,} {level.token_name}s from {summary['sources']} source(s)")
    print(f"vocabulary: {len(vocab)} tokens (ids stored as {summary['dtype']})")
    if len(vocab) <= 200:  # as its level writes a run of tokens: characters joined, words spaced
        print("  " + repr(level.join_unknown(list(vocab.tokens))))
    print("splits: " + ", ".join(f"{k} {v:,}" for k, v in splits.items()))
    print(f"wrote {summary['path']}")
    return 0


SHOWN = 3  # file names shown per group of a directory's listing


def listing_line(listing) -> str:
    """What a directory input held: files read and skipped (counts and the first few names)."""
    def names(paths) -> str:
        shown = ", ".join(str(p.relative_to(listing.directory)) for p in paths[:SHOWN])
        return shown + (", ..." if len(paths) > SHOWN else "")

    line = f"{listing.directory}: read {len(listing.read)} file(s) ({names(listing.read)})"
    if listing.skipped:
        total = sum(map(len, listing.skipped.values()))
        line += f"; skipped {total}: " + "; ".join(f"{len(paths)} {why} ({names(paths)})"
                                                  for why, paths in listing.skipped.items())
    return line


def import_caffe(args) -> int:
    from rnntext.config import resolve
    from rnntext.interop.caffe import import_caffe_hdf5

    if len(args.inputs) != 1:
        raise ConfigError("from: --from caffe-hdf5 reads one list file (LIST.txt)")
    data = resolve(args.preset, args.config, section_values(args, "data")).data
    s = import_caffe_hdf5(args.inputs[0], args.output, val_frac=data.val_frac, test_frac=data.test_frac,
                          force=args.force, vocab_file=args.vocab)
    print(f"read {s['tokens']:,} tokens from {s['files']} Caffe HDF5 file(s) ({s['streams']} streams x {s['steps']} steps)")
    print(f"vocabulary: {s['vocab_size']} tokens; splits: " + ", ".join(f"{k} {v:,}" for k, v in s["splits"].items()))
    print(f"wrote {s['path']}")
    return 0
