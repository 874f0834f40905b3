"""Jamf commands (policy, rings, compliance), Updates commands (daily updates, digest), Ops commands."""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

from pydantic import Field

from remedy.commands.args import ArgError, Args, Parser, code, simple
from remedy.commands.lexer import emit_free
from remedy.commands.model import Command
from remedy.commands.ticket import REASON_LEAD, short
from remedy.commands.timespec import clock_at, resolve_tz, suggest_tz
from remedy.slack import mrkdwn

Days = Literal["weekdays", "daily"]
_DAYS: dict[str, Days] = {
    "weekdays": "weekdays", "weekday": "weekdays", "workdays": "weekdays", "mon-fri": "weekdays",
    "daily": "daily", "everyday": "daily", "day": "daily", "days": "daily",
}
# macOS turns a typed "--" into an em dash, so the flag arrives in several spellings.
_NO_JIRA = (
    "--no-jira", "—no-jira", "–no-jira", "-no-jira", "no-jira", "--nojira", "—nojira", "nojira", "--no_jira",
)
_TIME_SHAPE = re.compile(r"\d{1,2}(?::\d+)?(?:am|pm)?|\d{3,4}")
_JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


class CreateJamfPolicy(Command):
    name: ClassVar[str] = "create jamf policy"


class DeployPilot(Command):
    """`override_reason`: a lead deploys although the package validation fails (checked and audited by the job)."""

    name: ClassVar[str] = "deploy pilot"
    override_reason: str | None = None

    def args(self) -> dict[str, Any]:
        # Without an override the job gets the arguments it always got (jobs queued before overrides existed too).
        return {k: v for k, v in super().args().items() if k != "override_reason" or v is not None}

    def describe(self) -> str:
        why = f" (overriding the package validation: {short(self.override_reason)})" if self.override_reason else ""
        return f"Deploying {self.key} to the pilot ring{why}"

    def text(self) -> str:
        why = f" override because {emit_free(self.override_reason)}" if self.override_reason else ""
        return f"deploy pilot {self.key}{why}"


class RolloutNext(Command):
    name: ClassVar[str] = "rollout next"


class Compliance(Command):
    name: ClassVar[str] = "compliance"


class Exceptions(Command):
    name: ClassVar[str] = "exceptions"


class ValidateRollback(Command):
    name: ClassVar[str] = "validate rollback"


class RollbackStatus(Command):
    name: ClassVar[str] = "rollback status"


class AuditReport(Command):
    name: ClassVar[str] = "audit report"


class Evidence(Command):
    name: ClassVar[str] = "evidence"


class DailyUpdates(Command):
    name: ClassVar[str] = "daily updates"


class DigestOff(Command):
    name: ClassVar[str] = "digest off"


class DigestShow(Command):
    name: ClassVar[str] = "digest show"


class Jobs(Command):
    name: ClassVar[str] = "jobs"


class Doctor(Command):
    name: ClassVar[str] = "doctor"


class ValidatePackage(Command):
    """`package` is a file name (`GoogleChrome-120.pkg`) or package name; None = the ticket's package."""

    name: ClassVar[str] = "validate package"
    package: str | None = None

    def describe(self) -> str:
        what = f" {short(self.package)}" if self.package else ""
        return f"Validating the package{what} for {self.key}"

    def text(self) -> str:
        what = f" {emit_free(self.package)}" if self.package else ""
        return f"validate package {self.key}{what}"


class DailyUpdate(Command):
    name: ClassVar[str] = "daily update"
    no_jira: bool = False

    def describe(self) -> str:
        where = " (not posting to Jira)" if self.no_jira else ""
        return f"Writing the daily update for {self.key}{where}"

    def text(self) -> str:
        return f"daily update {self.key}" + (" --no-jira" if self.no_jira else "")


class DigestHere(Command):
    """Post the digest in the channel the command came from; `time` is "HH:MM" in `tz`."""

    name: ClassVar[str] = "digest here"
    time: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    tz: str
    days: Days = "weekdays"

    def describe(self) -> str:
        when = "on weekdays" if self.days == "weekdays" else "every day"
        return f"Scheduling the digest here at {self.time} {mrkdwn.escape(self.tz)} {when}"

    def text(self) -> str:
        return f"digest here {self.time} {self.tz} {self.days}"


class Morning(Command):
    """`morning on [HH:MM]`, `morning off`, `morning`: the weekday DM of the user's active remediations at
    their own Slack time; `time` None keeps the time set before (08:30 the first time)."""

    name: ClassVar[str] = "morning"
    action: Literal["on", "off", "show"] = "show"
    time: str | None = Field(default=None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")

    def describe(self) -> str:
        if self.action == "on":
            return "Turning your morning DM on" + (f" at {self.time}" if self.time else "")
        return "Turning your morning DM off" if self.action == "off" else "Looking up your morning DM"

    def text(self) -> str:
        return " ".join(["morning", self.action, *([self.time] if self.time else [])])


class Retry(Command):
    name: ClassVar[str] = "retry"
    job_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,128}$")

    def describe(self) -> str:
        return f"Retrying job {self.job_id}"

    def text(self) -> str:
        return f"retry {self.job_id}"


