"""Pure mapping between Second Opinion's domain and FHIR R4 (no I/O, no clock, no randomness)."""
