//! Reference data: the eligibility roster and the provider roster (CSV, columns per PRODUCT.md).
//!
//! Rosters are configuration: a malformed row would silently turn eligible members into
//! rejections, so any bad row refuses the whole roster with the file, row and reason.

use crate::csvutil::{header_index, normalize_header, parse_date};
use chrono::NaiveDate;
use rustc_hash::FxHashMap as HashMap;
use std::io::Read;
use thiserror::Error;

/// A roster that cannot be used.
#[derive(Debug, Error)]
pub enum RosterError {
    /// The file cannot be read.
    #[error("{file}: cannot read the roster: {source}")]
    Io {
        /// The file.
        file: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A required column is missing from the header.
    #[error("{file}: row 1: missing column `{column}` (expected {expected})")]
    MissingColumn {
        /// The file.
        file: String,
        /// The missing column.
        column: &'static str,
        /// All expected columns.
        expected: &'static str,
    },
    /// A row holds a bad value.
    #[error("{file}: row {row}: {reason}")]
    BadRow {
        /// The file.
        file: String,
        /// 1-based row (header = 1).
        row: u64,
        /// What is wrong.
        reason: String,
    },
    /// The CSV itself is malformed.
    #[error("{file}: {source}")]
    Csv {
        /// The file.
        file: String,
        /// The cause.
        source: csv::Error,
    },
}

/// Line of business.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Product {
    /// Commercial / employer group.
    Commercial,
    /// Medicare Advantage.
    Ma,
    /// Medicaid.
    Medicaid,
    /// CHIP.
    Chip,
    /// Health insurance exchange.
    Exchange,
}

impl Product {
    /// Parses the roster vocabulary.
    pub fn parse(s: &str) -> Option<Product> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "commercial" => Product::Commercial,
            "ma" => Product::Ma,
            "medicaid" => Product::Medicaid,
            "chip" => Product::Chip,
            "exchange" => Product::Exchange,
            _ => return None,
        })
    }
    /// The roster spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Product::Commercial => "commercial",
            Product::Ma => "ma",
            Product::Medicaid => "medicaid",
            Product::Chip => "chip",
            Product::Exchange => "exchange",
        }
    }
}

/// One coverage period of a member.
#[derive(Debug, Clone, PartialEq)]
pub struct Coverage {
    /// Member id.
    pub member_id: String,
    /// Last name.
    pub last_name: String,
    /// First name.
    pub first_name: String,
    /// Date of birth.
    pub dob: Option<NaiveDate>,
    /// Plan / IPA.
    pub plan_id: String,
    /// Line of business.
    pub product: Product,
    /// First covered day.
    pub coverage_start: NaiveDate,
    /// Last covered day (None = open-ended).
    pub coverage_end: Option<NaiveDate>,
    /// Medicare is the primary payer.
    pub medicare_primary: bool,
    /// The member's primary care physician.
    pub pcp_npi: String,
}

impl Coverage {
    /// True when the member is covered on `d`.
    pub fn covers(&self, d: NaiveDate) -> bool {
        d >= self.coverage_start && self.coverage_end.is_none_or(|e| d <= e)
    }
}

/// Members by id; a member may have several coverage periods.
#[derive(Debug, Clone, Default)]
pub struct Eligibility {
    by_member: HashMap<String, Vec<Coverage>>,
}

impl Eligibility {
    /// The coverage periods of a member (empty when unknown).
    pub fn member(&self, id: &str) -> &[Coverage] {
        self.by_member.get(id).map(Vec::as_slice).unwrap_or(&[])
    }
    /// The coverage in force on `d`, else the latest one.
    pub fn coverage_on(&self, id: &str, d: Option<NaiveDate>) -> Option<&Coverage> {
        let all = self.member(id);
        d.and_then(|d| all.iter().find(|c| c.covers(d)))
            .or_else(|| all.iter().max_by_key(|c| c.coverage_start))
    }
    /// Number of members.
    pub fn len(&self) -> usize {
        self.by_member.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.by_member.is_empty()
    }
    /// All coverage rows (for tests and summaries).
    pub fn all(&self) -> impl Iterator<Item = &Coverage> {
        self.by_member.values().flatten()
    }
}

/// In or out of network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    /// Contracted.
    In,
    /// Not contracted.
    Out,
}

/// One provider of the roster.
#[derive(Debug, Clone, PartialEq)]
pub struct Provider {
    /// NPI.
    pub npi: String,
    /// Name.
    pub name: String,
    /// Network status.
    pub network: Network,
    /// Specialty, upper case (`PCP`, `OBGYN`, `HOSPITAL`…).
    pub specialty: String,
    /// Plans the contract covers (empty = all).
    pub plan_ids: Vec<String>,
    /// Contract start.
    pub contract_start: Option<NaiveDate>,
    /// Contract end.
    pub contract_end: Option<NaiveDate>,
}

