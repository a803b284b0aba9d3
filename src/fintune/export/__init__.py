"""A finished run written for other runtimes: merged transformers weights (merged.py), ONNX fp32 + int8 with its
preparation (onnx.py, smoothing.py, outliers.py) and its agreement check."""
