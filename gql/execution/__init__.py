"""Executing a parsed operation: graphql-core's executor with less machinery, error masking, JSON encoding."""
