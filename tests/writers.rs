#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]
//! Writers: 278 responses and 999s against the reference examples (golden), partial
//! acceptance, round trips through our own reader, and the CSV reports.

mod common;

use assert_cmd::Command;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn example(name: &str) -> String {
    let p = common::shared().join("reference/examples").join(name);
    match std::fs::read_to_string(&p) {
        Ok(s) => s,
        Err(_) => std::fs::read_to_string(root().join("tests/data").join(name)).unwrap(),
    }
}

/// A policy that approves what it is given, and rosters that know the reference example's
/// member and providers.
fn reference_setup(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let policy = dir.join("approve.toml");
    std::fs::write(
        &policy,
        "[policy]\nid = \"test-approve\"\nname = \"approve everything valid\"\ndefault_outcome = \"approved\"\n\n\
         [[rules]]\nid = \"VAL-1\"\nstage = \"validity\"\nwhen = { member_found = false }\n\
         then = { outcome = \"rejected\", aaa = \"75\", loop = \"2010C\", follow_up = \"C\" }\n",
    )
    .unwrap();
    let el = dir.join("eligibility.csv");
    std::fs::write(
        &el,
        "member_id,last_name,first_name,dob,plan_id,product,coverage_start,coverage_end,medicare_primary,pcp_npi\n\
         W123456789,DOE,JOHN,1980-01-15,EXAMPLE,commercial,2025-01-01,,N,1234567893\n",
    )
    .unwrap();
    let pr = dir.join("providers.csv");
    std::fs::write(
        &pr,
        "npi,name,network,specialty,plan_ids,contract_start,contract_end\n\
         1234567893,SAMPLE ORTHOPEDIC CLINIC,in,ORTHOPEDICS,,2020-01-01,\n\
         1987654328,SAMPLE IMAGING CENTER,in,RADIOLOGY,,2020-01-01,\n",
    )
    .unwrap();
    (policy, el, pr)
}

fn run_into(inputs: &[&Path], out: &Path, extra: &[&str]) -> i32 {
    let mut cmd = Command::cargo_bin("umbatch").unwrap();
    cmd.arg("run")
        .args(inputs)
        .arg("--out")
        .arg(out)
        .args(extra);
    if !extra.contains(&"--as-of") {
        cmd.args(["--as-of", "2026-01-15T09:31"]);
    }
    cmd.output().unwrap().status.code().unwrap()
}

/// Runs `input` into `out` under the reference setup's policy and rosters.
fn run_with_setup(setup: (&Path, &Path, &Path), input: &Path, out: &Path) -> i32 {
    let (policy, el, pr) = setup;
    run_into(
        &[input],
        out,
        &[
            "--policy",
            policy.to_str().unwrap(),
            "--eligibility",
            el.to_str().unwrap(),
            "--providers",
            pr.to_str().unwrap(),
        ],
    )
}

