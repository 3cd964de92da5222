"""The content-addressed cache: recordings and drawn files stored under the hash of their inputs.

Layout under the cache root (``.cache`` by default)::

    recordings/KEY.npz + KEY.json   a run's recording; the manifest carries the arrays' SHA-256
    files/KEY.png|gif|txt|json      a drawn figure or numbers file
    files/KEY.sha256                its SHA-256, written after it
    state/OUTPUT.json               what each output file was last made from (for --dry-run's "why")
    lock                            held by a render for its whole run

An entry is used only if its hash checks out, so a torn or corrupt entry is rebuilt, never
drawn. Every write is atomic (``write.write_bytes``); the lock keeps two renders from
training or drawing the same thing at once.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
from pathlib import Path
from typing import Any, Iterator

from .record import Recording
from .write import write_bytes, write_json, write_recording


def sha256(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def file_sha256(path: Path) -> str | None:
    try:
        return sha256(path.read_bytes())
    except OSError:
        return None


class Store:
    def __init__(self, root: Path):
        self.root = root

    # ----------------------------------------------------------------- recordings

    def recording_path(self, key: str) -> Path:
        return self.root / "recordings" / f"{key}.npz"

    def has_recording(self, key: str) -> bool:
        """Whether a complete, uncorrupted recording is stored (reads and hashes it)."""
        path = self.recording_path(key)
        manifest = _read_json(path.with_suffix(".json"))
        return manifest is not None and file_sha256(path) == manifest.get("arrays_sha256")

    def get_recording(self, key: str) -> Recording | None:
        if not self.has_recording(key):
            return None
        try:
            return Recording.load(self.recording_path(key))
        except (OSError, ValueError, KeyError):
            return None

    def put_recording(self, key: str, recording: Recording) -> None:
        write_recording(self.recording_path(key), recording)

    # ----------------------------------------------------------------- drawn files

    def file_path(self, key: str, suffix: str) -> Path:
        return self.root / "files" / f"{key}{suffix}"

    def get_file(self, key: str, suffix: str) -> bytes | None:
        """The stored bytes, or None if missing or failing their hash."""
        path = self.file_path(key, suffix)
        try:
            payload = path.read_bytes()
            expected = path.with_suffix(path.suffix + ".sha256").read_text().strip()
        except OSError:
            return None
        return payload if sha256(payload) == expected else None

    def file_digest(self, key: str, suffix: str) -> str | None:
        payload = self.get_file(key, suffix)
        return None if payload is None else sha256(payload)

    def put_file(self, key: str, suffix: str, payload: bytes) -> None:
        path = self.file_path(key, suffix)
        write_bytes(path, payload)
        write_bytes(path.with_suffix(path.suffix + ".sha256"), sha256(payload).encode())

    # ----------------------------------------------------------------- state and lock

    def state_path(self, output: Path) -> Path:
        name = sha256(str(output.resolve()).encode())[:16]
        return self.root / "state" / f"{name}.json"

    def get_state(self, output: Path) -> dict[str, Any]:
        return _read_json(self.state_path(output)) or {}

    def put_state(self, output: Path, state: dict[str, Any]) -> None:
        write_json(self.state_path(output), state)

    @contextlib.contextmanager
    def lock(self, waiting=None) -> Iterator[None]:
        """Hold the cache's lock; ``waiting()`` is called once if another render holds it."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "lock", "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if waiting is not None:
                    waiting()
                fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None
