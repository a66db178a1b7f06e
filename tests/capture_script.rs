//! The capture document's Linux script (infra/evidence.yaml, `Firebreak-CaptureEvidence`, step
//! `captureLinux`), run here as the SSM agent would run it: its `runCommand` lines joined into one
//! shell script, the document's `{{ parameters }}` substituted. `aws` is a PATH shim that copies
//! the `aws s3 cp` upload into a temporary directory (and refuses any other call), `curl` a shim
//! that "fetches" a small stub standing in for AVML. Memory acquisition itself is not exercised:
//! the stub writes a few bytes where AVML would write the image. The CDK app includes the same
//! file (infra/cdk/lib/evidence.ts), so this is the script both templates deploy.
//!
//! The document is read with cfn-lint's YAML decoder (CloudFormation's `!Ref` tags) from the
//! emulator's Python environment (`FIREBREAK_MOTO_PYTHON`, set by scripts/emulator.sh).

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use firebreak::evidence::evidence_prefix;

const VOLATILE_STATE: [&str; 6] = [
    "processes.txt",
    "connections.txt",
    "listening-ports.txt",
    "logged-in-users.txt",
    "loaded-modules.txt",
    "recently-modified-files.txt",
];
const BUCKET: &str = "firebreak-evidence-111122223333";

fn python() -> String {
    std::env::var("FIREBREAK_MOTO_PYTHON").unwrap_or_else(|_| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        root.join(".venv/bin/python").display().to_string()
    })
}

/// The Linux step's lines, and whether `prefix` is accepted by the document's Prefix pattern.
fn linux_script(prefix: &str) -> (String, bool) {
    let template = Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/evidence.yaml");
    let program = r#"
import json, re, sys
from cfnlint.decode import decode
template, matches = decode(sys.argv[1])
assert template is not None, matches
content = template["Resources"]["CaptureDocument"]["Properties"]["Content"]
[linux] = [s for s in content["mainSteps"] if s["name"] == "captureLinux"]
pattern = content["parameters"]["Prefix"]["allowedPattern"]
print(json.dumps({"lines": linux["inputs"]["runCommand"], "accepted": re.search(pattern, sys.argv[2]) is not None}))
"#;
    let out = Command::new(python()).args(["-c", program]).arg(&template).arg(prefix).output().expect("run python");
    assert!(out.status.success(), "reading the document: {}", String::from_utf8_lossy(&out.stderr));
    let parsed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let lines: Vec<String> = serde_json::from_value(parsed["lines"].clone()).expect("lines");
    (lines.join("\n"), parsed["accepted"].as_bool().unwrap_or(false))
}

fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().expect("sha256sum");
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap_or_default().to_string()
}

fn executable(path: &Path, text: &str) {
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

struct Run {
    /// What `aws s3 cp` uploaded: the bucket's keys under the prefix -> local copies.
    uploaded: BTreeMap<String, PathBuf>,
    stdout: String,
    stub_ran: bool,
    aws_calls: String,
}

/// Runs the Linux script with the shims, AVML's hash given as `avml_sha256` (None: the stub's own).
fn run(work: &Path, prefix: &str, avml_sha256: Option<&str>) -> Run {
    let bin = work.join("bin");
    let uploads = work.join("uploads");
    fs::create_dir_all(&bin).unwrap();
    fs::create_dir_all(&uploads).unwrap();
    let stub = work.join("avml-stub");
    executable(
        &stub,
        &format!(
            "#!/bin/sh\n: > '{}/avml-ran'\n[ \"$1\" = --compress ] && printf 'stub memory image\\n' > \"$2\"\n",
            work.display()
        ),
    );
    // `aws s3 cp --recursive SRC s3://BUCKET/KEY ...`: SRC copied to uploads/BUCKET/KEY; the
    // working directory (the script's temporary directory) noted, to be removed afterwards.
    executable(
        &bin.join("aws"),
        &format!(
            "#!/bin/sh\necho \"$*\" >> '{w}/aws-calls'\npwd > '{w}/script-dir'\n\
             [ \"$1 $2 $3\" = 's3 cp --recursive' ] || {{ echo \"unexpected aws call: $*\" >&2; exit 2; }}\n\
             dest='{u}/'\"${{5#s3://}}\"\nmkdir -p \"$dest\" && cp -a \"$4/.\" \"$dest\"\n",
            w = work.display(),
            u = uploads.display()
        ),
    );
    executable(
        &bin.join("curl"),
        &format!(
            "#!/bin/sh\nwhile [ $# -gt 0 ]; do case \"$1\" in -o) out=\"$2\"; shift 2;; *) shift;; esac; done\ncp '{}' \"$out\"\n",
            stub.display()
        ),
    );
    let hash = avml_sha256.map(str::to_string).unwrap_or_else(|| sha256(&stub));
    let (script, accepted) = linux_script(prefix);
    assert!(accepted, "the document's Prefix pattern refuses the code's prefix {prefix}");
    let script = script
        .replace("{{ Bucket }}", BUCKET)
        .replace("{{ Prefix }}", prefix)
        .replace("{{ AvmlUrl }}", "https://example.com/avml")
        .replace("{{ AvmlSha256 }}", &hash);
    fs::write(work.join("script.sh"), &script).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let out = Command::new("bash").arg(work.join("script.sh")).env("PATH", path).output().expect("bash");
    assert!(out.status.success(), "the script failed: {}", String::from_utf8_lossy(&out.stderr));
    // The script leaves its directory on the instance; here it is removed.
    if let Ok(dir) = fs::read_to_string(work.join("script-dir")) {
        let dir = dir.trim();
        assert!(dir.starts_with("/var/tmp/firebreak."), "{dir}");
        let _ = fs::remove_dir_all(dir);
    }
    let root = uploads.join(BUCKET);
    let mut uploaded = BTreeMap::new();
    let mut pending = vec![root.clone()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                uploaded.insert(path.strip_prefix(&root).unwrap().display().to_string(), path);
            }
        }
    }
    Run {
        uploaded,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stub_ran: work.join("avml-ran").exists(),
        aws_calls: fs::read_to_string(work.join("aws-calls")).unwrap_or_default(),
    }
}

