//! Deterministic generators of realistic inputs for benchmarks and large end-to-end runs.
//!
//! The same seed gives the same bytes. Members and providers come from fixed pools that match
//! the bundled sample rosters (`samples/reference/`), with a small share of unknown members so
//! the rejection path is exercised too. Scenarios mix imaging, surgery, office visits, consults,
//! DME, home health, dialysis, admissions (SNF, maternity, emergency), dental and therapy.

use crate::x12::write::{LineEnding, SegmentWriter};
use crate::x12::Delimiters;
use std::io::{self, Write};

/// A small, fast, deterministic pseudo-random generator (SplitMix64).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeds the generator.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    /// True with probability `pct`/100.
    pub fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len() as u64) as usize)
    }
}

/// Number of members in the sample eligibility roster.
pub const MEMBER_POOL: u32 = 300;
/// Number of providers in the sample provider roster.
pub const PROVIDER_POOL: u32 = 150;

/// Member id number `n` of the pool (1-based): `MBR000001`…
pub fn member_id(n: u32) -> String {
    format!("MBR{n:06}")
}

/// Luhn sum of `80840` + `digits`, doubling every second digit from the right starting at
/// `first_doubled` (0 when the check digit is still to come, 1 when it is included).
fn npi_luhn_sum(digits: &str, first_doubled: usize) -> u32 {
    format!("80840{digits}")
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b.wrapping_sub(b'0'));
            if i % 2 == first_doubled {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum()
}

/// A valid NPI (Luhn check digit over `80840` + 9 digits) for provider number `n`.
pub fn provider_npi(n: u32) -> String {
    let base = format!("{:09}", 100_000_000 + n * 7919);
    let check = (10 - npi_luhn_sum(&base, 0) % 10) % 10;
    format!("{base}{check}")
}

/// True when `npi` is 10 digits with a valid Luhn check digit.
pub fn npi_is_valid(npi: &str) -> bool {
    npi.len() == 10
        && npi.bytes().all(|b| b.is_ascii_digit())
        && npi_luhn_sum(npi, 1).is_multiple_of(10)
}

/// One kind of request the generator writes.
#[derive(Debug, Clone, Copy)]
struct Scenario {
    category: &'static str,
    service_type: &'static str,
    place: &'static str,
    line: Line,
    codes: &'static [&'static str],
    diagnoses: &'static [&'static str],
    units: (u32, u32),
    admission: Option<&'static str>,
}

