#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]
//! The 278 model built from real files: what `inspect` exposes.

mod common;

use common::*;
use std::sync::Arc;
use umbatch::check::context;
use umbatch::model::{classify, read_278, DateValue, Purpose, Transaction278, TxnClass};
use umbatch::x12::{Item, ReaderOptions, Segment, X12Reader};

/// Runs `f` on every 278 model of a file.
fn with_models(bytes: &[u8], mut f: impl FnMut(&Transaction278<'_>)) -> usize {
    let name: Arc<str> = Arc::from("test");
    let mut r = X12Reader::new(bytes, Arc::clone(&name), ReaderOptions::default());
    let mut n = 0;
    while let Some(chunk) = r.next_chunk().unwrap() {
        for item in &chunk.items {
            let Item::Transaction(u) = item else { continue };
            if classify(u) != TxnClass::Review278 {
                continue;
            }
            let segs: Vec<Segment<'_>> = u.segments(&chunk).collect();
            let built = read_278(&segs, &context(&name, u));
            assert!(built.diagnostics.is_empty(), "{:?}", built.diagnostics);
            f(built.transaction.as_ref().unwrap());
            n += 1;
        }
    }
    n
}

#[test]
fn stupidedi_2_admission_review_model() {
    let Some(corpus) = corpus() else { return };
    let bytes = std::fs::read(corpus.join("x217/stupidedi-2.x12")).unwrap();
    let n = with_models(&bytes, |t| {
        assert_eq!(t.purpose, Purpose::Request);
        assert_eq!(t.bht.reference, "B56789");
        let ev = &t.events[0];
        let um = ev.detail.review.as_ref().unwrap();
        assert_eq!(um.category, "AR", "admission review");
        assert_eq!(um.certification_type, "I");
        assert_eq!(um.facility_code, "21");
        assert_eq!(um.facility_code_qualifier, "B");
        assert_eq!(
            ev.institutional.as_ref().unwrap().admission_type,
            "2",
            "CL1 urgent"
        );
        let dx = ev.principal_diagnosis().unwrap();
        assert_eq!((dx.qualifier, dx.code), ("BF", "41090"));
        assert_eq!(dx.date.unwrap().to_string(), "2005-01-25");
        let fac = ev.facility().unwrap();
        assert_eq!(fac.last_or_org_name, "MONTGOMERY HOSPITAL");
        assert_eq!(fac.id_qualifier, "XX");
        assert_eq!(fac.address.as_ref().unwrap().city, "ANYTOWN");
        assert_eq!(
            ev.detail.date("435"),
            Some(DateValue::Single(
                chrono::NaiveDate::from_ymd_opt(2005, 5, 16).unwrap()
            ))
        );
        assert_eq!(ev.detail.delivery[0].quantity, Some(7.0));
        let line = &ev.services[0];
        let sv2 = line.institutional.as_ref().unwrap();
        assert_eq!(
            sv2.revenue_code, "",
            "SV201 is empty in this file: `SV2**HC:33510`"
        );
        let p = sv2.procedure.as_ref().unwrap();
        assert_eq!((p.qualifier, p.code), ("HC", "33510"));
        assert_eq!(line.detail.review.as_ref().unwrap().service_type, "3");
        assert_eq!(
            line.detail.providers[0]
                .provider_info
                .as_ref()
                .unwrap()
                .taxonomy,
            "103GC0700X"
        );
        assert_eq!(line.hl_id, "5");
        assert_eq!(
            t.requester
                .as_ref()
                .unwrap()
                .entity
                .as_ref()
                .unwrap()
                .contacts[0]
                .numbers[..],
            [("TE", "4029993456")]
        );
    });
    assert_eq!(n, 1);
}

#[test]
fn responses_are_read_back() {
    let Some(corpus) = corpus() else { return };
    let bytes = std::fs::read(corpus.join("x217/stupidedi-3r.x12")).unwrap();
    with_models(&bytes, |t| {
        assert_eq!(t.purpose, Purpose::Response);
        let ev = &t.events[0];
        let hcr = ev.detail.decision.as_ref().unwrap();
        assert_eq!(hcr.action, "A4");
        assert_eq!(hcr.reasons, vec!["0U"]);
        assert_eq!(ev.detail.reference("NT"), Some("P20030216001"));
        assert_eq!(ev.detail.attachments[0].report_type, "AS");
    });
    let bytes = std::fs::read(corpus.join("x217/stupidedi-5r.x12")).unwrap();
    with_models(&bytes, |t| {
        let lines = &t.events[0].services;
        assert_eq!(lines.len(), 3);
        assert!(lines.iter().all(|l| l.detail.rejections[0].reason == "52"));
    });
}

#[test]
fn sample_dependent_dental_clinical_and_follow_up() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/x12");
    let clinic = std::fs::read(root.join("valley-clinic-batch.x12")).unwrap();
    let mut seen = Vec::new();
    with_models(&clinic, |t| {
        seen.push((
            t.bht.reference.to_string(),
            t.dependent.is_some(),
            t.events[0].detail.reference("BB").map(str::to_string),
        ))
    });
    assert_eq!(
        seen[2],
        ("VC20261118-003".to_string(), true, None),
        "2000D dependent"
    );
    assert_eq!(
        seen[3].2.as_deref(),
        Some("UMB0001987"),
        "follow-up with REF*BB"
    );

    let fac = std::fs::read(root.join("facility-and-dental.x12")).unwrap();
    let mut i = 0;
    with_models(&fac, |t| {
        let ev = &t.events[0];
        match i {
            0 => {
                assert_eq!(ev.institutional.as_ref().unwrap().admission_type, "3");
                assert_eq!(ev.conditions[0].category, "75");
                assert_eq!(ev.detail.attachments.len(), 2);
                assert!(!ev.detail.messages.is_empty());
                assert_eq!(
                    ev.services[0].institutional.as_ref().unwrap().revenue_code,
                    "0190"
                );
            }
            1 => {
                assert_eq!(ev.clinical[0].segment, "CR6");
                assert_eq!(ev.services.len(), 2);
                assert_eq!(ev.diagnoses[0].date.unwrap().to_string(), "2026-11-01");
            }
            _ => {
                assert_eq!(ev.services.len(), 3);
                let d = ev.services[0].dental.as_ref().unwrap();
                assert_eq!((d.procedure.qualifier, d.procedure.code), ("AD", "D7240"));
                assert_eq!(ev.services[0].teeth[0].tooth, "17");
                assert_eq!(ev.services[2].quantity(), Some(2.0));
            }
        }
        i += 1;
    });
    assert_eq!(i, 3);

    let three = std::fs::read(root.join("three-interchanges.x12")).unwrap();
    let mut cats = Vec::new();
    let n = with_models(&three, |t| {
        cats.push(
            t.events[0]
                .detail
                .review
                .as_ref()
                .unwrap()
                .service_type
                .to_string(),
        )
    });
    assert_eq!(n, 3);
    assert_eq!(cats, vec!["48", "76", "69"]);
}
