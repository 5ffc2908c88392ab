"""``tidegate account bcrypt`` and ``account session-token``: no server involved (a real
config file as ``tidegate login`` writes it)."""

from __future__ import annotations

import json
from pathlib import Path

import bcrypt
import jwt
from typer.testing import CliRunner

from tidegate.cli import apiconfig, main


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main.app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_bcrypt_hash_is_argocds_format_and_checks() -> None:
    code, out, _ = _run("account", "bcrypt", "--password", "s3cret-pass")
    hashed = out.strip()
    assert code == 0 and hashed.startswith("$2a$10$")
    assert bcrypt.checkpw(b"s3cret-pass", hashed.encode())
    code, _, err = _run("account", "bcrypt", "--password", "x" * 73)
    assert code == 2 and "1 to 72 bytes" in err


def test_session_token_prints_the_current_contexts_token(tmp_path: Path) -> None:
    path = tmp_path / "config"
    token = jwt.encode({"sub": "admin:login", "iss": "argocd", "iat": 1700000000}, "k" * 32)
    conf = apiconfig.load(path)
    apiconfig.add_login(conf, name="cd.example", server="cd.example", token=token,
                        insecure=False, plaintext=False)  # fmt: skip
    apiconfig.save(path, conf)
    code, out, _ = _run("account", "session-token", "--config", str(path))
    assert (code, out.strip()) == (0, token)
    code, out, _ = _run("account", "session-token", "--config", str(path), "-o", "json")
    assert code == 0
    assert json.loads(out) == {
        "token": token, "claims": {"sub": "admin:login", "iss": "argocd", "iat": 1700000000}
    }  # fmt: skip
    code, _, err = _run("account", "session-token", "--config", str(tmp_path / "none"))
    assert code == 1 and "no current context" in err
