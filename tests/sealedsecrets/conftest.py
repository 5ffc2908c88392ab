"""Keys shared by the Sealed Secrets unit tests (2048 bits: the format does not depend on size)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tidegate.sealedsecrets import keys


@pytest.fixture(scope="session")
def key() -> rsa.RSAPrivateKey:
    return keys.generate_private_key(2048)


@pytest.fixture(scope="session")
def other_key() -> rsa.RSAPrivateKey:
    return keys.generate_private_key(2048)
