"""Operating the service: the request record, logs, metrics, tracing, and how a Redis outage is noticed."""
