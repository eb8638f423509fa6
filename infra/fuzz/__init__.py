"""`make fuzz`: Schemathesis against the local stack (see tests/fuzz/README.md)."""
