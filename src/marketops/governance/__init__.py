"""Change control for the workspace: versions of the governed files, plan (diff + back-test on
history), apply (who/why), rollback, and the history of versions."""
