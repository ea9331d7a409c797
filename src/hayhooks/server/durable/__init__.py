"""HTTP surface of durable executions: ``/{name}/run-durable`` and ``/{name}/executions/...``."""