#[derive(Debug, Clone, Copy)]
enum Line {
    Professional,
    Institutional(&'static str),
    Dental,
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        category: "HS",
        service_type: "62",
        place: "22",
        line: Line::Professional,
        codes: &["73721", "70553", "72148"],
        diagnoses: &["M25561", "G4489", "M5416"],
        units: (1, 1),
        admission: None,
    },
    Scenario {
        category: "HS",
        service_type: "2",
        place: "24",
        line: Line::Professional,
        codes: &["29881", "47562", "66984"],
        diagnoses: &["M23221", "K8020", "H2511"],
        units: (1, 1),
        admission: None,
    },
    Scenario {
        category: "SC",
        service_type: "3",
        place: "11",
        line: Line::Professional,
        codes: &["99243", "99244"],
        diagnoses: &["I10", "E119", "R079"],
        units: (1, 1),
        admission: None,
    },
    Scenario {
        category: "HS",
        service_type: "1",
        place: "11",
        line: Line::Professional,
        codes: &["99213", "99214"],
        diagnoses: &["J069", "Z0000", "N926"],
        units: (1, 1),
        admission: None,
    },
    Scenario {
        category: "HS",
        service_type: "12",
        place: "12",
        line: Line::Professional,
        codes: &["E0601", "E0470", "K0823"],
        diagnoses: &["G4733", "J449"],
        units: (1, 1),
        admission: None,
    },
    Scenario {
        category: "HS",
        service_type: "42",
        place: "12",
        line: Line::Professional,
        codes: &["G0154", "G0151"],
        diagnoses: &["I509", "Z9181"],
        units: (6, 20),
        admission: None,
    },
    Scenario {
        category: "HS",
        service_type: "76",
        place: "65",
        line: Line::Professional,
        codes: &["90935", "90937"],
        diagnoses: &["N186"],
        units: (12, 13),
        admission: None,
    },
    Scenario {
        category: "HS",
        service_type: "PT",
        place: "11",
        line: Line::Professional,
        codes: &["97110", "97140"],
        diagnoses: &["M545", "S83511A"],
        units: (6, 24),
        admission: None,
    },
    Scenario {
        category: "AR",
        service_type: "48",
        place: "21",
        line: Line::Institutional("0120"),
        codes: &["27447", "33510"],
        diagnoses: &["M1711", "I2510"],
        units: (2, 5),
        admission: Some("3"),
    },
    Scenario {
        category: "AR",
        service_type: "69",
        place: "21",
        line: Line::Institutional("0720"),
        codes: &["59400", "59510"],
        diagnoses: &["O800", "O321XX0"],
        units: (2, 5),
        admission: Some("3"),
    },
    Scenario {
        category: "AR",
        service_type: "AG",
        place: "31",
        line: Line::Institutional("0190"),
        codes: &["99304"],
        diagnoses: &["S72001A", "I639"],
        units: (10, 30),
        admission: Some("3"),
    },
    Scenario {
        category: "AR",
        service_type: "48",
        place: "21",
        line: Line::Institutional("0450"),
        codes: &["99223"],
        diagnoses: &["I214", "J189"],
        units: (1, 4),
        admission: Some("1"),
    },
    Scenario {
        category: "HS",
        service_type: "35",
        place: "11",
        line: Line::Dental,
        codes: &["D7240", "D2750"],
        diagnoses: &["K011", "K0252"],
        units: (1, 1),
        admission: None,
    },
    Scenario {
        category: "HS",
        service_type: "70",
        place: "21",
        line: Line::Professional,
        codes: &["50360"],
        diagnoses: &["N186"],
        units: (1, 1),
        admission: None,
    },
    Scenario {
        category: "HS",
        service_type: "2",
        place: "22",
        line: Line::Professional,
        codes: &["15823", "0042T"],
        diagnoses: &["H02831", "I639"],
        units: (1, 1),
        admission: None,
    },
];

const LAST_NAMES: &[&str] = &[
    "GARCIA", "NGUYEN", "SMITH", "PATEL", "KIM", "LOPEZ", "JOHNSON", "CHEN", "BROWN", "MARTINEZ",
    "DAVIS", "WILSON",
];
const FIRST_NAMES: &[&str] = &[
    "MARIA", "JAMES", "LINDA", "ROBERT", "ANH", "PRIYA", "DAVID", "SOFIA", "MICHAEL", "GRACE",
    "LUIS", "EMMA",
];

/// Options for a generated 278 file.
#[derive(Debug, Clone)]
pub struct X12GenOptions {
    /// Number of 278 requests (transaction sets).
    pub transactions: u64,
    /// Transactions per interchange (each interchange has one functional group).
    pub per_interchange: u64,
    /// Random seed.
    pub seed: u64,
    /// The date the requests are "sent" (BHT04), as (year, month, day).
    pub sent: (i32, u32, u32),
}

impl Default for X12GenOptions {
    fn default() -> Self {
        X12GenOptions {
            transactions: 1000,
            per_interchange: 5000,
            seed: 278,
            sent: (2026, 11, 20),
        }
    }
}

fn ymd_plus(sent: (i32, u32, u32), days: i64) -> String {
    let base =
        chrono::NaiveDate::from_ymd_opt(sent.0, sent.1, sent.2).unwrap_or(chrono::NaiveDate::MIN);
    let d = base + chrono::Duration::days(days);
    d.format("%Y%m%d").to_string()
}

