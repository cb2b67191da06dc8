"""Intake: filled consent forms that come back: screening, and flattened PDF/A-3b records."""
