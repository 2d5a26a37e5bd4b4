"""Slack's `tz` only *suggests* a region (the labeler chooses): a small map from IANA zone to world region.

Names follow the regions campaigns are usually created with; a suggestion outside the campaign's regions is simply
not pre-selected.
"""

from __future__ import annotations

_BY_AREA = {
    "Africa": "Africa",
    "Asia": "Asia",
    "Europe": "Europe",
    "Australia": "Oceania",
    "Pacific": "Oceania",
    "Antarctica": None,
    "Arctic": "Europe",
    "Indian": "Asia",
}
_NORTH_AMERICA = {
    "New_York", "Chicago", "Denver", "Los_Angeles", "Phoenix", "Anchorage", "Juneau", "Sitka", "Nome", "Adak",
    "Boise", "Detroit", "Indiana", "Kentucky", "North_Dakota", "Menominee", "Toronto", "Vancouver", "Edmonton",
    "Winnipeg", "Regina", "Halifax", "St_Johns", "Moncton", "Glace_Bay", "Goose_Bay", "Whitehorse", "Dawson",
    "Dawson_Creek", "Yellowknife", "Iqaluit", "Rankin_Inlet", "Cambridge_Bay", "Inuvik", "Swift_Current",
    "Creston", "Fort_Nelson", "Atikokan", "Resolute", "Metlakatla", "Yakutat", "Montreal", "Thunder_Bay",
    "Nipigon", "Rainy_River", "Pangnirtung", "Nuuk", "Godthab", "Thule", "Scoresbysund", "Danmarkshavn",
    "Miquelon",
}
_ATLANTIC_EUROPE = {"Azores", "Madeira", "Canary", "Faroe", "Faeroe", "Reykjavik"}
_US_CANADA = ("US/", "Canada/")


def region_for_tz(tz: str | None) -> str | None:
    """'America/Sao_Paulo' → 'Latin America', 'Europe/Berlin' → 'Europe'; None when unknown."""
    if not tz:
        return None
    if tz.startswith(_US_CANADA):
        return "North America"
    area, _, place = tz.partition("/")
    if area == "America":
        return "North America" if place.split("/")[0] in _NORTH_AMERICA else "Latin America"
    if area == "Atlantic":
        if place in _ATLANTIC_EUROPE:
            return "Europe"
        return "North America" if place == "Bermuda" else "Africa" if place in ("Cape_Verde", "St_Helena") else None
    return _BY_AREA.get(area)
