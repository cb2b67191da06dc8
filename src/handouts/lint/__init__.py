"""The plain-language gate: readability formulas, jargon lists, and the per-section report."""
