"""The built-in pipelines: mesh conversion, preview thumbnails and metadata.

Each pipeline is a plain function over local files (``steps``), run by a
worker (``worker``) that reads the pipeline payload from the pipeline's SQS
queue, downloads the input, uploads the outputs to the execution's S3 output
folders and reports the result to Step Functions with the task token. The worker sees only what a
pipeline written for VAMS sees, so the same code runs against real AWS.
"""
