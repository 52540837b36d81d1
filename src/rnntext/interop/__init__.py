"""Import and export formats beside our own: the Caffe lab's HDF5 streams, ONNX for deployment.

`caffe` needs only NumPy and h5py; `onnx_export` imports torch and onnx inside its functions,
so importing this package stays light.
"""

from rnntext.interop.caffe import export_caffe_hdf5, import_caffe_hdf5
from rnntext.interop.onnx_export import export_onnx

__all__ = ["export_caffe_hdf5", "import_caffe_hdf5", "export_onnx"]
