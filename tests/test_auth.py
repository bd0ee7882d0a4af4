"""Users, roles and passwords: hashing, sign-in limits, OIDC role mapping, the users CLI."""
from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

import pytest

from chuangshu import auth, users
from chuangshu.auth import User

FAST = {"n": 2**10}  # cheap hashes for tests; verification reads n from the hash


# --------------------------------------------------------------------------- passwords


def test_scrypt_round_trip_and_wrong_password() -> None:
    stored = auth.hash_password("正确的密码 horse battery", **FAST)
    assert stored.startswith("scrypt$1024$8$1$")
    assert auth.verify_password("正确的密码 horse battery", stored)
    assert not auth.verify_password("正确的密码 horse batterY", stored)
    assert not auth.verify_password("", stored)


def test_default_hash_uses_strong_parameters_and_fresh_salt() -> None:
    a, b = auth.hash_password("same-password"), auth.hash_password("same-password")
    assert a != b  # fresh salt
    assert a.split("$")[1:4] == [str(auth.SCRYPT_N), "8", "1"]
    assert auth.verify_password("same-password", a) and auth.verify_password("same-password", b)


@pytest.mark.parametrize("stored", [
    "", "plain-text-password", "scrypt$", "scrypt$1024$8$1$!!$!!", "scrypt$1000$8$1$AAAA$AAAA",
    "scrypt$4194304$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAA", "md5$abc", None,
])
def test_malformed_hashes_never_verify(stored) -> None:
    assert not auth.verify_password("anything", stored)


def test_bcrypt_hash_verifies_only_with_the_optional_package() -> None:
    try:
        import bcrypt
    except ImportError:
        fake = "$2b$12$" + "a" * 53
        assert auth.hash_kind(fake) == "bcrypt"
        assert not auth.verify_password("anything", fake)  # refused, never an exception
        return
    stored = bcrypt.hashpw(b"bcrypt-password", bcrypt.gensalt(rounds=4)).decode()
    assert auth.verify_password("bcrypt-password", stored)
    assert not auth.verify_password("wrong", stored)


# --------------------------------------------------------------------------- roles


def test_roles_and_permissions() -> None:
    viewer = User("v", "V", "viewer")
    analyst = User("a", "A", "analyst", "桂南社区")
    admin = User("x", "X", "admin")
    assert (viewer.can_query, viewer.can_intake, viewer.can("quality")) == (False, False, False)
    assert (analyst.can_query, analyst.can_intake, analyst.can("quality")) == (True, False, False)
    assert (admin.can_query, admin.can_intake, admin.can("quality")) == (True, True, True)
    assert analyst.scope == "桂南社区" and admin.scope is None
    assert auth.page_permission("query") == "query" and auth.page_permission("intake") == "intake"
    assert auth.page_permission("") is None and auth.page_permission("export") is None
    with pytest.raises(auth.AuthError):
        User("x", "X", "root")
    with pytest.raises(auth.AuthError, match="不能限定社区"):
        User("x", "X", "admin", "桂南社区")


@pytest.mark.parametrize(("address", "local"), [
    (None, True),  # Streamlit reports no address for 127.0.0.1 and ::1
    ("", True),
    ("127.0.0.1", True),
    ("127.0.1.1", True),  # Debian's hostname address: all of 127.0.0.0/8 is this machine
    ("127.255.255.254", True),
    ("::1", True),
    ("[::1]", True),
    ("::ffff:127.0.0.1", True),  # what a server listening on :: sees for http://127.0.0.1
    ("::FFFF:127.0.0.1", True),
    ("::ffff:7f00:1", True),
    ("0:0:0:0:0:ffff:127.0.0.2", True),
    ("::1%lo", True),
    ("192.168.1.20", False),
    ("::ffff:192.168.1.20", False),
    ("10.0.0.1", False),
    ("0.0.0.0", False),
    ("::", False),
    ("128.0.0.1", False),
    ("::ffff:128.0.0.1", False),
    ("::127.0.0.1", False),  # IPv4-compatible (deprecated) is not the mapped form
    ("fe80::1%eth0", False),
    ("2001:db8::1", False),
    ("localhost", False),  # not an address: refused rather than guessed
    ("127.0.0.1.evil.example", False),
    ("garbage", False),
])
def test_local_addresses(address: str | None, local: bool) -> None:
    assert auth.is_local_address(address) is local


