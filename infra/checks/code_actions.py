"""What each function's code can do on AWS and what it reads from its environment, derived from
the source, not kept by hand.

Every AWS call in the workspace goes through `.aws("ExactApiOperationName")` (shared/src/aws.rs)
or, where the SDK error is examined first, `AwsError::from_sdk("ExactApiOperationName", e)`; every
configuration variable is a `"FIREBREAK_..."` string constant.

Reachability, per crate in functions/, in three steps:
1. modules: the crate's `firebreak::<module>` references, then from those modules their
   `crate::<module>` / `super::` references and `mod` children, transitively;
2. items, within those modules: starting from the crate's own source, every `fn`, `const`,
   `static` and `macro_rules!` the reachable code names, transitively. A name resolves as Rust
   would let it, widened wherever the text alone cannot tell: a path Rust resolves without
   imports (`crate::`, `self::`, `super::`, a child module of the current one, or a `use … as`
   alias of such a path) to the items of that module and its children; another `module::name`
   to the items called `name` in the modules so named (anywhere, if none); `Type::name` /
   `Self::name` to the methods of that type; `.name` to every method called `name` of a live
   type; a bare `name` to the file's own free item of that name, or else every free item so
   called. A path segment (`name::x`, not a turbofish `name::<T>`) is never an item.
3. types: a type is live when reachable code (or the definition or an impl header of a live
   type) names it, resolved like the items (a bare name to the file's own type first): only a
   live type can have a value, so only its methods run. Methods of trait impls (`Display`,
   `Default`, SDK interceptors, `Execute`) are called implicitly, so they are reachable when
   their module is and their type is live; a trait's default methods, and methods of impls on
   types that are not ours (`impl … for Result<T, E>`), always are.
The result over-approximates (a name shared by two items reaches both) but never misses a call:
an `.aws(...)` label or a `FIREBREAK_*` string outside every item counts as reachable.

Each label is mapped to its IAM action by finding the operation in the AWS SDK crates the
workspace depends on (located through `cargo metadata`): `DescribeInstances` is `aws-sdk-ec2`'s
`operation/describe_instances`, so `ec2:DescribeInstances`.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path

# The IAM service prefix of an SDK crate, where it is not the crate name without `aws-sdk-`.
IAM_PREFIX_OF_CRATE = {
    "aws-sdk-elasticloadbalancingv2": "elasticloadbalancing",
    "aws-sdk-eventbridge": "events",
    "aws-sdk-cloudwatchlogs": "logs",
}

# API operations whose IAM action differs from their name, or that need more than their own action.
# Keyed by "prefix:Operation"; the value is the complete list of IAM actions the call needs.
IAM_ACTIONS_OF_OPERATION: dict[str, list[str]] = {
    # Lambda's Invoke operation is authorised as lambda:InvokeFunction.
    "lambda:Invoke": ["lambda:InvokeFunction"],
    # Needs no permission at all (and cannot be denied).
    "sts:GetCallerIdentity": [],
    # EC2 hands the profile's role to the instance: the caller must be allowed to pass that role
    # ("Grant permissions to attach an IAM role to an instance", EC2 user guide).
    "ec2:AssociateIamInstanceProfile": ["ec2:AssociateIamInstanceProfile", "iam:PassRole"],
    "ec2:ReplaceIamInstanceProfileAssociation": ["ec2:ReplaceIamInstanceProfileAssociation", "iam:PassRole"],
    # S3's public access block operations are authorised as bucket actions ("Actions, resources,
    # and condition keys for Amazon S3"); deleting the block needs the put permission.
    "s3:GetPublicAccessBlock": ["s3:GetBucketPublicAccessBlock"],
    "s3:PutPublicAccessBlock": ["s3:PutBucketPublicAccessBlock"],
    "s3:DeletePublicAccessBlock": ["s3:PutBucketPublicAccessBlock"],
    # A copy encrypted with a customer managed key: EC2 uses the key as the caller ("Requirements
    # for Amazon EBS encryption", EBS user guide; kms:ReEncrypt* named as its two actions).
    "ec2:CopySnapshot": [
        "ec2:CopySnapshot",
        "kms:DescribeKey",
        "kms:Decrypt",
        "kms:GenerateDataKeyWithoutPlaintext",
        "kms:ReEncryptFrom",
        "kms:ReEncryptTo",
        "kms:CreateGrant",
    ],
    # "Invoking this API will automatically create the Service-linked role in the corresponding
    # account if the resourceArn belongs to an EC2 instance" (GuardDuty API reference).
    "guardduty:StartMalwareScan": ["guardduty:StartMalwareScan", "iam:CreateServiceLinkedRole"],
    # The schedule's target runs as a role the caller hands to Scheduler ("Set up the execution
    # role", EventBridge Scheduler user guide).
    "scheduler:CreateSchedule": ["scheduler:CreateSchedule", "iam:PassRole"],
}

# Creating EC2 resources with TagSpecifications needs ec2:CreateTags as well ("tag on create").
TAG_ON_CREATE = re.compile(r"\.tag_specifications\s*\(")

# `.aws("Op")`, or `AwsError::from_sdk("Op", e)` where the SDK error is looked at before it is
# converted (a conditional write whose failed condition is an answer, not an error).
AWS_LABEL = re.compile(r'(?:\.aws|\bfrom_sdk)\(\s*"([A-Za-z0-9]+)"\s*[,)]')
CONFIG_VARIABLE = re.compile(r'"(FIREBREAK_[A-Z0-9_]+)"')
IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
RUST_KEYWORDS = {
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false", "fn",
    "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self", "Self",
    "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where", "while",
}


def snake_case(operation: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", operation).lower()


@dataclass
class Call:
    operation: str
    file: Path
    line: int
    offset: int
    actions: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Item:
    """A `fn`, `const`, `static` or `macro_rules!` of one source file, with its text span."""

    module: tuple[str, ...]
    file: Path
    name: str
    start: int
    end: int
    impl_type: str | None = None  # the `impl` block (or `trait` definition) it is a method of
    in_trait_impl: bool = False
    impl_at: int | None = None  # the offset of that block's `{`: its key in Source.impls
    in_trait_def: bool = False  # a default method in a `trait` definition


@dataclass(frozen=True)
class Impl:
    """An `impl` block (or a `trait` definition, whose default methods are methods too)."""

    file: Path
    start: int  # the `impl` keyword
    brace: int
    end: int
    type_name: str  # the type it is for (the trait's own name for a trait definition)
    is_trait_impl: bool
    is_trait_def: bool = False


@dataclass(frozen=True)
class TypeDef:
    """A `struct`, `enum`, `union` or `type` alias of one source file, with its text span."""

    module: tuple[str, ...]
    file: Path
    name: str
    start: int
    end: int


class Source:
    """One .rs file: `code` has comments and `#[cfg(test)]` modules blanked out (offsets kept);
    `masked` additionally blanks the inside of string and char literals, for the structure."""

    def __init__(self, path: Path, module: tuple[str, ...]):
        self.path = path
        self.module = module
        self.code, self.masked = blank(path.read_text())
        self.items, self.impls, self.types = parse_items(self)
        self.aliases = use_aliases(self.masked)

    def line_of(self, offset: int) -> int:
        return self.code.count("\n", 0, offset) + 1

    def covered(self, offset: int) -> bool:
        return any(item.start <= offset < item.end for item in self.items)


class Workspace:
    def __init__(self, root: Path):
        self.root = root
        self.shared_src = root / "shared" / "src"
        self.sdk_crates = self._sdk_crates()
        self._sources: dict[Path, Source] = {}

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

    def source(self, path: Path, module: tuple[str, ...] = ()) -> Source:
        if path not in self._sources:
            self._sources[path] = Source(path, module)
        return self._sources[path]

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

    @cached_property
    def root_reexports(self) -> dict[str, str]:
        """`pub use module::Item;` in lib.rs: Item -> module."""
        text = self.source(self.shared_src / "lib.rs").code
        found = {}
        for module, items in re.findall(rf"pub\s+use\s+({IDENT})::(\{{[^}}]*\}}|{IDENT})\s*;", text):
            for item in re.findall(IDENT, items):
                found[item] = module
        return found

    def referenced_modules(self, text: str, prefix: str, current: tuple[str, ...]) -> set[tuple[str, ...]]:
        """Top-level shared modules named after `prefix::` (`firebreak` or `crate`), plus `super::`."""
        modules: set[tuple[str, ...]] = set()
        for head in top_level_segments(text, prefix):
            if self.module_file((head,)):
                modules.add((head,))
            elif head in self.root_reexports:
                modules.add((self.root_reexports[head],))
        # `super::` from a top-level module is the crate root, whose only items are re-exports and
        # `mod` lines: following it would make every module reachable.
        if len(current) > 1 and re.search(r"\bsuper::", text):
            modules.add(current[:-1])
        for child in re.findall(rf"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+({IDENT})\s*;", text, re.M):
            modules.add(current + (child,))
        return modules

    def crate_sources(self, function_dir: Path) -> list[Source]:
        return [self.source(f) for f in sorted((function_dir / "src").rglob("*.rs"))]

    def reachable_modules(self, function_dir: Path) -> list[Source]:
        """The function crate's files, then every shared module its code can name."""
        todo: set[tuple[str, ...]] = set()
        for source in self.crate_sources(function_dir):
            todo |= self.referenced_modules(source.code, "firebreak", ())
        seen: set[tuple[str, ...]] = set()
        sources = []
        while todo:
            module = todo.pop()
            if module in seen:
                continue
            seen.add(module)
            path = self.module_file(module)
            if path is None:
                continue
            source = self.source(path, module)
            sources.append(source)
            todo |= self.referenced_modules(source.code, "crate", module) - seen
        return sorted(sources, key=lambda s: s.path)

    def reachable_files(self, function_dir: Path) -> list[Path]:
        return [s.path for s in self.crate_sources(function_dir) + self.reachable_modules(function_dir)]

    # ------------------------------------------------------------------ item graph
    def reachable(self, function_dir: Path) -> dict[Path, list[tuple[int, int]]]:
        """File -> the spans of its code that the function can run."""
        crate = self.crate_sources(function_dir)
        modules = self.reachable_modules(function_dir)
        sources = {s.path: s for s in modules}
        items = [item for source in modules for item in source.items]
        by_name: dict[str, list[Item]] = {}
        for item in items:
            by_name.setdefault(item.name, []).append(item)
        module_names = {s.module[-1] for s in modules if s.module}
        impl_types = {item.impl_type for item in items if item.impl_type}
        types_by_name: dict[str, list[TypeDef]] = {}
        for source in modules:
            for typedef in source.types:
                types_by_name.setdefault(typedef.name, []).append(typedef)
        impls = {(source.path, brace): impl for source in modules for brace, impl in source.impls.items()}

        def path_before(text: str, at: int) -> list[str]:
            """The path segments written before the name at `at` (`a::b::name` -> [a, b])."""
            path = re.search(rf"((?:{IDENT}\s*::\s*)+)$", text[:at])
            return re.findall(IDENT, path.group(1)) if path else []

        def module_of_path(source: Source, segments: list[str]) -> tuple[str, ...] | None:
            """The shared module a path names, when the path is one Rust resolves from here
            without imports: `crate::`/`firebreak::`/`self::`/`super::`, or a child module of
            this one (which no import can shadow). None when it cannot tell."""
            if not segments:
                return None
            base, rest = source.module, segments
            if segments[0] in ("crate", "firebreak"):
                base, rest = (), segments[1:]
            elif segments[0] == "self":
                rest = segments[1:]
            elif segments[0] == "super":
                while rest and rest[0] == "super":
                    base, rest = base[:-1], rest[1:]
            elif not sources.get(self.module_file(base + (segments[0],)) or Path()):
                return None
            module = base + tuple(rest)
            return module if self.module_file(module) else None

        def within(module: tuple[str, ...], candidate) -> bool:
            # the module itself or a child of it (what it re-exports is defined there)
            return candidate.module[: len(module)] == module

        def resolve_type(source: Source, segments: list[str], name: str) -> set[TypeDef]:
            """The type definitions `segments::name` (or a bare `name`) can be from `source`."""
            if not segments and name in source.aliases:
                *segments, name = source.aliases[name]
            elif segments and segments[0] in source.aliases:
                segments = source.aliases[segments[0]] + segments[1:]
            candidates = types_by_name.get(name, [])
            if segments:
                module = module_of_path(source, segments)
                found = {t for t in candidates if module is not None and within(module, t)}
            else:
                # a type of the file itself: no import can shadow it
                found = {t for t in candidates if t.file == source.path}
            return found or set(candidates)

        @cache
        def impl_targets(impl: Impl) -> frozenset[TypeDef] | None:
            """The definitions an impl block is for; None when it is for no type of ours (a
            foreign or generic type: always live) or a trait definition (default methods)."""
            if impl.is_trait_def:
                return None
            found = resolve_type(sources[impl.file], [], impl.type_name)
            return frozenset(found) if found else None

        live: set[TypeDef] = set()
        # impl block -> its methods waiting for one of its types to be live
        waiting: dict[TypeDef, list[Item]] = {}
        todo: set[Item] = set()

        def method_live(item: Item) -> bool:
            targets = impl_targets(impls[(item.file, item.impl_at)])
            return targets is None or bool(targets & live)

        def methods(candidates) -> set[Item]:
            """The methods among `candidates` whose type is live; the others wait for it."""
            found = set()
            for c in candidates:
                if c.impl_type is None:
                    continue
                if method_live(c):
                    found.add(c)
                else:
                    for target in impl_targets(impls[(c.file, c.impl_at)]):
                        waiting.setdefault(target, []).append(c)
            return found

        def mark_types(source: Source, start: int, end: int, skip: list[Item] = ()) -> None:
            """Every type named in source[start:end] is live (a value of it can exist), and so is
            every type named in its definition and its impl blocks' headers."""
            text = source.masked
            for match in re.finditer(IDENT, text[start:end]):
                name = match.group(0)
                at = start + match.start()
                if name in source.aliases and not text[:at].rstrip().endswith(("::", ".")):
                    name = source.aliases[name][-1]
                if name not in types_by_name or any(i.start <= at < i.end for i in skip):
                    continue
                for typedef in resolve_type(source, path_before(text, at), name):
                    make_live(typedef)

        def make_live(typedef: TypeDef) -> None:
            if typedef in live:
                return
            live.add(typedef)
            todo.update(waiting.pop(typedef, []))
            source = sources[typedef.file]
            mark_types(source, typedef.start, typedef.end)
            for impl in impls.values():
                targets = impl_targets(impl)
                if targets and typedef in targets:
                    # the header and associated types, not the methods (reached on their own)
                    block = sources[impl.file]
                    mark_types(block, impl.start, impl.end, [i for i in block.items if i.impl_at == impl.brace])
                    todo.update(i for i in block.items if i.impl_at == impl.brace and i.in_trait_impl)

        def resolve(source: Source, owner: Item | None, start: int, end: int) -> set[Item]:
            found: set[Item] = set()
            text = source.masked
            for match in re.finditer(IDENT, text[start:end]):
                name = match.group(0)
                if name in RUST_KEYWORDS or (name not in by_name and name not in source.aliases):
                    continue
                at = start + match.start()
                # `name: value` is a field (struct literal or definition) or a binding, not a use;
                # `name::x` is a path segment (a module, a type), never a fn or a constant (but
                # `name::<T>(…)` is a call with a turbofish)
                if re.match(r"\s*:(?!:)|\s*::(?!\s*<)", text[start + match.end() : start + match.end() + 80]):
                    continue
                before = text[:at].rstrip()
                segments = path_before(text, at)
                if not segments and not before.endswith(".") and name in source.aliases:
                    # `use a::b::f as g;` ... `g(...)`
                    *segments, name = source.aliases[name]
                    before += "::"
                elif segments and segments[0] in source.aliases:
                    segments = source.aliases[segments[0]] + segments[1:]
                candidates = by_name.get(name, [])
                if before.endswith("::"):
                    q = segments[-1] if segments else ""
                    module = module_of_path(source, segments)
                    if q == "Self" and owner is not None:
                        found |= {c for c in candidates if c.impl_type == owner.impl_type and c.impl_at == owner.impl_at} | methods(
                            c for c in candidates if c.impl_type == owner.impl_type
                        )
                    elif module is not None and (inside := {c for c in candidates if within(module, c) and c.impl_type is None}):
                        found |= inside
                    elif q in module_names:
                        inside = {c for c in candidates if q in c.module and c.impl_type is None}
                        found |= inside or set(candidates)
                    elif q in impl_types:
                        types = resolve_type(source, segments[:-1], q)
                        for typedef in types:
                            make_live(typedef)
                        found |= methods(
                            c for c in candidates
                            if c.impl_type == q and (impl_targets(impls[(c.file, c.impl_at)]) is None or impl_targets(impls[(c.file, c.impl_at)]) & types)
                        )
                    elif re.fullmatch(r"[A-Z][A-Z0-9]?", q):
                        # a generic parameter (`T::new`): any method so called, of a live type
                        found |= methods(candidates)
                    elif q in ("crate", "firebreak", "super", "self"):
                        found |= {c for c in candidates if c.impl_type is None}
                    # any other path (std::, aws_sdk_ec2::, an enum variant) is not ours
                elif before.endswith("."):
                    found |= methods(candidates)
                else:
                    after = text[start + match.end() : start + match.end() + 2].lstrip()
                    if name[:1].islower() and not after.startswith(("(", "!")) and name in bound_names(text[start:end]):
                        continue  # a local binding of that name, not the item
                    own = {c for c in candidates if c.file == source.path and c.impl_type is None}
                    found |= own or {c for c in candidates if c.impl_type is None}
            return found

        spans: dict[Path, list[tuple[int, int]]] = {}
        for source in crate:
            spans.setdefault(source.path, []).append((0, len(source.code)))
            todo |= resolve(source, None, 0, len(source.masked))
            mark_types(source, 0, len(source.masked))
        # Methods of trait impls are called implicitly (Display, Default, an SDK interceptor, a
        # trait's generic caller): reachable when a value of their type can exist.
        todo |= methods(item for item in items if item.in_trait_impl)
        seen: set[Item] = set()
        while todo:
            item = todo.pop()
            if item in seen:
                continue
            seen.add(item)
            spans.setdefault(item.file, []).append((item.start, item.end))
            source = sources[item.file]
            mark_types(source, item.start, item.end)
            todo |= resolve(source, item, item.start, item.end) - seen
        return spans

    def _reachable_matches(self, function_dir: Path, pattern: re.Pattern) -> list[tuple[Source, re.Match]]:
        spans = self.reachable(function_dir)
        found = []
        for source in self.crate_sources(function_dir) + self.reachable_modules(function_dir):
            for match in pattern.finditer(source.code):
                inside = any(start <= match.start() < end for start, end in spans.get(source.path, []))
                if inside or not source.covered(match.start()):
                    found.append((source, match))
        return found

    # ------------------------------------------------------------------ calls
    def call_of(self, source: Source, match: re.Match) -> Call:
        text = source.code
        uses = set(re.findall(r"aws_sdk_([a-z0-9]+)", text)) | set(re.findall(r"\bclients\.([a-z0-9]+)\b", text))
        operation = match.group(1)
        line = source.line_of(match.start())
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
                f"{source.path}:{line}: .aws(\"{operation}\") names "
                + (f"operations of several SDKs {crates}" if crates else "no operation of any SDK crate")
                + ": the label must be the exact API operation name"
            )
        action = f"{self.iam_prefix(crates[0])}:{operation}"
        actions = IAM_ACTIONS_OF_OPERATION.get(action, [action])
        if TAG_ON_CREATE.search(statement) and crates[0] == "aws-sdk-ec2":
            actions = actions + ["ec2:CreateTags"]
        return Call(operation, source.path, line, match.start(), actions)

    def functions(self) -> dict[str, Path]:
        """Binary (= crate) name -> directory, for every crate in functions/."""
        found = {}
        for manifest in sorted((self.root / "functions").glob("*/Cargo.toml")):
            name = re.search(r'^\s*name\s*=\s*"([^"]+)"', manifest.read_text(), re.M)
            if name:
                found[name.group(1)] = manifest.parent
        return found

    def actions_of(self, function_dir: Path) -> dict[str, list[str]]:
        """IAM action -> where the reachable code calls it (file:line)."""
        actions: dict[str, list[str]] = {}
        for source, match in self._reachable_matches(function_dir, AWS_LABEL):
            call = self.call_of(source, match)
            for action in call.actions:
                actions.setdefault(action, []).append(f"{source.path.relative_to(self.root)}:{call.line}")
        return actions

    def variables_of(self, function_dir: Path) -> dict[str, str]:
        """FIREBREAK_* variable -> where the reachable code names it (file:line)."""
        found: dict[str, str] = {}
        for source, match in self._reachable_matches(function_dir, CONFIG_VARIABLE):
            found.setdefault(match.group(1), f"{source.path.relative_to(self.root)}:{source.line_of(match.start())}")
        return found


