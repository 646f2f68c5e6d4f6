"""Pipeline stages: cheap constructors, `setup()` loads models, `process_batch` is 1:1 and in order."""
