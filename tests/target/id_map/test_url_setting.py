"""``id_map_url``: which back end a setting names, and how a wrong one is reported.

In-process, on real SQLite files: ``sqlite:///path`` is ``id_map_path``, ``id_map_url`` wins
over ``id_map_path``, and a URL of another kind stops with a clear error before anything is
written (without its credentials).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from target_recras.id_map import IdMap, IdMapError, KeyKind
from target_recras.id_map._postgres import display_url
from target_recras.options import TargetOptions


def test_a_sqlite_url_is_the_file_id_map_path_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    first = IdMap.open("sqlite:///maps/id-map.sqlite3")  # relative, as in SQLAlchemy
    first.store("source:k='1'", KeyKind.SOURCE, '["A", "a@x"]', 5, seq=1)
    first.close()
    absolute = IdMap.open(f"sqlite:///{tmp_path / 'maps' / 'id-map.sqlite3'}")  # sqlite:////abs
    assert absolute.lookup("source:k='1'") == 5
    absolute.close()
    reread = IdMap.open(tmp_path / "maps" / "id-map.sqlite3", read_only=True)
    assert reread.lookup("source:k='1'") == 5
    reread.close()


def test_id_map_url_wins_over_id_map_path() -> None:
    both = {"dry_run": True, "id_map_path": "a.sqlite3", "id_map_url": "sqlite:///b.sqlite3"}
    assert TargetOptions.from_config(both).id_map_url == "sqlite:///b.sqlite3"
    assert TargetOptions.from_config({"dry_run": True, "id_map_path": "a.sqlite3"}).id_map_url == (
        "a.sqlite3"
    )
    assert TargetOptions.from_config({"dry_run": True}).id_map_url == "recras-id-map.sqlite3"


def test_an_unknown_kind_of_url_is_refused_without_its_credentials(tmp_path: Path) -> None:
    with pytest.raises(IdMapError) as caught:
        IdMap.open("mysql://root:pw-SECRET-1@db/map")
    message = str(caught.value)
    assert message.startswith("The id map mysql://... cannot be opened: id_map_url must start")
    assert "SECRET" not in message
    assert not list(tmp_path.iterdir())


def test_the_map_is_named_without_user_password_or_query() -> None:
    url = "postgresql://recras:pw-SECRET-2@db.internal:5433/maps?sslmode=require"
    assert display_url(url) == "postgresql://db.internal:5433/maps"
    assert display_url("postgresql://u:p@[::1]:5432/m") == "postgresql://[::1]:5432/m"
    assert display_url("postgresql://u:p@h:notaport/m") == "postgresql://h/m"
