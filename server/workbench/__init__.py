"""工作台: the dispatcher's queues, each with its exact count and first page."""
