//! The fax-queue CSV reader: one `AuthRequest` per row, or a row rejection with its reason.
//!
//! A bad row (missing required value, unparseable date, unknown request type, duplicate
//! fax_id) is reported with its row number and never stops the file. Reasons name columns and
//! what was expected; they never quote member data.

use crate::csvutil::{
    header_index, normalize_header, parse_date, parse_flag, parse_timestamp, split_codes,
};
use crate::request::{
    file_stem, Attachments, AuthRequest, Category, DeliveryKind, Provenance, ProviderRef,
    ServiceRequest, SourceKind, Text, Urgency,
};
use std::collections::HashSet;
use std::io::Read;
use std::sync::Arc;

/// A fax row that could not become a request.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowReject {
    /// 1-based row as a spreadsheet shows it (header = row 1).
    pub row: u64,
    /// The fax id when it could be read.
    pub fax_id: String,
    /// What is wrong and what was expected.
    pub reason: String,
}

/// The columns of a fax export, resolved once from the header.
#[derive(Debug, Clone)]
struct Columns {
    fax_id: Option<usize>,
    received_at: Option<usize>,
    plan_id: Option<usize>,
    member_id: Option<usize>,
    member_last_name: Option<usize>,
    member_first_name: Option<usize>,
    member_dob: Option<usize>,
    requesting_npi: Option<usize>,
    requesting_name: Option<usize>,
    requesting_phone: Option<usize>,
    requesting_fax: Option<usize>,
    servicing_npi: Option<usize>,
    servicing_name: Option<usize>,
    facility_npi: Option<usize>,
    facility_name: Option<usize>,
    request_type: Option<usize>,
    service_type_code: Option<usize>,
    place_of_service: Option<usize>,
    procedure_codes: Option<usize>,
    diagnosis_codes: Option<usize>,
    units: Option<usize>,
    service_from: Option<usize>,
    service_to: Option<usize>,
    urgency: Option<usize>,
    post_stabilization: Option<usize>,
    urgency_justification: Option<usize>,
    clinical_notes_attached: Option<usize>,
    physician_signature: Option<usize>,
    lab_results_attached: Option<usize>,
    radiology_results_attached: Option<usize>,
    estimated_cost: Option<usize>,
    delivery: Option<usize>,
    notes: Option<usize>,
    previous_authorization: Option<usize>,
}

/// Columns a fax export must have.
pub const REQUIRED_COLUMNS: [&str; 8] = [
    "fax_id",
    "received_at",
    "member_id",
    "member_dob",
    "requesting_npi",
    "request_type",
    "procedure_codes",
    "diagnosis_codes",
];

impl Columns {
    fn resolve(headers: &[String]) -> Columns {
        let h = |names: &[&str]| header_index(headers, names);
        Columns {
            fax_id: h(&["fax_id", "fax", "faxid", "fax_number_id"]),
            received_at: h(&["received_at", "received", "received_on", "received_date"]),
            plan_id: h(&["plan_id", "plan", "ipa"]),
            member_id: h(&["member_id", "member", "subscriber_id"]),
            member_last_name: h(&["member_last_name", "last_name"]),
            member_first_name: h(&["member_first_name", "first_name"]),
            member_dob: h(&["member_dob", "dob", "date_of_birth"]),
            requesting_npi: h(&["requesting_npi", "requesting_provider_npi", "referring_npi"]),
            requesting_name: h(&[
                "requesting_name",
                "requesting_provider",
                "referring_provider",
            ]),
            requesting_phone: h(&["requesting_phone", "phone"]),
            requesting_fax: h(&["requesting_fax", "fax_number"]),
            servicing_npi: h(&["servicing_npi", "rendering_npi"]),
            servicing_name: h(&["servicing_name", "rendering_provider"]),
            facility_npi: h(&["facility_npi"]),
            facility_name: h(&["facility_name", "facility"]),
            request_type: h(&["request_type", "type_of_request"]),
            service_type_code: h(&["service_type_code", "service_type"]),
            place_of_service: h(&["place_of_service", "pos"]),
            procedure_codes: h(&["procedure_codes", "cpt_codes", "cpt", "procedures"]),
            diagnosis_codes: h(&["diagnosis_codes", "icd10_codes", "icd10", "diagnoses", "dx"]),
            units: h(&["units", "visits", "days"]),
            service_from: h(&[
                "service_from",
                "from_date",
                "date_of_service",
                "admission_date",
            ]),
            service_to: h(&["service_to", "to_date"]),
            urgency: h(&["urgency", "priority"]),
            post_stabilization: h(&["post_stabilization", "poststabilization"]),
            urgency_justification: h(&["urgency_justification", "justification"]),
            clinical_notes_attached: h(&["clinical_notes_attached", "clinical_notes"]),
            physician_signature: h(&["physician_signature", "signature"]),
            lab_results_attached: h(&["lab_results_attached", "lab_results"]),
            radiology_results_attached: h(&["radiology_results_attached", "radiology_results"]),
            estimated_cost: h(&["estimated_cost", "cost"]),
            delivery: h(&["delivery", "delivery_type"]),
            notes: h(&["notes", "comments"]),
            previous_authorization: h(&[
                "previous_authorization",
                "previous_auth",
                "prior_auth_number",
            ]),
        }
    }

