//! Typed 278 (005010X217) transactions, requests and responses.
//!
//! The structs follow the HL hierarchy of the TR3 (reference §2.3): UMO (2000A), requester
//! (2000B), subscriber (2000C), optional dependent (2000D), patient event (2000E) and service
//! lines (2000F), each with its NM1 sub-loops. Text fields borrow the segments they came from;
//! dates are parsed (D8 and RD8). Positions are segment positions counted from ST = 1, so every
//! value can be traced back to the file.

use chrono::NaiveDate;
use serde::Serialize;

/// A list that usually holds one small item (a request's one diagnosis, a level's one trace
/// number): the first item lives in place, so the common case allocates nothing.
/// Reading a request built about fifteen small vectors, one allocation each.
pub type Few<T> = smallvec::SmallVec<[T; 1]>;

/// What the transaction is for, from BHT02.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// BHT02 = 13: request for review.
    Request,
    /// BHT02 = 36: authority to deduct (reply); a request variant used for reservations.
    AuthorityToDeduct,
    /// BHT02 = 01: cancellation.
    Cancellation,
    /// BHT02 = 11: response.
    Response,
    /// Any other value (reported as an error by the validator).
    Other,
}

impl Purpose {
    /// Reads BHT02.
    pub fn from_code(code: &str) -> Self {
        match code {
            "13" => Purpose::Request,
            "36" => Purpose::AuthorityToDeduct,
            "01" => Purpose::Cancellation,
            "11" => Purpose::Response,
            _ => Purpose::Other,
        }
    }
    /// True for the purposes a UMO decides (13, 36, 01).
    pub fn is_request(self) -> bool {
        matches!(
            self,
            Purpose::Request | Purpose::AuthorityToDeduct | Purpose::Cancellation
        )
    }
}

/// A D8 date or an RD8 range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum DateValue {
    /// One date (D8).
    Single(NaiveDate),
    /// A range (RD8), start ≤ end.
    Range {
        /// First day.
        from: NaiveDate,
        /// Last day.
        to: NaiveDate,
    },
}

impl DateValue {
    /// First day.
    pub fn start(&self) -> NaiveDate {
        match *self {
            DateValue::Single(d) => d,
            DateValue::Range { from, .. } => from,
        }
    }
    /// Last day.
    pub fn end(&self) -> NaiveDate {
        match *self {
            DateValue::Single(d) => d,
            DateValue::Range { to, .. } => to,
        }
    }
}

/// BHT: beginning of hierarchical transaction.
#[derive(Debug, Clone, Serialize)]
pub struct Bht<'s> {
    /// BHT01 hierarchical structure code (`0007`).
    pub structure: &'s str,
    /// BHT02 purpose code.
    pub purpose_code: &'s str,
    /// BHT03 submitter transaction identifier (returned in the response).
    pub reference: &'s str,
    /// BHT04 creation date.
    pub date: Option<NaiveDate>,
    /// BHT05 creation time (`HHMM`, optionally with seconds `SS` and hundredths `DD`).
    pub time: &'s str,
    /// BHT06 transaction type code (`RU` medical services reservation…).
    #[serde(skip_serializing_if = "str::is_empty")]
    pub transaction_type: &'s str,
}

/// NM1 sub-loop: a person or organisation with its identifiers and contacts.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Entity<'s> {
    /// Segment position of the NM1.
    pub position: u32,
    /// NM101 entity identifier code (`X3`, `1P`, `IL`, `SJ`…).
    pub entity_code: &'s str,
    /// NM102: `1` person, `2` non-person.
    pub entity_type: &'s str,
    /// NM103 last or organisation name.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub last_or_org_name: &'s str,
    /// NM104 first name.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub first_name: &'s str,
    /// NM105 middle name.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub middle_name: &'s str,
    /// NM107 suffix.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub suffix: &'s str,
    /// NM108 identification code qualifier (`XX` NPI, `MI` member id, `PI` payer id…).
    #[serde(skip_serializing_if = "str::is_empty")]
    pub id_qualifier: &'s str,
    /// NM109 identification code.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub id: &'s str,
    /// REF supplemental identifiers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<Reference<'s>>,
    /// N3/N4 address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<Address<'s>>,
    /// PER contacts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<Contact<'s>>,
    /// PRV provider information.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_info: Option<ProviderInfo<'s>>,
    /// DMG birth date (subscriber, dependent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<NaiveDate>,
    /// DMG gender code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gender: Option<&'s str>,
    /// INS02 individual relationship code (dependent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relationship: Option<&'s str>,
    /// DTP in the sub-loop (other UMO denial date).
    #[serde(skip_serializing_if = "Few::is_empty")]
    pub dates: Few<DateInfo<'s>>,
    /// AAA request validations in the sub-loop (responses).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rejections: Vec<Rejection<'s>>,
}

