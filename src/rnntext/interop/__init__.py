"""Import and export formats beside our own: the Caffe lab's HDF5 streams (caffe.py), ONNX for
deployment (onnx_export.py), the self-contained web page (web.py).

`caffe` needs only NumPy and h5py; `onnx_export` imports torch and onnx inside its functions,
so importing these modules stays light.
"""