def _deploy_pilot(args: Args) -> Command:
    explicit = args.key()
    reason = None
    if args.skip("override", "override:", "overriding"):
        args.skip(*REASON_LEAD)
        reason = args.free_text()
        if not reason:
            raise ArgError("Why? An override needs a reason: `deploy pilot CPE-3222 override because …`.")
    args.end()
    key, from_focus = args.resolve(explicit)
    return DeployPilot(key=key, key_from_focus=from_focus, override_reason=reason)


def _validate_package(args: Args) -> Command:
    explicit = args.key()
    package = args.free_text() or None
    key, from_focus = args.resolve(explicit)
    return ValidatePackage(key=key, key_from_focus=from_focus, package=package)


def _daily_update(args: Args) -> Command:
    no_jira = args.take_flag(*_NO_JIRA)
    explicit = args.key()
    args.end()
    key, from_focus = args.resolve(explicit)
    return DailyUpdate(key=key, key_from_focus=from_focus, no_jira=no_jira)


def _digest_here(args: Args) -> Command:
    time: str | None = None
    days: Days = "weekdays"
    zone: str | None = None
    while not args.done():
        word = args.word()
        found = clock_at(args.tokens, args.i) if time is None else None
        if found is not None:
            time, used = found
            args.i += used
            continue
        token = args.take()
        if time is None and _TIME_SHAPE.fullmatch(word):
            raise ArgError(f"{code(token.value)} is not a time of day; use `HH:MM` (24h) or `9am`.")
        if word in _DAYS:
            days = _DAYS[word]
        elif word in ("at", "in", "on", "every", "tz"):
            continue
        elif zone is None:
            zone = token.value
        else:
            raise ArgError(f"I didn't expect {code(token.value)} here.")
    if time is None:
        raise ArgError("At what time? Add it as `HH:MM`, e.g. `digest here 09:00 Europe/Berlin`.")
    return DigestHere(time=time, tz=_timezone(zone), days=days)


def _timezone(typed: str | None) -> str:
    if typed is None:
        raise ArgError("Which timezone? Add an IANA name such as `Europe/Berlin` or `America/New_York`.")
    zone = resolve_tz(typed)
    if zone is not None:
        return zone
    guess = suggest_tz(typed)
    hint = " Use an IANA name such as `Europe/Berlin`."
    if guess:
        hint = f" Did you mean {mrkdwn.inline_code(guess)}?"
    raise ArgError(f"I don't know the timezone {code(typed)}.{hint}", suggestion=guess)


def _morning(args: Args) -> Command:
    action: Literal["on", "off", "show"] = "show"
    word = args.word()
    if word in ("on", "off", "show", "status"):
        args.take()
        action = "show" if word == "status" else word  # type: ignore[assignment]
    args.skip("at")
    time: str | None = None
    if action != "off" and not args.done():
        found = clock_at(args.tokens, args.i)
        if found is None:
            raise ArgError(f"{code(args.rest_raw_value())} is not a time of day; use `HH:MM` (24h) or `8am`.")
        time, used = found
        args.i += used
        action = "on"
    args.end()
    return Morning(action=action, time=time)


def _retry(args: Args) -> Command:
    if args.word() == "job" and args.peek(1) is not None:
        args.take()
    token = args.peek()
    if token is None:
        raise ArgError("Which job? Add its id from `jobs`, e.g. `retry 7f3a9c2e`.")
    if token.kind != "word" or not _JOB_ID.fullmatch(token.value):
        raise ArgError(f"{code(token.value)} is not a job id; ids are letters, digits, `-` and `_`.")
    args.take()
    args.end()
    return Retry(job_id=token.value)


PARSERS: dict[str, Parser] = {
    "create jamf policy": simple(CreateJamfPolicy),
    "deploy pilot": _deploy_pilot,
    "rollout next": simple(RolloutNext),
    "compliance": simple(Compliance),
    "exceptions": simple(Exceptions),
    "validate rollback": simple(ValidateRollback),
    "rollback status": simple(RollbackStatus),
    "audit report": simple(AuditReport),
    "evidence": simple(Evidence),
    "validate package": _validate_package,
    "daily update": _daily_update,
    "daily updates": simple(DailyUpdates),
    "digest here": _digest_here,
    "digest off": simple(DigestOff),
    "digest show": simple(DigestShow),
    "morning": _morning,
    "jobs": simple(Jobs),
    "doctor": simple(Doctor),
    "retry": _retry,
}