/// REF: a reference identifier.
#[derive(Debug, Clone, Serialize)]
pub struct Reference<'s> {
    /// REF01 qualifier (`BB` previous authorization, `NT` administrative reference…).
    pub qualifier: &'s str,
    /// REF02 value.
    pub value: &'s str,
}

/// N3/N4 address.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Address<'s> {
    /// N301.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub line1: &'s str,
    /// N302.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub line2: &'s str,
    /// N401.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub city: &'s str,
    /// N402.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub state: &'s str,
    /// N403.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub postal_code: &'s str,
    /// N404.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub country: &'s str,
}

/// PER contact.
#[derive(Debug, Clone, Serialize)]
pub struct Contact<'s> {
    /// PER01 contact function (`IC`).
    pub function: &'s str,
    /// PER02 name.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub name: &'s str,
    /// (qualifier, number) pairs: `TE` telephone, `FX` fax, `EM` e-mail, `EX` extension, `UR` URL.
    /// PER carries at most three pairs (PER03–08): all kept in place.
    pub numbers: smallvec::SmallVec<[(&'s str, &'s str); 3]>,
}

/// PRV provider information.
#[derive(Debug, Clone, Serialize)]
pub struct ProviderInfo<'s> {
    /// PRV01 provider code (`PE` performing, `AT` attending…).
    pub code: &'s str,
    /// PRV02 reference qualifier (`PXC`).
    pub qualifier: &'s str,
    /// PRV03 taxonomy code.
    pub taxonomy: &'s str,
}

/// TRN trace number.
#[derive(Debug, Clone, Serialize)]
pub struct Trace<'s> {
    /// TRN01: `1` current (request, UMO's own), `2` referenced (echo in responses).
    pub kind: &'s str,
    /// TRN02 the trace number.
    pub number: &'s str,
    /// TRN03 originator.
    pub originator: &'s str,
    /// TRN04 supplemental id.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub supplemental: &'s str,
}

/// UM health care services review information.
#[derive(Debug, Clone, Serialize)]
pub struct Review<'s> {
    /// Segment position of the UM.
    pub position: u32,
    /// UM01 request category (`AR`, `HS`, `SC`, `IN`).
    pub category: &'s str,
    /// UM02 certification type (`I`, `1`, `2`, `3`, `4`, `N`, `R`, `S`).
    pub certification_type: &'s str,
    /// UM03 service type code.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub service_type: &'s str,
    /// UM04-1 facility code (place of service or bill type).
    #[serde(skip_serializing_if = "str::is_empty")]
    pub facility_code: &'s str,
    /// UM04-2 facility code qualifier (`B` place of service, `A` bill type).
    #[serde(skip_serializing_if = "str::is_empty")]
    pub facility_code_qualifier: &'s str,
    /// UM05-1..3 related causes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related_causes: Vec<&'s str>,
    /// UM06 level of service (`03` emergency, `U` urgent, `E` elective).
    #[serde(skip_serializing_if = "str::is_empty")]
    pub level_of_service: &'s str,
    /// UM07 current health condition.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub health_condition: &'s str,
    /// UM08 prognosis.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub prognosis: &'s str,
    /// UM09 release of information.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub release_of_information: &'s str,
    /// UM10 delay reason.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub delay_reason: &'s str,
}

/// HCR review decision (responses).
#[derive(Debug, Clone, Serialize)]
pub struct ReviewDecision<'s> {
    /// HCR01 action code (`A1`, `A2`, `A3`, `A4`, `A6`, `C`, `CT`, `NA`).
    pub action: &'s str,
    /// HCR02 review identification (certification) number.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub review_number: &'s str,
    /// HCR03 reason codes (code source 886).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<&'s str>,
    /// HCR04 second surgical opinion indicator.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub second_opinion: &'s str,
}

/// AAA request validation (responses).
#[derive(Debug, Clone, Serialize)]
pub struct Rejection<'s> {
    /// AAA01 valid request indicator.
    pub valid: &'s str,
    /// AAA03 reject reason.
    pub reason: &'s str,
    /// AAA04 follow-up action.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub follow_up: &'s str,
}

