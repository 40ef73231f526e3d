"""omnidesk/registry.py's file imports: the core reads local mail only through `importer_for`."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.base import FileImport
from omnidesk.errors import ConfigError, UserError
from omnidesk.inbound import importer
from omnidesk.registry import importer_for


def test_the_email_kind_imports_maildir_mbox_and_eml() -> None:
    files = importer_for("email")
    assert isinstance(files, FileImport)
    assert set(files.formats) == {"maildir", "mbox", "eml"}
    raw = "From: =?utf-8?b?UGFydsOtbg==?= <p@example.ir>\nSubject: سلام\n\nhi\n".encode()
    parsed = files.parse(raw, None)
    assert parsed.sender.display_name == "Parvín" and parsed.subject == "سلام"


def test_a_kind_without_file_import_is_a_config_error_naming_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"'slack' has no file import.*email"):
        importer_for("slack")


def test_a_path_that_is_not_a_maildir_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"is not a Maildir \(it needs cur/ and new/"):
        importer.maildir_jobs(tmp_path)
    with pytest.raises(UserError, match="is not a file"):
        importer.eml_jobs([tmp_path / "missing.eml"])


def test_an_unknown_format_of_a_known_kind_names_the_formats(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="maildir, mbox, eml, not 'pst'"):
        importer.find_jobs("pst", [tmp_path])