def test_the_sign_in_check_uses_the_address_table(monkeypatch: pytest.MonkeyPatch) -> None:
    import streamlit as st

    from chuangshu import signin

    for address, local in [("::ffff:127.0.0.1", True), ("::1", True), ("::ffff:192.168.1.20", False)]:
        monkeypatch.setattr(type(st.context), "ip_address", property(lambda self, a=address: a))
        assert signin._is_local_client() is local, address


def test_load_accounts_skips_unusable_entries() -> None:
    good = auth.hash_password("password-1", **FAST)
    accounts, problems = auth.load_accounts({"users": {
        "zhang": {"name": "张三", "role": "viewer", "community": "桂南社区", "password_hash": good},
        "li": {"role": "analyst", "password_hash": good},
        "nohash": {"role": "viewer"},
        "badrole": {"role": "boss", "password_hash": good},
        "scopedadmin": {"role": "admin", "community": "桂南社区", "password_hash": good},
    }})
    assert set(accounts) == {"zhang", "li"}
    assert accounts["zhang"].user == User("zhang", "张三", "viewer", "桂南社区")
    assert accounts["li"].user.display_name == "li" and accounts["li"].user.community is None
    assert len(problems) == 3


def test_users_configured() -> None:
    assert not auth.users_configured({})
    assert not auth.users_configured({"users": {}})
    assert auth.users_configured({"users": {"a": {}}})
    assert auth.users_configured({"auth": {"client_id": "x"}})


# --------------------------------------------------------------------------- sign-in


@pytest.fixture
def accounts() -> dict[str, auth.Account]:
    return auth.load_accounts({"users": {"zhang": {"role": "viewer", "community": "桂南社区",
                                                   "password_hash": auth.hash_password("right-password", **FAST)}}})[0]


def test_authenticate(accounts) -> None:
    limiter = auth.LoginLimiter()
    user, message = auth.authenticate("zhang", "right-password", accounts, limiter)
    assert user is not None and user.community == "桂南社区" and message is None
    assert auth.authenticate("zhang", "wrong", accounts, limiter) == (None, auth.MSG_BAD_LOGIN)
    assert auth.authenticate("nobody", "wrong", accounts, limiter) == (None, auth.MSG_BAD_LOGIN)  # same answer
    assert auth.authenticate("", "", accounts, limiter) == (None, auth.MSG_EMPTY)


def test_five_failures_lock_the_name_for_a_minute(accounts) -> None:
    limiter = auth.LoginLimiter()
    now = 1000.0
    for _ in range(auth.MAX_FAILURES - 1):
        assert auth.authenticate("zhang", "wrong", accounts, limiter, now=now)[1] == auth.MSG_BAD_LOGIN
    user, message = auth.authenticate("zhang", "wrong", accounts, limiter, now=now)
    assert user is None and "锁定" in message and "60 秒" in message
    # even the right password is refused while locked
    user, message = auth.authenticate("zhang", "right-password", accounts, limiter, now=now + 30)
    assert user is None and "30 秒" in message
    assert auth.authenticate("ZHANG", "right-password", accounts, limiter, now=now + 30)[0] is None  # case folded
    user, message = auth.authenticate("zhang", "right-password", accounts, limiter, now=now + 61)
    assert user is not None and message is None
    # success resets the count
    assert auth.authenticate("zhang", "wrong", accounts, limiter, now=now + 62)[1] == auth.MSG_BAD_LOGIN


# --------------------------------------------------------------------------- OIDC