# ---------------------------------------------------------------------------- Rust text
def blank(text: str) -> tuple[str, str]:
    """(code, masked): comments blanked in both, string/char literal contents blanked in masked,
    `#[cfg(test)] mod x { ... }` blanked in both; every offset and line kept."""
    code, masked = list(text), list(text)
    i, n = 0, len(text)

    def clear(target: list[str], start: int, end: int) -> None:
        for k in range(start, end):
            if target[k] != "\n":
                target[k] = " "

    while i < n:
        if text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            clear(code, i, end), clear(masked, i, end)
            i = end
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            clear(code, i, j), clear(masked, i, j)
            i = j
        elif (raw := re.match(r'b?r(#*)"', text[i : i + 260])) and not re.match(r"[A-Za-z0-9_]", text[i - 1 : i] or " "):
            closing = '"' + raw.group(1)
            end = text.find(closing, i + raw.end())
            end = n if end < 0 else end
            clear(masked, i + raw.end(), end)
            i = end + len(closing)
        elif text[i] == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            clear(masked, i + 1, j)
            i = j + 1
        elif text[i] == "'" and (char := re.match(r"'(?:\\(?:x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]+\}|.)|[^\\'\n])'", text[i : i + 12])):
            clear(masked, i + 1, i + char.end() - 1)
            i += char.end()
        else:
            i += 1
    code_text, masked_text = "".join(code), "".join(masked)
    for test in re.finditer(r"#\[cfg\(test\)\]\s*(?:pub\s+)?mod\s+\w+\s*\{", masked_text):
        end = matching_brace(masked_text, test.end() - 1)
        code, masked = list(code_text), list(masked_text)
        clear(code, test.start(), end), clear(masked, test.start(), end)
        code_text, masked_text = "".join(code), "".join(masked)
    return code_text, masked_text


