"""``/maintenance 30m reason``: a maintenance window from now, through the same service as the API and the CLI.

    command = MaintenanceCommand(maintenance_service)
    text = await command("30m deploy 0.3", "@alice")    # the reply: the window, or one line saying what is wrong
"""

from __future__ import annotations

from datetime import timedelta

from alerting.telegram import texts
from exporter.services.maintenance import MaintenanceService
from exporter.settings import parse_duration

USAGE = "Usage: /maintenance DURATION REASON, e.g. /maintenance 30m deploy 0.3"


class MaintenanceCommand:
    def __init__(self, maintenance: MaintenanceService) -> None:
        self.maintenance = maintenance

    async def __call__(self, argument: str, who: str) -> str:
        duration, _, reason = argument.strip().partition(" ")
        if not duration or not reason.strip():
            return USAGE
        try:
            seconds = parse_duration(duration, "duration")
            window = await self.maintenance.start(timedelta(seconds=seconds), reason.strip(), created_by=who)
        except ValueError as exc:  # SettingsError, WindowError: one line naming what is wrong
            return f"⛔ {texts.esc(str(exc))}; nothing was changed. {USAGE}"
        end = window.get("end")
        until = texts.when(end) if end is not None else "?"
        return (f"🔧 Maintenance window <code>{texts.esc(window.get('id'))}</code> until {until}, by {texts.esc(who)}: "
                f"{texts.esc(window.get('reason'))}")
