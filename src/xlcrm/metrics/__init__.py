"""Pure metric functions: DataFrames and Settings in, DataFrames out; no I/O."""