def bound_names(text: str) -> set[str]:
    """Names the code binds as locals: `let x`, `for x in`, closure parameters, `Some(x) =>`,
    struct-pattern shorthand `{ x, .. }`. A bare `x` that is not called is then that local."""
    names = set(re.findall(rf"\blet\s+(?:mut\s+)?({IDENT})", text))
    names |= set(re.findall(rf"\bfor\s+(?:mut\s+)?({IDENT})\s+in\b", text))
    for params in re.findall(r"(?:^|[^|])\|([^|]*)\|(?!\|)", text):
        names |= set(re.findall(rf"(?:^|,)\s*(?:mut\s+)?({IDENT})\s*(?=,|$|:)", params))
    names |= set(re.findall(rf"\((?:ref\s+)?(?:mut\s+)?({IDENT})\)\s*(?:=>|=[^=>]|\bif\b)", text))
    for pattern in re.findall(r"\{([^{}]*\.\.)\s*\}", text):
        names |= set(re.findall(rf"(?:^|,)\s*(?:ref\s+)?(?:mut\s+)?({IDENT})\s*(?=,)", pattern))
    return names


def matching_brace(text: str, open_at: int) -> int:
    """Offset just past the brace that closes the one at `open_at` (in masked text)."""
    depth = 0
    for k in range(open_at, len(text)):
        if text[k] == "{":
            depth += 1
        elif text[k] == "}":
            depth -= 1
            if depth == 0:
                return k + 1
    return len(text)


