"""Who may see and do what: users, roles, password hashes, sign-in limits, OIDC role mapping.

No Streamlit here (the sign-in screen is :mod:`chuangshu.signin`, the CLI is
:mod:`chuangshu.users`), so everything below is plain functions the tests call directly.

Roles (each includes the one before):

* ``viewer``  (查看者) — the dashboard pages, chart downloads, slides, big screen;
* ``analyst`` (分析员) — plus ad-hoc SQL (即席查询);
* ``admin``   (管理员) — plus ledger intake (数据上报), data quality (数据质量) and the 考核 targets
  (目标设置).

A user may also carry a ``community``: a community-scoped user sees only that community's
rows everywhere (pages, SQL, exports, slides); see :mod:`chuangshu.scope`. Admins are the
sub-district office's staff and are never scoped.

Users live in ``.streamlit/secrets.toml`` (git-ignored, mode 0600)::

    [users.zhangsan]
    name = "张三"
    role = "viewer"
    community = "桂南社区"
    password_hash = "scrypt$32768$8$1$<salt>$<hash>"

Password hashes are scrypt (hashlib, standard library) in the format
``scrypt$n$r$p$salt_b64$hash_b64``; bcrypt hashes (``$2b$...``) are accepted too when the
optional ``bcrypt`` package is installed.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import logging
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

ROLES: dict[str, str] = {"viewer": "查看者", "analyst": "分析员", "admin": "管理员"}
ROLE_ORDER = ("viewer", "analyst", "admin")
# permission -> roles that have it
PERMISSIONS: dict[str, frozenset[str]] = {
    "view": frozenset(ROLE_ORDER),
    "query": frozenset({"analyst", "admin"}),
    "intake": frozenset({"admin"}),
    "quality": frozenset({"admin"}),
    "targets": frozenset({"admin"}),
}
PERMISSION_NAMES = {"view": "查看数据", "query": "即席查询", "intake": "数据上报", "quality": "数据质量",
                    "targets": "目标设置"}
# page url_path -> the permission the page needs (pages not listed need only "view")
PAGE_PERMISSIONS: dict[str, str] = {"query": "query", "intake": "intake", "quality": "quality", "targets": "targets"}

LOCAL_USERNAME = "local"
LOCAL_DISPLAY_NAME = "本机用户"


class AuthError(ValueError):
    """A user entry or a command is not acceptable; the message is Chinese."""


@dataclass(frozen=True)
class User:
    """A signed-in person. ``community`` set = community-scoped (sees only that community)."""

    username: str
    display_name: str
    role: str
    community: str | None = None
    method: str = "password"  # password | oidc | local

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise AuthError(f"角色“{self.role}”无效，应为 {'、'.join(ROLES)} 之一")
        if self.community is not None and self.role == "admin":
            raise AuthError("管理员（admin）是街道办账号，不能限定社区；社区账号请用 viewer 或 analyst")

    def can(self, permission: str | None) -> bool:
        if permission is None:
            return True
        return self.role in PERMISSIONS.get(permission, frozenset())

    @property
    def can_query(self) -> bool:
        return self.can("query")

    @property
    def can_intake(self) -> bool:
        return self.can("intake")

    @property
    def scope(self) -> str | None:
        """The community this user is limited to, or None for the whole sub-district."""
        return self.community

    def describe(self) -> str:
        """「张三 · 查看者 · 桂南社区」 for the sidebar."""
        parts = [self.display_name, ROLES[self.role], self.community or "全街道"]
        return " · ".join(parts)


LOCAL_USER = User(LOCAL_USERNAME, LOCAL_DISPLAY_NAME, "admin", None, method="local")


def is_local_address(ip: str | None) -> bool:
    """True when a browser at ``ip`` is on this machine (the only one the no-users mode lets in).

    No address (Streamlit reports none for 127.0.0.1 and ::1), the loopback networks
    127.0.0.0/8 and ::1, and their IPv4-mapped IPv6 forms such as ``::ffff:127.0.0.1`` (what a
    server listening on ``::`` sees for an IPv4 browser). Anything else, including text that
    is not an address, is another machine.
    """
    if ip is None or ip == "":
        return True
    if not isinstance(ip, str):
        return False
    text = ip.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    text = text.split("%", 1)[0]  # an IPv6 zone id (fe80::1%eth0) does not change the address
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def page_permission(url_path: str) -> str | None:
    """The permission a page needs, from its url path (``query``, ``intake``...)."""
    return PAGE_PERMISSIONS.get(url_path.strip("/"))


# --------------------------------------------------------------------------- passwords

SCRYPT_N = 2**15  # 32 MiB of memory per hash with r = 8
SCRYPT_R = 8
SCRYPT_P = 1
SCRYPT_MAX_N = 2**20  # refuse absurd parameters (a hash is checked at every sign-in)
MIN_PASSWORD_LENGTH = 8


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=length,
                          maxmem=256 * n * r * p + 16 * 1024 * 1024)


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """``scrypt$n$r$p$salt_b64$hash_b64`` with a fresh 16-byte salt."""
    if not isinstance(password, str) or not password:
        raise AuthError("密码不能为空")
    salt = os.urandom(16)
    digest = _scrypt(password, salt, n, r, p, 32)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def hash_kind(stored: str) -> str:
    """``scrypt``, ``bcrypt`` or ``unknown`` (for ``users list``)."""
    if isinstance(stored, str) and stored.startswith("scrypt$"):
        return "scrypt"
    if isinstance(stored, str) and stored.startswith(("$2b$", "$2a$", "$2y$")):
        return "bcrypt"
    return "unknown"


def verify_password(password: str, stored: str) -> bool:
    """True if ``password`` matches ``stored`` (constant-time compare); False for anything malformed."""
    if not isinstance(password, str) or not isinstance(stored, str):
        return False
    kind = hash_kind(stored)
    if kind == "scrypt":
        try:
            _, n_s, r_s, p_s, salt_s, hash_s = stored.split("$")
            n, r, p = int(n_s), int(r_s), int(p_s)
            if not (2 <= n <= SCRYPT_MAX_N and n & (n - 1) == 0 and 1 <= r <= 32 and 1 <= p <= 16):
                return False
            salt, expected = base64.b64decode(salt_s, validate=True), base64.b64decode(hash_s, validate=True)
            if not salt or not expected:
                return False
            digest = _scrypt(password, salt, n, r, p, len(expected))
        except (ValueError, TypeError, MemoryError):
            return False
        return hmac.compare_digest(digest, expected)
    if kind == "bcrypt":
        try:
            import bcrypt  # optional; not a dependency of the project
        except ImportError:
            log.warning("a bcrypt password hash is configured but the bcrypt package is not installed")
            return False
        try:
            return bool(bcrypt.checkpw(password.encode("utf-8"), stored.encode("ascii")))
        except ValueError:
            return False
    return False


_DUMMY_HASH: str | None = None


def _burn(password: str) -> None:
    """Spend the time of one hash check (unknown user names take as long as known ones)."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password("not-a-password")
    verify_password(password, _DUMMY_HASH)


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class Account:
    """A configured password user: who they are and their password hash."""

    user: User
    password_hash: str


