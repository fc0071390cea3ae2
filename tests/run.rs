#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]
//! `umbatch run` end to end: mixed drop folders, reproducibility across thread counts, kills,
//! concurrent runs, permissions and PHI on stderr.

mod common;

use assert_cmd::Command;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn umbatch() -> Command {
    Command::cargo_bin("umbatch").unwrap()
}

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("umbatch")
}

/// A drop folder with good 278s, a fax export, a bad envelope, a non-278 X12 file, an empty
/// file and a binary file.
fn mixed_folder(dir: &Path) -> PathBuf {
    let inbox = dir.join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    for f in common::files_in(&root().join("samples/x12")) {
        std::fs::copy(&f, inbox.join(f.file_name().unwrap())).unwrap();
    }
    std::fs::copy(
        root().join("samples/fax/valley-fax-queue-2026-11-20.csv"),
        inbox.join("fax.csv"),
    )
    .unwrap();
    // Bad envelope: the ISA's element separators are not where they must be and cannot be split.
    std::fs::write(
        inbox.join("bad-envelope.x12"),
        b"ISA*00*  00*   *ZZ*X~GS*HI*A*B~ST*278*0001~SE*2*0001~GE*1*1~IEA*1*1~\n",
    )
    .unwrap();
    // Non-278 X12: a 999 acknowledgment (from the reference examples when available).
    let ack = common::shared().join("reference/examples/999-accept.x12");
    let ack_text = std::fs::read(&ack).unwrap_or_else(|_| {
        b"ISA*00*          *00*          *ZZ*UMO0001        *ZZ*SUBMITTER01    *260115*0930*^*00501*000000901*0*T*:~GS*FA*UMO0001*SUBMITTER01*20260115*0930*901*X*005010X231A1~ST*999*0001*005010X231A1~AK1*HI*101*005010X217~AK2*278*0001*005010X217~IK5*A~AK9*A*1*1*1~SE*6*0001~GE*1*901~IEA*1*000000901~".to_vec()
    });
    std::fs::write(inbox.join("an-ack.x12"), ack_text).unwrap();
    std::fs::write(inbox.join("empty.x12"), b"").unwrap();
    std::fs::write(
        inbox.join("scan.bin"),
        [
            0x89u8, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0xff, 0xfe,
        ],
    )
    .unwrap();
    inbox
}

#[test]
fn mixed_drop_folder_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = mixed_folder(dir.path());
    let out = dir.path().join("out");
    let q = dir.path().join("quarantine");
    let assert = umbatch()
        .arg("run")
        .arg(&inbox)
        .arg("--out")
        .arg(&out)
        .arg("--quarantine")
        .arg(&q)
        .args(["--as-of", "2026-11-20T17:00"])
        .assert()
        .code(1);
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(stderr.contains("files, 50 requests decided"), "{stderr}");
    // Every good request decided: 10 from the 278 samples, 40 valid fax rows.
    let mut rdr = csv::Reader::from_path(out.join("reports/decisions.csv")).unwrap();
    assert_eq!(rdr.records().count(), 50);
    let rejects = std::fs::read_to_string(out.join("reports/rejects.csv")).unwrap();
    for name in ["bad-envelope.x12", "empty.x12", "scan.bin", "an-ack.x12"] {
        assert!(
            rejects.contains(name),
            "{name} missing from rejects.csv:\n{rejects}"
        );
    }
    assert!(rejects.contains("the file is empty"));
    assert!(rejects.contains("passed-over"));
    let mut quarantined: Vec<String> = std::fs::read_dir(&q)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    quarantined.sort();
    assert_eq!(
        quarantined,
        vec!["bad-envelope.x12", "empty.x12", "scan.bin"]
    );
    assert!(!inbox.join("scan.bin").exists(), "moved, not copied");
    assert!(
        inbox.join("fax.csv").exists(),
        "a file with some bad rows is not quarantined"
    );
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["as_of"], "2026-11-20T17:00:00");
    assert_eq!(run["exit_status"], 1);
    assert_eq!(run["policy"]["id"], "default");
    assert_eq!(run["policy"]["sha256"].as_str().unwrap().len(), 64);
    let inputs = run["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 8);
    for i in inputs {
        assert_eq!(i["sha256"].as_str().unwrap().len(), 64, "{i}");
    }
    let fax = inputs
        .iter()
        .find(|i| i["file"].as_str().unwrap().ends_with("fax.csv"))
        .unwrap();
    assert_eq!(fax["decided"], 40);
    assert_eq!(fax["rejected_rows"], 2);
    let bad = inputs
        .iter()
        .find(|i| i["file"].as_str().unwrap().ends_with("bad-envelope.x12"))
        .unwrap();
    assert_eq!(bad["status"], "quarantined");
    assert!(run["timings_ms"]["total"].is_number());
    assert!(run["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["file"] == "reports/decisions.csv"));
}

fn normalized_run_json(out: &Path) -> serde_json::Value {
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap();
    let o = v.as_object_mut().unwrap();
    o.remove("jobs");
    o.remove("timings_ms");
    v
}

fn tree(out: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![out.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(out).unwrap().display().to_string();
                if rel != "run.json" && rel != ".umbatch.lock" {
                    files.push((rel, std::fs::read(&p).unwrap()));
                }
            }
        }
    }
    files.sort();
    files
}

