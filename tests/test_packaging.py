"""The wheel and the sdist carry the LICENSE and the project's metadata."""

from __future__ import annotations

import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

# The test extra installs hatchling; without it (a bare pytest run) this test skips.
sdist_builder = pytest.importorskip("hatchling.builders.sdist")
wheel_builder = pytest.importorskip("hatchling.builders.wheel")

ROOT = Path(__file__).resolve().parents[1]


def _check_metadata(text: str) -> None:
    metadata = Parser().parsestr(text)
    assert metadata["License-Expression"] == "MIT"
    assert metadata.get_all("License-File") == ["LICENSE"]
    urls = dict(u.split(", ", 1) for u in metadata.get_all("Project-URL") or [])
    assert {"Homepage", "Documentation", "Changelog", "Issues"} <= set(urls)
    for url in urls.values():
        assert url.startswith("https://"), url  # a public address, never a local path


def test_the_wheel_and_the_sdist_carry_the_license(tmp_path: Path) -> None:
    license_text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert license_text.startswith("MIT License")

    wheel = Path(
        next(
            iter(
                wheel_builder.WheelBuilder(str(ROOT)).build(
                    directory=str(tmp_path), versions=["standard"]
                )
            )
        )
    )
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        licenses = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
        assert len(licenses) == 1, names
        assert archive.read(licenses[0]).decode() == license_text
        metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
        _check_metadata(archive.read(metadata).decode())

    sdist = Path(
        next(
            iter(
                sdist_builder.SdistBuilder(str(ROOT)).build(
                    directory=str(tmp_path), versions=["standard"]
                )
            )
        )
    )
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
        top = names[0].split("/")[0]
        member = archive.extractfile(f"{top}/LICENSE")
        assert member is not None and member.read().decode() == license_text
        pkg_info = archive.extractfile(f"{top}/PKG-INFO")
        assert pkg_info is not None
        _check_metadata(pkg_info.read().decode())
