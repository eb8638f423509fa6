"""The local stack's developer-loop settings and helpers (end to end: tests/e2e/test_developer_loop.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from infra.local.chalice_app import app_environment, stage_config
from infra.local.errors import StackError
from infra.local.reloader import changed_files, sources
from infra.local.saved_data import _from_json, _to_json
from infra.local.settings import StackSettings


def test_data_folder_and_fresh_come_from_the_environment() -> None:
    settings = StackSettings.from_env({"LOCAL_DATA_DIR": " .local-data ", "LOCAL_FRESH": "1"})
    assert settings.data_dir == ".local-data" and settings.fresh
    assert StackSettings.from_env({"LOCAL_FRESH": ""}).fresh is False
    assert StackSettings.from_env({}).data_dir == ""  # harnesses and tests keep nothing


def test_a_fresh_flag_that_is_not_a_flag_is_refused() -> None:
    with pytest.raises(StackError, match="LOCAL_FRESH must be 1 or 0"):
        StackSettings.from_env({"LOCAL_FRESH": "please"})


def test_the_stacks_endpoints_win_over_the_local_stage_for_every_request() -> None:
    """chalice local applies the config's variables per request: the stack's ports must be in the config."""
    defaults = stage_config().environment_variables
    assert defaults["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5000"  # what a bare `chalice local --stage local` uses
    assert defaults["AWS_ACCESS_KEY_ID"] and defaults["WS_MANAGEMENT_ENDPOINT"] == "http://127.0.0.1:8001"
    settings = StackSettings(aws_port=6100, http_port=6101, ws_port=6102)
    config = stage_config(environment=app_environment(stage_config(), settings))
    for scope in (config, config.scope("local", "api_handler")):
        assert scope.environment_variables["AWS_ENDPOINT_URL"] == settings.aws_url
        assert scope.environment_variables["WS_MANAGEMENT_ENDPOINT"] == settings.ws_management_url


def test_saved_items_keep_binary_values() -> None:
    item = {"PK": {"S": "USER#1"}, "blob": {"B": b"\x00\xff"}, "set": {"BS": [b"a", b"b"]}, "n": {"N": "3"}}
    assert _from_json(_to_json(item)) == item


def test_an_edit_a_new_file_and_a_deleted_file_are_changes(tmp_path: Path) -> None:
    (tmp_path / "chalicelib").mkdir()
    (tmp_path / "app.py").write_text("A = 1\n")
    (tmp_path / "chalicelib" / "gone.py").write_text("")
    before = sources(tmp_path)
    (tmp_path / "app.py").write_text("A = 22\n")
    (tmp_path / "chalicelib" / "gone.py").unlink()
    (tmp_path / "chalicelib" / "new.py").write_text("")
    (tmp_path / "chalicelib" / "notes.txt").write_text("not code")
    assert changed_files(before, sources(tmp_path)) == sorted(
        [tmp_path / "app.py", tmp_path / "chalicelib" / "gone.py", tmp_path / "chalicelib" / "new.py"])


def test_the_ports_a_child_stack_gets_are_all_different():
    from infra.local.ports import free_ports

    for _ in range(200):
        assert len(set(free_ports(3))) == 3
