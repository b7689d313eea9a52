"""Referrals: the compose form, the ledger of sends, and their delivery to the receiving clinic."""