def body_start(text: str, after: int) -> int | None:
    """The `{` opening the body of an item whose header starts at `after`; None for `fn f();`."""
    depth = 0
    for k in range(after, len(text)):
        ch = text[k]
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif depth == 0 and ch == "{":
            return k
        elif depth == 0 and ch == ";":
            return None
    return None


def parse_items(source: Source) -> tuple[list[Item], dict[int, Impl], list[TypeDef]]:
    """The file's items, its `impl` blocks and `trait` definitions (by the offset of their `{`),
    and its type definitions."""
    text = source.masked
    impls: dict[int, Impl] = {}
    for match in re.finditer(r"\b(impl|trait)\b", text):
        # only in item position: not `impl Trait` in a signature
        if text[: match.start()].rstrip()[-1:] not in ("", ";", "{", "}", "]") and not re.search(
            r"\b(?:pub(?:\([^)]*\))?|unsafe)\s*$", text[: match.start()]
        ):
            continue
        brace = body_start(text, match.end())
        if brace is None:
            continue
        header = strip_generics(text[match.end() : brace]).split(" where ")[0]
        if match.group(1) == "trait":
            name = re.match(rf"\s*({IDENT})", header)
            if name:
                impls[brace] = Impl(source.path, match.start(), brace, matching_brace(text, brace), name.group(1), False, True)
            continue
        trait_impl = re.search(r"\bfor\b", header) is not None
        target = header.split(" for ", 1)[1] if trait_impl else header
        names = re.findall(IDENT, target)
        if names:
            impls[brace] = Impl(source.path, match.start(), brace, matching_brace(text, brace), names[-1], trait_impl)

    def enclosing_impl(offset: int) -> Impl | None:
        inner = [i for i in impls.values() if i.brace < offset < i.end]
        return min(inner, key=lambda i: i.end - i.brace) if inner else None

    def item(name: str, start: int, end: int) -> Item:
        impl = enclosing_impl(start)
        if impl is None:
            return Item(source.module, source.path, name, start, end)
        return Item(source.module, source.path, name, start, end, impl.type_name, impl.is_trait_impl, impl.brace, impl.is_trait_def)

    items = []
    for match in re.finditer(rf"\bfn\s+({IDENT})", text):
        brace = body_start(text, match.end())
        if brace is None:
            continue
        items.append(item(match.group(1), match.start(), matching_brace(text, brace)))
    for match in re.finditer(rf"\b(?:const|static)\s+(?:mut\s+)?({IDENT})\s*:", text):
        end = text.find(";", match.end())
        items.append(item(match.group(1), match.start(), len(text) if end < 0 else end + 1))
    for match in re.finditer(rf"\bmacro_rules!\s*({IDENT})\s*\{{", text):
        items.append(Item(source.module, source.path, match.group(1), match.start(), matching_brace(text, match.end() - 1)))

    types = []
    for match in re.finditer(rf"\b(struct|enum|union|type)\s+({IDENT})", text):
        if enclosing_impl(match.start()) is not None:
            continue  # an associated type: read with its impl block
        if match.group(1) == "type":
            end = text.find(";", match.end())
            end = len(text) if end < 0 else end + 1
        else:
            brace = body_start(text, match.end())
            semicolon = text.find(";", match.end())
            end = matching_brace(text, brace) if brace is not None else (len(text) if semicolon < 0 else semicolon + 1)
        types.append(TypeDef(source.module, source.path, match.group(2), match.start(), end))
    return items, impls, types


