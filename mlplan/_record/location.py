"""Where a plan's results live, decided without importing MLflow.

With no tracking URI, a plan gets an embedded store *beside the plan file* (never in the
current directory, which is what MLflow itself would pick): ``.mlplan/mlflow.db`` for runs,
``.mlplan/artifacts`` for files, ``.mlplan/outbox`` for results waiting for an unreachable
server, and lock files that serialise writers (made by mlplan._record.locks).
"""

from __future__ import annotations

import base64
import contextlib
import importlib.metadata
import json
import os
import re
import subprocess
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from mlplan._files import STORE_DIR
from mlplan.errors import TrackingError

__all__ = [
    "STORE_DIR",
    "StoreLocation",
    "locate_store",
    "redact",
    "scrub",
    "tracked_by_git",
    "trusted_reading",
    "without_secrets",
]

GIT_TIMEOUT_S = 10


@dataclass(frozen=True)
class StoreLocation:
    uri: str
    embedded: bool
    home: Path  # the plan's .mlplan folder: outbox and locks live here in every mode

    @property
    def database(self) -> Path:
        return self.home / "mlflow.db"

    @property
    def artifacts(self) -> Path:
        return self.home / "artifacts"

    @property
    def outbox(self) -> Path:
        return self.home / "outbox"

    @property
    def remote(self) -> bool:
        return self.uri.startswith(("http://", "https://"))

    def exists(self) -> bool:
        """Whether there can be anything to read: a configured URI, or an embedded database."""
        return not self.embedded or self.database.is_file()

    @property
    def destination(self) -> str:
        """Which store a kept result is for, as it may be shown and kept on disk.

        The embedded store is named relative to the plan (the folder may move); a URI has
        any password masked.
        """
        return f"{STORE_DIR}/mlflow.db" if self.embedded else redact(self.uri)

    def describe(self) -> str:
        return f"the embedded store {self.database}" if self.embedded else redact(self.uri)

    def describe_for_doc(self) -> str:
        """Like describe(), but the same wherever the plan's folder is: docs are committed."""
        if self.embedded:
            return f"the embedded store {STORE_DIR}/mlflow.db beside the plan"
        return redact(self.uri)


def locate_store(plan_path: Path, tracking_uri: str | None = None) -> StoreLocation:
    """``tracking_uri`` if given, else ``MLFLOW_TRACKING_URI``, else the embedded store."""
    home = plan_path.resolve().parent / STORE_DIR
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or ""
    _check_text(str(home), f"the plan's folder {str(home.parent)!r}", "rename the folder")
    if uri:
        _check_text(uri, "the tracking URI", "write it in UTF-8")
        _check_scheme_less(uri)
        _check_scheme(uri)
        _check_blanks(uri)
        _check_userinfo(uri)
        _check_address(uri)
        return StoreLocation(uri=uri, embedded=False, home=home)
    # Percent-encoded: a folder named "a?b" or "x#1" would otherwise end the path at the "?"
    # or "#" and put the store somewhere else, shared with unrelated plans.
    database = urllib.parse.quote(str(home / "mlflow.db"), safe="/")
    return StoreLocation(uri=f"sqlite:///{database}", embedded=True, home=home)


