"""Reading and writing the user's files: data loaders with their safety checks."""
