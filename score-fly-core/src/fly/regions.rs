//! Fly's region codes: the current ones, flyctl's deprecated → replacement map, and the
//! one check every region a user gives goes through ([`check`]).
//!
//! Source: `../shared/reference/fly-2026.md` §4 (docs `reference/regions.html.markerb`,
//! flyctl `internal/command/launch/plan_builder.go` `deprecatedRegionReplacements`, read at
//! flyctl v0.4.87). flyctl applies the map only in `fly launch`; `fly deploy` does not
//! remap an old `primary_region` (§4.2), so a generator must: [`check`] gives the
//! replacement and the caller warns, naming both codes.
//!
//! **Nearest codes.** An unknown code has no location, so "nearest" is by spelling: the
//! distance is the optimal-string-alignment edit distance (insertions, deletions,
//! substitutions and swaps of two neighbours, each 1) between the value (lowercased) and
//! a code, the region's city, or as many first letters of the city as the value has (three
//! or more), whichever is smallest (so `Amsterdam` finds `ams`, `lon` finds `lhr`). The
//! codes at the smallest distance found and at one more are listed, nearest first (ties
//! in code order), at most [`NEAREST`]. The reference gives no coordinates, so a known
//! region that some service does not serve (Managed Postgres, §1.10) is matched by its
//! area instead: [`nearest`] with a `serves` filter.

use std::fmt;

/// How many codes an unknown region's error lists at most.
pub const NEAREST: usize = 3;

/// Fly's `geo_region` of a region (§4.3's values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Area {
    /// `africa`.
    Africa,
    /// `asia_pacific`.
    AsiaPacific,
    /// `europe`.
    Europe,
    /// `north_america`.
    NorthAmerica,
    /// `south_america`.
    SouthAmerica,
}

/// A current Fly region (fly-2026.md §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// The code, e.g. `ams`.
    pub code: &'static str,
    /// Where it is, as the docs' table says (`Amsterdam, NL`).
    pub location: &'static str,
    /// Its area (derived from the country in `location`; §4.3 names the areas).
    pub area: Area,
    /// A `WireGuard` gateway runs there.
    pub gateway: bool,
    /// Managed Postgres runs there per the docs (§1.10; flyctl asks the API per org).
    pub mpg: bool,
}

impl Region {
    /// The city (`location` before its comma).
    pub fn city(&self) -> &'static str {
        self.location.split(',').next().unwrap_or(self.location)
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.code, self.location)
    }
}

const fn region(code: &'static str, location: &'static str, area: Area, gateway: bool, mpg: bool) -> Region {
    Region { code, location, area, gateway, mpg }
}

/// The 18 current regions, in code order (fly-2026.md §4.1).
pub const CURRENT: [Region; 18] = [
    region("ams", "Amsterdam, NL", Area::Europe, true, true),
    region("arn", "Stockholm, SE", Area::Europe, true, false),
    region("bom", "Mumbai, IN", Area::AsiaPacific, true, false),
    region("cdg", "Paris, FR", Area::Europe, true, false),
    region("dfw", "Dallas, US", Area::NorthAmerica, true, false),
    region("ewr", "Secaucus NJ, US", Area::NorthAmerica, true, false),
    region("fra", "Frankfurt, DE", Area::Europe, true, true),
    region("gru", "São Paulo, BR", Area::SouthAmerica, false, true),
    region("iad", "Ashburn VA, US", Area::NorthAmerica, true, true),
    region("jnb", "Johannesburg, ZA", Area::Africa, false, false),
    region("lax", "Los Angeles, US", Area::NorthAmerica, true, true),
    region("lhr", "London, UK", Area::Europe, true, true),
    region("nrt", "Tokyo, JP", Area::AsiaPacific, true, true),
    region("ord", "Chicago, US", Area::NorthAmerica, true, true),
    region("sin", "Singapore", Area::AsiaPacific, true, true),
    region("sjc", "San Jose, US", Area::NorthAmerica, true, true),
    region("syd", "Sydney, AU", Area::AsiaPacific, true, true),
    region("yyz", "Toronto, CA", Area::NorthAmerica, true, true),
];

/// flyctl's deprecated code → replacement map (fly-2026.md §4.2), in old-code order.
pub const DEPRECATED: [(&str, &str); 17] = [
    ("atl", "dfw"),
    ("bog", "gru"),
    ("bos", "ewr"),
    ("den", "dfw"),
    ("eze", "gru"),
    ("gdl", "dfw"),
    ("gig", "gru"),
    ("hkg", "sin"),
    ("mad", "cdg"),
    ("mia", "dfw"),
    ("otp", "fra"),
    ("phx", "lax"),
    ("qro", "dfw"),
    ("scl", "gru"),
    ("sea", "sjc"),
    ("waw", "ams"),
    ("yul", "yyz"),
];

/// The current region with this code.
pub fn find(code: &str) -> Option<&'static Region> {
    CURRENT.iter().find(|r| r.code == code)
}

