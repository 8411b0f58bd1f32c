"""Errors a built-in pipeline reports to Step Functions as its task failure."""


class PipelineError(Exception):
    """Failure of a pipeline step, sent to SendTaskFailure as ``error`` and ``cause``.

    ``error`` is a short CamelCase name the workflow's fail state shows, and
    ``cause`` a sentence naming the file and the reason.
    """

    error = "ProcessingFailed"

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


class InvalidPayload(PipelineError):
    error = "InvalidPayload"


class InputNotFound(PipelineError):
    error = "InputNotFound"


class InputTooLarge(PipelineError):
    error = "InputTooLarge"


class UnreadableInput(PipelineError):
    error = "UnreadableInput"


class UnsupportedFormat(PipelineError):
    error = "UnsupportedFormat"


class ProcessingFailed(PipelineError):
    error = "ProcessingFailed"


class StepTimedOut(PipelineError):
    error = "StepTimedOut"
