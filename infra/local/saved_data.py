"""Keeping the local stack's data across restarts: the table and the upload bucket, saved at stop, loaded at start.

Moto keeps everything in memory, so the stack copies the app's table (every item, DynamoDB JSON) and bucket (every
object with its content type and metadata) into a folder when it stops, through local AWS's own API, and writes
them back after the bootstrap when it starts. A save goes to a sibling folder first and replaces the old one only
when complete; a stack that never finished loading saves nothing, so a failed start cannot wipe saved data.
"""
from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path
from typing import Any

from infra.local.errors import StackError
from infra.local.moto_server import MotoServer

TABLE_FILE = "table.jsonl"
BUCKET_FILE = "bucket.json"
OBJECTS_DIR = "objects"
BATCH_SIZE = 25  # BatchWriteItem's limit
BYTES_TAG = "$base64"  # binary attribute values (B, BS) in the JSON lines


class SavedData:
    def __init__(self, aws: MotoServer, region: str, table: str, bucket: str, folder: Path, fresh: bool) -> None:
        self._aws = aws
        self._region = region
        self._table = table
        self._bucket = bucket
        self.folder = folder
        self._fresh = fresh
        self._loaded = False

    def start(self) -> str:
        """Loads what the last stop saved (unless fresh); returns a line for the banner."""
        wipe = f"`make run FRESH=1` starts empty, `rm -rf {self.folder}` deletes it"
        if self._fresh or not (self.folder / TABLE_FILE).exists():
            self._loaded = True
            start = "started empty (FRESH=1)" if self._fresh else "nothing saved yet"
            return f"saved data: {start}; the table and the bucket are saved to {self.folder} at stop"
        try:
            items = self._load_table()
            objects = self._load_bucket()
        except Exception as exc:
            raise StackError(f"cannot load the saved data from {self.folder} ({type(exc).__name__}: {exc}); "
                             f"start with FRESH=1 to ignore it") from exc
        self._loaded = True
        return f"saved data: loaded {items} items and {objects} files from {self.folder}; {wipe}"

    def failure(self) -> str | None:
        return None

    def stop(self) -> None:
        """Saves while local AWS still runs (the stack stops its parts in reverse order)."""
        if not self._loaded:
            return
        self._loaded = False
        staging = self.folder.with_name(self.folder.name + ".saving")
        shutil.rmtree(staging, ignore_errors=True)
        try:
            staging.mkdir(parents=True)
            items = self._save_table(staging)
            objects = self._save_bucket(staging)
        except Exception as exc:  # keep the previous save rather than a partial one
            shutil.rmtree(staging, ignore_errors=True)
            print(f"could not save the data ({type(exc).__name__}: {exc}); {self.folder} is unchanged", flush=True)
            return
        shutil.rmtree(self.folder, ignore_errors=True)
        staging.rename(self.folder)
        print(f"saved {items} items and {objects} files to {self.folder}", flush=True)

    # -- the table --

    def _save_table(self, folder: Path) -> int:
        dynamodb = self._aws.client("dynamodb", self._region)
        count = 0
        with (folder / TABLE_FILE).open("w", encoding="utf-8") as lines:
            for page in dynamodb.get_paginator("scan").paginate(TableName=self._table, ConsistentRead=True):
                for item in page["Items"]:
                    lines.write(json.dumps(_to_json(item), ensure_ascii=False) + "\n")
                    count += 1
        return count

    def _load_table(self) -> int:
        dynamodb = self._aws.client("dynamodb", self._region)
        with (self.folder / TABLE_FILE).open(encoding="utf-8") as lines:
            items = [_from_json(json.loads(line)) for line in lines if line.strip()]
        for start in range(0, len(items), BATCH_SIZE):
            requests = {self._table: [{"PutRequest": {"Item": item}} for item in items[start:start + BATCH_SIZE]]}
            while requests:
                requests = dynamodb.batch_write_item(RequestItems=requests).get("UnprocessedItems") or {}
        return len(items)

    # -- the bucket --

    def _save_bucket(self, folder: Path) -> int:
        s3 = self._aws.client("s3", self._region)
        (folder / OBJECTS_DIR).mkdir()
        manifest = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self._bucket):
            for summary in page.get("Contents", []):
                stored = s3.get_object(Bucket=self._bucket, Key=summary["Key"])
                file_name = f"{len(manifest):06d}"
                (folder / OBJECTS_DIR / file_name).write_bytes(stored["Body"].read())
                manifest.append({"key": summary["Key"], "file": file_name, "content_type": stored.get("ContentType"),
                                 "metadata": stored.get("Metadata", {})})
        (folder / BUCKET_FILE).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        return len(manifest)

    def _load_bucket(self) -> int:
        manifest_path = self.folder / BUCKET_FILE
        if not manifest_path.exists():
            return 0
        s3 = self._aws.client("s3", self._region)
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        for entry in manifest:
            extra = {"ContentType": entry["content_type"]} if entry.get("content_type") else {}
            s3.put_object(Bucket=self._bucket, Key=entry["key"], Metadata=entry.get("metadata") or {},
                          Body=(self.folder / OBJECTS_DIR / entry["file"]).read_bytes(), **extra)
        return len(manifest)


def _to_json(value: Any) -> Any:
    if isinstance(value, bytes):
        return {BYTES_TAG: base64.b64encode(value).decode("ascii")}
    if isinstance(value, dict):
        return {key: _to_json(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_to_json(inner) for inner in value]
    return value


def _from_json(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {BYTES_TAG}:
            return base64.b64decode(value[BYTES_TAG])
        return {key: _from_json(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_from_json(inner) for inner in value]
    return value