def _plain(mapping: Any) -> dict:
    """st.secrets sections are read-only mappings; make plain dicts of them."""
    if isinstance(mapping, Mapping):
        return {str(k): _plain(v) for k, v in mapping.items()}
    return mapping


def load_accounts(secrets: Mapping[str, Any] | None) -> tuple[dict[str, Account], list[str]]:
    """``[users.<name>]`` entries as accounts, plus one Chinese message per unusable entry."""
    accounts: dict[str, Account] = {}
    problems: list[str] = []
    users = _plain((secrets or {}).get("users") or {})
    if not isinstance(users, dict):
        return {}, ["[users] 应为表（[users.用户名]）"]
    for username, entry in users.items():
        if not isinstance(entry, dict):
            problems.append(f"用户“{username}”的配置应为表")
            continue
        password_hash = entry.get("password_hash")
        if not isinstance(password_hash, str) or hash_kind(password_hash) == "unknown":
            problems.append(f"用户“{username}”没有可用的 password_hash")
            continue
        community = entry.get("community") or None
        try:
            user = User(username=username, display_name=str(entry.get("name") or username),
                        role=str(entry.get("role") or "viewer"),
                        community=str(community) if community is not None else None)
        except AuthError as exc:
            problems.append(f"用户“{username}”：{exc}")
            continue
        accounts[username] = Account(user, password_hash)
    return accounts, problems


def oidc_configured(secrets: Mapping[str, Any] | None) -> bool:
    """True when ``[auth]`` is configured for st.login."""
    section = (secrets or {}).get("auth")
    return isinstance(section, Mapping) and bool(section)