fn segments(text: &str, term: char) -> Vec<String> {
    text.split(term)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The first interchange of a file, as segments.
fn first_interchange(text: &str) -> Vec<String> {
    let segs = segments(text, '~');
    let end = segs.iter().position(|s| s.starts_with("IEA")).unwrap();
    segs[..=end].to_vec()
}

/// Elements that may differ: control numbers, dates and times, our own trace and numbers.
fn masked(seg: &str) -> String {
    let mut e: Vec<String> = seg.split('*').map(str::to_string).collect();
    let mask = |e: &mut Vec<String>, idx: &[usize]| {
        for &i in idx {
            if i < e.len() {
                e[i] = "#".into();
            }
        }
    };
    match e[0].as_str() {
        "ISA" => mask(&mut e, &[9, 10, 13]),
        "GS" => mask(&mut e, &[4, 5, 6]),
        "GE" | "IEA" => mask(&mut e, &[2]),
        "BHT" => mask(&mut e, &[4, 5]),
        "HCR" => mask(&mut e, &[2]),
        "TRN" if e.get(1).map(String::as_str) == Some("1") => mask(&mut e, &[2, 3]),
        "DTP" if e.get(1).map(String::as_str) == Some("102") => mask(&mut e, &[3]),
        _ => {}
    }
    e.join("*")
}

#[test]
fn golden_approved_response_matches_the_reference_segment_for_segment() {
    let dir = tempfile::tempdir().unwrap();
    let (policy, el, pr) = reference_setup(dir.path());
    let input = dir.path().join("278-request.x12");
    std::fs::write(&input, example("278-request.x12")).unwrap();
    let out = dir.path().join("out");
    let code = run_with_setup((&policy, &el, &pr), &input, &out);
    assert_eq!(code, 0);
    let ours = std::fs::read_to_string(out.join("responses/278-request.278.x12")).unwrap();
    let reference = example("278-response-approved.x12");
    let a: Vec<String> = first_interchange(&ours).iter().map(|s| masked(s)).collect();
    let b: Vec<String> = first_interchange(&reference)
        .iter()
        .map(|s| masked(s))
        .collect();
    assert_eq!(
        a,
        b,
        "\nours:\n{}\nreference:\n{}",
        a.join("\n"),
        b.join("\n")
    );
    // The certification number is ours and the same at event and line level.
    let hcrs: Vec<&str> = ours
        .split('~')
        .filter(|s| s.trim().starts_with("HCR"))
        .collect();
    assert_eq!(hcrs.len(), 2);
    assert_eq!(hcrs[0].trim(), hcrs[1].trim());
    assert!(
        hcrs[0].contains("HCR*A1*TEST-APPROVE") || hcrs[0].contains("HCR*A1*UMB"),
        "{hcrs:?}"
    );
}

#[test]
fn an_echoed_st02_with_unusual_characters_is_cleaned_at_st_and_se() {
    // The reader checks ST02 only for its length (4 to 9): a component separator or a space
    // in it must not reach the response raw.
    let dir = tempfile::tempdir().unwrap();
    let (policy, el, pr) = reference_setup(dir.path());
    let out = dir.path().join("out");
    for (i, st02) in ["12:4", "AB C1", "0001"].into_iter().enumerate() {
        let input = dir.path().join(format!("278-request-{i}.x12"));
        let text = example("278-request.x12")
            .replace("ST*278*0001*", &format!("ST*278*{st02}*"))
            .replace("SE*21*0001~", &format!("SE*21*{st02}~"));
        std::fs::write(&input, text).unwrap();
        let _ = std::fs::remove_dir_all(&out);
        let code = run_with_setup((&policy, &el, &pr), &input, &out);
        assert_eq!(code, 0, "{st02}");
        let ours = std::fs::read_to_string(out.join(format!("responses/278-request-{i}.278.x12")))
            .unwrap();
        let segs = segments(&ours, '~');
        let cleaned = st02.replace(':', " ");
        let st = segs.iter().find(|s| s.starts_with("ST*")).unwrap();
        let se = segs.iter().find(|s| s.starts_with("SE*")).unwrap();
        assert_eq!(st, &format!("ST*278*{cleaned}*005010X217"), "{st02}");
        assert!(se.ends_with(&format!("*{cleaned}")), "{st02}: {se}");
    }
}

#[test]
fn golden_999_accept_matches_the_reference() {
    let dir = tempfile::tempdir().unwrap();
    let (policy, el, pr) = reference_setup(dir.path());
    let input = dir.path().join("278-request.x12");
    std::fs::write(&input, example("278-request.x12")).unwrap();
    let out = dir.path().join("out");
    run_with_setup((&policy, &el, &pr), &input, &out);
    let acks = std::fs::read_to_string(out.join("acks/278-request.999.x12")).unwrap();
    let a: Vec<String> = first_interchange(&acks).iter().map(|s| masked(s)).collect();
    let b: Vec<String> = first_interchange(&example("999-accept.x12"))
        .iter()
        .map(|s| masked(s))
        .collect();
    assert_eq!(a, b);
    // The request asked for a TA1 (ISA14 = 1): it follows in its own interchange.
    let ta1 = acks
        .split('~')
        .find(|s| s.trim().starts_with("TA1"))
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(ta1, "TA1*000000101*260115*0930*A*000");
}

#[test]
fn golden_999_reject_matches_the_reference() {
    let dir = tempfile::tempdir().unwrap();
    let (policy, el, pr) = reference_setup(dir.path());
    let bad = example("278-request.x12")
        .replace("*101*X*005010X217", "*102*X*005010X217")
        .replace("GE*1*101", "GE*1*102")
        .replace(
            "NM1*IL*1*DOE*JOHN****MI*W123456789",
            "NM1*IL*1*DOE*JOHN****MI",
        );
    let input = dir.path().join("second.x12");
    std::fs::write(&input, bad).unwrap();
    let out = dir.path().join("out");
    let code = run_with_setup((&policy, &el, &pr), &input, &out);
    assert_eq!(
        code, 1,
        "a transaction rejected by the 999 is an input that was not processed as submitted"
    );
    let acks = std::fs::read_to_string(out.join("acks/second.999.x12")).unwrap();
    let a: Vec<String> = first_interchange(&acks).iter().map(|s| masked(s)).collect();
    let b: Vec<String> = first_interchange(&example("999-reject.x12"))
        .iter()
        .map(|s| masked(s))
        .collect();
    assert_eq!(a, b);
    assert!(
        !out.join("responses/second.278.x12").exists(),
        "a rejected transaction gets no 278 response"
    );
}

#[test]
fn one_bad_transaction_among_good_ones_gives_partial_acceptance() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join("samples/x12/valley-clinic-batch.x12")).unwrap();
    // Transaction 0002: the service level names a parent that does not exist.
    let bad = text.replacen(
        "HL*5*4*SS*0~\nTRN*1*VC-SVC-0002",
        "HL*5*9*SS*0~\nTRN*1*VC-SVC-0002",
        1,
    );
    assert_ne!(bad, text);
    let input = dir.path().join("batch.x12");
    std::fs::write(&input, bad).unwrap();
    let out = dir.path().join("out");
    assert_eq!(run_into(&[&input], &out, &[]), 1);
    let acks = std::fs::read_to_string(out.join("acks/batch.999.x12")).unwrap();
    let segs = segments(&acks, '~');
    assert!(segs.contains(&"AK9*P*4*4*3".to_string()), "{segs:#?}");
    let i = segs
        .iter()
        .position(|s| s == "AK2*278*0002*005010X217")
        .unwrap();
    // HL 4 says it has children but none names it (IK4 on HL04), and HL 5 names a parent
    // that does not exist (IK4 on HL02).
    assert_eq!(segs[i + 1], "IK3*HL*11*2000*8");
    assert_eq!(segs[i + 2], "IK4*4*736*7");
    assert_eq!(segs[i + 3], "IK3*HL*23*2000*8");
    assert_eq!(segs[i + 4], "IK4*2*734*7");
    assert_eq!(segs[i + 5], "IK5*R*5");
    let responses = std::fs::read_to_string(out.join("responses/batch.278.x12")).unwrap();
    let sts: Vec<&str> = responses
        .split('~')
        .map(str::trim)
        .filter(|s| s.starts_with("ST*"))
        .collect();
    assert_eq!(
        sts,
        vec![
            "ST*278*0001*005010X217",
            "ST*278*0003*005010X217",
            "ST*278*0004*005010X217"
        ]
    );
    let mut rdr = csv::Reader::from_path(out.join("reports/rejects.csv")).unwrap();
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(&rows[0][2], "transaction");
    assert!(rows[0][3].contains("ST02 0002"), "{:?}", rows[0]);
    assert_eq!(&rows[0][5], "hl-parent");
}