/// DTP date or period.
#[derive(Debug, Clone, Serialize)]
pub struct DateInfo<'s> {
    /// DTP01 qualifier (`435` admission, `472` service, `AAH` event…).
    pub qualifier: &'s str,
    /// The date or range (None when it could not be read; an error is reported).
    pub value: Option<DateValue>,
}

/// One HI composite: a diagnosis (or a LOINC information request in responses).
#[derive(Debug, Clone, Serialize)]
pub struct Diagnosis<'s> {
    /// Code list qualifier (`ABK` principal ICD-10-CM, `ABF` other, `BK`/`BF` ICD-9…).
    pub qualifier: &'s str,
    /// The code, without decimal point.
    pub code: &'s str,
    /// Date of onset/diagnosis (HI0x-3 = D8, HI0x-4).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<NaiveDate>,
}

/// HSD health care services delivery.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery<'s> {
    /// HSD01 quantity qualifier (`VS` visits, `DY` days, `FL` units, `HS` hours, `MN` months).
    #[serde(skip_serializing_if = "str::is_empty")]
    pub quantity_qualifier: &'s str,
    /// HSD02 quantity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<f64>,
    /// HSD03 unit for the sampling (`DA`, `WK`, `MO`, `YR`).
    #[serde(skip_serializing_if = "str::is_empty")]
    pub unit: &'s str,
    /// HSD04 sample selection modulus.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub modulus: &'s str,
    /// HSD05 time period qualifier.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub period_qualifier: &'s str,
    /// HSD06 number of periods.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub periods: &'s str,
    /// HSD07 delivery pattern.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub pattern: &'s str,
    /// HSD08 delivery time.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub time: &'s str,
}

/// CRC certification condition.
#[derive(Debug, Clone, Serialize)]
pub struct Condition<'s> {
    /// CRC01 category (`07` ambulance, `09` DME, `75` functional limitations…).
    pub category: &'s str,
    /// CRC02 `Y`/`N`.
    pub applies: &'s str,
    /// CRC03..CRC07 condition indicators.
    pub indicators: Vec<&'s str>,
}

/// CL1 institutional information (admission review).
#[derive(Debug, Clone, Serialize)]
pub struct Institutional<'s> {
    /// CL101 admission type (`1` emergency, `2` urgent, `3` elective, `4` newborn, `5` trauma).
    #[serde(skip_serializing_if = "str::is_empty")]
    pub admission_type: &'s str,
    /// CL102 point of origin.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub admission_source: &'s str,
    /// CL103 patient status.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub patient_status: &'s str,
    /// CL104 nursing home residential status.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub nursing_home_status: &'s str,
}

/// CR1, CR2, CR5 or CR6 clinical certification data, kept element by element.
#[derive(Debug, Clone, Serialize)]
pub struct ClinicalSegment<'s> {
    /// Segment id (`CR1` ambulance, `CR2` spinal manipulation, `CR5` oxygen, `CR6` home health).
    pub segment: &'s str,
    /// Elements in order (empty strings keep positions).
    pub elements: Vec<&'s str>,
}

/// PWK attachment / additional information.
#[derive(Debug, Clone, Serialize)]
pub struct Attachment<'s> {
    /// PWK01 report type (`09` progress report, `LA` lab results…).
    pub report_type: &'s str,
    /// PWK02 transmission (`FX`, `EL`, `BM`, `EM`, `VO`, `AA`).
    pub transmission: &'s str,
    /// PWK06 attachment control number.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub control_number: &'s str,
    /// PWK07 description.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub description: &'s str,
}

/// A procedure composite (SV101, SV202, SV301).
#[derive(Debug, Clone, Serialize)]
pub struct Procedure<'s> {
    /// Qualifier (`HC` CPT/HCPCS, `AD` CDT, `N4` NDC, `IV`, `WK`, `ZZ`).
    pub qualifier: &'s str,
    /// The code.
    pub code: &'s str,
    /// Up to four modifiers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub modifiers: Vec<&'s str>,
    /// Description (component 7).
    #[serde(skip_serializing_if = "str::is_empty")]
    pub description: &'s str,
}

