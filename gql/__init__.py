"""The GraphQL API layer: transport, schema assembly, authorization and data loading.

Business rules live in `models`; this package parses, authorizes and loads.
"""
