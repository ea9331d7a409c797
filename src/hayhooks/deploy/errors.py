"""Deploy failures, each carrying the HTTP status it maps to.

Hayhooks 2.1.0's names for them (``hayhooks.server.exceptions``) are kept at the end: code that catches
``PipelineAlreadyExistsError`` or ``PipelineWrapperError`` catches what our deploy raises in the same case.
"""


class DeployError(Exception):
    """A pipeline could not be deployed or undeployed; ``str(err)`` says why and what to do."""

    status_code = 422


class InvalidPipelineError(DeployError):
    """The pipeline's files or definition cannot be loaded (bad wrapper, bad YAML, setup() failed)."""


class PipelineFilesError(DeployError):
    """A pipeline's files cannot be accepted or saved."""


class UnsafePathError(PipelineFilesError, ValueError):
    """A pipeline name or file name would land outside the pipeline's folder."""


class PipelineExistsError(DeployError):
    status_code = 409


class PipelineNotFoundError(DeployError):
    status_code = 404


class PipelineConflictError(DeployError):
    """The request is valid but the pipelines dir does not allow it (read-only, or owned by an operator)."""

    status_code = 409


class RuntimeDeployDisabledError(DeployError):
    status_code = 403


# Hayhooks 2.1.0 names. Here one error covers every way a pipeline fails to load (its module, its wrapper
# class, setup(), its YAML or the YAML's inputs/outputs), so those names all mean InvalidPipelineError.
PipelineAlreadyExistsError = PipelineExistsError
PipelinePathError = UnsafePathError
PipelineWrapperError = InvalidPipelineError
PipelineModuleLoadError = InvalidPipelineError
PipelineYamlError = InvalidPipelineError
InvalidYamlIOError = InvalidPipelineError