/// SV1 professional service.
#[derive(Debug, Clone, Serialize)]
pub struct ProfessionalService<'s> {
    /// SV101 procedure.
    pub procedure: Procedure<'s>,
    /// SV102 charge.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charge: Option<f64>,
    /// SV103 unit basis (`UN`, `MJ`).
    #[serde(skip_serializing_if = "str::is_empty")]
    pub unit_basis: &'s str,
    /// SV104 quantity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<f64>,
    /// SV105 place of service.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub place_of_service: &'s str,
    /// SV107 diagnosis pointers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub diagnosis_pointers: Vec<&'s str>,
}

/// SV2 institutional service line.
#[derive(Debug, Clone, Serialize)]
pub struct InstitutionalService<'s> {
    /// SV201 revenue code.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub revenue_code: &'s str,
    /// SV202 procedure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub procedure: Option<Procedure<'s>>,
    /// SV203 charge.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charge: Option<f64>,
    /// SV204 unit basis (`DA`, `UN`).
    #[serde(skip_serializing_if = "str::is_empty")]
    pub unit_basis: &'s str,
    /// SV205 quantity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<f64>,
}

/// SV3 dental service.
#[derive(Debug, Clone, Serialize)]
pub struct DentalService<'s> {
    /// SV301 procedure (`AD` + CDT code).
    pub procedure: Procedure<'s>,
    /// SV302 charge.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charge: Option<f64>,
    /// SV303 place of service.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub place_of_service: &'s str,
    /// SV304 oral cavity designation codes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub oral_cavity: Vec<&'s str>,
    /// SV305 prosthesis, crown or inlay code.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub prosthesis: &'s str,
    /// SV306 quantity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<f64>,
}

/// TOO tooth information.
#[derive(Debug, Clone, Serialize)]
pub struct Tooth<'s> {
    /// TOO01 code list qualifier (`JP`).
    pub qualifier: &'s str,
    /// TOO02 tooth number.
    pub tooth: &'s str,
    /// TOO03 tooth surfaces.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub surfaces: Vec<&'s str>,
}

/// Segments common to the patient event (2000E) and service (2000F) levels.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReviewDetail<'s> {
    /// TRN trace numbers.
    #[serde(skip_serializing_if = "Few::is_empty")]
    pub traces: Few<Trace<'s>>,
    /// AAA request validations (responses).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rejections: Vec<Rejection<'s>>,
    /// UM review information.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review: Option<Review<'s>>,
    /// HCR decision (responses).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<ReviewDecision<'s>>,
    /// REF previous review numbers (`BB`, `NT`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<Reference<'s>>,
    /// DTP dates.
    #[serde(skip_serializing_if = "Few::is_empty")]
    pub dates: Few<DateInfo<'s>>,
    /// HSD delivery quantities.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub delivery: Vec<Delivery<'s>>,
    /// PWK attachments.
    #[serde(skip_serializing_if = "Few::is_empty")]
    pub attachments: Few<Attachment<'s>>,
    /// MSG free text.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<&'s str>,
    /// NM1 provider loops (2010EA / 2010F).
    #[serde(skip_serializing_if = "Few::is_empty")]
    pub providers: Few<Entity<'s>>,
    /// NM1*L5 additional-information contacts (responses).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<Entity<'s>>,
}

impl<'s> ReviewDetail<'s> {
    /// The first date with this DTP01 qualifier.
    pub fn date(&self, qualifier: &str) -> Option<DateValue> {
        self.dates
            .iter()
            .find(|d| d.qualifier == qualifier)
            .and_then(|d| d.value)
    }
    /// The first REF value with this qualifier.
    pub fn reference(&self, qualifier: &str) -> Option<&'s str> {
        self.references
            .iter()
            .find(|r| r.qualifier == qualifier)
            .map(|r| r.value)
    }
}

/// 2000F service level.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceLine<'s> {
    /// HL01.
    pub hl_id: &'s str,
    /// Segment position of the HL.
    pub position: u32,
    /// Segments shared with the event level.
    #[serde(flatten)]
    pub detail: ReviewDetail<'s>,
    /// SV1 professional service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub professional: Option<ProfessionalService<'s>>,
    /// SV2 institutional service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub institutional: Option<InstitutionalService<'s>>,
    /// SV3 dental service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dental: Option<DentalService<'s>>,
    /// TOO teeth.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub teeth: Vec<Tooth<'s>>,
    /// HI*LOI information requests (responses).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub information_requests: Vec<Diagnosis<'s>>,
}

