"""Who is asking: the `viewer` root field and the Viewer type, above the domains it shows."""
