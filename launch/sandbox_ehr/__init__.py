"""Local sandbox EHR."""
