"""training/logs.py: the per-epoch log file."""

import csv
import json

import pytest

from tensorlang.training.logs import MetricsLog


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