fn workdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("firebreak-capture-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_linux_capture_uploads_every_file_under_the_prefix_with_its_sha256_in_the_manifest() {
    let work = workdir("ok");
    let prefix = evidence_prefix("eu-west-1", "111122223333", "fb-0123456789abcdef", "i-0a1b2c3d4e5f60718");
    let run = run(&work, &prefix, None);

    // One upload, to the bucket and prefix the document was given, with S3 checking SHA-256.
    assert_eq!(run.aws_calls.lines().count(), 1, "{}", run.aws_calls);
    assert!(run.aws_calls.contains(&format!("s3://{BUCKET}/{prefix}")), "{}", run.aws_calls);
    assert!(run.aws_calls.contains("--checksum-algorithm SHA256"), "{}", run.aws_calls);
    assert!(run.uploaded.keys().all(|key| key.starts_with(&prefix)), "{:?}", run.uploaded.keys());

    // Every volatile-state file, non-empty (where a tool is missing, as lsmod and /proc/modules
    // are in this container, the file says so), and the stub's "memory image".
    for name in VOLATILE_STATE.iter().chain(&["memory.lime.compressed"]) {
        let path = run.uploaded.get(&format!("{prefix}{name}")).unwrap_or_else(|| panic!("{name} not uploaded"));
        assert!(fs::metadata(path).unwrap().len() > 0, "{name} is empty");
    }
    assert!(run.stub_ran);
    assert!(!run.uploaded.contains_key(&format!("{prefix}memory-not-captured.txt")));

    // The manifest lists every other uploaded file, each with its SHA-256.
    let manifest = fs::read_to_string(&run.uploaded[&format!("{prefix}manifest.sha256")]).unwrap();
    let listed: BTreeMap<String, String> = manifest
        .lines()
        .filter_map(|line| line.split_once("  "))
        .map(|(hash, file)| (format!("{prefix}{}", file.trim_start_matches("./")), hash.to_string()))
        .collect();
    let others: Vec<&String> = run.uploaded.keys().filter(|k| !k.ends_with("manifest.sha256")).collect();
    assert_eq!(listed.keys().collect::<Vec<_>>(), others, "the manifest lists exactly the uploaded files");
    for (key, hash) in &listed {
        assert_eq!(&sha256(&run.uploaded[key]), hash, "{key}: the manifest's SHA-256 is not the file's");
    }
    let _ = fs::remove_dir_all(&work);
}

#[test]
fn a_memory_tool_with_another_sha256_is_not_run_and_the_capture_says_so() {
    let work = workdir("bad-hash");
    let prefix = evidence_prefix("us-east-1", "111122223333", "fb-fedcba9876543210", "i-0123456789abcdef0");
    let run = run(&work, &prefix, Some(&"0".repeat(64)));

    assert!(!run.stub_ran, "a tool whose SHA-256 differs must never run");
    assert!(!run.uploaded.contains_key(&format!("{prefix}memory.lime.compressed")));
    let why = fs::read_to_string(&run.uploaded[&format!("{prefix}memory-not-captured.txt")]).unwrap();
    assert!(why.contains("SHA-256") && why.contains("not run"), "{why}");
    assert!(run.stdout.contains("not AvmlSha256; not run"), "the command's output says so: {}", run.stdout);
    // The volatile state is captured all the same.
    for name in VOLATILE_STATE {
        assert!(run.uploaded.contains_key(&format!("{prefix}{name}")), "{name}");
    }
    let _ = fs::remove_dir_all(&work);
}