def oidc_providers(secrets: Mapping[str, Any] | None) -> list[str | None]:
    """Providers for st.login: [None] for a single ``[auth]`` provider, else the sub-section names."""
    section = _plain((secrets or {}).get("auth") or {})
    if not isinstance(section, dict):
        return []
    named = [k for k, v in section.items() if isinstance(v, dict) and "client_id" in v]
    if named:
        return sorted(named)
    return [None] if "client_id" in section else []


def users_configured(secrets: Mapping[str, Any] | None) -> bool:
    """Any way to sign in configured? (If not, the app runs as the single local user.)"""
    users = (secrets or {}).get("users")
    return bool(users) or oidc_configured(secrets)


def oidc_user(email: str | None, name: str | None, secrets: Mapping[str, Any] | None,
              email_verified: Any = None) -> User | None:
    """The user for a signed-in OIDC email, from ``[oidc_roles]``; None if refused.

    ``[oidc_roles]`` maps an email (or ``"*@domain"``) to a role name or to a table
    ``{ role = "...", community = "..." }``; ``default_role`` (default ``viewer``) applies to
    every other email, and ``default_role = "none"`` refuses them.
    """
    if not isinstance(email, str) or "@" not in email:
        return None
    if email_verified is False:
        return None
    email = email.strip().lower()
    table = {str(k).lower(): v for k, v in _plain((secrets or {}).get("oidc_roles") or {}).items()}
    default = table.pop("default_role", "viewer")
    entry = table.get(email)
    if entry is None:
        entry = table.get("*@" + email.rsplit("@", 1)[1])
    if entry is None:
        entry = default
    if isinstance(entry, str):
        entry = {"role": entry}
    if not isinstance(entry, dict):
        return None
    role = str(entry.get("role") or "viewer")
    if role == "none":
        return None
    community = entry.get("community") or None
    try:
        return User(username=email, display_name=str(name or email), role=role,
                    community=str(community) if community is not None else None, method="oidc")
    except AuthError as exc:
        log.warning("oidc_roles entry for %s: %s", email, exc)
        return None


# --------------------------------------------------------------------------- sign-in

MAX_FAILURES = 5
LOCKOUT_S = 60.0
MSG_BAD_LOGIN = "用户名或密码不正确"
MSG_EMPTY = "请输入用户名和密码"


def msg_locked(seconds: float) -> str:
    return f"登录失败次数过多，该账号已暂时锁定，请 {max(1, int(seconds + 0.999))} 秒后再试"


class LoginLimiter:
    """``MAX_FAILURES`` failed sign-ins for one user name lock it for ``LOCKOUT_S`` seconds.

    Process-wide (not per browser session), so opening a new tab does not reset it.
    """

    def __init__(self, max_failures: int = MAX_FAILURES, lockout_s: float = LOCKOUT_S) -> None:
        self.max_failures = max_failures
        self.lockout_s = lockout_s
        self._lock = threading.Lock()
        self._failures: dict[str, int] = {}
        self._locked_until: dict[str, float] = {}

    def locked_for(self, username: str, now: float | None = None) -> float:
        """Seconds the name is still locked (0 if not)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            until = self._locked_until.get(username.lower(), 0.0)
            return max(0.0, until - now)

    def failed(self, username: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        key = username.lower()
        with self._lock:
            if len(self._failures) > 10_000:  # bound memory under a name-spraying attack
                self._failures.clear()
            n = self._failures.get(key, 0) + 1
            if n >= self.max_failures:
                self._locked_until[key] = now + self.lockout_s
                n = 0
            self._failures[key] = n

    def succeeded(self, username: str) -> None:
        key = username.lower()
        with self._lock:
            self._failures.pop(key, None)
            self._locked_until.pop(key, None)

    def reset(self) -> None:
        with self._lock:
            self._failures.clear()
            self._locked_until.clear()


LIMITER = LoginLimiter()


def authenticate(username: str, password: str, accounts: Mapping[str, Account],
                 limiter: LoginLimiter = LIMITER, now: float | None = None) -> tuple[User | None, str | None]:
    """(user, None) on success, else (None, Chinese message). Counts failures per user name."""
    username = (username or "").strip()
    if not username or not password:
        return None, MSG_EMPTY
    wait = limiter.locked_for(username, now)
    if wait > 0:
        return None, msg_locked(wait)
    account = accounts.get(username)
    if account is None:
        _burn(password)
        ok = False
    else:
        ok = verify_password(password, account.password_hash)
    if not ok:
        limiter.failed(username, now)
        wait = limiter.locked_for(username, now)
        return None, msg_locked(wait) if wait > 0 else MSG_BAD_LOGIN
    limiter.succeeded(username)
    return account.user, None