OIDC = {
    "auth": {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x", "client_id": "id",
             "client_secret": "s", "server_metadata_url": "https://idp.example/.well-known/openid-configuration"},
    "oidc_roles": {
        "Li@Guicheng.gov.cn": "analyst",
        "zhang@guicheng.gov.cn": {"role": "viewer", "community": "桂南社区"},
        "*@office.guicheng.gov.cn": "admin",
        "bad@guicheng.gov.cn": {"role": "admin", "community": "桂南社区"},
    },
}


def test_oidc_role_mapping() -> None:
    assert auth.oidc_configured(OIDC) and auth.oidc_providers(OIDC) == [None]
    li = auth.oidc_user("li@guicheng.gov.cn", "李四", OIDC)
    assert li == User("li@guicheng.gov.cn", "李四", "analyst", None, method="oidc")
    zhang = auth.oidc_user("zhang@guicheng.gov.cn", None, OIDC)
    assert (zhang.role, zhang.community, zhang.display_name) == ("viewer", "桂南社区", "zhang@guicheng.gov.cn")
    assert auth.oidc_user("chen@office.guicheng.gov.cn", "陈", OIDC).role == "admin"
    assert auth.oidc_user("someone@else.org", "x", OIDC).role == "viewer"  # default role
    assert auth.oidc_user("bad@guicheng.gov.cn", "x", OIDC) is None  # invalid entry: refused
    assert auth.oidc_user("li@guicheng.gov.cn", "x", OIDC, email_verified=False) is None
    assert auth.oidc_user(None, "x", OIDC) is None and auth.oidc_user("not-an-email", "x", OIDC) is None


def test_oidc_default_role_none_refuses_unknown_emails() -> None:
    conf = {**OIDC, "oidc_roles": {**OIDC["oidc_roles"], "default_role": "none"}}
    assert auth.oidc_user("someone@else.org", "x", conf) is None
    assert auth.oidc_user("li@guicheng.gov.cn", "x", conf).role == "analyst"


def test_oidc_named_providers() -> None:
    conf = {"auth": {"redirect_uri": "x", "cookie_secret": "y", "microsoft": {"client_id": "a"},
                     "google": {"client_id": "b"}}}
    assert auth.oidc_providers(conf) == ["google", "microsoft"]


# --------------------------------------------------------------------------- the users CLI