/// Writes a generated 278 request file; returns the number of bytes written.
///
/// Interchanges alternate between two layouts: `*^:~` with a newline after each segment, and
/// `|^>~` with CRLF, so both styles are exercised by every large run.
pub fn write_x12<W: Write>(out: W, opts: &X12GenOptions) -> io::Result<u64> {
    let mut rng = Rng::new(opts.seed);
    let mut out = out;
    let mut total = 0u64;
    let mut written = 0u64;
    let mut ic = 0u32;
    let per = opts.per_interchange.max(1);
    while written < opts.transactions {
        let n = per.min(opts.transactions - written);
        ic += 1;
        let (delims, ending) = if !ic.is_multiple_of(2) {
            (Delimiters::default(), LineEnding::Lf)
        } else {
            (
                Delimiters {
                    element: b'|',
                    repetition: Some(b'^'),
                    component: b'>',
                    segment: b'~',
                },
                LineEnding::CrLf,
            )
        };
        let mut w = SegmentWriter::new(&mut out, delims, ending);
        let date = ymd_plus(opts.sent, 0);
        let yymmdd = date.get(2..).unwrap_or("");
        w.isa(
            "ZZ",
            "CLEARINGHOUSE01",
            "ZZ",
            "UMBATCHUMO",
            yymmdd,
            "0200",
            ic,
            ic.is_multiple_of(3),
            "P",
        )?;
        w.segment(
            "GS",
            &[
                "HI",
                "CLEARINGHOUSE01",
                "UMBATCHUMO",
                &date,
                "0200",
                &ic.to_string(),
                "X",
                "005010X217",
            ],
        )?;
        for t in 0..n {
            write_request(&mut w, &mut rng, opts, written + t + 1)?;
        }
        w.segment("GE", &[&n.to_string(), &ic.to_string()])?;
        w.segment("IEA", &["1", &format!("{ic:09}")])?;
        total += w.bytes_written();
        written += n;
    }
    out.flush()?;
    Ok(total)
}

