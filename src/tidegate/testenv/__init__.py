"""testenv."""
