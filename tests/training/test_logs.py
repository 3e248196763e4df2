"""training/logs.py: the per-epoch log file and the checks of output folders."""

import csv
import json
import os

import pytest

from tensorlang.errors import UsageError
from tensorlang.training.logs import MetricsLog, check_folder


def entry(epoch, loss, acc=None):
    metrics = {"loss": loss} if acc is None else {"loss": loss, "val_acc": acc}
    return {"epoch": epoch, "step": 10 * epoch, "lr": 0.1 / epoch, "metrics": metrics,
            "seconds": 0.5 * epoch}


def test_csv_rows_hold_every_epoch_and_are_flushed(tmp_path):
    path = str(tmp_path / "log.csv")
    log = MetricsLog(path, "log.csv", ["loss", "val_acc"], None)
    log.open([entry(1, 2.0, 0.5)])
    log.write(entry(2, 1.0, 0.75))
    with open(path) as f:  # flushed before close: a killed run keeps its rows
        rows = list(csv.DictReader(f))
    log.close()
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert float(rows[1]["loss"]) == 1.0 and float(rows[1]["val_acc"]) == 0.75
    assert float(rows[1]["lr"]) == pytest.approx(0.05) and rows[1]["step"] == "20"
    assert list(rows[0]) == ["epoch", "step", "lr", "loss", "val_acc", "seconds"]


def test_jsonl_rows_are_json_objects(tmp_path):
    path = str(tmp_path / "log.jsonl")
    log = MetricsLog(path, "log.jsonl", ["loss"], None)
    log.open([])
    log.write(entry(1, 0.25))
    log.close()
    rows = [json.loads(line) for line in open(path)]
    assert rows == [{"epoch": 1, "step": 10, "lr": 0.1, "loss": 0.25, "seconds": 0.5}]


def test_missing_folder_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        check_folder(str(tmp_path / "no" / "log.csv"), "no/log.csv", "log", None)


def test_a_folder_is_no_file(tmp_path):
    with pytest.raises(UsageError, match="is a folder"):
        check_folder(str(tmp_path), "out", "plot", None)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into read-only folders")
def test_read_only_folder_is_a_usage_error(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(UsageError, match="read-only"):
            check_folder(str(ro / "log.csv"), "ro/log.csv", "log", None)
    finally:
        ro.chmod(0o700)