fn write_request<W: Write>(
    w: &mut SegmentWriter<W>,
    rng: &mut Rng,
    opts: &X12GenOptions,
    seq: u64,
) -> io::Result<()> {
    let Some(sc) = rng.pick(SCENARIOS).copied() else {
        return Ok(());
    };
    let st02 = format!("{:04}", seq % 1_000_000_000);
    let st02 = if st02.len() > 9 {
        st02[st02.len() - 9..].to_string()
    } else {
        st02
    };
    w.segment("ST", &["278", &st02, "005010X217"])?;
    let sent = ymd_plus(opts.sent, 0);
    let hour = 6 + rng.below(12);
    let minute = rng.below(60);
    let time = format!("{hour:02}{minute:02}");
    w.segment(
        "BHT",
        &["0007", "13", &format!("REQ{seq:08}"), &sent, &time],
    )?;
    w.segment("HL", &["1", "", "20", "1"])?;
    w.segment(
        "NM1",
        &[
            "X3",
            "2",
            "UMBATCH MEDICAL GROUP",
            "",
            "",
            "",
            "",
            "PI",
            "UMB01",
        ],
    )?;
    w.segment("HL", &["2", "1", "21", "1"])?;
    let requester = provider_npi(1 + rng.below(u64::from(PROVIDER_POOL)) as u32);
    w.segment(
        "NM1",
        &[
            "1P",
            "2",
            "VALLEY PHYSICIANS GROUP",
            "",
            "",
            "",
            "",
            "XX",
            &requester,
        ],
    )?;
    w.segment(
        "PER",
        &["IC", "INTAKE DESK", "TE", "5555550100", "FX", "5555550199"],
    )?;
    w.segment("HL", &["3", "2", "22", "1"])?;
    // About 3% of requests name a member the roster does not know.
    let member = if rng.chance(3) {
        format!("ZZ{:07}", rng.below(9_999_999))
    } else {
        member_id(1 + rng.below(u64::from(MEMBER_POOL)) as u32)
    };
    let last = rng.pick(LAST_NAMES).copied().unwrap_or("DOE");
    let first = rng.pick(FIRST_NAMES).copied().unwrap_or("PAT");
    w.segment("NM1", &["IL", "1", last, first, "", "", "", "MI", &member])?;
    let dob = format!(
        "{}{:02}{:02}",
        1940 + rng.below(70),
        1 + rng.below(12),
        1 + rng.below(28)
    );
    let gender = if rng.chance(50) { "F" } else { "M" };
    w.segment("DMG", &["D8", &dob, gender])?;
    let mut hl = 4;
    if rng.chance(10) {
        w.segment("HL", &["4", "3", "23", "1"])?;
        w.segment("NM1", &["QC", "1", last, "ALEX"])?;
        w.segment("DMG", &["D8", "20150607", "U"])?;
        w.segment("INS", &["N", "19"])?;
        hl = 5;
    }
    let event_hl = hl;
    w.segment(
        "HL",
        &[
            &event_hl.to_string(),
            &(event_hl - 1).to_string(),
            "EV",
            "1",
        ],
    )?;
    w.segment("TRN", &["1", &format!("TRK{seq:010}"), "1999999999"])?;
    let urgency = match rng.below(10) {
        0 => "03",
        1 => "U",
        _ => "",
    };
    let place = w.composite(&[sc.place, if sc.category == "AR" { "A" } else { "B" }]);
    let place = if sc.category == "AR" {
        w.composite(&["11", "A"])
    } else {
        place
    };
    w.segment_composite(
        "UM",
        &[sc.category, "I", sc.service_type, &place, "", urgency],
    )?;
    // Service dates: mostly ahead, some already past (retro), a few very soon.
    let offset = match rng.below(10) {
        0 => -(1 + rng.below(20) as i64),
        1 => 1,
        _ => 3 + rng.below(30) as i64,
    };
    let from = ymd_plus(opts.sent, offset);
    let units = sc.units.0 + rng.below(u64::from(sc.units.1 - sc.units.0 + 1)) as u32;
    let to = ymd_plus(opts.sent, offset + i64::from(units.max(1)));
    if rng.chance(5) {
        w.segment("REF", &["BB", &format!("AUTH{:07}", rng.below(9_999_999))])?;
    }
    if sc.category == "AR" {
        w.segment("DTP", &["435", "D8", &from])?;
    } else {
        w.segment("DTP", &["AAH", "RD8", &format!("{from}-{to}")])?;
    }
    let dx = rng.pick(sc.diagnoses).copied().unwrap_or("R69");
    let hi1 = w.composite(&["ABK", dx]);
    if rng.chance(40) {
        let dx2 = rng.pick(sc.diagnoses).copied().unwrap_or("R69");
        let hi2 = w.composite(&["ABF", dx2]);
        w.segment_composite("HI", &[&hi1, &hi2])?;
    } else {
        w.segment_composite("HI", &[&hi1])?;
    }
    if sc.category == "AR" {
        w.segment("HSD", &["DY", &units.to_string()])?;
        w.segment("CL1", &[sc.admission.unwrap_or("3")])?;
    }
    if rng.chance(60) {
        w.segment("PWK", &["09", "FX", "", "", "AC", &format!("ATT{seq:08}")])?;
    }
    if rng.chance(50) {
        w.segment("PWK", &["LA", "EL"])?;
    }
    if urgency == "03" || (offset < 0 && rng.chance(50)) {
        w.segment(
            "MSG",
            &["PATIENT SEEN IN EMERGENCY DEPARTMENT, SERVICE COULD NOT WAIT"],
        )?;
    }
    let servicing = provider_npi(1 + rng.below(u64::from(PROVIDER_POOL)) as u32);
    let code = if sc.category == "AR" { "FA" } else { "SJ" };
    w.segment(
        "NM1",
        &[
            code,
            "2",
            "COMMUNITY CARE PROVIDER",
            "",
            "",
            "",
            "",
            "XX",
            &servicing,
        ],
    )?;
    let lines = if matches!(sc.line, Line::Professional) && rng.chance(20) {
        2
    } else {
        1
    };
    for l in 0..lines {
        let line_hl = event_hl + 1 + l;
        w.segment(
            "HL",
            &[&line_hl.to_string(), &event_hl.to_string(), "SS", "0"],
        )?;
        w.segment("TRN", &["1", &format!("SVC{seq:08}{l}"), "1999999999"])?;
        w.segment("UM", &["HS", "I"])?;
        w.segment("DTP", &["472", "RD8", &format!("{from}-{to}")])?;
        let proc = rng.pick(sc.codes).copied().unwrap_or("99213");
        let charge = (100 + rng.below(4900)).to_string();
        match sc.line {
            Line::Professional => {
                let c = w.composite(&["HC", proc]);
                w.segment_composite("SV1", &[&c, &charge, "UN", &units.to_string()])?;
            }
            Line::Institutional(rev) => {
                let c = w.composite(&["HC", proc]);
                w.segment_composite("SV2", &[rev, &c, &charge, "DA", &units.to_string()])?;
            }
            Line::Dental => {
                let c = w.composite(&["AD", proc]);
                w.segment_composite("SV3", &[&c, &charge, "", "", "", "1"])?;
                w.segment("TOO", &["JP", &(1 + rng.below(32)).to_string()])?;
            }
        }
    }
    let count = w.segments_since_st() + 1;
    w.segment("SE", &[&count.to_string(), &st02])?;
    Ok(())
}

