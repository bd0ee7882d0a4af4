"""Manage dashboard users in .streamlit/secrets.toml.

    python -m chuangshu.users add zhangsan --role viewer --community 桂南社区 --name 张三
    python -m chuangshu.users add li --role analyst --password-stdin < password.txt
    python -m chuangshu.users list
    python -m chuangshu.users remove zhangsan

``add`` asks for the password twice (getpass) unless ``--password-stdin`` is given, stores
an scrypt hash (never the password) and replaces the user if it exists. The file is
created with mode 0600 and rewritten atomically with mode 0600; everything else in it
(``[auth]``, comments, other users) is kept as it was. ``--file`` points at another
secrets file (default: the project's ``.streamlit/secrets.toml``, which git ignores).
A running dashboard picks up the change on its next page load.
"""
from __future__ import annotations

import argparse
import csv
import getpass
import json
import os
import re
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from chuangshu import auth
from chuangshu.paths import ROOT, reference_dir

DEFAULT_FILE = ROOT / ".streamlit" / "secrets.toml"
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_HEADER = re.compile(r"^\s*\[\s*users\s*\.\s*(?:\"((?:[^\"\\]|\\.)*)\"|'([^']*)'|([A-Za-z0-9_-]+))\s*\]\s*(?:#.*)?$")
_ANY_HEADER = re.compile(r"^\s*\[")


class UsersError(auth.AuthError):
    """A command that cannot be carried out (Chinese message)."""


# --------------------------------------------------------------------------- validation


