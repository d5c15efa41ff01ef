//! What `load` asks for: known places, unknown places and bad input, mixed by weight.
//!
//! The mix is deterministic (smooth weighted round robin): with the default 70/20/10, every
//! ten requests are seven known places, two unknown places and one bad input. Each kind has
//! the answer it deserves: known places 200, unknown places 404, bad input 400.

/// Places in the embedded gazetteer (GeoNames, 15,000 people or more), with diacritics,
/// spaces, other spellings and a country to choose among namesakes.
pub const KNOWN: [&str; 20] = [
    "Berlin",
    "Tokyo",
    "Zürich",
    "zurich",
    "Paris, US",
    "Paris",
    "São Paulo",
    "Nairobi",
    "Sydney",
    "Reykjavík",
    "lodz",
    "Mumbai",
    "Buenos Aires",
    "Cape Town",
    "New York City",
    "Mexico City",
    "Kyiv",
    "Montréal",
    "Wellington, NZ",
    "Honolulu",
];

/// Places that are in no gazetteer (checked: none of them is a GeoNames name or alternate
/// name of a place of 15,000; "Atlantis" is, in Florida, so it is not here).
pub const UNKNOWN: [&str; 10] = [
    "Narnia",
    "Gondor",
    "Mordor",
    "Hogwarts",
    "Lilliput",
    "Wakanda",
    "Gotham",
    "Rivendell",
    "Camelot",
    "Brigadoon",
];

/// The three kinds of request, in the order of [`Mix`].
pub const KINDS: [&str; 3] = ["known", "unknown", "bad"];

/// The answer each kind deserves: known places 2xx, unknown places 404, bad input 400.
pub fn expected(kind: usize, status: u16) -> bool {
    match kind {
        0 => (200..300).contains(&status),
        1 => status == 404,
        _ => status == 400,
    }
}

/// Bad input: empty, blank, and one character over the 200 the services accept.
pub fn bad_inputs() -> [String; 3] {
    let long: String = "Llanfairpwllgwyngyll ".chars().cycle().take(201).collect();
    [String::new(), "   ".into(), long]
}

/// Weights of known, unknown and bad requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mix(pub [u32; 3]);

pub fn parse_mix(text: &str) -> Result<Mix, String> {
    let mut weights = [None; 3];
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((key, value)) = part.split_once('=') else {
            return Err(format!(
                "{part:?} is not NAME=WEIGHT: use e.g. known=70,unknown=20,bad=10"
            ));
        };
        let Some(index) = KINDS.iter().position(|k| *k == key.trim()) else {
            return Err(format!(
                "unknown kind {:?}: the kinds are known, unknown and bad",
                key.trim()
            ));
        };
        if weights[index].is_some() {
            return Err(format!("{} is given twice", KINDS[index]));
        }
        let weight: u32 = value
            .trim()
            .parse()
            .ok()
            .filter(|w| *w <= 1_000_000)
            .ok_or_else(|| {
                format!(
                    "the weight of {} must be a whole number from 0 to 1000000, got {:?}",
                    KINDS[index],
                    value.trim()
                )
            })?;
        weights[index] = Some(weight);
    }
    let weights = weights.map(|w| w.unwrap_or(0));
    if weights.iter().all(|w| *w == 0) {
        return Err(
            "at least one weight must be more than 0, e.g. known=70,unknown=20,bad=10".into(),
        );
    }
    Ok(Mix(weights))
}

/// Smooth weighted round robin: every `sum of weights` picks contain each kind exactly
/// `weight` times, spread out evenly.
pub struct Picker {
    weights: [i64; 3],
    current: [i64; 3],
}

impl Picker {
    pub fn new(mix: Mix) -> Self {
        Self {
            weights: mix.0.map(i64::from),
            current: [0; 3],
        }
    }

    pub fn next(&mut self) -> usize {
        let total: i64 = self.weights.iter().sum();
        for (current, weight) in self.current.iter_mut().zip(self.weights) {
            *current += weight;
        }
        let mut best = 0;
        for i in 1..3 {
            if self.current[i] > self.current[best] {
                best = i;
            }
        }
        self.current[best] -= total;
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixes() {
        assert_eq!(
            parse_mix("known=70,unknown=20,bad=10"),
            Ok(Mix([70, 20, 10]))
        );
        assert_eq!(parse_mix("bad=1"), Ok(Mix([0, 0, 1])));
        assert_eq!(parse_mix(" known = 3 , bad=1 "), Ok(Mix([3, 0, 1])));
        assert!(parse_mix("known=0").unwrap_err().contains("more than 0"));
        assert!(parse_mix("known=70,weird=3").unwrap_err().contains("weird"));
        assert!(parse_mix("known=1,known=2").unwrap_err().contains("twice"));
        assert!(parse_mix("known").is_err());
        assert!(parse_mix("known=-1").is_err());
        assert!(parse_mix("known=1.5").is_err());
    }

    #[test]
    fn the_mix_is_exact_in_every_round() {
        let mut picker = Picker::new(Mix([70, 20, 10]));
        let mut counts = [0; 3];
        for _ in 0..100 {
            counts[picker.next()] += 1;
        }
        assert_eq!(counts, [70, 20, 10]);
        // Spread out: one bad request in every ten.
        let mut picker = Picker::new(Mix([7, 2, 1]));
        for _ in 0..5 {
            let round: Vec<usize> = (0..10).map(|_| picker.next()).collect();
            assert_eq!(round.iter().filter(|k| **k == 2).count(), 1, "{round:?}");
        }
        let mut picker = Picker::new(Mix([0, 0, 5]));
        assert!((0..10).all(|_| picker.next() == 2));
    }

    #[test]
    fn inputs_are_what_their_kind_says() {
        let [empty, blank, long] = bad_inputs();
        assert!(empty.is_empty() && blank.trim().is_empty());
        assert_eq!(long.chars().count(), 201);
        assert!(!UNKNOWN.contains(&"Atlantis"));
        assert!(KNOWN.iter().all(|p| !UNKNOWN.contains(p)));
    }
}