impl Provider {
    /// True when contracted for `plan` on `d`.
    pub fn contracted(&self, plan: Option<&str>, d: Option<NaiveDate>) -> bool {
        let plan_ok = self.plan_ids.is_empty()
            || plan.is_some_and(|p| self.plan_ids.iter().any(|x| x.eq_ignore_ascii_case(p)));
        let date_ok = d.is_none_or(|d| {
            self.contract_start.is_none_or(|s| d >= s) && self.contract_end.is_none_or(|e| d <= e)
        });
        self.network == Network::In && plan_ok && date_ok
    }
}

/// Providers by NPI.
#[derive(Debug, Clone, Default)]
pub struct Providers {
    by_npi: HashMap<String, Provider>,
}

impl Providers {
    /// The provider with this NPI.
    pub fn get(&self, npi: &str) -> Option<&Provider> {
        self.by_npi.get(npi)
    }
    /// Number of providers.
    pub fn len(&self) -> usize {
        self.by_npi.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.by_npi.is_empty()
    }
    /// All providers.
    pub fn all(&self) -> impl Iterator<Item = &Provider> {
        self.by_npi.values()
    }
}

const ELIGIBILITY_COLUMNS: &str = "member_id, last_name, first_name, dob, plan_id, product, coverage_start, coverage_end, medicare_primary, pcp_npi";
const PROVIDER_COLUMNS: &str =
    "npi, name, network, specialty, plan_ids, contract_start, contract_end";

fn reader<R: Read>(src: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(src)
}

/// The normalized header row of a roster.
fn read_headers<R: Read>(rdr: &mut csv::Reader<R>, file: &str) -> Result<Vec<String>, RosterError> {
    Ok(rdr
        .headers()
        .map_err(|e| RosterError::Csv {
            file: file.into(),
            source: e,
        })?
        .iter()
        .map(normalize_header)
        .collect())
}

/// The index of a required column, or the error naming it and every expected column.
fn column(
    headers: &[String],
    name: &'static str,
    file: &str,
    expected: &'static str,
) -> Result<usize, RosterError> {
    header_index(headers, &[name]).ok_or(RosterError::MissingColumn {
        file: file.into(),
        column: name,
        expected,
    })
}

fn yes(s: &str) -> Option<bool> {
    match s.trim().to_ascii_uppercase().as_str() {
        "Y" | "YES" | "TRUE" | "1" => Some(true),
        "N" | "NO" | "FALSE" | "0" | "" => Some(false),
        _ => None,
    }
}

/// Reads an eligibility roster.
pub fn read_eligibility<R: Read>(src: R, file: &str) -> Result<Eligibility, RosterError> {
    let mut rdr = reader(src);
    let headers = read_headers(&mut rdr, file)?;
    let col = |name: &'static str| column(&headers, name, file, ELIGIBILITY_COLUMNS);
    let c_id = col("member_id")?;
    let c_last = col("last_name")?;
    let c_first = col("first_name")?;
    let c_dob = col("dob")?;
    let c_plan = col("plan_id")?;
    let c_product = col("product")?;
    let c_start = col("coverage_start")?;
    let c_end = col("coverage_end")?;
    let c_mp = col("medicare_primary")?;
    let c_pcp = col("pcp_npi")?;
    let mut out = Eligibility::default();
    for (i, rec) in rdr.records().enumerate() {
        let row = i as u64 + 2;
        let rec = rec.map_err(|e| RosterError::Csv {
            file: file.into(),
            source: e,
        })?;
        let get = |c: usize| rec.get(c).unwrap_or("").trim();
        let bad = |reason: String| RosterError::BadRow {
            file: file.into(),
            row,
            reason,
        };
        if get(c_id).is_empty() {
            return Err(bad("member_id is empty".into()));
        }
        let product = Product::parse(get(c_product)).ok_or_else(|| {
            bad("product must be commercial, ma, medicaid, chip or exchange".into())
        })?;
        let coverage_start = parse_date(get(c_start))
            .ok_or_else(|| bad("coverage_start is not a date (YYYY-MM-DD or MM/DD/YYYY)".into()))?;
        let coverage_end = match get(c_end) {
            "" => None,
            s => Some(parse_date(s).ok_or_else(|| bad("coverage_end is not a date".into()))?),
        };
        let dob = match get(c_dob) {
            "" => None,
            s => Some(parse_date(s).ok_or_else(|| bad("dob is not a date".into()))?),
        };
        let medicare_primary =
            yes(get(c_mp)).ok_or_else(|| bad("medicare_primary must be Y or N".into()))?;
        let c = Coverage {
            member_id: get(c_id).to_string(),
            last_name: get(c_last).to_string(),
            first_name: get(c_first).to_string(),
            dob,
            plan_id: get(c_plan).to_string(),
            product,
            coverage_start,
            coverage_end,
            medicare_primary,
            pcp_npi: get(c_pcp).to_string(),
        };
        out.by_member
            .entry(c.member_id.clone())
            .or_default()
            .push(c);
    }
    Ok(out)
}

