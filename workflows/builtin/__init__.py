"""The built-in pipelines: mesh conversion, preview thumbnails and metadata.

Each pipeline is a plain function over local files (``steps``), run by a
worker (``worker``). The worker reads the pipeline payload from the
pipeline's SQS queue, downloads the input, uploads the outputs to the
execution's S3 output folders and reports the result to Step Functions with
the task token. It receives only what a pipeline written for VAMS receives,
so the same code runs against real AWS.
"""