    fn missing_required(&self) -> Vec<&'static str> {
        let have = [
            self.fax_id,
            self.received_at,
            self.member_id,
            self.member_dob,
            self.requesting_npi,
            self.request_type,
            self.procedure_codes,
            self.diagnosis_codes,
        ];
        REQUIRED_COLUMNS
            .iter()
            .zip(have)
            .filter(|(_, c)| c.is_none())
            .map(|(n, _)| *n)
            .collect()
    }
}

/// True when a header row looks like a fax-queue export (used to recognise files by content).
pub fn looks_like_fax_header(first_line: &str) -> bool {
    let headers: Vec<String> = first_line.split(',').map(normalize_header).collect();
    let c = Columns::resolve(&headers);
    c.fax_id.is_some() && c.received_at.is_some() && c.request_type.is_some()
}

/// A whole-file problem: the header lacks required columns, or the CSV cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: row 1: {reason}")]
pub struct FaxFileError {
    /// The file.
    pub file: String,
    /// What is wrong.
    pub reason: String,
}

/// Streams the rows of a fax export.
pub struct FaxReader<R: Read> {
    rdr: csv::Reader<R>,
    cols: Columns,
    file: Arc<str>,
    stem: String,
    seen: HashSet<String>,
    record: csv::StringRecord,
    row: u64,
}

/// One row's result.
pub type FaxRow = Result<AuthRequest, RowReject>;

impl<R: Read> FaxReader<R> {
    /// Opens a fax export; fails when required columns are missing.
    pub fn new(src: R, file: Arc<str>) -> Result<Self, FaxFileError> {
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(src);
        let headers: Vec<String> = rdr
            .headers()
            .map_err(|e| FaxFileError {
                file: file.to_string(),
                reason: format!("the header row cannot be read: {e}"),
            })?
            .iter()
            .map(normalize_header)
            .collect();
        let cols = Columns::resolve(&headers);
        let missing = cols.missing_required();
        if !missing.is_empty() {
            return Err(FaxFileError {
                file: file.to_string(),
                reason: format!(
                    "missing required column(s) {}; a fax export needs {}",
                    missing.join(", "),
                    REQUIRED_COLUMNS.join(", ")
                ),
            });
        }
        Ok(FaxReader {
            rdr,
            cols,
            stem: file_stem(&file),
            file,
            seen: HashSet::new(),
            record: csv::StringRecord::new(),
            row: 1,
        })
    }

    /// Bytes of the file consumed so far (for progress bars).
    pub fn byte_position(&self) -> u64 {
        self.rdr.position().byte()
    }

