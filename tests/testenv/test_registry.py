"""The test bed's registry files and artifacts, checked without running the registry (the e2e
tests in tests/controller/e2e/test_helm_charts.py push to a real one)."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import bcrypt
import yaml

from tidegate.testenv import registry


def test_config_and_htpasswd(tmp_path: Path) -> None:
    config = registry.write_config(tmp_path, port=5999, username="tidegate", password="pw-1")
    loaded = yaml.safe_load(config.read_text())
    assert loaded["http"]["addr"] == "127.0.0.1:5999"  # loopback only
    htpasswd = Path(loaded["auth"]["htpasswd"]["path"])
    user, _, digest = htpasswd.read_text().strip().partition(":")
    assert user == "tidegate" and digest.startswith("$2")  # bcrypt, as Distribution requires
    assert bcrypt.checkpw(b"pw-1", digest.encode())
    assert htpasswd.stat().st_mode & 0o077 == 0 and config.stat().st_mode & 0o077 == 0


def test_package_chart_lays_out_name_dir(tmp_path: Path) -> None:
    chart = tmp_path / "src"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: web\nversion: 1.2.3\n")
    (chart / "templates" / "a.yaml").write_text("kind: ConfigMap\n")
    out = registry.package_chart(chart, tmp_path / "out")
    assert out.name == "web-1.2.3.tgz"
    with tarfile.open(out) as tar:
        assert sorted(tar.getnames()) == ["web/Chart.yaml", "web/templates/a.yaml"]


def test_tiny_image_layer_is_one_file_and_deterministic() -> None:
    layer = registry._tiny_layer("team/web", "1.0.0")
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(layer))) as tar:
        assert tar.getnames() == ["etc/tidegate-image"]
    assert layer == registry._tiny_layer("team/web", "1.0.0")  # deterministic
