"""Local paths and object-store URIs (s3://, gs://, az://) behind one small path interface.

`location(x, options)` gives a `pathlib.Path` for a local path and a `RemotePath` for an object-store URI.
`RemotePath` has the part of `Path` that bidirag uses for query logs, run folders (reports, verdicts, dead
letters) and replay plans: `/`, `name`, `suffix`, `stem`, `parent`, `exists`, `is_dir`, `is_file`, `iterdir`,
`glob`, `stat().st_size`, `open(mode)`, `read_text`/`write_text`, `unlink`, `mkdir` (a no-op: object stores
have no folders). I/O goes through `pyarrow.fs` (S3, GCS, Azure), configured from the same
`store.storage_options` LanceDB gets (endpoint, region, credentials; `${VAR}` values come from the
environment), so one setting reaches the tables and the files.

A writer's object appears only when its stream is closed (S3 multipart upload): a crashed job leaves no
half-written report. `open("a")` on an object store rewrites the object (old content first).
"""

from __future__ import annotations

import fnmatch
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from bidirag.store import StoreError

REMOTE_SCHEMES = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs", "az": "azure", "abfs": "azure",
                  "abfss": "azure"}
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class LocationError(StoreError):
    """An object-store location that cannot be used: the message names the problem and the fix (a StoreError,
    so every command reports it as bad input, exit 2)."""


def scheme_of(uri: str | os.PathLike) -> str | None:
    s = str(uri)
    if "://" not in s:
        return None
    return s.split("://", 1)[0].lower()


def is_remote(uri: str | os.PathLike) -> bool:
    sch = scheme_of(uri)
    return sch is not None and sch != "file"


def expand_options(options: dict | None, where: str = "store.storage_options") -> dict[str, str]:
    """Storage options as LanceDB wants them (lower-case keys, string values), `${VAR}` taken from the
    environment (so configs never hold secrets). A missing variable is an error naming it."""
    out: dict[str, str] = {}
    for k, v in (options or {}).items():
        v = str(v).lower() if isinstance(v, bool) else str(v)
        for name in _ENV.findall(v):
            if name not in os.environ:
                raise LocationError(f"{where}.{k} refers to ${{{name}}}, which is not set in the environment; "
                                    f"export {name}=... (or put the value in {where}.{k})")
        out[str(k).lower()] = _ENV.sub(lambda m: os.environ[m.group(1)], v)
    return out


def _pick(opts: dict[str, str], *keys: str, env: tuple[str, ...] = ()) -> str | None:
    for k in keys:
        if opts.get(k):
            return opts[k]
    for e in env:
        if os.environ.get(e):
            return os.environ[e]
    return None


def s3_endpoint(opts: dict[str, str]) -> str | None:
    return _pick(opts, "aws_endpoint", "endpoint", "aws_endpoint_url", "endpoint_url",
                 env=("AWS_ENDPOINT", "AWS_ENDPOINT_URL"))


_FS_CACHE: dict[tuple, object] = {}


def filesystem(scheme: str, opts: dict[str, str]):
    """A pyarrow FileSystem for one object store, from LanceDB-style storage options (then the environment)."""
    import pyarrow.fs as pfs

    kind = REMOTE_SCHEMES.get(scheme)
    key = (kind, tuple(sorted(opts.items())))
    if key in _FS_CACHE:
        return _FS_CACHE[key]
    if kind == "s3":
        kw: dict = {}
        ep = s3_endpoint(opts)
        if ep:
            if "://" in ep:
                kw["scheme"], ep = ep.split("://", 1)
            elif (_pick(opts, "allow_http", env=("AWS_ALLOW_HTTP",)) or "").lower() == "true":
                kw["scheme"] = "http"
            kw["endpoint_override"] = ep.rstrip("/")
        for arg, keys, env in (("access_key", ("aws_access_key_id", "access_key_id"), ("AWS_ACCESS_KEY_ID",)),
                               ("secret_key", ("aws_secret_access_key", "secret_access_key"),
                                ("AWS_SECRET_ACCESS_KEY",)),
                               ("session_token", ("aws_session_token", "session_token", "token"),
                                ("AWS_SESSION_TOKEN",)),
                               ("region", ("aws_region", "region"), ("AWS_REGION", "AWS_DEFAULT_REGION"))):
            val = _pick(opts, *keys, env=env)
            if val:
                kw[arg] = val
        fs = pfs.S3FileSystem(connect_timeout=5, request_timeout=30, **kw)
    elif kind == "gcs":
        kw = {}
        ep = _pick(opts, "google_endpoint", "endpoint")
        if ep:
            if "://" in ep:
                kw["scheme"], ep = ep.split("://", 1)
            kw["endpoint_override"] = ep
        fs = pfs.GcsFileSystem(**kw)
    elif kind == "azure":
        name = _pick(opts, "azure_storage_account_name", "account_name", env=("AZURE_STORAGE_ACCOUNT_NAME",))
        if not name:
            raise LocationError("az:// needs the storage account: set store.storage_options.account_name or "
                                "AZURE_STORAGE_ACCOUNT_NAME")
        fs = pfs.AzureFileSystem(account_name=name, account_key=_pick(
            opts, "azure_storage_account_key", "account_key", env=("AZURE_STORAGE_ACCOUNT_KEY",)))
    else:
        raise LocationError(f"unsupported URI scheme {scheme!r}; use a local path, s3://, gs:// or az://")
    _FS_CACHE[key] = fs
    return fs


