//! Offline gazetteer: turns a place name typed by a person into coordinates.
//!
//! The data is GeoNames "cities15000" (every place with at least 15,000
//! inhabitants), © GeoNames, CC BY 4.0, <https://www.geonames.org/>. It is
//! compiled into the binary so the default backend needs no network; see
//! `data/README.md` for how it is generated.
//!
//! Matching works on *folded* names (see [`fold`]): case, diacritics,
//! punctuation and spacing do not matter, so "zurich", "ZÜRICH" and "Zürich"
//! are the same key. A query "City, XX" restricts the match to one country,
//! given as an ISO code or a name ("Paris, US", "Paris, France"). Among the
//! remaining candidates, a place whose official name matches beats a place
//! that only has it as an alternate name, and otherwise the most populous
//! place wins.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::sync::LazyLock;

/// Cities, one per line: name, ascii name, country code, latitude, longitude,
/// population, comma-separated alternate names.
const EMBEDDED_CITIES: &str = include_str!("../data/cities15000.tsv");
/// Countries, one name per line: ISO 3166-1 alpha-2 code, name or alias.
const EMBEDDED_COUNTRIES: &str = include_str!("../data/countries.tsv");

/// Parsed once, on first use, and shared for the life of the process.
static EMBEDDED: LazyLock<Gazetteer> = LazyLock::new(|| {
    Gazetteer::from_tsv(EMBEDDED_CITIES, EMBEDDED_COUNTRIES)
        .expect("the embedded gazetteer data is valid (checked by unit tests)")
});

/// A populated place found by [`Gazetteer::lookup`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Place {
    /// The GeoNames name, with its diacritics ("Zürich", "Łódź").
    pub name: String,
    /// ISO 3166-1 alpha-2 country code, e.g. "DE".
    pub country: String,
    pub latitude: f64,
    pub longitude: f64,
    pub population: u64,
}

/// A malformed row in the gazetteer data, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file} line {line}: {problem}")]
pub struct GazetteerError {
    /// Which input: "cities" or "countries".
    pub file: &'static str,
    /// 1-based line number, counting header and blank lines.
    pub line: usize,
    pub problem: String,
}

/// An in-memory index of places by folded name.
#[derive(Debug)]
pub struct Gazetteer {
    places: Vec<Place>,
    /// Folded name → candidates, best first (see [`NameIndex`]).
    by_name: NameIndex,
    /// Folded country code, name or alias ("fr", "france") → "FR".
    countries: HashMap<String, String>,
}

impl Gazetteer {
    /// The gazetteer compiled into the binary, parsed once on first use.
    pub fn embedded() -> &'static Gazetteer {
        &EMBEDDED
    }

    /// Builds a gazetteer from the two TSV files (formats as in `data/`).
    /// Blank lines and lines starting with '#' are skipped.
    pub fn from_tsv(cities: &str, countries: &str) -> Result<Gazetteer, GazetteerError> {
        let countries = parse_countries(countries)?;
        let (places, names) = parse_cities(cities)?;
        let by_name = NameIndex::new(names, &places);
        Ok(Gazetteer {
            places,
            by_name,
            countries,
        })
    }

    /// Finds the place a person most likely means by `query`, or `None`.
    ///
    /// "City, Country" restricts to a country when the part after the last
    /// comma names one; otherwise the whole query is taken as a name, which
    /// keeps names that contain a comma ("Misato, Saitama") findable, and
    /// makes "Paris, XX" find nothing.
    pub fn lookup(&self, query: &str) -> Option<&Place> {
        let by_country = query
            .rsplit_once(',')
            .and_then(|(city, country)| Some((city, self.countries.get(&fold(country))?)));
        match by_country {
            Some((city, code)) => self.best_match(city, Some(code)),
            None => self.best_match(query, None),
        }
    }

    /// Number of places.
    pub fn len(&self) -> usize {
        self.places.len()
    }

    /// Whether there are no places at all.
    pub fn is_empty(&self) -> bool {
        self.places.is_empty()
    }

    /// The first candidate for `name`, within `country` if one is given.
    fn best_match(&self, name: &str, country: Option<&String>) -> Option<&Place> {
        self.by_name
            .candidates(&fold(name))
            .map(|index| &self.places[index as usize])
            .find(|place| country.is_none_or(|code| &place.country == code))
    }
}