    /// The next row, or None at the end. A CSV syntax error becomes a row rejection.
    pub fn next_row(&mut self) -> Option<FaxRow> {
        self.row += 1;
        match self.rdr.read_record(&mut self.record) {
            Ok(false) => None,
            Ok(true) => {
                if self.record.iter().all(|f| f.trim().is_empty()) {
                    return self.next_row();
                }
                Some(self.parse_row())
            }
            Err(e) => {
                let reason = match e.kind() {
                    csv::ErrorKind::Utf8 { .. } => "the row is not valid UTF-8 text".to_string(),
                    _ => format!("the row cannot be read as CSV ({})", short_csv_error(&e)),
                };
                Some(Err(RowReject {
                    row: self.row,
                    fax_id: String::new(),
                    reason,
                }))
            }
        }
    }

    fn get(&self, c: Option<usize>) -> &str {
        c.and_then(|i| self.record.get(i)).unwrap_or("").trim()
    }

    fn parse_row(&mut self) -> FaxRow {
        let c = self.cols.clone();
        let row = self.row;
        let fax_id = self.get(c.fax_id).to_string();
        let reject = |reason: String| RowReject {
            row,
            fax_id: fax_id.clone(),
            reason,
        };
        let required = |name: &str, v: &str| -> Result<(), RowReject> {
            if v.is_empty() {
                Err(reject(format!("missing required value `{name}`")))
            } else {
                Ok(())
            }
        };
        required("fax_id", &fax_id)?;
        if !self.seen.insert(fax_id.clone()) {
            return Err(reject(
                "duplicate `fax_id` (already used by an earlier row)".into(),
            ));
        }
        let received = self.get(c.received_at);
        required("received_at", received)?;
        let submitted_at = parse_timestamp(received).ok_or_else(|| {
            reject(
                "unparseable `received_at`: expected YYYY-MM-DD HH:MM[:SS] or MM/DD/YYYY HH:MM"
                    .into(),
            )
        })?;
        let member_id = Text::new(self.get(c.member_id));
        required("member_id", &member_id)?;
        let dob = self.get(c.member_dob);
        required("member_dob", dob)?;
        let member_dob = Some(parse_date(dob).ok_or_else(|| {
            reject("unparseable `member_dob`: expected YYYY-MM-DD or MM/DD/YYYY".into())
        })?);
        let requesting_npi = Text::new(self.get(c.requesting_npi));
        required("requesting_npi", &requesting_npi)?;
        let rt = self.get(c.request_type);
        required("request_type", rt)?;
        let category = Category::parse(rt).ok_or_else(|| {
            let shown: String = rt.chars().take(30).collect();
            reject(format!(
                "unknown `request_type` `{shown}`: expected inpatient, outpatient, office_visit, referral, second_opinion, home_health, home_infusion, dme, dialysis, snf, hospice, rehab, transport, dental or other"
            ))
        })?;
        let procedure_codes = split_codes(self.get(c.procedure_codes));
        if procedure_codes.is_empty() {
            return Err(reject("missing required value `procedure_codes`".into()));
        }
        let diagnosis_codes = split_codes(self.get(c.diagnosis_codes));
        if diagnosis_codes.is_empty() {
            return Err(reject("missing required value `diagnosis_codes`".into()));
        }
        let from = self.get(c.service_from);
        required("service_from", from)?;
        let service_from = Some(parse_date(from).ok_or_else(|| {
            reject("unparseable `service_from`: expected YYYY-MM-DD or MM/DD/YYYY".into())
        })?);
        let service_to = match self.get(c.service_to) {
            "" => None,
            s => Some(parse_date(s).ok_or_else(|| {
                reject("unparseable `service_to`: expected YYYY-MM-DD or MM/DD/YYYY".into())
            })?),
        };
        if let (Some(f), Some(t)) = (service_from, service_to) {
            if t < f {
                return Err(reject("`service_to` is before `service_from`".into()));
            }
        }
        let urgency = Urgency::parse(self.get(c.urgency)).ok_or_else(|| {
            reject("unknown `urgency`: expected routine, elective, urgent, expedited, emergent or emergency".into())
        })?;
        let flag = |name: &str, col: Option<usize>| -> Result<bool, RowReject> {
            parse_flag(self.get(col)).ok_or_else(|| reject(format!("`{name}` must be Y or N")))
        };
        let post_stabilization = flag("post_stabilization", c.post_stabilization)?;
        let attachments = Attachments {
            clinical_notes: flag("clinical_notes_attached", c.clinical_notes_attached)?,
            physician_signature: flag("physician_signature", c.physician_signature)?,
            lab_results: flag("lab_results_attached", c.lab_results_attached)?,
            radiology_results: flag("radiology_results_attached", c.radiology_results_attached)?,
        };
        let number = |name: &str, col: Option<usize>| -> Result<Option<f64>, RowReject> {
            let v = self.get(col).replace(['$', ','], "");
            if v.is_empty() {
                return Ok(None);
            }
            v.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && *x >= 0.0)
                .map(Some)
                .ok_or_else(|| reject(format!("`{name}` is not a non-negative number")))
        };
        let units = number("units", c.units)?;
        let estimated_cost = number("estimated_cost", c.estimated_cost)?;
        let delivery = match self.get(c.delivery).to_ascii_lowercase().as_str() {
            "" => None,
            "vaginal" => Some(DeliveryKind::Vaginal),
            "cesarean" | "c-section" | "csection" => Some(DeliveryKind::Cesarean),
            _ => return Err(reject("`delivery` must be vaginal or cesarean".into())),
        };
        let provider = |npi: Option<usize>, name: Option<usize>| {
            let p = ProviderRef {
                npi: Text::new(self.get(npi)),
                name: Text::new(self.get(name)),
                ..ProviderRef::default()
            };
            (!p.npi.is_empty() || !p.name.is_empty()).then_some(p)
        };
        let lines = procedure_codes
            .iter()
            .enumerate()
            .map(|(i, p)| ServiceRequest {
                line: (i + 1) as u32,
                procedure: p.clone(),
                units: if procedure_codes.len() == 1 {
                    units
                } else {
                    None
                },
                from: service_from,
                to: service_to,
            })
            .collect();
        let plan = self.get(c.plan_id);
        Ok(AuthRequest {
            request_id: format!("{}:{fax_id}", self.stem),
            provenance: Provenance {
                kind: SourceKind::Fax,
                file: Arc::clone(&self.file),
                reference: format!("row {row}"),
                position: row,
            },
            plan_id: (!plan.is_empty()).then(|| plan.to_string()),
            member_id,
            member_last_name: Text::new(self.get(c.member_last_name)),
            member_first_name: Text::new(self.get(c.member_first_name)),
            member_dob,
            dependent: false,
            certificate_number: Text::default(),
            requester: ProviderRef {
                npi: requesting_npi,
                name: Text::new(self.get(c.requesting_name)),
                phone: Text::new(self.get(c.requesting_phone)),
                fax: Text::new(self.get(c.requesting_fax)),
            },
            servicing: provider(c.servicing_npi, c.servicing_name),
            facility: provider(c.facility_npi, c.facility_name),
            attending: None,
            category,
            certification_type: if self.get(c.previous_authorization).is_empty() {
                "I".into()
            } else {
                "S".into()
            },
            service_type: Text::new(self.get(c.service_type_code)),
            place_of_service: Text::new(self.get(c.place_of_service)),
            procedure_codes,
            diagnosis_codes,
            units,
            service_from,
            service_to,
            urgency,
            post_stabilization,
            justification: self.get(c.urgency_justification).to_string(),
            attachments,
            estimated_cost,
            previous_certification: Some(Text::new(self.get(c.previous_authorization)))
                .filter(|s| !s.is_empty()),
            delivery,
            submitted_at,
            lines,
            notes: self.get(c.notes).to_string(),
        })
    }
}

impl<R: Read> Iterator for FaxReader<R> {
    type Item = FaxRow;
    fn next(&mut self) -> Option<FaxRow> {
        self.next_row()
    }
}

fn short_csv_error(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("{len} fields where the header has {expected_len}")
        }
        _ => "malformed quoting".to_string(),
    }
}
