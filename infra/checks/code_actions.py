"""The AWS actions each function's code can call, derived from the source, not kept by hand.

Every AWS call in the workspace goes through `.aws("ExactApiOperationName")` (shared/src/aws.rs).
For each crate in functions/, this module follows the crate's `firebreak::<module>` references to
the shared modules it uses, and from those modules their `crate::<module>` / `super::` references
and `mod` children, transitively (module granularity: a module that is reachable contributes all
of its calls, an over-approximation that never misses a call). Each label is mapped to its IAM
action by finding the operation in the AWS SDK crates the workspace depends on (located through
`cargo metadata`): `DescribeInstances` is `aws-sdk-ec2`'s `operation/describe_instances`, so
`ec2:DescribeInstances`.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

# The IAM service prefix of an SDK crate, where it is not the crate name without `aws-sdk-`.
IAM_PREFIX_OF_CRATE = {"aws-sdk-elasticloadbalancingv2": "elasticloadbalancing"}

# API operations whose IAM action differs from their name, or that need more than their own action.
# Keyed by "prefix:Operation"; the value is the complete list of IAM actions the call needs.
IAM_ACTIONS_OF_OPERATION: dict[str, list[str]] = {
    # Needs no permission at all (and cannot be denied).
    "sts:GetCallerIdentity": [],
}

# Creating EC2 resources with TagSpecifications needs ec2:CreateTags as well ("tag on create").
TAG_ON_CREATE = re.compile(r"\.tag_specifications\s*\(")

AWS_LABEL = re.compile(r'\.aws\(\s*"([A-Za-z0-9]+)"\s*\)')
IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


def snake_case(operation: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", operation).lower()


@dataclass
class Call:
    operation: str
    file: Path
    line: int
    actions: list[str] = field(default_factory=list)


class Workspace:
    def __init__(self, root: Path):
        self.root = root
        self.shared_src = root / "shared" / "src"
        self.sdk_crates = self._sdk_crates()

    # ------------------------------------------------------------------ SDK operations
    def _sdk_crates(self) -> dict[str, Path]:
        """SDK crate name -> its src/operation directory, for the SDK crates the workspace uses."""
        out = subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--locked"],
            cwd=self.root,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        crates = {}
        for package in json.loads(out)["packages"]:
            name = package["name"]
            if name.startswith("aws-sdk-"):
                operations = Path(package["manifest_path"]).parent / "src" / "operation"
                if operations.is_dir():
                    crates[name] = operations
        if not crates:
            raise SystemExit("cargo metadata found no aws-sdk-* crate: cannot map .aws() labels to IAM actions")
        return crates

    def iam_prefix(self, crate: str) -> str:
        return IAM_PREFIX_OF_CRATE.get(crate, crate.removeprefix("aws-sdk-"))

    def crates_with_operation(self, operation: str) -> list[str]:
        snake = snake_case(operation)
        return sorted(c for c, ops in self.sdk_crates.items() if (ops / snake).is_dir() or (ops / f"{snake}.rs").is_file())

    # ------------------------------------------------------------------ module graph
    def module_file(self, path: tuple[str, ...]) -> Path | None:
        """shared/src file of a module path like ("events", "guardduty"); () is lib.rs."""
        if not path:
            return self.shared_src / "lib.rs"
        base = self.shared_src.joinpath(*path)
        for candidate in (base.with_suffix(".rs"), base / "mod.rs"):
            if candidate.is_file():
                return candidate
        return None

    def root_reexports(self) -> dict[str, str]:
        """`pub use module::Item;` in lib.rs: Item -> module."""
        text = strip_comments((self.shared_src / "lib.rs").read_text())
        found = {}
        for module, items in re.findall(rf"pub\s+use\s+({IDENT})::(\{{[^}}]*\}}|{IDENT})\s*;", text):
            for item in re.findall(IDENT, items):
                found[item] = module
        return found

    def referenced_modules(self, text: str, prefix: str, current: tuple[str, ...]) -> set[tuple[str, ...]]:
        """Top-level shared modules named after `prefix::` (`firebreak` or `crate`), plus `super::`."""
        text = strip_comments(text)
        modules: set[tuple[str, ...]] = set()
        reexports = self.root_reexports()
        for head in top_level_segments(text, prefix):
            if self.module_file((head,)):
                modules.add((head,))
            elif head in reexports:
                modules.add((reexports[head],))
        # `super::` from a top-level module is the crate root, whose only items are re-exports and
        # `mod` lines: following it would make every module reachable.
        if len(current) > 1 and re.search(r"\bsuper::", text):
            modules.add(current[:-1])
        for child in re.findall(rf"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+({IDENT})\s*;", text, re.M):
            modules.add(current + (child,))
        return modules

    def reachable_files(self, function_dir: Path) -> list[Path]:
        files = sorted((function_dir / "src").rglob("*.rs"))
        todo: set[tuple[str, ...]] = set()
        for file in files:
            todo |= self.referenced_modules(file.read_text(), "firebreak", ())
        seen: set[tuple[str, ...]] = set()
        while todo:
            module = todo.pop()
            if module in seen:
                continue
            seen.add(module)
            path = self.module_file(module)
            if path is None:
                continue
            files.append(path)
            todo |= self.referenced_modules(path.read_text(), "crate", module) - seen
        return files

    # ------------------------------------------------------------------ calls
    def calls_in(self, file: Path) -> list[Call]:
        text = strip_comments(file.read_text())
        uses = set(re.findall(r"aws_sdk_([a-z0-9]+)", text)) | set(re.findall(r"\bclients\.([a-z0-9]+)\b", text))
        calls = []
        for match in AWS_LABEL.finditer(text):
            operation = match.group(1)
            line = text.count("\n", 0, match.start()) + 1
            crates = self.crates_with_operation(operation)
            statement = text[text.rfind(";", 0, match.start()) + 1 : match.end()]
            if len(crates) > 1:
                # The client the statement itself names (`clients.securityhub`, a `securityhub`
                # argument) decides first; then the SDKs the file uses.
                named = set(re.findall(r"[a-z0-9]+", statement))
                crates = (
                    [c for c in crates if c.removeprefix("aws-sdk-") in named]
                    or [c for c in crates if c.removeprefix("aws-sdk-") in uses]
                    or crates
                )
            if len(crates) != 1:
                raise SystemExit(
                    f"{file}:{line}: .aws(\"{operation}\") names "
                    + (f"operations of several SDKs {crates}" if crates else "no operation of any SDK crate")
                    + ": the label must be the exact API operation name"
                )
            action = f"{self.iam_prefix(crates[0])}:{operation}"
            actions = IAM_ACTIONS_OF_OPERATION.get(action, [action])
            if TAG_ON_CREATE.search(statement) and crates[0] == "aws-sdk-ec2":
                actions = actions + ["ec2:CreateTags"]
            calls.append(Call(operation, file, line, actions))
        return calls

    def functions(self) -> dict[str, Path]:
        """Binary (= crate) name -> directory, for every crate in functions/."""
        found = {}
        for manifest in sorted((self.root / "functions").glob("*/Cargo.toml")):
            name = re.search(r'^\s*name\s*=\s*"([^"]+)"', manifest.read_text(), re.M)
            if name:
                found[name.group(1)] = manifest.parent
        return found

    def actions_of(self, function_dir: Path) -> dict[str, list[str]]:
        """IAM action -> where the code calls it (file:line)."""
        actions: dict[str, list[str]] = {}
        for file in self.reachable_files(function_dir):
            for call in self.calls_in(file):
                for action in call.actions:
                    actions.setdefault(action, []).append(f"{file.relative_to(self.root)}:{call.line}")
        return actions

    def config_variables(self) -> set[str]:
        """Every FIREBREAK_* environment variable the code names."""
        names = set()
        for file in list(self.shared_src.rglob("*.rs")) + list((self.root / "functions").rglob("*.rs")):
            names |= set(re.findall(r'"(FIREBREAK_[A-Z0-9_]+)"', strip_comments(file.read_text())))
        return names


def strip_comments(text: str) -> str:
    """Source without comments and without `#[cfg(test)] mod ... { }` blocks (tests call nothing on AWS)."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    while (test := re.search(r"#\[cfg\(test\)\]\s*(?:pub\s+)?mod\s+\w+\s*\{", text)) :
        depth, end = 1, test.end()
        while depth and end < len(text):
            depth += {"{": 1, "}": -1}.get(text[end], 0)
            end += 1
        text = text[: test.start()] + text[end:]
    return text


def top_level_segments(text: str, prefix: str) -> set[str]:
    """For `prefix::a::b`, `prefix::{a, b::c, d::{e}}`: {"a", "b", "d"}."""
    heads = set()
    for match in re.finditer(rf"\b{prefix}::", text):
        rest = text[match.end() :].lstrip()
        if rest.startswith("{"):
            depth, item, items = 0, "", []
            for ch in rest:
                if ch == "{":
                    depth += 1
                    if depth == 1:
                        continue
                elif ch == "}":
                    depth -= 1
                    if depth == 0:
                        items.append(item)
                        break
                if ch == "," and depth == 1:
                    items.append(item)
                    item = ""
                else:
                    item += ch
            for entry in items:
                head = re.match(rf"\s*({IDENT})", entry)
                if head and head.group(1) != "self":
                    heads.add(head.group(1))
        else:
            head = re.match(IDENT, rest)
            if head:
                heads.add(head.group(0))
    return heads
