"""`rnntext export`: a dataset to the Caffe lab's HDF5 files, a run to ONNX or to a web page."""

from __future__ import annotations

from rnntext.cli.flags import add_weights
from rnntext.extras import install_command

HELP = "export a dataset to Caffe HDF5, or a run to ONNX or a self-contained web page"
DESCRIPTION = ("caffe-hdf5 DATA.h5: the Caffe lab's input/cont/target_sequence T x N files and a list file. "
               "onnx RUN: a one-step model with the hidden state as input/output. "
               "web RUN: a page that generates in the reader's browser (open DIR/index.html, or put DIR on any "
               "static host).")


def add_arguments(p) -> None:
    p.add_argument("format", choices=("caffe-hdf5", "onnx", "web"))
    p.add_argument("source", help="a prepared dataset (caffe-hdf5) or a run directory (onnx, web)")
    p.add_argument("-o", "--output", required=True, help="output folder (caffe-hdf5, web) or .onnx file")
    p.add_argument("--streams", type=int, default=250, help="caffe-hdf5: parallel streams N (default: 250)")
    p.add_argument("--steps", type=int, default=200, help="caffe-hdf5: time steps T per window (default: 200)")
    p.add_argument("--split", default="train", choices=("train", "val", "test"), help="caffe-hdf5: which split")
    p.add_argument("--windows-per-file", type=int, default=None, help="caffe-hdf5: windows per HDF5 chunk file")
    add_weights(p)
    p.add_argument("--opset", type=int, default=17, help="onnx: opset version (default: 17)")
    p.add_argument("--no-verify", action="store_true", help="onnx: skip the onnxruntime check against torch")
    p.add_argument("--force", action="store_true", help="replace existing output")


def run(args) -> int:
    from rnntext.interop.caffe import export_caffe_hdf5
    from rnntext.interop.onnx_export import export_onnx

    if args.format == "web":
        from rnntext.interop.web import export_web

        index = export_web(args.source, args.output, weights=args.weights, force=args.force)
        print(f"wrote {index} and its scripts: open it in a browser, or put the folder on any static host")
        return 0

    if args.format == "caffe-hdf5":
        s = export_caffe_hdf5(args.source, args.output, streams=args.streams, steps=args.steps, split=args.split,
                              force=args.force, windows_per_file=args.windows_per_file)
        print(f"wrote {s['files']} files: {s['streams']} streams x {s['windows']} windows of {s['steps']} steps "
              f"({s['tokens']:,} tokens, {s['dropped']:,} dropped) -> {s['path']}; in Caffe: "
              f'hdf5_data_param {{ source: "{s["path"]}" batch_size: {s["steps"]} }}')
        return 0
    s = export_onnx(args.source, args.output, weights=args.weights, opset=args.opset, force=args.force,
                    verify=not args.no_verify)
    check = (f"not verified (onnxruntime is missing: {install_command('onnx')})" if s["max_abs_diff"] is None
             else f"verified with onnxruntime: max abs logits difference {s['max_abs_diff']:.2e}")
    print(f"wrote {s['path']} (opset {s['opset']}, inputs {', '.join(s['inputs'])}); {check}")
    return 0
