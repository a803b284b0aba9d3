"""Everything that turns a trained model into predictions: `Predictor` (texts -> label probabilities), batch
scoring of files, `Forecaster` (price windows -> rows), label scoring and generation for causal LMs, and the
ONNX engine. It never imports training code: serve/ and export/ build on it alone."""
