"""Signatures: the clinic's identity, certified packets, sealed records, and verifying them.

Nothing here imports pyHanko at module level except `certify`, `seal`, `policy` and
`verify`'s workers: importing the signing stack costs about a third of a second, so only
the code paths that sign or verify pay for it.
"""