def communities() -> dict[str, str]:
    """Community names and short names (桂南 → 桂南社区) from data/reference/communities.csv."""
    out: dict[str, str] = {}
    with open(reference_dir() / "communities.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out[row["community"]] = row["community"]
            if row.get("short_name"):
                out.setdefault(row["short_name"], row["community"])
    return out


def check_username(username: str) -> str:
    if not USERNAME.match(username or ""):
        raise UsersError("用户名只能由字母、数字和 _ . @ - 组成（以字母或数字开头，最长 64 个字符）")
    return username


def check_community(community: str | None) -> str | None:
    if community is None or community == "":
        return None
    known = communities()
    if community not in known:
        raise UsersError(f"社区“{community}”不在社区名单（data/reference/communities.csv）中")
    return known[community]


# --------------------------------------------------------------------------- the file


def read(path: Path) -> tuple[str, dict[str, Any]]:
    """The file's text and its parsed content ('' and {} when it does not exist)."""
    if not path.exists():
        return "", {}
    text = path.read_text(encoding="utf-8")
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsersError(f"{path} 不是有效的 TOML：{exc}") from None


def _toml_key(username: str) -> str:
    return username if _BARE_KEY.match(username) else json.dumps(username)


def _toml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def _block(user: auth.User, password_hash: str) -> str:
    lines = [f"[users.{_toml_key(user.username)}]", f"name = {_toml_str(user.display_name)}",
             f"role = {_toml_str(user.role)}"]
    if user.community:
        lines.append(f"community = {_toml_str(user.community)}")
    lines.append(f"password_hash = {_toml_str(password_hash)}")
    return "\n".join(lines) + "\n"


def _without(text: str, username: str) -> str:
    """``text`` without the ``[users.<username>]`` table (header up to the next header)."""
    out: list[str] = []
    skipping = False
    for line in text.splitlines(keepends=True):
        match = _HEADER.match(line)
        if match:
            name = match.group(1) if match.group(1) is not None else (match.group(2) or match.group(3))
            if match.group(1) is not None:
                name = json.loads(f'"{name}"')
            skipping = name == username
            if skipping:
                continue
        elif skipping and _ANY_HEADER.match(line):
            skipping = False
        if not skipping:
            out.append(line)
    return "".join(out)


def _write(path: Path, text: str) -> None:
    """Atomically replace ``path`` with ``text``, mode 0600 (created with its folder if needed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".secrets-", suffix=".toml", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    os.chmod(path, 0o600)


def _checked(old: dict[str, Any], new_text: str, username: str, expected: dict[str, Any] | None) -> None:
    """The edited text must parse, change only this user, and hold ``expected`` for it."""
    try:
        new = tomllib.loads(new_text)
    except tomllib.TOMLDecodeError as exc:
        raise UsersError(f"修改后的文件无法解析（{exc}），未写入。请手工编辑") from None
    want = json.loads(json.dumps(old, default=str))
    users = dict(want.get("users") or {})
    users.pop(username, None)
    if expected is not None:
        users[username] = expected
    if users:
        want["users"] = users
    else:
        want.pop("users", None)
    got = json.loads(json.dumps(new, default=str))
    if got.get("users") == {} and "users" not in want:
        got.pop("users")
    if got != want:
        raise UsersError("该文件中用户的写法无法自动修改（例如写在 [users] 表内），未写入。请手工编辑")


def add(path: Path, username: str, role: str, password: str, *, community: str | None = None,
        name: str | None = None, all_communities: bool = False) -> tuple[auth.User, bool]:
    """Add or replace a user; returns (user, replaced?).

    Replacing keeps the existing name and community unless new ones are given (so resetting a
    password never widens a community account by accident); ``all_communities`` removes the
    community scope explicitly.
    """
    check_username(username)
    text, data = read(path)
    old = (data.get("users") or {}).get(username)
    replaced = old is not None
    if replaced and isinstance(old, dict):
        name = name or old.get("name")
        if community is None and not all_communities:
            community = old.get("community")
    if all_communities:
        community = None
    community = check_community(community)
    user = auth.User(username, name or username, role, community)  # validates role and admin scope
    if len(password) < auth.MIN_PASSWORD_LENGTH:
        raise UsersError(f"密码至少 {auth.MIN_PASSWORD_LENGTH} 个字符")
    password_hash = auth.hash_password(password)
    base = _without(text, username) if replaced else text
    if base and not base.endswith("\n"):
        base += "\n"
    new_text = base + ("\n" if base.strip() else "") + _block(user, password_hash)
    expected = {"name": user.display_name, "role": user.role, "password_hash": password_hash}
    if community:
        expected["community"] = community
    _checked(data, new_text, username, expected)
    _write(path, new_text)
    return user, replaced


def remove(path: Path, username: str) -> bool:
    """Remove a user; False if there was none."""
    text, data = read(path)
    if username not in (data.get("users") or {}):
        return False
    new_text = _without(text, username)
    _checked(data, new_text, username, None)
    _write(path, new_text)
    return True


def list_users(path: Path) -> list[dict[str, str]]:
    """The configured users (no hashes), for ``list``."""
    _, data = read(path)
    accounts, problems = auth.load_accounts(data)
    rows = [{"username": a.user.username, "name": a.user.display_name, "role": a.user.role,
             "community": a.user.community or "", "hash": auth.hash_kind(a.password_hash)}
            for a in accounts.values()]
    for problem in problems:
        rows.append({"username": "", "name": "", "role": "", "community": "", "hash": f"有误：{problem}"})
    return rows


# --------------------------------------------------------------------------- command line


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("密码：")
    second = getpass.getpass("再输入一次：")
    if first != second:
        raise UsersError("两次输入的密码不一致")
    return first


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chuangshu.users",
                                     description="管理看板用户（写入 .streamlit/secrets.toml）")
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE, help=f"secrets 文件（默认 {DEFAULT_FILE}）")
    sub = parser.add_subparsers(dest="command", required=True)
    p_add = sub.add_parser("add", help="添加或更新用户")
    p_add.add_argument("username")
    p_add.add_argument("--role", required=True, choices=list(auth.ROLES), help="viewer 查看者 / analyst 分析员 / admin 管理员")
    p_add.add_argument("--community", help="社区账号：只能看到该社区的数据（admin 不可设）")
    p_add.add_argument("--all-communities", action="store_true",
                       help="更新已有用户时取消社区限定（不加此项且不给 --community 时保留原社区）")
    p_add.add_argument("--name", help="显示名称，如 张三（更新时不给则保留原名称）")
    p_add.add_argument("--password-stdin", action="store_true", help="从标准输入读取密码（一行）")
    sub.add_parser("list", help="列出用户")
    p_rm = sub.add_parser("remove", help="删除用户")
    p_rm.add_argument("username")
    args = parser.parse_args(argv)
    try:
        if args.command == "add":
            check_username(args.username)  # before asking for the password
            check_community(args.community)
            user, replaced = add(args.file, args.username, args.role, _password(args.password_stdin),
                                 community=args.community, name=args.name, all_communities=args.all_communities)
            print(f"{'已更新' if replaced else '已添加'}用户 {user.username}（{user.describe()}）→ {args.file}")
        elif args.command == "list":
            rows = list_users(args.file)
            if not rows:
                print(f"{args.file} 中没有配置用户（看板以本机单用户模式运行）")
            for r in rows:
                print("\t".join([r["username"], r["name"], r["role"], r["community"] or "全街道", r["hash"]]))
        elif args.command == "remove":
            if remove(args.file, args.username):
                print(f"已删除用户 {args.username}")
            else:
                print(f"没有用户 {args.username}", file=sys.stderr)
                return 1
    except auth.AuthError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