@dataclass(frozen=True)
class _Stat:
    st_size: int


class _Raw(io.RawIOBase):
    """A pyarrow input file as a Python raw stream (so io.BufferedReader gives readline, gzip works...)."""

    def __init__(self, f) -> None:
        self._f = f

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, pos: int, whence: int = 0) -> int:
        return self._f.seek(pos, whence)

    def tell(self) -> int:
        return self._f.tell()

    def readinto(self, b) -> int:
        data = self._f.read(len(b))
        b[:len(data)] = data
        return len(data)

    def close(self) -> None:
        self._f.close()
        super().close()


class RemotePath:
    """An object in s3://, gs:// or az:// storage, with the `pathlib.Path` methods bidirag uses."""

    def __init__(self, uri: str, options: dict[str, str] | None = None) -> None:
        scheme, rest = str(uri).split("://", 1)
        self.scheme = scheme.lower()
        if self.scheme not in REMOTE_SCHEMES:
            raise LocationError(f"unsupported URI scheme {scheme!r} in {uri}; use a local path, s3://, gs:// or az://")
        self._rest = rest.strip("/")
        self.options = expand_options(options)

    # ---- names ----
    def __str__(self) -> str:
        return f"{self.scheme}://{self._rest}"

    __repr__ = __str__

    def __eq__(self, other) -> bool:
        return str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))

    def __truediv__(self, part: str) -> RemotePath:
        return RemotePath(f"{self}/{str(part).strip('/')}", self.options)

    @property
    def bucket(self) -> str:
        return self._rest.split("/", 1)[0]

    @property
    def name(self) -> str:
        return PurePosixPath(self._rest).name

    @property
    def suffix(self) -> str:
        return PurePosixPath(self._rest).suffix

    @property
    def stem(self) -> str:
        return PurePosixPath(self._rest).stem

    @property
    def parent(self) -> RemotePath:
        return RemotePath(f"{self.scheme}://{PurePosixPath(self._rest).parent}", self.options)

    def resolve(self) -> RemotePath:
        return self

    # ---- file system ----
    @property
    def fs(self):
        return filesystem(self.scheme, self.options)

    def _info(self):
        try:
            return self.fs.get_file_info(self._rest)
        except OSError as e:
            raise LocationError(explain(e, str(self), self.options)) from None

    def exists(self) -> bool:
        import pyarrow.fs as pfs

        return self._info().type != pfs.FileType.NotFound

    def is_dir(self) -> bool:
        import pyarrow.fs as pfs

        return self._info().type == pfs.FileType.Directory

    def is_file(self) -> bool:
        import pyarrow.fs as pfs

        return self._info().type == pfs.FileType.File

    def stat(self) -> _Stat:
        return _Stat(int(self._info().size or 0))

    def iterdir(self):
        import pyarrow.fs as pfs

        infos = self.fs.get_file_info(pfs.FileSelector(self._rest, allow_not_found=True))
        return [RemotePath(f"{self.scheme}://{i.path}", self.options) for i in infos]

    def glob(self, pattern: str):
        return [p for p in self.iterdir() if fnmatch.fnmatch(p.name, pattern)]

    def mkdir(self, parents: bool = False, exist_ok: bool = False) -> None:
        """Object stores have no folders; checks the bucket is there and reachable (a clear error if not)."""
        import pyarrow.fs as pfs

        try:
            info = self.fs.get_file_info(self.bucket)
        except OSError as e:
            raise LocationError(explain(e, str(self), self.options)) from None
        if info.type == pfs.FileType.NotFound:
            raise LocationError(explain(FileNotFoundError("NoSuchBucket"), str(self), self.options))

    def unlink(self, missing_ok: bool = False) -> None:
        if missing_ok and not self.exists():
            return
        self.fs.delete_file(self._rest)

    def open(self, mode: str = "r", encoding: str | None = "utf-8", **_):
        try:
            if "r" in mode:
                raw = io.BufferedReader(_Raw(self.fs.open_input_file(self._rest)), 1 << 20)
                return raw if "b" in mode else io.TextIOWrapper(raw, encoding=encoding or "utf-8")
            old = self.read_bytes() if "a" in mode and self.exists() else b""
            out = self.fs.open_output_stream(self._rest)
            if old:
                out.write(old)
        except FileNotFoundError:
            raise
        except OSError as e:
            raise LocationError(explain(e, str(self), self.options)) from None
        return out if "b" in mode else io.TextIOWrapper(out, encoding=encoding or "utf-8")

    def read_bytes(self) -> bytes:
        with self.open("rb") as f:
            return f.read()

    def read_text(self, encoding: str = "utf-8") -> str:
        return self.read_bytes().decode(encoding)

    def write_bytes(self, data: bytes) -> int:
        with self.open("wb") as f:
            f.write(data)
        return len(data)

    def write_text(self, text: str, encoding: str = "utf-8") -> int:
        return self.write_bytes(text.encode(encoding))


