"""Read scanned, pen-ticked consent forms back (see read.py for the order of work)."""
