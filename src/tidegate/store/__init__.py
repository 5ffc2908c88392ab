"""Durable records kept by the server: the audit log (:mod:`tidegate.store.audit`)."""
