"""Dates as the users see them: the platform's users are in Korea."""
from datetime import date, datetime
from zoneinfo import ZoneInfo

SEOUL = ZoneInfo("Asia/Seoul")


def today() -> date:
    return datetime.now(SEOUL).date()