#[test]
fn jobs_1_and_jobs_2_give_byte_identical_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = mixed_folder(dir.path());
    let big = inbox.join("generated.x12");
    let f = std::fs::File::create(&big).unwrap();
    umbatch::gen::write_x12(
        std::io::BufWriter::new(f),
        &umbatch::gen::X12GenOptions {
            transactions: 3000,
            per_interchange: 700,
            ..Default::default()
        },
    )
    .unwrap();
    let run = |jobs: &str, out: &Path| {
        umbatch()
            .arg("run")
            .arg(&inbox)
            .arg("--out")
            .arg(out)
            .args([
                "--as-of",
                "2026-11-20T17:00",
                "--jobs",
                jobs,
                "--chunk-bytes",
                "65536",
                "--quiet",
            ])
            .assert()
            .code(1);
    };
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    run("1", &a);
    run("2", &b);
    let (ta, tb) = (tree(&a), tree(&b));
    assert!(ta.len() >= 16, "{}", ta.len());
    for ((na, ca), (nb, cb)) in ta.iter().zip(&tb) {
        assert_eq!(na, nb);
        assert!(ca == cb, "{na} differs between --jobs 1 and --jobs 2");
    }
    assert_eq!(ta.len(), tb.len());
    assert_eq!(normalized_run_json(&a), normalized_run_json(&b));
    // Re-running with the same --as-of gives the same bytes too.
    let c = dir.path().join("c");
    run("2", &c);
    assert!(tree(&c) == tb);
}

fn big_input(dir: &Path, n: u64) -> PathBuf {
    let p = dir.join("big.x12");
    let f = std::fs::File::create(&p).unwrap();
    umbatch::gen::write_x12(
        std::io::BufWriter::new(f),
        &umbatch::gen::X12GenOptions {
            transactions: n,
            ..Default::default()
        },
    )
    .unwrap();
    p
}

fn wait_for(cond: impl Fn() -> bool, what: &str) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn has_partial(out: &Path) -> bool {
    let reports = out.join("reports");
    std::fs::read_dir(&reports)
        .map(|rd| {
            rd.flatten()
                .any(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        })
        .unwrap_or(false)
}

#[cfg(unix)]
#[test]
fn a_killed_run_leaves_no_partial_file_under_a_final_name_and_the_next_run_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let input = big_input(dir.path(), 60_000);
    let out = dir.path().join("out");
    let mut child = std::process::Command::new(bin())
        .arg("run")
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .args(["--as-of", "2026-11-20T17:00", "--quiet"])
        .spawn()
        .unwrap();
    wait_for(|| has_partial(&out), "the run to start writing");
    std::thread::sleep(Duration::from_millis(100));
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(!status.success());
    for sub in ["", "reports", "responses", "acks"] {
        for e in std::fs::read_dir(out.join(sub)).unwrap().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if e.path().is_file() {
                assert!(
                    name.starts_with('.'),
                    "`{sub}/{name}` appeared under a final name in a killed run"
                );
            }
        }
    }
    let small = root().join("samples/x12/valley-clinic-batch.x12");
    umbatch()
        .arg("run")
        .arg(&small)
        .arg("--out")
        .arg(&out)
        .args(["--as-of", "2026-11-20T17:00", "--quiet"])
        .assert()
        .code(0);
    assert!(out.join("reports/decisions.csv").exists());
    assert!(
        !has_partial(&out),
        "leftovers of the killed run were cleaned"
    );
}

