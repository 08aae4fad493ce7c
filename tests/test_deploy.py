"""deploy/: the systemd units parse, the nginx site passes `nginx -t`, the backup rotation keeps the newest N.

The nginx check needs the nginx binary (scripts/setup.sh --with-browser installs nginx-light); it
skips only outside CI, and fails in CI when nginx is missing.
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import PLAN_PATH, ROOT
from tests.test_store import csv_bytes

DEPLOY = ROOT / "deploy"
UNITS = ["worktrack.service", "worktrack-backup.service", "worktrack-backup.timer"]


def unit(name: str) -> configparser.ConfigParser:
    """A systemd unit read as INI (keys are case-sensitive; repeated keys keep the last)."""
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string((DEPLOY / name).read_text(encoding="utf-8"))
    return parser


@pytest.mark.parametrize("name", UNITS)
def test_unit_files_parse_with_the_sections_systemd_needs(name):
    parsed = unit(name)
    assert "Unit" in parsed and parsed["Unit"]["Description"]
    if name.endswith(".service"):
        service = parsed["Service"]
        assert service["ExecStart"].startswith("/opt/worktrack/")
        assert service["User"] == "worktrack" and service["UMask"] == "0077"
    else:
        assert parsed["Timer"]["OnCalendar"] and parsed["Timer"]["Persistent"] == "true"
        assert "Install" in parsed


def test_the_units_start_what_the_project_ships():
    dashboard = unit("worktrack.service")["Service"]["ExecStart"].split()
    assert dashboard[dashboard.index("run") + 1] == "dashboard.py" and (ROOT / "dashboard.py").is_file()
    assert dashboard[dashboard.index("--server.address") + 1] == "127.0.0.1"
    port = dashboard[dashboard.index("--server.port") + 1]
    assert f"server 127.0.0.1:{port};" in (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    backup = unit("worktrack-backup.service")["Service"]["ExecStart"]
    script = ROOT / Path(backup).relative_to("/opt/worktrack")
    assert script == DEPLOY / "backup-rotate.sh" and os.access(script, os.X_OK)


def units_for_this_machine(tmp_path: Path) -> list[Path]:
    """The units with /opt/worktrack pointing at this checkout and an empty environment file."""
    (tmp_path / "worktrack.env").write_text("")
    out = []
    for name in UNITS:
        text = (DEPLOY / name).read_text(encoding="utf-8").replace("/opt/worktrack", str(ROOT))
        text = text.replace("/etc/worktrack/worktrack.env", str(tmp_path / "worktrack.env"))
        (tmp_path / name).write_text(text, encoding="utf-8")
        out.append(tmp_path / name)
    return out


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verify_accepts_the_units(tmp_path):
    files = units_for_this_machine(tmp_path)
    done = subprocess.run(["systemd-analyze", "verify", *map(str, files)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    about_ours = [line for line in (done.stdout + done.stderr).splitlines()
                  if any(f.name in line for f in files)]
    assert done.returncode == 0 and about_ours == [], done.stdout + done.stderr


def nginx_binary() -> str:
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("nginx is missing in CI: scripts/setup.sh --with-browser installs nginx-light")
        pytest.skip("nginx is not installed (bash scripts/setup.sh --with-browser installs nginx-light)")
    return found


def test_nginx_accepts_the_site_config(tmp_path):
    nginx = nginx_binary()
    made = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                           "-subj", "/CN=worktrack.test", "-keyout", str(tmp_path / "privkey.pem"),
                           "-out", str(tmp_path / "fullchain.pem")], capture_output=True, timeout=120)
    assert made.returncode == 0, made.stderr
    site = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    site = site.replace("/etc/ssl/worktrack/", f"{tmp_path}/").replace("/var/log/nginx/", f"{tmp_path}/")
    (tmp_path / "site.conf").write_text(site, encoding="utf-8")
    (tmp_path / "main.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n  access_log {tmp_path}/access.log;\n  include {tmp_path}/site.conf;\n}}\n", encoding="utf-8")
    done = subprocess.run([nginx, "-t", "-c", str(tmp_path / "main.conf"), "-p", f"{tmp_path}/"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "test is successful" in done.stderr


def test_the_upstream_keeps_each_browser_on_one_app_server():
    """Several app servers: Streamlit's session lives in one process, so the upstream must be sticky."""
    site = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    upstream = site[site.index("upstream worktrack_app {"):]
    upstream = [line.strip() for line in upstream[:upstream.index("}")].splitlines()]
    assert "ip_hash;" in upstream
    assert upstream.index("ip_hash;") < upstream.index("keepalive 16;")  # nginx wants the method first


