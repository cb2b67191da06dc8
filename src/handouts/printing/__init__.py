"""Printing packets through CUPS: the CUPS client, the print log, and the one print step."""