/// Plans of the sample rosters (each sample policy lists the ones it manages).
pub const PLANS: [&str; 8] = [
    "UMB-COMM",
    "UMB-MA",
    "UMB-MEDICAID",
    "IMG-GLOBAL",
    "IMS-IPA",
    "KMG-HMO",
    "CIGNA-PHS",
    "CIGNA-OAP",
];

/// The specialty of provider number `n` in the sample provider roster.
pub fn provider_specialty(n: u32) -> &'static str {
    const SPECIALISTS: [&str; 10] = [
        "CARDIOLOGY",
        "DERMATOLOGY",
        "GASTROENTEROLOGY",
        "NEUROLOGY",
        "ORTHOPEDICS",
        "ORAL SURGERY",
        "GENERAL SURGERY",
        "PHYSICAL THERAPY",
        "OPHTHALMOLOGY",
        "PULMONOLOGY",
    ];
    match n {
        1..=20 => "PCP",
        21..=30 => "OBGYN",
        45 | 55 | 65 => "RADIOLOGY",
        60 => "OTOLARYNGOLOGY",
        31..=90 => SPECIALISTS
            .get((n % 10) as usize)
            .copied()
            .unwrap_or("INTERNAL MEDICINE"),
        91..=110 => "HOSPITAL",
        111..=120 => "SNF",
        121..=130 => "DIALYSIS",
        131..=140 => "HOME_HEALTH",
        _ => "DME",
    }
}

/// Writes the sample provider roster (`PROVIDER_POOL` providers).
pub fn write_providers<W: Write>(w: W) -> io::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record([
        "npi",
        "name",
        "network",
        "specialty",
        "plan_ids",
        "contract_start",
        "contract_end",
    ])?;
    const GROUPS: [&str; 6] = ["VALLEY", "BAYSIDE", "MISSION", "SUMMIT", "HARBOR", "CEDAR"];
    for n in 1..=PROVIDER_POOL {
        let spec = provider_specialty(n);
        let group = GROUPS.get((n % 6) as usize).copied().unwrap_or("VALLEY");
        let name = match spec {
            "HOSPITAL" => format!("{group} GENERAL HOSPITAL {n}"),
            "SNF" => format!("{group} SKILLED NURSING {n}"),
            "DIALYSIS" => format!("{group} DIALYSIS CENTER {n}"),
            "HOME_HEALTH" => format!("{group} HOME HEALTH {n}"),
            "DME" => format!("{group} MEDICAL SUPPLY {n}"),
            s => format!("{group} {s} ASSOCIATES {n}"),
        };
        // Every tenth specialist, two hospitals and one OB/GYN are out of network.
        let out_of_network = (n % 10 == 0 && (30..=90).contains(&n)) || n == 109 || n == 110;
        let network = if out_of_network { "out" } else { "in" };
        let plans = match n {
            70 => "KMG-HMO",
            75 => "CIGNA-PHS;CIGNA-OAP",
            _ => "",
        };
        let end = if n == 88 { "2026-10-31" } else { "" };
        out.write_record([
            provider_npi(n).as_str(),
            name.as_str(),
            network,
            spec,
            plans,
            "2020-01-01",
            end,
        ])?;
    }
    out.flush()
}