/// A region that passed [`check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checked {
    /// The current region to use.
    pub region: &'static Region,
    /// The deprecated code it replaces, when the value was one.
    pub replaced: Option<&'static str>,
}

impl Checked {
    /// The code to use.
    pub fn code(&self) -> &'static str {
        self.region.code
    }

    /// The warning a replaced code deserves (naming both codes), if it was replaced.
    pub fn warning(&self) -> Option<Replaced> {
        self.replaced.map(|old| Replaced { old, new: self.region })
    }
}

/// A deprecated code replaced by its successor; displays as the warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replaced {
    /// The deprecated code.
    pub old: &'static str,
    /// Its replacement.
    pub new: &'static Region,
}

impl fmt::Display for Replaced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is a deprecated Fly region code: using its replacement `{}` ({}), as `fly launch` does; write `{}` to silence this",
            self.old, self.new.code, self.new.location, self.new.code
        )
    }
}

/// A value that is neither a current nor a deprecated region code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{}` is not a Fly region code; nearest: {} (`fly platform regions` lists them all)", .value.escape_debug(), list(.nearest))]
pub struct UnknownRegion {
    /// The value as given.
    pub value: String,
    /// The nearest current regions (see the module documentation).
    pub nearest: Vec<&'static Region>,
}

fn list(regions: &[&Region]) -> String {
    regions.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

/// Checks a region code: a current one as it is, a deprecated one replaced (see
/// [`Checked::warning`]), anything else an error listing the nearest codes.
pub fn check(value: &str) -> Result<Checked, UnknownRegion> {
    if let Some(region) = find(value) {
        return Ok(Checked { region, replaced: None });
    }
    if let Some((old, new)) = DEPRECATED.iter().find(|(old, _)| *old == value) {
        let region = find(new).expect("every replacement is a current region");
        return Ok(Checked { region, replaced: Some(old) });
    }
    Err(UnknownRegion { value: value.to_owned(), nearest: nearest(value, |_| true) })
}

/// The regions `serves` keeps that are nearest to `value`, nearest first. For a region code
/// (current, or deprecated: its replacement) that `serves` refuses, the served regions of
/// its area, in code order (the reference gives no coordinates), or none when its area has
/// none; for any other value, the nearest by spelling (see the module documentation).
pub fn nearest(value: &str, serves: impl Fn(&Region) -> bool) -> Vec<&'static Region> {
    let known = check_known(value);
    if let Some(known) = known {
        return CURRENT
            .iter()
            .filter(|r| r.area == known.area && r.code != known.code && serves(r))
            .take(NEAREST)
            .collect();
    }
    let value: Vec<char> = value.to_lowercase().chars().collect();
    let mut ranked: Vec<(usize, &'static Region)> =
        CURRENT.iter().filter(|r| serves(r)).map(|r| (spelling_distance(&value, r), r)).collect();
    ranked.sort_by_key(|(distance, r)| (*distance, r.code));
    let Some(&(best, _)) = ranked.first() else { return Vec::new() };
    ranked.into_iter().take_while(|(d, _)| *d <= best + 1).take(NEAREST).map(|(_, r)| r).collect()
}

/// The current region a code names (a deprecated code: its replacement).
fn check_known(value: &str) -> Option<&'static Region> {
    find(value).or_else(|| DEPRECATED.iter().find(|(old, _)| *old == value).and_then(|(_, new)| find(new)))
}

/// The distance of a value to a region: to its code, to its city, or (for a value of three
/// letters or more) to as many first letters of its city.
fn spelling_distance(value: &[char], region: &Region) -> usize {
    let code: Vec<char> = region.code.chars().collect();
    let city: Vec<char> = region.city().to_lowercase().chars().collect();
    let start = if value.len() >= 3 { osa(value, &city[..value.len().min(city.len())]) } else { usize::MAX };
    osa(value, &code).min(osa(value, &city)).min(start)
}

