"""A platform's hint only *suggests* a region (the labeler chooses): Slack's `tz` through a small map from IANA
zone to world region, Discord's `locale` through the country it names.

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


_BY_COUNTRY = {
    "Africa": {"ZA", "NG", "KE", "EG", "MA", "GH", "ET", "TZ", "SN", "DZ", "TN", "UG", "CM", "CI"},
    "Asia": {"CN", "TW", "HK", "JP", "KR", "IN", "ID", "TH", "VN", "PH", "MY", "SG", "PK", "BD", "TR", "IL", "SA",
             "AE", "IR", "KZ"},
    "Europe": {"GB", "DE", "FR", "ES", "IT", "NL", "BE", "PT", "PL", "SE", "NO", "DK", "FI", "CZ", "GR", "HU", "RO",
               "BG", "HR", "LT", "UA", "RU", "IE", "AT", "CH", "SK", "SI", "EE", "LV"},
    "Latin America": {"BR", "MX", "AR", "CO", "CL", "PE", "VE", "EC", "UY", "PY", "BO", "CR", "CU"},
    "North America": {"US", "CA"},
    "Oceania": {"AU", "NZ"},
}
# Discord locales without a country, read as the place most of their speakers are
_BY_LANGUAGE = {"ja": "Asia", "ko": "Asia", "zh": "Asia", "hi": "Asia", "th": "Asia", "vi": "Asia", "id": "Asia",
                "tr": "Asia", "de": "Europe", "fr": "Europe", "it": "Europe", "nl": "Europe", "pl": "Europe",
                "da": "Europe", "fi": "Europe", "no": "Europe", "sv": "Europe", "cs": "Europe", "el": "Europe",
                "hu": "Europe", "ro": "Europe", "bg": "Europe", "hr": "Europe", "lt": "Europe", "uk": "Europe",
                "ru": "Europe"}


def region_for_locale(locale: str | None) -> str | None:
    """Discord's 'pt-BR' → 'Latin America', 'en-US' → 'North America', 'de' → 'Europe'; None when unknown
    ('en-GB' is a country; plain English or Spanish says nothing about where someone is)."""
    if not locale:
        return None
    if locale == "es-419":
        return "Latin America"
    language, _, country = locale.partition("-")
    if country:
        return next((region for region, codes in _BY_COUNTRY.items() if country.upper() in codes), None)
    return _BY_LANGUAGE.get(language.lower())