def run_cli(capsys, monkeypatch, path: Path, *argv: str, password: str | None = None) -> tuple[int, str, str]:
    if password is not None:
        monkeypatch.setattr("sys.stdin", __import__("io").StringIO(password + "\n"))
    code = users.main(["--file", str(path), *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_add_list_remove(tmp_path: Path, capsys, monkeypatch) -> None:
    path = tmp_path / ".streamlit" / "secrets.toml"
    code, out, _ = run_cli(capsys, monkeypatch, path, "add", "zhang", "--role", "viewer", "--community", "桂南",
                           "--name", "张三", "--password-stdin", password="zhang-password")
    assert code == 0 and "已添加" in out
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    entry = data["users"]["zhang"]
    assert (entry["name"], entry["role"], entry["community"]) == ("张三", "viewer", "桂南社区")
    assert "zhang-password" not in path.read_text(encoding="utf-8")
    assert auth.verify_password("zhang-password", entry["password_hash"])

    code, out, _ = run_cli(capsys, monkeypatch, path, "add", "li.si@example.cn", "--role", "analyst",
                           "--password-stdin", password="li-password-1")
    assert code == 0
    code, out, _ = run_cli(capsys, monkeypatch, path, "list")
    assert code == 0
    lines = out.strip().splitlines()
    assert lines == ["zhang\t张三\tviewer\t桂南社区\tscrypt", "li.si@example.cn\tli.si@example.cn\tanalyst\t全街道\tscrypt"]

    code, out, _ = run_cli(capsys, monkeypatch, path, "remove", "zhang")
    assert code == 0 and "已删除" in out
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert list(data["users"]) == ["li.si@example.cn"]
    code, _, err = run_cli(capsys, monkeypatch, path, "remove", "zhang")
    assert code == 1 and "没有用户" in err


def test_cli_keeps_other_content_and_updates_in_place(tmp_path: Path, capsys, monkeypatch) -> None:
    path = tmp_path / "secrets.toml"
    original = ('# the office\'s secrets\n[auth]\nredirect_uri = "http://localhost:8501/oauth2callback"\n'
                'cookie_secret = "keep-me"\n\n[oidc_roles]\n"li@example.cn" = "analyst"\n')
    path.write_text(original, encoding="utf-8")
    os.chmod(path, 0o644)
    run_cli(capsys, monkeypatch, path, "add", "zhang", "--role", "viewer", "--community", "桂南社区",
            "--name", "张三", "--password-stdin", password="first-password")
    # a password reset without --community keeps the community (never widens a community account)
    code, out, _ = run_cli(capsys, monkeypatch, path, "add", "zhang", "--role", "analyst", "--password-stdin",
                           password="second-password")
    assert code == 0 and "已更新" in out
    text = path.read_text(encoding="utf-8")
    assert text.startswith(original)  # comments and other sections untouched
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    data = tomllib.loads(text)
    entry = data["users"]["zhang"]
    assert (entry["name"], entry["role"], entry["community"]) == ("张三", "analyst", "桂南社区")
    assert auth.verify_password("second-password", entry["password_hash"])
    assert not auth.verify_password("first-password", entry["password_hash"])
    assert text.count("[users.zhang]") == 1
    code, _, _ = run_cli(capsys, monkeypatch, path, "add", "zhang", "--role", "viewer", "--all-communities",
                         "--password-stdin", password="third-password")
    assert code == 0 and "community" not in tomllib.loads(path.read_text(encoding="utf-8"))["users"]["zhang"]


@pytest.mark.parametrize(("argv", "password", "message"), [
    (["add", "zhang", "--role", "viewer", "--community", "火星社区"], "long-enough", "不在社区名单"),
    (["add", "boss", "--role", "admin", "--community", "桂南社区"], "long-enough", "不能限定社区"),
    (["add", "zhang", "--role", "viewer"], "short", "至少 8 个字符"),
    (["add", "bad name", "--role", "viewer"], "long-enough", "用户名只能"),
    (["add", "x]\n[auth", "--role", "viewer"], "long-enough", "用户名只能"),
])
def test_cli_refuses_bad_input(tmp_path: Path, capsys, monkeypatch, argv, password, message) -> None:
    path = tmp_path / "secrets.toml"
    code, _, err = run_cli(capsys, monkeypatch, path, *argv, "--password-stdin", password=password)
    assert code == 2 and message in err
    assert not path.exists()


def test_cli_role_must_be_known(tmp_path: Path, capsys, monkeypatch) -> None:
    with pytest.raises(SystemExit):
        run_cli(capsys, monkeypatch, tmp_path / "s.toml", "add", "x", "--role", "root", "--password-stdin",
                password="long-enough")


def test_cli_refuses_to_rewrite_users_it_cannot_edit_safely(tmp_path: Path, capsys, monkeypatch) -> None:
    path = tmp_path / "secrets.toml"
    path.write_text('[users]\nzhang = { role = "viewer", password_hash = "x" }\n', encoding="utf-8")
    before = path.read_text(encoding="utf-8")
    code, _, err = run_cli(capsys, monkeypatch, path, "remove", "zhang")
    assert code == 2 and "手工编辑" in err
    assert path.read_text(encoding="utf-8") == before


def test_cli_prompts_twice_with_getpass(tmp_path: Path, capsys, monkeypatch) -> None:
    answers = iter(["prompted-password", "prompted-password"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    path = tmp_path / "secrets.toml"
    code, _, _ = run_cli(capsys, monkeypatch, path, "add", "wang", "--role", "viewer")
    assert code == 0
    stored = tomllib.loads(path.read_text(encoding="utf-8"))["users"]["wang"]["password_hash"]
    assert auth.verify_password("prompted-password", stored)
    answers = iter(["one-password", "another-password"])
    code, _, err = run_cli(capsys, monkeypatch, path, "add", "wang", "--role", "viewer")
    assert code == 2 and "不一致" in err
