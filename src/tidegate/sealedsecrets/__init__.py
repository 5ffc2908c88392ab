"""Sealed Secrets, byte-compatible with the Sealed Secrets project and ``kubeseal``.

Pure modules: :mod:`.names` (constants), :mod:`.crypto` (the hybrid format of one value),
:mod:`.keys` (key pairs, certificates, key Secrets), :mod:`.sealing` (Secret -> SealedSecret,
what ``tidegate seal`` does) and :mod:`.unsealing` (SealedSecret -> Secret, status).
I/O lives in :mod:`.keystore` (key Secrets on a cluster) and :mod:`.controller` (the watch loop
that writes Secrets), both through :mod:`tidegate.kube`.
"""