/// Reads a provider roster.
pub fn read_providers<R: Read>(src: R, file: &str) -> Result<Providers, RosterError> {
    let mut rdr = reader(src);
    let headers = read_headers(&mut rdr, file)?;
    let col = |name: &'static str| column(&headers, name, file, PROVIDER_COLUMNS);
    let c_npi = col("npi")?;
    let c_name = col("name")?;
    let c_net = col("network")?;
    let c_spec = col("specialty")?;
    let c_plans = col("plan_ids")?;
    let c_start = col("contract_start")?;
    let c_end = col("contract_end")?;
    let mut out = Providers::default();
    for (i, rec) in rdr.records().enumerate() {
        let row = i as u64 + 2;
        let rec = rec.map_err(|e| RosterError::Csv {
            file: file.into(),
            source: e,
        })?;
        let get = |c: usize| rec.get(c).unwrap_or("").trim();
        let bad = |reason: String| RosterError::BadRow {
            file: file.into(),
            row,
            reason,
        };
        if get(c_npi).is_empty() {
            return Err(bad("npi is empty".into()));
        }
        let network = match get(c_net).to_ascii_lowercase().as_str() {
            "in" => Network::In,
            "out" => Network::Out,
            _ => return Err(bad("network must be `in` or `out`".into())),
        };
        let date = |c: usize, what: &str| -> Result<Option<NaiveDate>, RosterError> {
            match get(c) {
                "" => Ok(None),
                s => parse_date(s)
                    .map(Some)
                    .ok_or_else(|| bad(format!("{what} is not a date"))),
            }
        };
        let p = Provider {
            npi: get(c_npi).to_string(),
            name: get(c_name).to_string(),
            network,
            specialty: get(c_spec).to_ascii_uppercase(),
            plan_ids: get(c_plans)
                .split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            contract_start: date(c_start, "contract_start")?,
            contract_end: date(c_end, "contract_end")?,
        };
        out.by_npi.insert(p.npi.clone(), p);
    }
    Ok(out)
}

/// Reads both rosters from files.
pub fn load(
    eligibility: &std::path::Path,
    providers: &std::path::Path,
) -> Result<(Eligibility, Providers), RosterError> {
    let open = |p: &std::path::Path| {
        std::fs::File::open(p).map_err(|e| RosterError::Io {
            file: p.display().to_string(),
            source: e,
        })
    };
    let e = read_eligibility(open(eligibility)?, &eligibility.display().to_string())?;
    let p = read_providers(open(providers)?, &providers.display().to_string())?;
    Ok((e, p))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "member_id,last_name,first_name,dob,plan_id,product,coverage_start,coverage_end,medicare_primary,pcp_npi\n";

    #[test]
    fn reads_members_with_several_coverage_periods() {
        let text = format!(
            "{HEAD}M1,DOE,JANE,01/02/1980,P1,commercial,2024-01-01,2024-12-31,N,1\nM1,DOE,JANE,1980-01-02,P2,ma,2025-01-01,,Y,1\n"
        );
        let e = read_eligibility(text.as_bytes(), "e.csv").unwrap();
        assert_eq!(e.member("M1").len(), 2);
        let d = NaiveDate::from_ymd_opt(2025, 6, 1);
        let c = e.coverage_on("M1", d).unwrap();
        assert_eq!(
            (c.plan_id.as_str(), c.product, c.medicare_primary),
            ("P2", Product::Ma, true)
        );
        assert!(e.member("M2").is_empty());
    }

    #[test]
    fn a_bad_row_refuses_the_roster_with_file_and_row() {
        let text = format!("{HEAD}M1,DOE,JANE,1980-01-02,P1,gold,2024-01-01,,N,1\n");
        let err = read_eligibility(text.as_bytes(), "e.csv")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "e.csv: row 2: product must be commercial, ma, medicaid, chip or exchange"
        );
        let err = read_providers("npi,name\n1,X\n".as_bytes(), "p.csv")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("p.csv: row 1: missing column `network`"),
            "{err}"
        );
        let err = read_providers(
            "npi,name,network,specialty,plan_ids,contract_start,contract_end\n1,X,maybe,PCP,,,\n"
                .as_bytes(),
            "p.csv",
        )
        .unwrap_err()
        .to_string();
        assert_eq!(err, "p.csv: row 2: network must be `in` or `out`");
    }
}
