"""Huawei VRP through napalm-huawei-vrp, with the safe push hatang needs.

napalm-huawei-vrp 1.2 has no working replace (``load_replace_candidate`` is empty) and
no commit-confirm, and its ``commit_config`` saves the new configuration as the
startup one at once. VRP routers at the communes (AR series) apply each line as it is
entered. So hatang pushes to VRP like this:

1. ``save``: the startup configuration is the running one, the state to come back to;
   ``save flash:/hatang-rollback.cfg`` keeps it as a file too;
2. ``schedule reboot delay HH:MM`` (the revert time, whole minutes): if hatang loses
   the router, it reboots into that saved configuration by itself;
3. the candidate is merged (napalm-huawei-vrp's own merge: system-view, the lines,
   an error on any line aborts); a merge never removes lines, so the local users'
   passwords, set on the router at day 0 (hatang cannot compute VRP's irreversible
   cipher), stay;
4. after the post-checks: ``undo schedule reboot`` and ``save`` (confirm), or
   ``rollback configuration to file flash:/hatang-rollback.cfg`` (roll back; if that
   fails the scheduled reboot is left to do it).

The price of the safety net is a reboot — minutes of outage at one commune — only when
hatang lost the router mid-push, which is when the router would otherwise be stranded.
"""

from __future__ import annotations

import re

from diffplus import IncrementalDiff, IndentedConfig
from napalm.base.exceptions import CommitError, MergeConfigException
from napalm_huawei_vrp.huawei_vrp import VRPDriver

ROLLBACK_FILE = "hatang-rollback.cfg"
_SCHEDULED = re.compile(r"System will reboot at", re.IGNORECASE)


def candidate_lines(config: str) -> str:
    """A configuration file's commands: ``#`` separators and the closing ``return`` are
    structure, not commands (``return`` would leave system-view before the merge checks
    its output)."""
    return "\n".join(line for line in config.splitlines() if line.strip() not in ("", "#", "return")) + "\n"


def contextual_diff(config: str, running: str) -> str:
    """The lines of ``config`` the ``running`` configuration lacks, in their context:
    napalm-huawei-vrp's contextual diff (diffplus), on text hatang read."""
    return str(IncrementalDiff(IndentedConfig(candidate_lines(config), sanitize=True), IndentedConfig(running, sanitize=True))).strip()


class VrpDriver(VRPDriver):
    """napalm-huawei-vrp plus a merge push guarded by a scheduled reboot."""

    def load_replace_candidate(self, filename: str | None = None, config: str | None = None) -> None:
        """VRP pushes merge (see the module's docstring): the candidate replaces any
        earlier one, then goes in line by line (:func:`candidate_lines`)."""
        if filename is not None:
            with open(filename, encoding="utf-8") as handle:
                config = handle.read()
        self.merge_candidate = ""
        self.load_merge_candidate(config=candidate_lines(config or ""))

    def compare_config(self) -> str:
        """The candidate's lines the running configuration lacks, in their context."""
        return contextual_diff(self.merge_candidate, self.get_config(retrieve="running")["running"]) if self.loaded else ""

    def _confirm(self, command: str) -> str:
        """A command VRP asks "[Y/N]" about, answered yes."""
        output = self.device.send_command(command, expect_string=r"\[Y/N\]")
        return output + self.device.send_command("y", expect_string=r"<.+>")

    def commit_config(self, message: str = "", revert_in: int | None = None) -> None:
        if not self.loaded:
            raise CommitError("No config loaded.")
        if revert_in is not None and self.has_pending_commit():
            raise CommitError("a reboot is already scheduled on the router: a push is pending confirmation")
        self._save_config()
        self._save_config(f"flash:/{ROLLBACK_FILE}")
        if revert_in is not None:
            hours, minutes = divmod(revert_in // 60, 60)
            self._confirm(f"schedule reboot delay {hours:02d}:{minutes:02d}")
        try:
            self._commit_merge()
        except MergeConfigException:
            self.rollback()
            raise
        self.merge_candidate, self.loaded, self.changed = "", False, True
        if revert_in is None:
            self._save_config()

    def has_pending_commit(self) -> bool:
        return bool(_SCHEDULED.search(self.device.send_command("display schedule reboot")))

    def confirm_commit(self) -> None:
        if not self.has_pending_commit():
            raise CommitError("no pending push to confirm (no reboot scheduled)")
        self.device.send_command("undo schedule reboot")
        self._save_config()

    def rollback(self) -> None:
        """Back to the configuration saved before the push; the scheduled reboot is
        cancelled only once that worked."""
        self._load_config(f"flash:/{ROLLBACK_FILE}")
        if self.has_pending_commit():
            self.device.send_command("undo schedule reboot")
        self._save_config()