#[test]
fn everything_we_write_reads_back_clean_and_every_request_is_answered_once() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("in");
    std::fs::create_dir(&inputs).unwrap();
    for f in common::files_in(&root().join("samples/x12")) {
        std::fs::copy(&f, inputs.join(f.file_name().unwrap())).unwrap();
    }
    if let Some(c) = common::corpus() {
        for name in [
            "stupidedi-1.x12",
            "stupidedi-2.x12",
            "stupidedi-3.x12",
            "stupidedi-4a.x12",
            "stupidedi-5.x12",
            "stupidedi-6.x12",
            "stupidedi-head-referral-request-for-review.x12",
        ] {
            std::fs::copy(c.join("x217").join(name), inputs.join(name)).unwrap();
        }
        std::fs::copy(
            c.join("defects/stupidedi-head-request-for-home-health-care.x12"),
            inputs.join("bad-se.x12"),
        )
        .unwrap();
    }
    let mut requests_in = 0;
    for f in common::files_in(&inputs) {
        requests_in += common::check_file(&f, false).counts.requests;
    }
    let out = dir.path().join("out");
    run_into(&[&inputs], &out, &[]);
    let mut answered = 0;
    let mut rejected_999 = 0;
    for f in common::files_in(&out.join("responses"))
        .into_iter()
        .chain(common::files_in(&out.join("acks")))
    {
        let c = common::check_file(&f, false);
        assert_eq!(
            common::error_codes(&c),
            Vec::<&str>::new(),
            "{}",
            f.display()
        );
        answered += c.counts.responses;
        let text = std::fs::read_to_string(&f).unwrap();
        rejected_999 += text
            .split('~')
            .filter(|s| s.trim().starts_with("IK5*R"))
            .count() as u64;
    }
    assert!(requests_in >= 10);
    assert_eq!(
        answered + rejected_999,
        requests_in,
        "every request in exactly one response or one 999 rejection"
    );
}