/// Every file under `out`, except the lock.
fn files_left(out: &Path) -> Vec<String> {
    let mut left = Vec::new();
    for sub in ["", "reports", "responses", "acks"] {
        for e in std::fs::read_dir(out.join(sub))
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = e.file_name().to_string_lossy().into_owned();
            if e.path().is_file() && name != ".umbatch.lock" {
                left.push(format!("{sub}/{name}"));
            }
        }
    }
    left
}

/// An output that cannot be written (here a file-size limit; a full disk behaves the same)
/// is not the input's fault and breaks every output promise: the run stops with exit 2 and a
/// message naming the output, with `--jobs 1` and with chunks in flight (`--jobs 2`), and
/// leaves no file behind, neither under a final name nor a temporary one.
#[cfg(unix)]
#[test]
fn an_output_that_cannot_be_written_stops_the_run_with_exit_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let input = big_input(dir.path(), 20_000);
    for jobs in ["1", "2"] {
        let out = dir.path().join(format!("out{jobs}"));
        // `ulimit -f` caps every file the run writes at a few MB; with SIGXFSZ ignored (kept
        // across exec), a write past the cap fails with EFBIG instead of killing the process.
        let done = std::process::Command::new("sh")
            .arg("-c")
            .arg(r#"ulimit -f 4096 && trap "" XFSZ && exec "$0" "$@""#)
            .arg(bin())
            .arg("run")
            .arg(&input)
            .arg("--out")
            .arg(&out)
            .args(["--as-of", "2026-11-20T17:00", "--quiet", "--jobs", jobs])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&done.stderr);
        assert_eq!(done.status.code(), Some(2), "--jobs {jobs}: {stderr}");
        assert!(
            stderr.contains("cannot write outputs: ") && stderr.contains(&*out.to_string_lossy()),
            "--jobs {jobs}: {stderr}"
        );
        assert!(!stderr.contains("could not be read"), "{stderr}");
        assert_eq!(files_left(&out), Vec::<String>::new(), "--jobs {jobs}");
    }
}

#[test]
fn a_second_run_on_the_same_folder_refuses_naming_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let input = big_input(dir.path(), 60_000);
    let out = dir.path().join("out");
    let mut first = std::process::Command::new(bin())
        .arg("run")
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .args(["--as-of", "2026-11-20T17:00", "--quiet"])
        .spawn()
        .unwrap();
    wait_for(|| has_partial(&out), "the first run to start");
    let second = umbatch()
        .arg("run")
        .arg(root().join("samples/x12/valley-clinic-batch.x12"))
        .arg("--out")
        .arg(&out)
        .args(["--as-of", "2026-11-20T17:00"])
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(2));
    let err = String::from_utf8(second.stderr).unwrap();
    assert!(err.contains(".umbatch.lock"), "{err}");
    assert!(err.contains("another umbatch run"), "{err}");
    let status = first.wait().unwrap();
    assert!(status.success(), "the first run finishes normally");
}