/// Folds a name into a matching key, so that the spellings people type meet
/// the spellings in the data:
///
/// 1. transliterate to ASCII with `deunicode` ("Łódź" → "Lodz", "ß" → "ss",
///    "ø" → "o"; plain Unicode decomposition misses those three);
/// 2. lowercase;
/// 3. drop apostrophes ("Xi'an" = "Xian");
/// 4. treat every other non-alphanumeric character ('-', '.', '(', ...) as a
///    word break, and collapse runs of breaks and whitespace into one space
///    ("St. Gallen" = "St Gallen", "Frankfurt-am-Main" = "Frankfurt am Main");
/// 5. expand the abbreviations "st", "ste", "mt", "ft" to "saint", "sainte",
///    "mount", "fort", so "St. Petersburg" = "Saint Petersburg".
pub fn fold(text: &str) -> String {
    // One pass and one allocation: this runs for every name at start-up.
    let mut folded = WordWriter {
        out: String::with_capacity(text.len() + 4),
        ..WordWriter::default()
    };
    for c in text.chars() {
        if c.is_ascii() {
            folded.push(c as u8);
        } else if let Some(ascii) = deunicode::deunicode_char(c) {
            ascii.bytes().for_each(|b| folded.push(b));
        } else {
            folded.push(b' ');
        }
    }
    folded.finish()
}

/// Accumulates a folded key from ASCII bytes (steps 2 to 5 of [`fold`]).
#[derive(Default)]
struct WordWriter {
    out: String,
    /// Where the word being written starts in `out`.
    word_start: usize,
    /// Whether a word break was seen since the last written character.
    pending_break: bool,
}

impl WordWriter {
    fn push(&mut self, byte: u8) {
        match byte {
            b'\'' | b'`' => {}
            b if b.is_ascii_alphanumeric() => {
                if self.pending_break && !self.out.is_empty() {
                    self.end_word();
                    self.out.push(' ');
                    self.word_start = self.out.len();
                }
                self.pending_break = false;
                self.out.push(b.to_ascii_lowercase() as char);
            }
            _ => self.pending_break = true,
        }
    }

    /// Replaces the word just written by its expansion, if it has one.
    fn end_word(&mut self) {
        if let Some(long) = expansion(&self.out[self.word_start..]) {
            self.out.truncate(self.word_start);
            self.out.push_str(long);
        }
    }

    fn finish(mut self) -> String {
        self.end_word();
        self.out
    }
}

/// The long form of a common place-name abbreviation.
fn expansion(word: &str) -> Option<&'static str> {
    match word {
        "st" => Some("saint"),
        "ste" => Some("sainte"),
        "mt" => Some("mount"),
        "ft" => Some("fort"),
        _ => None,
    }
}

/// Non-comment lines with their 1-based line numbers.
fn data_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line))
        .filter(|(_, line)| !line.trim().is_empty() && !line.starts_with('#'))
}

/// Reads countries.tsv into a map from folded code, name or alias to code.
fn parse_countries(text: &str) -> Result<HashMap<String, String>, GazetteerError> {
    let mut countries = HashMap::new();
    for (line, row) in data_lines(text) {
        let error = |problem: String| GazetteerError {
            file: "countries",
            line,
            problem,
        };
        let Some((code, name)) = row.split_once('\t') else {
            return Err(error("expected 2 tab-separated fields: code, name".into()));
        };
        let code = parse_country_code(code).map_err(error)?;
        if fold(name).is_empty() {
            return Err(error("empty country name".into()));
        }
        countries.insert(fold(code), code.to_string());
        countries.insert(fold(name), code.to_string());
    }
    Ok(countries)
}

/// One folded name of a place: (name, index into places, whether the name is only an
/// alternate name of that place).
type NameOfPlace = (String, u32, bool);

/// Every folded name with the places it names, sorted by name and, within a name, best
/// candidate first: places whose official name it is before places that only have it as an
/// alternate name, then the most populous first. Lookups are a binary search.
///
/// A sorted slice rather than a `HashMap<String, Vec<_>>`: for the embedded data's 125,000
/// names the map, its half-empty table and a small vector per name took about 21 MB, most
/// of a geolocator's memory; the slice takes about a quarter of that.
#[derive(Debug)]
struct NameIndex {
    entries: Box<[(Box<str>, u32)]>,
}

impl NameIndex {
    fn new(mut names: Vec<NameOfPlace>, places: &[Place]) -> Self {
        names.sort_unstable_by(|(a, a_place, a_alt), (b, b_place, b_alt)| {
            let population = |place: &u32| Reverse(places[*place as usize].population);
            (a, a_alt, population(a_place), a_place).cmp(&(b, b_alt, population(b_place), b_place))
        });
        let entries = names
            .into_iter()
            .map(|(name, place, _)| (name.into_boxed_str(), place));
        NameIndex {
            entries: entries.collect(),
        }
    }