#[test]
fn reports_open_as_expected_and_formulas_are_neutralised() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    run_into(
        &[&root().join("samples/fax")],
        &out,
        &["--as-of", "2026-11-20T17:00"],
    );
    let read = |name: &str| {
        let mut rdr = csv::Reader::from_path(out.join("reports").join(name)).unwrap();
        let h = rdr.headers().unwrap().clone();
        let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
        (h, rows)
    };
    let (h, rows) = read("decisions.csv");
    let col = |name: &str| h.iter().position(|x| x == name).unwrap();
    for c in [
        "request_id",
        "source_file",
        "source_kind",
        "source_ref",
        "plan_id",
        "member_id",
        "member_name",
        "member_dob",
        "requesting_npi",
        "servicing_npi",
        "request_category",
        "urgency",
        "expedited",
        "retro",
        "service_from",
        "service_to",
        "procedure_codes",
        "diagnosis_codes",
        "submitted_at",
        "decided_at",
        "outcome",
        "hcr01",
        "reason_codes",
        "reason_text",
        "rules_fired",
        "certification_number",
        "valid_from",
        "valid_to",
        "due_by",
        "missing_items",
        "denial_category",
        "appeal_path",
        "imr_eligible",
    ] {
        col(c);
    }
    assert_eq!(rows.len(), 40);
    let first = &rows[0];
    assert_eq!(
        &first[col("request_id")],
        "valley-fax-queue-2026-11-20:FX-2611-0001"
    );
    assert_eq!(&first[col("source_kind")], "fax");
    assert_eq!(&first[col("source_ref")], "row 2");
    assert_eq!(&first[col("diagnosis_codes")], "M25561");
    assert_eq!(&first[col("submitted_at")], "2026-11-20T08:02:00");
    assert_eq!(&first[col("decided_at")], "2026-11-20T17:00:00");
    let formula = rows
        .iter()
        .find(|r| r[col("request_id")].ends_with("FX-2611-0041"))
        .unwrap();
    assert!(
        formula[col("procedure_codes")].starts_with("'="),
        "{:?}",
        &formula[col("procedure_codes")]
    );
    assert_eq!(&formula[col("outcome")], "rejected");
    let (rh, retro) = read("retro_missing_justification.csv");
    for c in [
        "days_after_service",
        "urgency_indicated",
        "justification_present",
        "missing",
    ] {
        assert!(rh.iter().any(|x| x == c), "{c}");
    }
    assert!(!retro.is_empty());
    let (_, denials) = read("denials.csv");
    assert!(denials.iter().all(|r| &r[col("outcome")] == "denied"));
    let (lh, lines) = read("service_lines.csv");
    assert_eq!(&lh[0], "request_id");
    assert!(lines.len() >= rows.len());
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["decided"], 40);
    assert!(summary["metrics"]["approval_rate"].as_f64().unwrap() > 0.0);
    assert!(summary["by_source"]["fax"].as_u64().unwrap() == 40);
}