def location(x: str | os.PathLike | RemotePath, options: dict | None = None) -> Path | RemotePath:
    """A local `Path`, or a `RemotePath` for an object-store URI (file:// is local)."""
    if isinstance(x, RemotePath | Path):
        return x
    s = str(x)
    if s.startswith("file://"):
        return Path(s[len("file://"):])
    return RemotePath(s, options) if is_remote(s) else Path(s)


def join(base: str, *parts: str) -> str:
    """`base/part/...` for a local path or a URI."""
    if is_remote(base):
        return str(base).rstrip("/") + "".join("/" + str(p).strip("/") for p in parts)
    return str(Path(base).joinpath(*parts))


def explain(e: BaseException, uri: str, options: dict | None = None) -> str:
    """One line naming an object-store problem (missing bucket, refused credentials, unreachable endpoint)
    and its fix, from the error text of LanceDB (object_store) or pyarrow."""
    msg = str(e)
    where = uri
    bucket = uri.split("://", 1)[1].split("/", 1)[0] if "://" in uri else uri
    ep = s3_endpoint(expand_options(options)) if options is not None else None
    at = f" at {ep}" if ep else ""
    if "NoSuchBucket" in msg or "bucket does not exist" in msg.lower():
        return (f"{where}: bucket {bucket!r} does not exist{at}; create it (e.g. `aws s3 mb "
                f"{uri.split('://', 1)[0]}://{bucket}`) or fix the URI")
    for code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "ACCESS_DENIED", "403",
                 "ExpiredToken", "InvalidToken"):
        if code in msg:
            return (f"{where}: the object store{at} refused the credentials ({code}); set AWS_ACCESS_KEY_ID / "
                    "AWS_SECRET_ACCESS_KEY (or store.storage_options, `${VAR}` values are read from the "
                    "environment) to a key that may read and write this bucket")
    low = msg.lower()
    if any(w in low for w in ("kind: connect", "connection refused", "dns error", "error trying to connect",
                              "timed out", "could not resolve", "unreachable", "curlcode: 7",
                              "couldn't connect")):
        return (f"{where}: cannot reach the object store{at or ' (no endpoint set: the provider default)'}; "
                "check store.storage_options.aws_endpoint (or AWS_ENDPOINT) and that the server is up")
    first = msg.splitlines()[0] if msg else type(e).__name__
    return f"{where}: object store error: {first[:300]}"
