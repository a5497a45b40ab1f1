"""nlpserve: real NLP models as ONNX, served from AWS Lambda (API and S3 batch)."""

__version__ = "0.1.0"
