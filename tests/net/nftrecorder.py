"""libnftables replaced by a recorder: the JSON batches a firewall class would apply."""

from __future__ import annotations

from typing import Any


class Recorder:
    """Records each batch; answers every one with `error` when `fail` is set."""

    def __init__(self, fail: bool = False, error: str = "Error: Could not process rule") -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self.fail = fail
        self.error = error

    def json_cmd(self, json_root: dict[str, Any]) -> tuple[int, Any, str]:
        self.batches.append(json_root["nftables"])
        return (1, "", self.error) if self.fail else (0, "", "")
