"""`users`: local accounts (add, passwd, disable, enable, unit, list) in the users file.

Passwords come from a terminal prompt or, for scripts, one line on standard input
(`--password-stdin`); never from the command line, where they would land in shell history.
Every change is written to the database's audit log (`--db`), with who made it (`--user`, else
WORKTRACK_USER, else cli:<system user>), as the 管理 page does.
"""

from __future__ import annotations

import argparse
import sys

from worktrack.cli import EXIT_OK, EXIT_REJECTED, EXIT_USAGE, UsageError, load_plan_or_exit, print_json

ACTOR_HELP = "操作人，记入审计日志（默认：环境变量 WORKTRACK_USER 或当前系统用户）"


def _store():
    from worktrack.auth import UserStore

    return UserStore()


def _read_password(args: argparse.Namespace) -> str | None:
    """The new password from stdin (one line) or typed twice; None when the two entries differ."""
    if args.password_stdin:
        line = sys.stdin.buffer.readline()
        if not line:
            raise UsageError("--password-stdin：标准输入为空，没有读到密码")
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            raise UsageError("--password-stdin：标准输入中的密码不是 UTF-8 编码") from None
        return text.removeprefix("\ufeff").removesuffix("\n").removesuffix("\r")
    if not sys.stdin.isatty():
        raise UsageError("标准输入不是终端，无法提示输入密码；请加 --password-stdin，从标准输入传入一行密码")
    import getpass

    try:
        first = getpass.getpass("新密码：")
        second = getpass.getpass("再输入一次：")
    except (EOFError, KeyboardInterrupt):
        print(file=sys.stderr)
        raise UsageError("已取消，没有修改任何账号") from None
    if first != second:
        print("两次输入的密码不一致，没有修改任何账号。", file=sys.stderr)
        return None
    return first


def _describe(user) -> str:
    unit = f"，单位：{user.unit}" if user.unit else ""
    return f"{user.username}（{user.display_name}，{user.role_label}{unit}）"


def _rejected(exc: Exception) -> int:
    print(f"未执行：{getattr(exc, 'message', exc)}", file=sys.stderr)
    return EXIT_REJECTED


def _audited(args: argparse.Namespace, action: str, username: str, detail: dict | None = None) -> int:
    """Record an account change in the audit log; the change itself is already made."""
    from worktrack import config
    from worktrack.cli_store import _busy_timeout, _user
    from worktrack.store import Store, StoreError

    try:
        Store(config.db_path(args.db), busy_timeout=_busy_timeout()).record_account_event(
            action, username, actor=_user(args), detail=detail)
    except StoreError as exc:
        print(f"账号已修改，但审计记录没有写入数据库：{exc}", file=sys.stderr)
        return EXIT_REJECTED
    return EXIT_OK


def cmd_users_add(args: argparse.Namespace) -> int:
    from worktrack.auth import AccountError, UserStoreError, check_username, resolve_unit

    if args.role == "community" and not args.unit:
        raise UsageError("社区账号（--role community）必须用 --unit 指定上报单位")
    if args.role != "community" and args.unit:
        raise UsageError("只有社区账号（--role community）需要 --unit")
    plan = load_plan_or_exit(args) if args.role == "community" else None
    store = _store()
    try:
        # Check everything that does not need the password before asking for it.
        name = check_username(args.username)
        unit = resolve_unit(args.role, args.unit, plan)
        if store.get(name) is not None:
            raise AccountError("duplicate-user", f"用户名“{name}”已存在")
        password = _read_password(args)
        if password is None:
            return EXIT_REJECTED
        user = store.add(name, password, args.role, unit, args.name, plan=plan)
    except (AccountError, UserStoreError) as exc:
        return _rejected(exc)
    print(f"已添加账号 {_describe(user)}。账号文件：{store.path}")
    return _audited(args, "account.add", user.username,
                    {"role": user.role, "unit": user.unit, "display_name": user.display_name})


def cmd_users_passwd(args: argparse.Namespace) -> int:
    from worktrack.auth import AccountError, UserStoreError

    store = _store()
    try:
        if store.get(args.username) is None:
            raise AccountError("unknown-user", f"没有用户名为“{args.username}”的账号")
        password = _read_password(args)
        if password is None:
            return EXIT_REJECTED
        user = store.set_password(args.username, password)
    except (AccountError, UserStoreError) as exc:
        return _rejected(exc)
    print(f"已修改 {user.username} 的密码；该账号已登录的会话在下一次操作时退出。")
    return _audited(args, "account.passwd", user.username)


def _set_disabled(args: argparse.Namespace, disabled: bool) -> int:
    from worktrack.auth import AccountError, UserStoreError

    store = _store()
    try:
        before = store.get(args.username)
        user = store.disable(args.username) if disabled else store.enable(args.username)
    except (AccountError, UserStoreError) as exc:
        return _rejected(exc)
    if before is not None and before.disabled == disabled:
        print(f"账号 {user.username} 本来就已{'停用' if disabled else '启用'}，未作修改。")
        return EXIT_OK
    print(f"已{'停用' if disabled else '启用'}账号 {_describe(user)}。")
    return _audited(args, "account.disable" if disabled else "account.enable", user.username)


