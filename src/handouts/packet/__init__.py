"""Packets: one patient's documents from out/, checked, merged, stamped and pre-filled; CSV days."""
