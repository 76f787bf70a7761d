"""The building blocks every domain package uses: Relay plumbing, loaders, the mutation convention, errors, scalars, the per-request Context."""