def test_nginx_passes_the_websocket_and_allows_streamlits_upload_size():
    site = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    stream = site[site.index("location /_stcore/stream"):]
    stream = stream[:stream.index("}")]
    assert "proxy_set_header Upgrade $http_upgrade;" in stream
    assert "proxy_set_header Connection $connection_upgrade;" in stream and "proxy_http_version 1.1;" in stream
    streamlit = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    limit_mb = streamlit.get("server", {}).get("maxUploadSize", 200)
    body = re.search(r"client_max_body_size (\d+)m;", site)
    assert body and int(body.group(1)) > limit_mb
    assert "listen 443 ssl" in site and "ssl_certificate " in site


# ---------------------------------------------------------------------------
# backup-rotate.sh


@pytest.fixture
def live_db(tmp_path, plan) -> Path:
    """A database with one upload, written through the command line."""
    db = tmp_path / "live.duckdb"
    report = tmp_path / "may.csv"
    report.write_bytes(csv_bytes(plan, "天剑社区", "2023-05"))
    env = {**os.environ, "WORKTRACK_PLAN": str(PLAN_PATH), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "worktrack", "--db", str(db), "ingest", str(report)],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    return db


def rotate(db: Path, root: Path, keep: str, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "WORKTRACK_DB": str(db), "WORKTRACK_PLAN": str(PLAN_PATH),
                   "WORKTRACK_PYTHON": sys.executable, "PYTHONPATH": str(ROOT), **env}
    return subprocess.run(["bash", str(DEPLOY / "backup-rotate.sh"), str(root), keep], capture_output=True,
                          text=True, env=environment, timeout=120)


def test_backup_rotation_keeps_the_newest_n(live_db, tmp_path):
    root = tmp_path / "backups"
    root.mkdir()
    (root / "notes").mkdir()  # not a backup: never touched
    (root / "worktrack-00000000T000000.0Z").mkdir()  # unfinished (no manifest): not counted, not removed
    made = []
    for _ in range(4):
        done = rotate(live_db, root, "2")
        assert done.returncode == 0, done.stderr
        made.append(re.search(r"wrote (\S+)", done.stdout).group(1))
    assert sorted(made) == made  # names sort in time order
    left = sorted(p.name for p in root.iterdir())
    assert left == sorted(["notes", "worktrack-00000000T000000.0Z", *(Path(m).name for m in made[-2:])])
    assert (root.stat().st_mode & 0o777) == 0o700
    from worktrack.store import verify_backup

    assert verify_backup(made[-1])["tables"]["uploads"]["rows"] == 1


def test_backup_rotation_signs_with_the_configured_key_and_keeps_backups_on_failure(live_db, tmp_path):
    key = tmp_path / "backup.key"
    key.write_text("0123456789abcdef0123456789abcdef")
    key.chmod(0o600)
    root = tmp_path / "backups"
    done = rotate(live_db, root, "3", WORKTRACK_BACKUP_SIGN_KEY=str(key))
    assert done.returncode == 0, done.stderr
    first = re.search(r"wrote (\S+)", done.stdout).group(1)
    assert (Path(first) / "manifest.json.sig").is_file()
    failed = rotate(tmp_path / "missing" / "nothing-here.duckdb", root, "1",
                    WORKTRACK_BACKUP_SIGN_KEY=str(tmp_path / "no-such-key"))
    assert failed.returncode == 1 and "failed" in failed.stderr
    assert Path(first).is_dir()  # a failed run removes nothing
    assert rotate(live_db, root, "zero").returncode == 2


def test_readme_documents_every_deploy_file():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## 上线部署"):]
    for path in sorted(DEPLOY.iterdir()):
        assert f"deploy/{path.name}" in section, path.name