    /// The places called `key`, best first.
    fn candidates<'a>(&'a self, key: &'a str) -> impl Iterator<Item = u32> + 'a {
        let start = self.entries.partition_point(|(name, _)| &**name < key);
        self.entries[start..]
            .iter()
            .take_while(move |(name, _)| &**name == key)
            .map(|(_, place)| *place)
    }
}

/// Reads cities15000.tsv into places, in file order, and the folded names
/// that lead to each of them.
fn parse_cities(text: &str) -> Result<(Vec<Place>, Vec<NameOfPlace>), GazetteerError> {
    // Sized up front (about 3.5 names per place in the embedded data) so the vectors are
    // not reallocated over and over while they grow.
    let rows = text.lines().count();
    let mut places = Vec::with_capacity(rows);
    let mut names = Vec::with_capacity(rows * 4);
    for (line, row) in data_lines(text) {
        let fields: Vec<&str> = row.split('\t').collect();
        let place = parse_city(&fields).map_err(|problem| GazetteerError {
            file: "cities",
            line,
            problem,
        })?;
        for (key, alternate) in keys_of(&fields) {
            names.push((key, places.len() as u32, alternate));
        }
        places.push(place);
    }
    Ok((places, names))
}

/// One city row; the alternate-names column (the 7th) is optional.
fn parse_city(fields: &[&str]) -> Result<Place, String> {
    if !(6..=7).contains(&fields.len()) {
        return Err(format!(
            "expected 6 or 7 tab-separated fields, found {}",
            fields.len()
        ));
    }
    if fields[0].trim().is_empty() {
        return Err("empty name".into());
    }
    Ok(Place {
        name: fields[0].to_string(),
        country: parse_country_code(fields[2])?.to_string(),
        latitude: parse_coordinate("latitude", fields[3], 90.0)?,
        longitude: parse_coordinate("longitude", fields[4], 180.0)?,
        population: fields[5]
            .parse()
            .map_err(|_| format!("invalid population {:?}", fields[5]))?,
    })
}

/// An ISO 3166-1 alpha-2 code: two upper-case ASCII letters.
fn parse_country_code(code: &str) -> Result<&str, String> {
    if code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(code)
    } else {
        Err(format!("invalid country code {code:?}"))
    }
}

/// A latitude or longitude in degrees, within ±`limit`.
fn parse_coordinate(what: &str, text: &str, limit: f64) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(value) if value.abs() <= limit => Ok(value),
        _ => Err(format!("invalid {what} {text:?}")),
    }
}

