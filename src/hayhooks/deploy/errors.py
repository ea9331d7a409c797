"""Deploy failures, each carrying the HTTP status it maps to."""


class DeployError(Exception):
    """A pipeline could not be deployed or undeployed; ``str(err)`` says why and what to do."""

    status_code = 422


class InvalidPipelineError(DeployError):
    """The pipeline's files or definition cannot be loaded (bad wrapper, bad YAML, setup() failed)."""


class UnsafePathError(DeployError):
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