def _check_text(text: str, what: str, fix: str) -> None:
    """A path or URI from a command line or the environment that is not UTF-8 arrives as
    lone surrogates; MLflow's URIs and database drivers need UTF-8, and once crashed on one
    (exit 3, the re-check of issue 16). Refused here, before any store is opened."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise TrackingError(
            f"{what} is not valid UTF-8, which MLflow's store addresses need; {fix}"
        ) from None


# A URI quoted in a message: its scheme, then everything up to the next blank. A server URI
# holding a blank is refused (_check_blanks), so what follows the blank is not the URI.
_URI = re.compile(r"\b(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<rest>\S*)")
# A value of a query string, fragment or path parameter anywhere in a text (``?token=...``,
# ``&access_token=``, ``;token=``; also a URL path quoted without its scheme by a server):
# servers behind a proxy take their token there. Every value is masked, to the next separator
# or blank -- quotes included, as a value may hold one -- not only names that look secret.
_QUERY_VALUE = re.compile(r"([?&#;][^=&#?;\s/]*=)[^&#;\s]+")
# Credentials as an HTTP header or a server's echo of one shows them; in any case, as a server
# may echo the header lower-cased. A word after "basic" in prose may be masked too: a word
# lost costs less than a credential shown.
_AUTH_SCHEME = re.compile(r"\b(Bearer|Basic)(\s+)[A-Za-z0-9._~+/-]+=*", re.IGNORECASE)
# A server address written without its scheme (``ada:pw@host:5000``), at the start of a text
# or after a blank, quote or bracket: its user info is masked as a URI's is. Its password ends
# at the last "@" before a "/", "?", "#", blank or quote.
_BARE_ADDRESS = re.compile(r"""(?:^|(?<=[\s'"(\[<=,]))[^\s/?#'"]*@[^\s/?#'"]*""")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
# A user name is shown (ada:***@host) only when a password follows it and it reads as a name:
# short, and not long and digit-bearing as a token is. Otherwise the user part is the secret
# (http://TOKEN@host, http://TOKEN:@host are how token-auth URIs are commonly written).
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9._+-]{0,31}")
_SECRET_VARIABLES = ("MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_PASSWORD")
_SHORTEST_MASKED = 4  # a shorter secret would mask ordinary letters all over a message


def redact(text: str) -> str:
    """``text`` (a URI, or a message quoting one) with its credentials replaced by ``***``:
    the user info of each URI in it (all of it, but a user name followed by a password), its
    query and fragment values (a bare ``?TOKEN`` whole), and ``Bearer``/``Basic``
    credentials. The same text gives the same result anywhere: an outbox entry is matched to
    its store by it (StoreLocation.destination)."""
    masked = _URI.sub(lambda found: found["scheme"] + _mask_uri_rest(found["rest"]), text)
    masked = _BARE_ADDRESS.sub(lambda found: _mask_bare_address(found[0]), masked)
    masked = _AUTH_SCHEME.sub(lambda found: f"{found[1]}{found[2]}***", masked)
    return _QUERY_VALUE.sub(r"\1***", masked)


def scrub(text: str, uri: str = "") -> str:
    """``text`` taken from a server or an exception, as it may be shown or kept: redacted, and
    the values of MLFLOW_TRACKING_TOKEN, MLFLOW_TRACKING_PASSWORD and ``uri``'s own user info
    masked wherever they appear (a server may echo the request's Authorization header), in
    any form a server may echo them (_echoed_forms), and in any case."""
    masked = redact(text)
    forms = sorted(
        {form for secret in _known_secrets(uri) for form in _echoed_forms(secret)},
        key=len,
        reverse=True,  # longest first: none is left half-masked
    )
    if not forms:
        return masked
    return re.sub("|".join(map(re.escape, forms)), "***", masked, flags=re.IGNORECASE)


def without_secrets(uri: str) -> str:
    """``uri`` as it may name a store in a file name or a cache key: no user info at all (a
    weak password hashed into a name could be guessed offline), query values masked."""
    scheme, sep, rest = uri.partition("://")
    if not sep:
        return redact(uri)
    authority = _authority(rest)
    return redact(f"{scheme}{sep}{authority.rpartition('@')[2]}{rest[len(authority) :]}")


def _authority(rest: str) -> str:
    # A password with a raw / ? # is refused (_check_userinfo), so the authority, user info
    # included, ends at the first of them.
    return re.split(r"[/?#]", rest, maxsplit=1)[0]


def _mask_uri_rest(rest: str) -> str:
    """What follows ``scheme://``: user info masked, every query and fragment part masked
    (``?a=***&***#***``)."""
    authority = _authority(rest)
    path, hash_sign, fragment = rest[len(authority) :].partition("#")
    path, question, query = path.partition("?")
    userinfo, at, host = authority.rpartition("@")
    shown = f"{_mask_userinfo(userinfo)}@{host}" if at else authority
    return shown + path + question + _mask_parts(query) + hash_sign + _mask_parts(fragment)


def _mask_bare_address(address: str) -> str:
    """``user:password@host`` with its user info masked; ``bob@host`` (an e-mail address, as
    likely as a token) is left."""
    userinfo, _, host = address.rpartition("@")
    if ":" not in userinfo:
        return address
    return f"{_mask_userinfo(userinfo)}@{host}"


def _mask_userinfo(userinfo: str) -> str:
    user, colon, password = userinfo.partition(":")
    name = user if password and _NAME.fullmatch(user) and not _token_like(user) else "***"
    return name + (":***" if colon else "")


def _token_like(user: str) -> bool:
    return len(user) >= 16 and any(char.isdigit() for char in user)


def _mask_parts(query: str) -> str:
    """Each ``name=value`` part with its value masked, a part without ``=`` masked whole."""
    return "".join(_mask_part(part) for part in re.split(r"([&;])", query))


def _mask_part(part: str) -> str:
    if part in ("&", ";"):
        return part
    name, equals, _ = part.partition("=")
    if equals:
        return f"{name}=***"
    return "***" if part else ""


def _known_secrets(uri: str) -> list[str]:
    """The credentials this process holds, in every form a server may echo: as given,
    percent-decoded, and base64-encoded as HTTP Basic sends them."""
    values = [os.environ.get(name, "") for name in _SECRET_VARIABLES]
    if values[1]:
        values.append(_basic(os.environ.get("MLFLOW_TRACKING_USERNAME", ""), values[1]))
    userinfo, at, _ = _authority(uri.partition("://")[2]).rpartition("@")
    if at:
        for given in {userinfo, urllib.parse.unquote(userinfo)}:
            user, _, password = given.partition(":")
            # With no password, the user part is the secret (a token).
            values += [password, _basic(user, password)] if password else [user]
    return [value for value in values if len(value) >= _SHORTEST_MASKED]


def _basic(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def _echoed_forms(secret: str) -> set[str]:
    """``secret`` as a server or proxy may echo it (matched in any case besides): as given,
    percent-decoded, percent-encoded (as a path, a query value, a form), with its UTF-8 bytes
    read as Latin-1 or its Latin-1 bytes as UTF-8 (HTTP headers are Latin-1 to most servers),
    and JSON-escaped. Each form long enough to mask without masking ordinary letters."""
    read = {secret, urllib.parse.unquote(secret), urllib.parse.unquote_plus(secret)}
    read |= {misread for form in read for misread in _misread(form)}
    forms = set(read)
    for form in read:
        forms |= {
            urllib.parse.quote(form),
            urllib.parse.quote(form, safe=""),
            urllib.parse.quote_plus(form),
            urllib.parse.quote_plus(form, safe="/"),
            json.dumps(form)[1:-1],
        }
    # Encoded twice (a proxy quoting a query it received quoted: "%252F"); once more is rare.
    forms |= {urllib.parse.quote(form, safe="") for form in forms if "%" in form}
    return {form for form in forms if len(form) >= _SHORTEST_MASKED}


def _misread(text: str) -> set[str]:
    """``text`` as a server reading its bytes in the wrong encoding shows it: UTF-8 bytes read
    as Latin-1 ("é" as "Ã©"), or Latin-1 bytes read as UTF-8 ("é" as a replacement mark)."""
    if text.isascii():
        return set()
    forms = {text.encode("utf-8").decode("latin-1")}
    with contextlib.suppress(UnicodeEncodeError):
        forms.add(text.encode("latin-1").decode("utf-8", errors="replace"))
    return forms


# The schemes MLflow has a store for (mlflow.tracking._tracking_service.utils), named here as
# this module may not import MLflow. A database scheme may carry a driver (postgresql+psycopg).
_MLFLOW_SCHEMES = frozenset({"", "file", "databricks", "databricks-uc", "uc", "http", "https"})
_DATABASE_SCHEMES = ("postgresql", "mysql", "sqlite", "mssql")
# How urllib (and so MLflow) reads a URI's scheme: letters, digits, + - . up to the first colon.
_ANY_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")


def _check_scheme_less(uri: str) -> None:
    """Refuse a server address written without its scheme (``ada:pw@host:5000``): MLflow reads
    it as a folder, or fails on "ada" as a scheme, and every message and doc that names the
    store would show it whole, as no URI rule sees a password in it. Nothing of it is shown."""
    if "://" in uri or not re.match(r"/*[^/]*@", uri):
        return
    raise TrackingError(
        "the tracking URI looks like a server address without its scheme (nothing of it is "
        "shown here, as it may hold a password): write http://... or https://... before it; "
        "a local store is a sqlite:/// URI"
    )


def _check_scheme(uri: str) -> None:
    """Refuse a URI whose scheme MLflow has no store for (ftp://...): every reader of the store
    fails on it, and `sync` with nothing waiting would otherwise report a delivery to it. Only
    a scheme followed by "//" is shown: anything else before a colon may be a user name."""
    found = _ANY_SCHEME.match(uri)
    scheme = found.group(1).lower() if found else ""
    if _mlflow_reads(scheme):
        return
    shown = f" ({scheme}://...)" if uri[len(scheme) + 1 :].startswith("//") else ""
    raise TrackingError(
        f"the tracking URI{shown} has a scheme MLflow has no store for. Use http:// or "
        "https:// for a tracking server, sqlite:///, postgresql://, mysql:// or mssql:// for a "
        "database, or a folder path"
    )


def _mlflow_reads(scheme: str) -> bool:
    # A single letter is a Windows drive (C:\\runs), which MLflow reads as a folder.
    if scheme in _MLFLOW_SCHEMES or scheme.startswith(_DATABASE_SCHEMES) or len(scheme) == 1:
        return True
    # A plugin package may add a scheme (MLflow's entry-point group for tracking stores).
    plugins = importlib.metadata.entry_points(group="mlflow.tracking_store")
    return scheme in {plugin.name.lower() for plugin in plugins}


def _check_blanks(uri: str) -> None:
    """Refuse a server URI holding a blank or a control character: none belongs in a URI,
    and a message quoting the URI would show what follows one (redact() reads a URI up to
    the first blank), a password or a token included. Nothing of the URI is shown here."""
    scheme = _SCHEME.match(uri)
    if scheme is None or uri.startswith(("file:", "sqlite:")):
        return
    if re.search(r"[\s\x00-\x1f\x7f]", uri):
        raise TrackingError(
            f"the tracking URI ({scheme.group(0)}...) holds a blank or a control character, "
            "which no URI may hold (nothing of it is shown here, as it may hold a password). "
            "Percent-encode it (a space as %20), or leave credentials out of the URI and set "
            "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD or MLFLOW_TRACKING_TOKEN"
        )


def _check_address(uri: str) -> None:
    """Refuse a server URI whose address cannot be read (a port past 65535, an unclosed IPv6
    bracket): one message, not a crash deep in MLflow. The URI is not quoted: it may hold a
    password."""
    scheme = _SCHEME.match(uri)
    if scheme is None or uri.startswith(("file:", "sqlite:")):
        return
    try:
        urllib.parse.urlsplit(uri).port  # noqa: B018 - read for the ValueError it raises
    except ValueError as problem:
        raise TrackingError(
            f"the tracking URI ({scheme.group(0)}...) has an address that cannot be read: "
            f"{problem}; check its host and port"
        ) from None


def _check_userinfo(uri: str) -> None:
    """Refuse a URI whose password holds a raw ``/``, ``?`` or ``#``.

    Those end a URI's host part, so ``http://ada:Pw/2@host`` reads as the host ``ada`` with
    the port ``Pw`` and the path ``/2@host``: MLflow fails on the port, and every message that
    quotes the URI (redacted by the rule above, which no longer sees a password) would print
    part of it. Nothing of the URI beyond its scheme is shown here.
    """
    scheme = _SCHEME.match(uri)
    if scheme is None or uri.startswith(("file:", "sqlite:")):
        return
    rest = uri[scheme.end() :]
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    after = rest[len(authority) :]
    if "@" not in after:
        return
    # What a cut-off password leaves: "ada:Pw" as host and port, or a path, query or
    # fragment that runs straight into an "@" (also after an "@" the password held, as in
    # "u:p@s/s@host"). A query such as "?next=a@b" is left alone.
    _, colon, port = authority.rpartition("@")[2].partition(":")
    cut = after[1 : after.index("@")]
    if not (colon and not port.isdigit()) and re.search(r"[/=&]", cut):
        return
    raise TrackingError(
        f"the tracking URI ({scheme.group(0)}...) has a '/', '?' or '#' before its '@': in a "
        "password these end the server's address, so the URI cannot be used (nothing of it is "
        "shown here). Percent-encode them in the password (/ as %2F, ? as %3F, # as %23), or "
        "leave the password out of the URI and set MLFLOW_TRACKING_USERNAME and "
        "MLFLOW_TRACKING_PASSWORD instead"
    )


def trusted_reading(location: StoreLocation) -> list[str]:
    """Check that a trust-bearing reader (`status --check`, the CI gate, `publish`) may judge
    this store; the advisory notes it should show. Such a reader reads the store only: a
    file in the plan's .mlplan folder is something a pull request can bring.

    With a server as the store, a file of that folder tracked by git is refused (TrackingError):
    a committed copy of results or a stray store beside the plan means the checkout was
    prepared by someone, and nothing in it may stand in for the server. With the embedded
    store the committed database *is* the store: the reader says so.
    """
    tracked = tracked_by_git(location.home)
    notes = []
    if location.embedded and location.database in tracked:
        notes.append(
            f"judged the embedded store committed to git ({STORE_DIR}/mlflow.db beside the "
            "plan): its results are whatever that commit holds, written by whoever made it; "
            "a tracking server keeps results out of reach of a pull request"
        )
    elif tracked and not location.embedded:
        shown = ", ".join(str(path.relative_to(location.home.parent)) for path in tracked[:3])
        more = f" and {len(tracked) - 3} more" if len(tracked) > 3 else ""
        raise TrackingError(
            f"{shown}{more} in the plan's {STORE_DIR} folder {'is' if len(tracked) == 1 else 'are'}"
            f" tracked by git, but the store is {redact(location.uri)}: a results file in the "
            "checkout is something a pull request can bring, so this check refuses to run "
            f"beside it. Remove {'it' if len(tracked) == 1 else 'them'} from git "
            f"(git rm -r --cached {location.home}) and keep {STORE_DIR}/ in .gitignore"
        )
    waiting = _waiting(location.outbox)
    if waiting:
        notes.append(
            f"{waiting} file{'s' if waiting != 1 else ''} in {location.outbox} "
            f"{'were' if waiting != 1 else 'was'} not judged: a check reads only the store; "
            "`mlplan sync` delivers what waits there"
        )
    return notes


def tracked_by_git(home: Path) -> list[Path]:
    """The files under ``home`` (the plan's .mlplan folder) that git tracks, named under
    ``home``; none outside a repository or without git.

    Asked from inside the folder itself, so that a ``.mlplan`` that is a committed symlink
    into the repository lists the files behind it, not only the link (issue 16); and from
    inside each folder in it that is a link (``outbox -> ../fixtures``, committed, once
    delivered forged entries to a team server: git lists only the link from here). A link
    that is itself committed brought everything it shows, wherever it points (a committed
    ``outbox -> /tmp/evil`` was delivered, and emptied, though git tracks nothing there)."""
    if not home.is_dir():
        return []
    if home.is_symlink() and _git_files(home.parent, home.name):
        return _every_file(home)
    found = [home / name for name in _git_files(home)]
    for link in _linked_folders(home):
        if link in found:
            found += _every_file(link)
        else:
            found += [link / name for name in _git_files(link)]
    return found


def _linked_folders(home: Path) -> list[Path]:
    try:
        return [p for p in home.iterdir() if p.is_symlink() and p.is_dir()]
    except OSError:
        return []


def _every_file(folder: Path) -> list[Path]:
    try:
        return [path for path in folder.rglob("*") if path.is_file()]
    except OSError:
        return []


def _git_files(folder: Path, pathspec: str = ".") -> list[str]:
    """The names git tracks under ``folder`` (matching ``pathspec``), relative to it; none
    outside a repository or without git. Git that cannot answer is an error, not "nothing
    tracked": in a checkout owned by another user (a CI container) git refused with "dubious
    ownership", and committed outbox entries were delivered (the re-check of issue 16).
    ``safe.directory`` is set for this one read-only listing, from the command line (a scope
    git trusts), so that such a checkout is listed rather than refused."""
    try:
        done = subprocess.run(
            ["git", "-c", "safe.directory=*", "ls-files", "-z", "--", pathspec],
            cwd=folder,
            capture_output=True,
            check=False,
            timeout=GIT_TIMEOUT_S,
        )
    except FileNotFoundError:
        return []  # no git here: nothing came with a checkout
    except (OSError, subprocess.SubprocessError) as error:
        raise TrackingError(_git_unanswered(folder, str(error))) from None
    if done.returncode != 0:
        said = os.fsdecode(done.stderr).strip()
        if "not a git repository" in said:
            return []
        raise TrackingError(_git_unanswered(folder, said.splitlines()[0] if said else ""))
    return [os.fsdecode(name) for name in done.stdout.split(b"\0") if name]


def _git_unanswered(folder: Path, said: str) -> str:
    return (
        f"could not ask git which files of {folder} it tracks ({said or 'no reason given'}): "
        "a results copy or outbox entry git brought must not be used, so nothing was read. "
        "Run this where git works on the checkout"
    )


def _waiting(outbox: Path) -> int:
    # Counted, never read: an entry's content is not to be trusted by a check.
    try:
        return sum(1 for _ in outbox.glob("*.json"))
    except OSError:
        return 0
