"""Blueprints, one per user-facing flow."""
