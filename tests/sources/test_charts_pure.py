"""Helm version constraints, index reading and safe archive unpacking (no network)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from tidegate.model import errors
from tidegate.sources import archive, helmindex, semver

VERSIONS = ["0.1.0", "0.2.3", "0.2.9", "1.0.0", "1.2.0", "1.2.7", "1.3.0-rc.1", "1.3.0", "2.0.0"]


@pytest.mark.parametrize(
    ("constraint", "expected"),
    [
        ("1.2.0", "1.2.0"),  # exact, listed
        ("1.2.*", "1.2.7"),
        ("1.2.x", "1.2.7"),
        ("1.2", "1.2.7"),  # a missing part is a wildcard
        ("^1.2", "1.3.0"),
        ("^1.2.0", "1.3.0"),
        ("^0.2.3", "0.2.9"),
        ("^0.0.3", None),
        ("~1.2.3", "1.2.7"),
        ("~1", "1.3.0"),
        (">=1.0 <2.0", "1.3.0"),
        (">=1.0, <1.3", "1.2.7"),
        (">= 1.0 < 1.3", "1.2.7"),
        ("1.0.0 - 1.2.5", "1.2.0"),
        ("<1.0.0 || >=2.0.0", "2.0.0"),
        ("<1.0.0 || =0.2.3", "0.2.9"),
        ("!=2.0.0", "1.3.0"),
        (">1.2", "2.0.0"),
        ("<=1.2", "1.2.7"),
        ("*", "2.0.0"),
        ("", "2.0.0"),
        ("HEAD", "2.0.0"),
        (">=3.0.0", None),
        ("v1.2.7", "1.2.7"),
        # prereleases only when the alternative names one
        (">=1.3.0-0 <1.3.0", "1.3.0-rc.1"),
        ("1.3.0-rc.1", "1.3.0-rc.1"),
        ("^1.2 || >=1.3.0-rc.0 <1.3.0", "1.3.0"),
    ],
)
def test_best_version(constraint: str, expected: str | None) -> None:
    assert semver.best(VERSIONS, constraint) == expected


def test_prerelease_ordering() -> None:
    ordered = sorted(
        semver.parse_version(v)  # type: ignore[misc]
        for v in [
            "1.0.0",
            "1.0.0-rc.1",
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-beta.11",
            "1.0.0-beta.2",
        ]
    )
    assert [str(v) for v in ordered] == [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
    ]


@pytest.mark.parametrize("bad", ["1.2.3.4.5", ">=abc", "~>", "1.2 ||"])
def test_bad_constraint_names_the_part(bad: str) -> None:
    with pytest.raises(errors.SpecError, match="version constraint"):
        semver.parse_constraint(bad)


INDEX = b"""
apiVersion: v1
entries:
  demo:
    - name: demo
      version: 1.0.0
      urls: [demo-1.0.0.tgz]
      digest: abc
    - name: demo
      version: 1.1.0
      urls: [https://cdn.example.com/demo-1.1.0.tgz]
"""


def test_index_select_and_urls() -> None:
    index = helmindex.parse_index(INDEX, repo="https://charts.example.com/stable")
    chosen = helmindex.select(index, "demo", "^1.0", repo="r")
    assert chosen.version == "1.1.0"
    assert helmindex.archive_url("https://charts.example.com/stable", chosen) == (
        "https://cdn.example.com/demo-1.1.0.tgz"
    )
    pinned = helmindex.select(index, "demo", "1.0.0", repo="r")
    assert helmindex.archive_url("https://charts.example.com/stable/", pinned) == (
        "https://charts.example.com/stable/demo-1.0.0.tgz"
    )
    assert not helmindex.same_host("https://charts.example.com/x", "https://cdn.example.com/y")


def test_index_errors_name_the_cause() -> None:
    index = helmindex.parse_index(INDEX, repo="r")
    with pytest.raises(
        errors.SourceError, match=r"no version matching '9\.9\.9' \(newest: 1\.1\.0"
    ):
        helmindex.select(index, "demo", "9.9.9", repo="r")
    with pytest.raises(errors.SourceError, match="no chart named 'other'"):
        helmindex.select(index, "other", "1.0.0", repo="r")
    with pytest.raises(errors.SourceError, match="no 'entries' map"):
        helmindex.parse_index(b"<html>", repo="r")


BIG_INDEX = b"""apiVersion: v1
entries:
  alpha:
  - name: alpha
    version: 0.1.0
    urls: [alpha.tgz]
  "demo":
  - name: demo
    version: 1.0.0
    urls:
    - demo-1.0.0.tgz
  - name: demo
    version: 1.2.0
    urls: [demo-1.2.0.tgz]
  zeta:
    - {name: zeta, version: 3.0.0, urls: [zeta.tgz]}
  broken: [oops
generated: "2024-01-01T00:00:00Z"
"""


def test_index_parses_only_the_chart_asked_for() -> None:
    # The section of "broken" is invalid YAML: reading the other charts never touches it.
    index = helmindex.parse_index(BIG_INDEX, repo="r")
    assert index.versions("demo") == ["1.0.0", "1.2.0"]
    assert index.versions("zeta") == ["3.0.0"]
    assert helmindex.select(index, "alpha", "*", repo="r").urls == ("alpha.tgz",)
    # A chart the fast path cannot find falls back to the whole document, whose error says why.
    with pytest.raises(errors.SourceError, match=r"index\.yaml is not valid YAML"):
        index.chart("missing")
    flow = b'{"apiVersion": "v1", "entries": {"demo": [{"version": "2.0.0", "urls": ["d.tgz"]}]}}'
    assert helmindex.parse_index(flow, repo="r").versions("demo") == ["2.0.0"]


def _tgz(path: Path, members: list[tarfile.TarInfo], data: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for member in members:
            content = data.get(member.name)
            if content is not None:
                member.size = len(content)
            tar.addfile(member, io.BytesIO(content) if content is not None else None)
    return path


def _file(name: str) -> tarfile.TarInfo:
    return tarfile.TarInfo(name)


def test_extract_a_chart(tmp_path: Path) -> None:
    tgz = _tgz(tmp_path / "ok.tgz", [_file("demo/Chart.yaml")], {"demo/Chart.yaml": b"name: demo"})
    archive.extract(tgz, tmp_path / "out", what="demo", limits=archive.ArchiveLimits())
    assert (tmp_path / "out" / "demo" / "Chart.yaml").read_bytes() == b"name: demo"


def _link(name: str, target: str, kind: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


@pytest.mark.parametrize(
    ("member", "message"),
    [
        (_file("../evil.yaml"), "escapes the archive's root"),
        (_file("demo/../../evil.yaml"), "escapes the archive's root"),
        (_file("/etc/evil.yaml"), "absolute path"),
        (_link("demo/passwd", "/etc/passwd", tarfile.SYMTYPE), "symbolic link"),
        (_link("demo/hard", "demo/Chart.yaml", tarfile.LNKTYPE), "hard link"),
    ],
)
def test_extract_refuses(tmp_path: Path, member: tarfile.TarInfo, message: str) -> None:
    data = (
        {"demo/Chart.yaml": b"name: demo", member.name: b"x"}
        if member.isfile()
        else {"demo/Chart.yaml": b"name: demo"}
    )
    tgz = _tgz(tmp_path / "bad.tgz", [_file("demo/Chart.yaml"), member], data)
    with pytest.raises(errors.SourceError, match=message):
        archive.extract(tgz, tmp_path / "out", what="demo 1.0.0", limits=archive.ArchiveLimits())
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bad.tgz"]  # no scratch left behind


def test_extract_refuses_oversized(tmp_path: Path) -> None:
    big = b"0" * (3 * 1024 * 1024)  # compresses to a few KiB: counted as written
    tgz = _tgz(tmp_path / "big.tgz", [_file("demo/big")], {"demo/big": big})
    limits = archive.ArchiveLimits(max_bytes=1024 * 1024)
    with pytest.raises(errors.SourceError, match="unpacks to more than 1048576 bytes"):
        archive.extract(tgz, tmp_path / "out", what="demo", limits=limits)
    assert not (tmp_path / "out").exists()
