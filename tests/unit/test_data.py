"""Bad test sets give one clear message naming the file, column and first bad row."""

from __future__ import annotations

import pandas as pd
import pytest

from audit.data import load_labelled_set, read_table
from audit.exceptions import ConfigError, DataError


def write(tmp_path, rows, name="d.csv"):
    p = tmp_path / name
    pd.DataFrame(rows).to_csv(p, index=False)
    return str(p)


GOOD = {"id": [1, 2, 3], "y": [0, 1, 1], "s": [0.1, 0.9, 0.4], "g": ["a", "b", "a"]}


def test_reads_csv_parquet_jsonl_alike(tmp_path):
    df = pd.DataFrame(GOOD)
    df.to_parquet(tmp_path / "d.parquet")
    df.to_json(tmp_path / "d.jsonl", orient="records", lines=True)
    df.to_csv(tmp_path / "d.csv", index=False)
    sets = [
        load_labelled_set(tmp_path / f"d.{ext}", label="y", score="s", groups=["g"])
        for ext in ("csv", "parquet", "jsonl")
    ]
    for s in sets:
        assert s.y_true.tolist() == [0, 1, 1]
        assert s.scores.tolist() == [0.1, 0.9, 0.4]
        assert len(s.inputs[0]["sha256"]) == 64


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"y": [0, 2, 1]}, r"d\.csv, column 'y', row 2: label must be 0 or 1, found 2"),
        ({"s": [0.1, "high", 0.3]}, r"column 's', row 2: score must be a number"),
        ({"s": [0.1, None, 0.3]}, r"column 's', row 2: score is missing"),
        ({"s": [0.1, 0.2, 7]}, r"column 's', row 3: score must lie in \[0, 1\]"),
        ({"id": [1, 1, 3]}, r"column 'id', row 2: duplicate id 1"),
    ],
)
def test_bad_values_name_file_column_row(tmp_path, change, match):
    path = write(tmp_path, {**GOOD, **change})
    with pytest.raises(DataError, match=match):
        load_labelled_set(path, label="y", score="s", groups=["g"], id_column="id")


def test_missing_column_lists_what_is_there(tmp_path):
    path = write(tmp_path, GOOD)
    with pytest.raises(DataError, match=r"no column 'race' \(named by --groups\); the file has"):
        load_labelled_set(path, label="y", score="s", groups=["race"])


def test_missing_empty_and_undecodable_files(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        read_table(tmp_path / "nope.csv")
    (tmp_path / "e.csv").write_text("")
    with pytest.raises(DataError, match="file is empty"):
        read_table(tmp_path / "e.csv")
    (tmp_path / "h.csv").write_text("a,b\n")
    with pytest.raises(DataError, match="header but no rows"):
        read_table(tmp_path / "h.csv")
    (tmp_path / "b.csv").write_bytes(b"a,b\n1,2\n3,\xff\xfe\n")
    with pytest.raises(DataError, match="line 3 are not valid utf-8"):
        read_table(tmp_path / "b.csv")
    (tmp_path / "j.jsonl").write_text('{"a": 1}\n{oops}\n')
    with pytest.raises(DataError, match="line 2 is not valid JSON"):
        read_table(tmp_path / "j.jsonl")


def test_groups_file_is_joined_on_id(tmp_path):
    data = write(tmp_path, {"id": [1, 2, 3], "y": [0, 1, 1], "s": [0.1, 0.9, 0.4]})
    groups = write(tmp_path, {"id": [3, 1, 2], "g": ["c", "a", "b"]}, "groups.csv")
    s = load_labelled_set(
        data, label="y", score="s", groups=["g"], id_column="id", groups_file=groups
    )
    assert s.frame["g"].tolist() == ["a", "b", "c"]
    assert [i["role"] for i in s.inputs] == ["data", "groups"]


def test_groups_file_missing_id_names_the_row(tmp_path):
    data = write(tmp_path, {"id": [1, 2, 3], "y": [0, 1, 1], "s": [0.1, 0.9, 0.4]})
    groups = write(tmp_path, {"id": [1, 3], "g": ["a", "c"]}, "groups.csv")
    with pytest.raises(DataError, match=r"column 'id', row 2: id 2 has no row in"):
        load_labelled_set(
            data, label="y", score="s", groups=["g"], id_column="id", groups_file=groups
        )
    with pytest.raises(ConfigError, match="needs --id"):
        load_labelled_set(data, label="y", score="s", groups=["g"], groups_file=groups)


def test_positive_label_for_text_labels(tmp_path):
    path = write(tmp_path, {**GOOD, "y": ["ok", "toxic", "toxic"]})
    s = load_labelled_set(path, label="y", score="s", groups=["g"], positive_label="toxic")
    assert s.y_true.tolist() == [0, 1, 1]