impl<'s> ServiceLine<'s> {
    /// The line's procedure, whichever of SV1/SV2/SV3 carries it.
    pub fn procedure(&self) -> Option<&Procedure<'s>> {
        if let Some(p) = &self.professional {
            return Some(&p.procedure);
        }
        if let Some(i) = &self.institutional {
            return i.procedure.as_ref();
        }
        self.dental.as_ref().map(|d| &d.procedure)
    }
    /// The requested quantity, whichever of SV1/SV2/SV3 or HSD carries it.
    pub fn quantity(&self) -> Option<f64> {
        self.professional
            .as_ref()
            .and_then(|p| p.quantity)
            .or_else(|| self.institutional.as_ref().and_then(|i| i.quantity))
            .or_else(|| self.dental.as_ref().and_then(|d| d.quantity))
            .or_else(|| self.detail.delivery.first().and_then(|h| h.quantity))
    }
}

/// 2000E patient event level.
#[derive(Debug, Clone, Serialize)]
pub struct PatientEvent<'s> {
    /// HL01.
    pub hl_id: &'s str,
    /// Segment position of the HL.
    pub position: u32,
    /// Segments shared with the service level.
    #[serde(flatten)]
    pub detail: ReviewDetail<'s>,
    /// HI diagnoses.
    #[serde(skip_serializing_if = "Few::is_empty")]
    pub diagnoses: Few<Diagnosis<'s>>,
    /// CRC certification conditions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition<'s>>,
    /// CL1 institutional information.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub institutional: Option<Institutional<'s>>,
    /// CR1/CR2/CR5/CR6.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub clinical: Vec<ClinicalSegment<'s>>,
    /// 2010EB (request) / 2010EC (response) transport locations.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub transport: Vec<Entity<'s>>,
    /// 2010EC other UMO (request).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other_umo: Vec<Entity<'s>>,
    /// 2000F service lines. On the heap, not in a [`Few`]: a service line is 1.5 KB, and
    /// kept in place it made every event, and the boxed transaction, that much larger to
    /// build and move (about 2% of the reader's estimated cycles).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<ServiceLine<'s>>,
}

impl<'s> PatientEvent<'s> {
    /// The principal diagnosis (ABK/BK), else the first diagnosis.
    pub fn principal_diagnosis(&self) -> Option<&Diagnosis<'s>> {
        self.diagnoses
            .iter()
            .find(|d| matches!(d.qualifier, "ABK" | "BK"))
            .or_else(|| self.diagnoses.first())
    }
    /// The facility (2010EA with NM101 = FA), if any.
    pub fn facility(&self) -> Option<&Entity<'s>> {
        self.detail.providers.iter().find(|p| p.entity_code == "FA")
    }
}

/// An entity level (2000A–2000D): its HL and the NM1 sub-loop.
#[derive(Debug, Clone, Serialize)]
pub struct Party<'s> {
    /// HL01.
    pub hl_id: &'s str,
    /// Segment position of the HL.
    pub position: u32,
    /// AAA at the HL level (2000A in responses).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rejections: Vec<Rejection<'s>>,
    /// The NM1 loop (None when missing; an error is reported).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity: Option<Entity<'s>>,
}

/// One 278 transaction set.
#[derive(Debug, Clone, Serialize)]
pub struct Transaction278<'s> {
    /// Request, response, cancellation…
    pub purpose: Purpose,
    /// ST02.
    pub control_number: &'s str,
    /// The implementation convention (ST03 or GS08).
    pub version: &'s str,
    /// BHT.
    pub bht: Bht<'s>,
    /// 2000A utilization management organisation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub umo: Option<Party<'s>>,
    /// 2000B requester.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requester: Option<Party<'s>>,
    /// 2000C subscriber.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscriber: Option<Party<'s>>,
    /// 2000D dependent (the patient when not the subscriber).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dependent: Option<Party<'s>>,
    /// 2000E patient events (one in a request). On the heap for the reason given at
    /// [`PatientEvent::services`]: in place, an event made the transaction 4.8 KB.
    pub events: Vec<PatientEvent<'s>>,
}

impl<'s> Transaction278<'s> {
    /// The patient: the dependent when present, else the subscriber.
    pub fn patient(&self) -> Option<&Entity<'s>> {
        self.dependent
            .as_ref()
            .and_then(|d| d.entity.as_ref())
            .or_else(|| self.subscriber.as_ref().and_then(|s| s.entity.as_ref()))
    }
}