def cmd_users_disable(args: argparse.Namespace) -> int:
    return _set_disabled(args, True)


def cmd_users_enable(args: argparse.Namespace) -> int:
    return _set_disabled(args, False)


def cmd_users_unit(args: argparse.Namespace) -> int:
    from worktrack.auth import AccountError, UserStoreError

    store = _store()
    try:
        before = store.get(args.username)
        if before is None:
            raise AccountError("unknown-user", f"没有用户名为“{args.username}”的账号")
        user = store.set_unit(args.username, args.unit, plan=load_plan_or_exit(args))
    except (AccountError, UserStoreError) as exc:
        return _rejected(exc)
    if before.unit == user.unit:
        print(f"账号 {user.username} 本来就绑定 {user.unit}，未作修改。")
        return EXIT_OK
    print(f"已把账号 {user.username} 绑定到 {user.unit}（原为 {before.unit or '-'}）。")
    return _audited(args, "account.unit", user.username, {"old": before.unit, "new": user.unit})


def cmd_users_list(args: argparse.Namespace) -> int:
    from worktrack.auth import UserStoreError

    store = _store()
    try:
        users = store.list()
    except UserStoreError as exc:
        return _rejected(exc)
    if args.json:
        print_json({"file": str(store.path), "users": [u.as_dict() for u in users]})
        return EXIT_OK
    if not users:
        print(f"还没有账号（账号文件：{store.path}）。先添加一个管理员："
              "python -m worktrack users add 用户名 --role admin")
        return EXIT_OK
    print(f"账号文件：{store.path}")
    for u in users:
        state = "已停用" if u.disabled else "正常"
        created = u.created_at.strftime("%Y-%m-%d") if u.created_at else "-"
        changed = u.password_changed_at.strftime("%Y-%m-%d") if u.password_changed_at else "-"
        print(f"  {u.username:<20} {u.display_name}  {u.role_label}  {u.unit or '-'}  {state}  "
              f"创建 {created}  改密 {changed}")
    print(f"共 {len(users)} 个账号。")
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    p_users = sub.add_parser("users", help="管理本地账号（账号文件：环境变量 WORKTRACK_USERS 或 data/users.yaml）")
    users_sub = p_users.add_subparsers(dest="users_command", metavar="ACTION", parser_class=type(p_users))

    def usage(_args: argparse.Namespace) -> int:
        p_users.print_help(sys.stderr)
        return EXIT_USAGE

    p_users.set_defaults(func=usage)

    p = users_sub.add_parser("add", help="添加账号")
    p.add_argument("username", metavar="USERNAME", help="用户名：英文字母开头，2–32 位字母、数字、_ . -")
    p.add_argument("--role", required=True, choices=["leader", "community", "admin", "reviewer"],
                   help="角色：leader 街道领导，community 社区（上报单位），admin 管理员，reviewer 审核人员（街道民政办）")
    p.add_argument("--unit", help="社区账号绑定的上报单位（名称、编号或简称，如 黄土岭社区）")
    p.add_argument("--name", help="显示名（默认与用户名相同）")
    p.add_argument("--password-stdin", action="store_true", help="从标准输入读取一行作为密码（供脚本使用）")
    p.add_argument("--user", help=ACTOR_HELP)
    p.set_defaults(func=cmd_users_add)

    p = users_sub.add_parser("passwd", help="修改账号密码")
    p.add_argument("username", metavar="USERNAME")
    p.add_argument("--password-stdin", action="store_true", help="从标准输入读取一行作为密码（供脚本使用）")
    p.add_argument("--user", help=ACTOR_HELP)
    p.set_defaults(func=cmd_users_passwd)

    p = users_sub.add_parser("disable", help="停用账号（不删除；已登录的会话在下一次操作时退出）")
    p.add_argument("username", metavar="USERNAME")
    p.add_argument("--user", help=ACTOR_HELP)
    p.set_defaults(func=cmd_users_disable)

    p = users_sub.add_parser("enable", help="重新启用账号，并清除登录失败计数")
    p.add_argument("username", metavar="USERNAME")
    p.add_argument("--user", help=ACTOR_HELP)
    p.set_defaults(func=cmd_users_enable)

    p = users_sub.add_parser("unit", help="把社区账号绑定到另一个上报单位")
    p.add_argument("username", metavar="USERNAME")
    p.add_argument("--unit", required=True, help="上报单位（名称、编号或简称，如 黄土岭社区）")
    p.add_argument("--user", help=ACTOR_HELP)
    p.set_defaults(func=cmd_users_unit)

    p = users_sub.add_parser("list", help="列出账号（不含密码哈希）")
    p.add_argument("--json", action="store_true", help="输出 JSON")
    p.set_defaults(func=cmd_users_list)