/// Writes the sample eligibility roster (`MEMBER_POOL` members).
pub fn write_eligibility<W: Write>(w: W) -> io::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record([
        "member_id",
        "last_name",
        "first_name",
        "dob",
        "plan_id",
        "product",
        "coverage_start",
        "coverage_end",
        "medicare_primary",
        "pcp_npi",
    ])?;
    let mut rng = Rng::new(7);
    for n in 1..=MEMBER_POOL {
        let plan = PLANS.get((n % 8) as usize).copied().unwrap_or("UMB-COMM");
        let product = match plan {
            "UMB-MA" => "ma",
            "UMB-MEDICAID" => {
                if n % 16 == 2 {
                    "chip"
                } else {
                    "medicaid"
                }
            }
            _ if n % 11 == 0 => "exchange",
            _ => "commercial",
        };
        let last = LAST_NAMES
            .get(rng.below(LAST_NAMES.len() as u64) as usize)
            .copied()
            .unwrap_or("DOE");
        let first = FIRST_NAMES
            .get(rng.below(FIRST_NAMES.len() as u64) as usize)
            .copied()
            .unwrap_or("PAT");
        let senior = product == "ma" || n % 25 == 7;
        let year = if senior {
            1938 + rng.below(20)
        } else {
            1950 + rng.below(60)
        };
        let dob = format!("{year}-{:02}-{:02}", 1 + rng.below(12), 1 + rng.below(28));
        let medicare_primary = if product == "commercial" && n % 25 == 7 {
            "Y"
        } else {
            "N"
        };
        // Coverage that ends mid-window for every 20th member; ended before the window for every 50th.
        let end = if n % 50 == 0 {
            "2026-06-30"
        } else if n % 20 == 0 {
            "2026-12-15"
        } else {
            ""
        };
        let pcp = provider_npi(1 + n % 20);
        out.write_record([
            member_id(n).as_str(),
            last,
            first,
            dob.as_str(),
            plan,
            product,
            "2024-01-01",
            end,
            medicare_primary,
            pcp.as_str(),
        ])?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npis_pass_luhn() {
        assert!(npi_is_valid("1234567893"));
        assert!(npi_is_valid("1987654328"));
        assert!(!npi_is_valid("1234567890"));
        for n in 1..=PROVIDER_POOL {
            assert!(npi_is_valid(&provider_npi(n)), "{}", provider_npi(n));
        }
    }

    #[test]
    fn same_seed_same_bytes() {
        let o = X12GenOptions {
            transactions: 50,
            per_interchange: 20,
            ..X12GenOptions::default()
        };
        let mut a = Vec::new();
        let mut b = Vec::new();
        write_x12(&mut a, &o).unwrap();
        write_x12(&mut b, &o).unwrap();
        assert_eq!(a, b);
        assert!(a.len() > 10_000);
    }
}

/// Options for a generated fax-queue export.
#[derive(Debug, Clone)]
pub struct FaxGenOptions {
    /// Number of rows.
    pub rows: u64,
    /// Random seed.
    pub seed: u64,
    /// Percentage of rows with a data-entry problem (bad date, unknown type, missing value).
    pub bad_rows_pct: u64,
}

impl Default for FaxGenOptions {
    fn default() -> Self {
        FaxGenOptions {
            rows: 10_000,
            seed: 1120,
            bad_rows_pct: 1,
        }
    }
}