def use_aliases(text: str) -> dict[str, list[str]]:
    """`use a::b as c;`, `use a::{self as c, d as e}`: alias -> the path it stands for."""
    aliases: dict[str, list[str]] = {}

    def walk(tree: str, prefix: list[str]) -> None:
        depth, entry, entries = 0, "", []
        for ch in tree:
            depth += ch == "{"
            depth -= ch == "}"
            if ch == "," and depth == 0:
                entries.append(entry)
                entry = ""
            else:
                entry += ch
        entries.append(entry)
        for entry in entries:
            entry = entry.strip()
            if "{" in entry:
                head, _, rest = entry.partition("{")
                walk(rest[: rest.rfind("}")], prefix + re.findall(IDENT, head))
            elif (alias := re.fullmatch(rf"((?:{IDENT}\s*::\s*)*{IDENT})\s+as\s+({IDENT})", entry)) and alias.group(2) != "_":
                path = [segment for segment in re.findall(IDENT, alias.group(1)) if segment != "self"]
                aliases[alias.group(2)] = prefix + path

    for statement in re.finditer(r"\buse\s+([^;]*);", text):
        walk(statement.group(1), [])
    return aliases


def strip_generics(header: str) -> str:
    """`<T: X<Y>> Foo<T> for Bar<T>` -> ` Foo for Bar` (angle brackets and what is inside)."""
    out, depth = [], 0
    for k, ch in enumerate(header):
        if ch == "<":
            depth += 1
        elif ch == ">" and depth and header[k - 1 : k] != "-":
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return " ".join("".join(out).split())


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
