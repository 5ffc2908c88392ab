"""The pure parts of the local image build: the mirror apt uses, the base's apt sources, the
pip settings carried into the build, and the command lines. (The build itself and the image
are tested in tests/deploy/test_image.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from tidegate.testenv import image, prereqs

DEB822 = """\
Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
"""


@pytest.mark.parametrize(
    ("sources", "mirror"),
    [
        (DEB822, "http://deb.debian.org/debian"),
        ("deb http://mirror.example/debian/ bookworm main\n", "http://mirror.example/debian"),
        (
            "deb [arch=amd64 signed-by=/k.gpg] https://m.example/debian bookworm main\n",
            "https://m.example/debian",
        ),
        ("deb https://deb.nodesource.com/node_20.x nodistro main\n", None),
        ("# deb http://commented.example/debian bookworm main\n", None),
    ],
)
def test_the_mirror_is_the_main_archive_apt_uses(sources: str, mirror: str | None) -> None:
    assert image.mirror_of(sources) == mirror


def test_the_base_has_the_slim_images_sources_on_the_mirror() -> None:
    text = image.slim_sources("http://m.example/debian")
    assert "URIs: http://m.example/debian\nSuites: bookworm bookworm-updates\n" in text
    assert "URIs: http://m.example/debian-security\nSuites: bookworm-security\n" in text
    assert image.mirror_of(text) == "http://m.example/debian"


def test_pip_gets_the_index_and_trust_but_not_local_paths() -> None:
    settings = {
        "index-url": "https://pypi.example/simple",
        "trusted-host": "pypi.example",
        "find-links": "/opt/wheels",
        "cert": "/etc/ssl/certs/ca-certificates.crt",
    }
    text = image.pip_conf(settings, "/mnt/ca.pem")
    assert text.splitlines() == [
        "[global]",
        "index-url = https://pypi.example/simple",
        "trusted-host = pypi.example",
        "cert = /mnt/ca.pem",
    ]
    assert image.pip_conf({}, None) == "[global]\n"


def test_the_build_is_daemonless_offline_for_images_and_mounts_what_it_is_given(
    tmp_path: Path,
) -> None:
    (tmp_path / "pip.conf").write_text("[global]\n")
    argv = image.build_argv(
        Path("/usr/bin/podman"),
        Path("/repo"),
        reference="localhost/tidegate:1",
        base=image.BASE_REFERENCE,
        mount=tmp_path,
        iidfile=tmp_path / "iid",
    )
    joined = " ".join(argv)
    assert argv[:4] == ["/usr/bin/podman", "build", "--isolation", "chroot"]
    assert "--pull=never" in argv
    assert f"--volume {tmp_path}:/mnt:ro" in joined
    assert f"BASE_IMAGE={image.BASE_REFERENCE}" in argv
    assert "HELM_BINARY=/mnt/helm" in argv
    assert "PIP_CONFIG_FILE=/mnt/pip.conf" in argv
    assert argv[-3:] == ["-t", "localhost/tidegate:1", "/repo"]


def test_a_run_as_the_charts_pods_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prereqs, "find", lambda command: Path("/usr/sbin/runc"))
    argv = image.run_argv(
        "localhost/tidegate:1",
        ["controller", "--loglevel=info"],
        volumes={Path("/k/config"): "/k/config"},
        home=tmp_path,
        name="c1",
    )
    joined = " ".join(argv)
    assert "--runtime runc" in joined
    assert f"--read-only --volume {tmp_path}:/home/tidegate:rw" in joined
    assert "--volume /k/config:/k/config:ro" in joined
    assert argv[-3:] == ["localhost/tidegate:1", "controller", "--loglevel=info"]