/// Writes a generated fax-queue export: the PRODUCT.md columns, mixed request types and
/// outcomes, both date styles, dotted ICD codes and a small share of malformed rows.
pub fn write_fax<W: Write>(w: W, opts: &FaxGenOptions) -> io::Result<u64> {
    const TYPES: &[(&str, &[&str], &[&str])] = &[
        (
            "outpatient",
            &["73721", "70553", "29881", "45378", "0042T", "15823"],
            &["M25.561", "G44.89", "Z12.11"],
        ),
        (
            "inpatient",
            &["27447", "99223", "59400"],
            &["M17.11", "I21.4", "O80"],
        ),
        ("office_visit", &["99213", "99214"], &["E11.9", "J06.9"]),
        ("referral", &["99243", "99244"], &["I25.10", "L40.0"]),
        ("dme", &["E0601", "K0823"], &["G47.33"]),
        ("home_health", &["G0299", "G0151"], &["I50.32"]),
        ("dialysis", &["90935"], &["N18.6"]),
        ("snf", &["99304"], &["S72.001A"]),
        ("dental", &["D7240"], &["K01.1"]),
    ];
    let mut rng = Rng::new(opts.seed);
    let mut out = csv::Writer::from_writer(w);
    out.write_record([
        "fax_id",
        "received_at",
        "member_id",
        "member_last_name",
        "member_first_name",
        "member_dob",
        "requesting_npi",
        "requesting_name",
        "requesting_phone",
        "requesting_fax",
        "servicing_npi",
        "request_type",
        "place_of_service",
        "procedure_codes",
        "diagnosis_codes",
        "units",
        "service_from",
        "service_to",
        "urgency",
        "urgency_justification",
        "clinical_notes_attached",
        "physician_signature",
        "lab_results_attached",
        "estimated_cost",
        "notes",
    ])?;
    let base = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap_or(chrono::NaiveDate::MIN);
    for i in 0..opts.rows {
        let Some(&(kind, procs, dxs)) = rng.pick(TYPES) else {
            continue;
        };
        let member = if rng.chance(3) {
            format!("ZZ{:07}", rng.below(9_999_999))
        } else {
            member_id(1 + rng.below(u64::from(MEMBER_POOL)) as u32)
        };
        let last = rng.pick(LAST_NAMES).copied().unwrap_or("DOE");
        let first = rng.pick(FIRST_NAMES).copied().unwrap_or("PAT");
        let us_dates = rng.chance(30);
        let fmt = |d: chrono::NaiveDate| {
            if us_dates {
                d.format("%m/%d/%Y").to_string()
            } else {
                d.format("%Y-%m-%d").to_string()
            }
        };
        let dob = base - chrono::Duration::days(6000 + rng.below(25_000) as i64);
        let offset = match rng.below(10) {
            0 => -(1 + rng.below(15) as i64),
            _ => 2 + rng.below(30) as i64,
        };
        let from = base + chrono::Duration::days(offset);
        let to = from + chrono::Duration::days(rng.below(10) as i64);
        let urgency = match rng.below(10) {
            0 => "urgent",
            1 => "emergent",
            _ => "",
        };
        let minute = rng.below(600);
        let received = format!("{} {:02}:{:02}", fmt(base), 8 + minute / 60, minute % 60);
        let mut row: Vec<String> = vec![
            format!("FX-{i:08}"),
            received,
            member,
            last.to_string(),
            first.to_string(),
            fmt(dob),
            provider_npi(1 + rng.below(u64::from(PROVIDER_POOL)) as u32),
            "VALLEY PHYSICIANS GROUP".into(),
            "(408) 555-0100".into(),
            "408-555-0199".into(),
            provider_npi(1 + rng.below(u64::from(PROVIDER_POOL)) as u32),
            kind.to_string(),
            if kind == "dental" {
                "22".into()
            } else {
                "11".into()
            },
            rng.pick(procs).copied().unwrap_or("99213").to_string(),
            rng.pick(dxs).copied().unwrap_or("R69").to_string(),
            (1 + rng.below(10)).to_string(),
            fmt(from),
            fmt(to),
            urgency.to_string(),
            if urgency.is_empty() {
                String::new()
            } else {
                "symptoms worsening; seen the same day".into()
            },
            if rng.chance(80) {
                "Y".into()
            } else {
                "N".into()
            },
            if rng.chance(85) {
                "Y".into()
            } else {
                "N".into()
            },
            if rng.chance(60) {
                "Y".into()
            } else {
                String::new()
            },
            (50 + rng.below(20_000)).to_string(),
            String::new(),
        ];
        if rng.chance(opts.bad_rows_pct) {
            // A bad date, an unknown request type or a missing member id.
            let (col, value) = match rng.below(3) {
                0 => (16, "31/12/2026"),
                1 => (11, "acupuncture"),
                _ => (2, ""),
            };
            if let Some(cell) = row.get_mut(col) {
                *cell = value.to_string();
            }
        }
        out.write_record(&row)?;
    }
    out.flush()?;
    Ok(opts.rows)
}
