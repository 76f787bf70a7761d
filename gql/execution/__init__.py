"""Executing a parsed operation: graphql-core's executor with less machinery, and the masking of unexpected errors."""