/// The distinct folded keys of one (validated) city row, each flagged `true`
/// when it comes only from the alternate names.
fn keys_of(fields: &[&str]) -> Vec<(String, bool)> {
    let official = [fields[0], fields[1]].into_iter().map(|n| (n, false));
    let alternates = fields
        .get(6)
        .into_iter()
        .flat_map(|names| names.split(','))
        .map(|n| (n, true));
    let mut keys: Vec<(String, bool)> = Vec::new();
    for (name, alternate) in official.chain(alternates) {
        let key = fold(name);
        if !key.is_empty() && !keys.iter().any(|(k, _)| *k == key) {
            keys.push((key, alternate));
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Name and country of the embedded gazetteer's answer.
    fn find(query: &str) -> Option<(String, String)> {
        Gazetteer::embedded()
            .lookup(query)
            .map(|place| (place.name.clone(), place.country.clone()))
    }

    fn found(name: &str, country: &str) -> Option<(String, String)> {
        Some((name.to_string(), country.to_string()))
    }

    #[test]
    fn embedded_data_parses() {
        assert!(Gazetteer::embedded().len() > 30_000);
    }

    #[test]
    fn ignores_case_and_diacritics() {
        assert_eq!(find("zurich"), found("Zürich", "CH"));
        assert_eq!(find("ZÜRICH"), found("Zürich", "CH"));
        assert_eq!(find("lodz"), found("Łódź", "PL"));
        assert_eq!(find("sao paulo"), found("São Paulo", "BR"));
    }

    #[test]
    fn finds_alternate_names() {
        assert_eq!(find("MÜNCHEN"), found("Munich", "DE"));
        assert_eq!(find("munich"), found("Munich", "DE"));
        assert_eq!(find("Wien"), found("Vienna", "AT"));
        assert_eq!(find("Cologne"), found("Köln", "DE"));
    }

    #[test]
    fn most_populous_wins() {
        assert_eq!(find("Paris"), found("Paris", "FR"));
        let springfield = Gazetteer::embedded().lookup("Springfield").unwrap();
        assert_eq!(springfield.country, "US");
        assert_eq!(springfield.population, 170_188);
    }

    #[test]
    fn country_suffix_restricts() {
        let paris_us = Gazetteer::embedded().lookup("Paris, US").unwrap();
        assert_eq!(
            (paris_us.name.as_str(), paris_us.country.as_str()),
            ("Paris", "US")
        );
        assert_eq!(
            paris_us.population, 24_782,
            "the most populous Paris in the US"
        );
        assert_eq!(find("Paris, France"), found("Paris", "FR"));
        assert_eq!(find("paris , fr"), found("Paris", "FR"));
        assert_eq!(find("Paris, USA"), found("Paris", "US"));
        assert_eq!(find("Vienna, United States"), found("Vienna", "US"));
    }

    #[test]
    fn whitespace_and_punctuation_variants() {
        assert_eq!(find("  new   york  "), find("New York"));
        assert_eq!(find("St. Gallen"), found("Sankt Gallen", "CH"));
        assert_eq!(find("st gallen"), found("Sankt Gallen", "CH"));
        assert_eq!(find("Frankfurt am Main"), found("Frankfurt am Main", "DE"));
        assert_eq!(find("frankfurt-am-main"), found("Frankfurt am Main", "DE"));
        assert_eq!(find("Frankfurt (Oder)"), found("Frankfurt (Oder)", "DE"));
    }

    #[test]
    fn unknown_places_are_not_found() {
        // Not "Atlantis": GeoNames has one, in South Africa.
        assert_eq!(find("Narnia"), None);
        assert_eq!(find("Lilliput"), None);
        assert_eq!(find("Paris, XX"), None);
        assert_eq!(find(""), None);
        assert_eq!(find("  ,  "), None);
    }

    #[test]
    fn names_containing_a_comma_are_found() {
        assert_eq!(find("Misato, Saitama"), found("Misato, Saitama", "JP"));
    }

    #[test]
    fn folding_rules() {
        assert_eq!(fold("  Łódź "), "lodz");
        assert_eq!(fold("Straße"), "strasse");
        assert_eq!(fold("Tromsø"), "tromso");
        assert_eq!(fold("St.Gallen"), "saint gallen");
        assert_eq!(fold("Xi'an"), "xian");
        assert_eq!(fold("Frankfurt (Oder)"), "frankfurt oder");
    }

    const COUNTRIES: &str = "# code\tname\nFR\tFrance\nUS\tUnited States\n";

    #[test]
    fn from_tsv_reads_small_data() {
        let cities = "# header\n\nParis\tParis\tFR\t48.85\t2.35\t2000000\tLutetia\n\
                      Paris\tParis\tUS\t33.66\t-95.55\t25000\n";
        let gazetteer = Gazetteer::from_tsv(cities, COUNTRIES).unwrap();
        assert_eq!(gazetteer.len(), 2);
        assert_eq!(gazetteer.lookup("lutetia").unwrap().country, "FR");
        assert_eq!(
            gazetteer.lookup("Paris, United States").unwrap().country,
            "US"
        );
    }

    #[test]
    fn official_name_beats_alternate_name() {
        let cities = "Big\tBig\tFR\t1\t1\t1000000\tSmall\nSmall\tSmall\tUS\t2\t2\t20000\n";
        let gazetteer = Gazetteer::from_tsv(cities, COUNTRIES).unwrap();
        assert_eq!(gazetteer.lookup("small").unwrap().name, "Small");
    }

    #[test]
    fn from_tsv_reports_malformed_row_with_line_number() {
        let cities = "# header\nParis\tParis\tFR\t48.85\t2.35\t2000000\t\n\
                      Lyon\tLyon\tFR\tnorth\t4.83\t500000\t\n";
        let error = Gazetteer::from_tsv(cities, COUNTRIES).unwrap_err();
        assert_eq!((error.file, error.line), ("cities", 3));
        assert_eq!(
            error.to_string(),
            "cities line 3: invalid latitude \"north\""
        );

        let error = Gazetteer::from_tsv("Lyon\tLyon\tFR\n", COUNTRIES).unwrap_err();
        assert_eq!(error.line, 1);
        assert!(error.problem.contains("found 3"), "{error}");

        let error = Gazetteer::from_tsv("", "FR\tFrance\nfrance\n").unwrap_err();
        assert_eq!((error.file, error.line), ("countries", 2));
    }
}
