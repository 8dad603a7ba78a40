"""API permissions: helpdesk.accounts.guards owns them (kept importable here for DRF's settings)."""

from helpdesk.accounts.guards import IsStaffAgent

__all__ = ["IsStaffAgent"]
