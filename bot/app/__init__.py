"""Putting the parts together: settings, the runtime (model, index, grader), the grading service,
start-up, and operations (health, metrics, logs, benchmarks)."""