/// The optimal-string-alignment distance (Levenshtein plus swaps of neighbours), in
/// O(len(a) × len(b)) time and O(len(b)) memory; `b` is a code or a city, so short.
fn osa(a: &[char], b: &[char]) -> usize {
    let mut before: Vec<usize> = Vec::new();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.iter().enumerate() {
        let mut row = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            let mut best = (previous[j] + cost).min(previous[j + 1] + 1).min(row[j] + 1);
            if i > 0 && j > 0 && ca == b[j - 1] && a[i - 1] == cb {
                best = best.min(before[j - 1] + 1);
            }
            row[j + 1] = best;
        }
        before = std::mem::replace(&mut previous, row);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_current_code_is_accepted_as_it_is() {
        for r in &CURRENT {
            let checked = check(r.code).unwrap();
            assert_eq!((checked.code(), checked.replaced, checked.warning()), (r.code, None, None));
        }
        let codes: Vec<&str> = CURRENT.iter().map(|r| r.code).collect();
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        assert_eq!(codes, sorted, "code order");
        assert_eq!(CURRENT.iter().filter(|r| r.mpg).count(), 12, "§1.10 lists 12 MPG regions");
    }

    #[test]
    fn every_deprecated_code_is_replaced_with_a_warning_naming_both() {
        for (old, new) in DEPRECATED {
            assert!(find(old).is_none(), "{old} is not current");
            let checked = check(old).unwrap();
            assert_eq!((checked.code(), checked.replaced), (new, Some(old)));
            let warning = checked.warning().unwrap().to_string();
            assert!(warning.contains(&format!("`{old}`")) && warning.contains(&format!("`{new}`")), "{warning}");
        }
        assert_eq!(
            check("mia").unwrap().warning().unwrap().to_string(),
            "`mia` is a deprecated Fly region code: using its replacement `dfw` (Dallas, US), as `fly launch` does; write `dfw` to silence this"
        );
    }

    #[test]
    fn an_unknown_code_is_refused_with_the_nearest_codes() {
        let message = |value: &str| check(value).unwrap_err().to_string();
        assert_eq!(
            message("amz"),
            "`amz` is not a Fly region code; nearest: ams (Amsterdam, NL), arn (Stockholm, SE), iad (Ashburn VA, US) (`fly platform regions` lists them all)"
        );
        assert_eq!(
            message("AMS1"),
            "`AMS1` is not a Fly region code; nearest: ams (Amsterdam, NL) (`fly platform regions` lists them all)"
        );
        assert_eq!(
            message("Amsterdam"),
            "`Amsterdam` is not a Fly region code; nearest: ams (Amsterdam, NL) (`fly platform regions` lists them all)"
        );
        // A swap is one edit; ties are listed in code order.
        let codes = |value: &str| check(value).unwrap_err().nearest.iter().map(|r| r.code).collect::<Vec<_>>();
        assert_eq!(codes("far"), ["cdg", "fra", "arn"], "fra by a swap, cdg one letter off `par`is; arn at 2");
        assert_eq!(codes("xyz"), ["yyz", "syd"]);
        assert_eq!(codes("tokyo"), ["nrt"]);
        assert_eq!(codes("lon"), ["lhr", "lax"], "the start of London, one letter off Los Angeles'");
        assert_eq!(codes("sao"), ["arn", "gru", "sjc"], "one letter off `sto`ckholm, `são` Paulo, `san` Jose");
        assert_eq!(codes(""), ["ams", "arn", "bom"], "every code is 3 edits away: the first three");
        assert_eq!(message("a\nb"), check("a\nb").unwrap_err().to_string());
        assert!(message("a\nb").starts_with("`a\\nb` is not"), "a line break is escaped");
    }

    #[test]
    fn a_known_region_that_is_not_served_gets_the_served_ones_of_its_area() {
        let mpg = |r: &Region| r.mpg;
        let codes = |value: &str| nearest(value, mpg).iter().map(|r| r.code).collect::<Vec<_>>();
        assert_eq!(codes("arn"), ["ams", "fra", "lhr"]);
        assert_eq!(codes("mad"), ["ams", "fra", "lhr"], "a deprecated code: its replacement's area");
        assert_eq!(codes("bom"), ["nrt", "sin", "syd"]);
        assert!(codes("jnb").is_empty(), "no MPG region in Africa");
    }

    #[test]
    fn the_primary_region_annotation_is_checked_where_it_is_written() {
        let convert = |region: &str| {
            let doc = format!(
                "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\n  annotations:\n    score-fly/primary-region: {region}\ncontainers:\n  main:\n    image: nginx\n"
            );
            let workload = crate::spec::load_str("score.yaml", &doc).expect("a valid Score file").workload;
            super::super::convert(&workload, &super::super::ConvertOptions::new("demo-"), &super::super::NoFiles)
        };
        let c = convert("sea").expect("converts");
        assert_eq!(c.config.primary_region.as_deref(), Some("sjc"));
        let warnings: Vec<String> = c.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            warnings,
            [
                "metadata.annotations[\"score-fly/primary-region\"]: `sea` is a deprecated Fly region code: using its replacement `sjc` (San Jose, US), as `fly launch` does; write `sjc` to silence this"
            ]
        );
        let c = convert("sjc").expect("converts");
        assert!(c.warnings.is_empty() && c.config.primary_region.as_deref() == Some("sjc"));
        let problems: Vec<String> = convert("ams2").unwrap_err().problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            problems,
            [
                "metadata.annotations[\"score-fly/primary-region\"]: primary region `ams2` is not a Fly region code; nearest: ams (Amsterdam, NL) (`fly platform regions` lists them all)"
            ]
        );
    }

    #[test]
    fn osa_counts_a_swap_as_one_edit() {
        let d = |a: &str, b: &str| osa(&a.chars().collect::<Vec<_>>(), &b.chars().collect::<Vec<_>>());
        assert_eq!(
            (d("fra", "fra"), d("fra", "far"), d("fra", "fr"), d("", "abc"), d("kitten", "sitting")),
            (0, 1, 1, 3, 3)
        );
    }
}
