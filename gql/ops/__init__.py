"""Operating the service: the request record, logs, metrics, tracing, how a Redis outage is noticed, and the total JSON encoding answers and logs share."""
