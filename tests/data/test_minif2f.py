"""The MiniF2F catalogue on the shared copy, the upstream archive conversion and its errors."""

from __future__ import annotations

import io
import json
import tarfile

import pytest
from click.testing import CliRunner

from prover.cli.main import cli
from prover.data import DatasetError, MiniF2FNotFound, category, download_minif2f, load_known_issues, load_minif2f
from prover.data.minif2f import MINIF2F_SPLIT_SIZE, theorems_from_archive


@pytest.fixture(scope="module")
def primary(shared_datasets):
    return shared_datasets / "minif2f" / "minif2f_lean4.jsonl"


def test_shared_copy_has_488_unique_names(primary):
    theorems = load_minif2f(primary)
    assert len({t.name for t in theorems}) == 488
    assert len(load_minif2f(primary, split="valid")) == len(load_minif2f(primary, split="test")) == 244
    sample = next(t for t in theorems if t.name == "aimeII_2001_p3")
    assert sample.statement.startswith("theorem aimeII_2001_p3") and sample.statement.endswith(":= by")
    assert sample.header.startswith("import Mathlib") and sample.split == "valid"
    assert "sorry" not in sample.with_proof("norm_num")


def test_secondary_variant_loads(shared_datasets):
    assert len(load_minif2f(shared_datasets / "minif2f" / "minif2f_lean4_deepseek_kimina.jsonl")) == 488


def test_every_name_has_a_known_category(primary):
    assert {category(t.name) for t in load_minif2f(primary)} <= {
        "mathd_algebra", "mathd_numbertheory", "amc12", "aime", "imo", "algebra", "numbertheory", "induction"}
    assert category("amc12a_2019_p21") == "amc12" and category("imosl_2007_algebra_p6") == "imo"


def test_known_issues_name_catalogue_theorems(primary, shared_datasets):
    issues = load_known_issues(shared_datasets / "minif2f" / "known_issues.json")
    names = {t.name for t in load_minif2f(primary)}
    assert len(issues) == 11 and set(issues) <= names
    assert issues["mathd_algebra_433"].split == "valid" and "primary" in issues["mathd_algebra_433"].affects


def _archive_from(theorems) -> bytes:
    """An archive laid out like the upstream repository (MiniF2F/{Valid,Test}/<name>.lean),
    written from the shared statements, to exercise the conversion offline."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for t in theorems:
            data = (t.header + t.statement + " sorry").encode()
            info = tarfile.TarInfo(f"miniF2F-lean4-abc/MiniF2F/{t.split.capitalize()}/{t.name}.lean")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        readme = b"not a statement"
        info = tarfile.TarInfo("miniF2F-lean4-abc/README.md")
        info.size = len(readme)
        tar.addfile(info, io.BytesIO(readme))
    return buffer.getvalue()


def test_download_converts_archive_and_checks_counts(primary, tmp_path):
    theorems = load_minif2f(primary)
    target = download_minif2f(tmp_path / "m.jsonl", fetch=lambda url: _archive_from(theorems))
    loaded = {t.name: t for t in load_minif2f(target)}
    assert len(loaded) == 2 * MINIF2F_SPLIT_SIZE
    for t in theorems:
        assert (loaded[t.name].statement, loaded[t.name].header, loaded[t.name].split) == (t.statement, t.header, t.split)
    # Already present: no second download.
    assert download_minif2f(target, fetch=lambda url: pytest.fail("fetched again")) == target


def test_download_rejects_wrong_count(primary, tmp_path):
    archive = _archive_from(load_minif2f(primary)[:10])
    with pytest.raises(DatasetError, match="expected 244"):
        download_minif2f(tmp_path / "m.jsonl", fetch=lambda url: archive)
    assert not (tmp_path / "m.jsonl").exists()


def test_offline_download_names_path_option(tmp_path):
    def offline(url):
        raise OSError("network unreachable")

    with pytest.raises(MiniF2FNotFound, match="--path"):
        download_minif2f(tmp_path / "m.jsonl", fetch=offline)


def test_archive_statement_without_sorry_is_rejected():
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        data = b"import Mathlib\ntheorem x : True := trivial"
        info = tarfile.TarInfo("r/MiniF2F/Valid/x.lean")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    with pytest.raises(DatasetError, match="sorry"):
        theorems_from_archive(buffer.getvalue(), source_tag="t")


def test_broken_line_is_reported_with_its_number(tmp_path):
    bad = tmp_path / "bad.jsonl"
    good = {"name": "a", "split": "valid", "formal_statement": "theorem a : True := by"}
    bad.write_bytes(json.dumps(good).encode() + b"\n{not json\n\xff\xfe\n")
    with pytest.raises(DatasetError, match=r"bad\.jsonl:2: broken line"):
        load_minif2f(bad)


def test_missing_file_error_names_the_remedy(tmp_path):
    with pytest.raises(MiniF2FNotFound, match="--path"):
        load_minif2f(tmp_path / "none.jsonl")


def test_cli_data_minif2f_with_path(primary, tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["data", "minif2f", "--path", str(primary)])
    assert result.exit_code == 0, result.output
    assert "488 theorems (244 valid, 244 test)" in result.output
    missing = runner.invoke(cli, ["data", "minif2f", "--path", str(tmp_path / "no.jsonl")])
    assert missing.exit_code == 2 and "Traceback" not in missing.output and "--path" in missing.output


def test_default_header_is_the_catalogue_header(primary):
    from prover.backends import default_header

    assert {t.header for t in load_minif2f(primary)} == {default_header("repl")}