#[cfg(unix)]
#[test]
fn outputs_are_owner_only_and_stderr_carries_no_phi() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let fax = dir.path().join("phi.csv");
    std::fs::write(
        &fax,
        "fax_id,received_at,member_id,member_last_name,member_first_name,member_dob,requesting_npi,request_type,procedure_codes,diagnosis_codes,service_from\n\
         PHI-1,2026-11-20 09:00,ZQPHI77731,XYLOPHONIA,QUENTABELLE,1913-07-17,1000079198,outpatient,73721,M25.561,2026-12-01\n\
         PHI-2,2026-11-20 09:00,ZQPHI77732,XYLOPHONIA,QUENTABELLE,17/07/1913,1000079198,outpatient,73721,M25.561,2026-12-01\n\
         PHI-3,2026-11-20 09:00,ZQPHI77733,XYLOPHONIA,QUENTABELLE,1913-07-17,1000079198,bogus_type,73721,M25.561,2026-12-01\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let a = umbatch()
        .arg("run")
        .arg(&fax)
        .arg("--out")
        .arg(&out)
        .args(["--as-of", "2026-11-20T17:00", "--verbose"])
        .assert()
        .code(1);
    let stderr = String::from_utf8(a.get_output().stderr.clone()).unwrap();
    assert!(
        stderr.contains("row 3"),
        "verbose mode reports the bad rows: {stderr}"
    );
    for phi in ["XYLOPHONIA", "QUENTABELLE", "1913", "ZQPHI7773", "17/07"] {
        assert!(!stderr.contains(phi), "stderr leaks `{phi}`:\n{stderr}");
    }
    let mut stack = vec![out.clone()];
    while let Some(d) = stack.pop() {
        let mode = std::fs::metadata(&d).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", d.display());
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{}", p.display());
            }
        }
    }
}

#[test]
fn configuration_errors_exit_2_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[policy]\nid = \"x\"\nname = \"x\"\n[[rules]]\nid = \"R\"\nstage = \"nowhere\"\nthen = { outcome = \"approved\" }\n").unwrap();
    let out = dir.path().join("out");
    let o = umbatch()
        .arg("run")
        .arg("--policy")
        .arg(&bad)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(err.contains("bad.toml:4"), "{err}");
    assert!(!out.exists(), "nothing written");
    let o = umbatch()
        .args(["run", "--as-of", "yesterday", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn inputs_with_the_same_name_in_two_folders_get_distinct_ids_and_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("monday"), dir.path().join("tuesday"));
    for d in [&a, &b] {
        std::fs::create_dir_all(d).unwrap();
        std::fs::copy(
            root().join("samples/x12/valley-clinic-batch.x12"),
            d.join("batch.x12"),
        )
        .unwrap();
        std::fs::copy(
            root().join("samples/fax/valley-fax-queue-2026-11-20.csv"),
            d.join("fax.csv"),
        )
        .unwrap();
    }
    let out = dir.path().join("out");
    let o = umbatch()
        .arg("run")
        .arg(&a)
        .arg(&b)
        .arg("--out")
        .arg(&out)
        .args(["--as-of", "2026-11-20T17:00"])
        .output()
        .unwrap();
    let stderr = String::from_utf8(o.stderr).unwrap();
    assert!(!stderr.contains("given twice"), "{stderr}");
    assert!(out.join("responses/batch.278.x12").exists());
    assert!(out.join("responses/batch-2.278.x12").exists());
    let mut rdr = csv::Reader::from_path(out.join("reports/decisions.csv")).unwrap();
    let h = rdr.headers().unwrap().clone();
    let id = h.iter().position(|x| x == "request_id").unwrap();
    let cert = h.iter().position(|x| x == "certification_number").unwrap();
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(
        rows.len(),
        88,
        "4 requests and 40 valid fax rows per folder"
    );
    let ids: std::collections::HashSet<&str> = rows.iter().map(|r| &r[id]).collect();
    assert_eq!(ids.len(), 88, "request ids are unique in a run");
    let certs: Vec<&str> = rows
        .iter()
        .map(|r| &r[cert])
        .filter(|c| !c.is_empty())
        .collect();
    let unique: std::collections::HashSet<&&str> = certs.iter().collect();
    assert_eq!(
        unique.len(),
        certs.len(),
        "certification numbers are unique in a run"
    );
    assert!(rows.iter().any(|r| r[id].starts_with("batch-2:")));
    assert!(rows.iter().any(|r| r[id].starts_with("fax-2:")));
}
