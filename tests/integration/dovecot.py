"""A real Dovecot IMAP server for tests, started on a free loopback port.

Everything (config, passwd-file, maildirs, logs, sockets) lives in one temp dir
that this helper creates and removes. As root, Dovecot refuses to run mail
processes as root and chroots its login process, so the config names the
`dovecot`/`dovenull` system users, `first_valid_uid = 1` and an empty chroot;
as a normal user all of those become that user.

Seeding goes straight into the Maildir on disk (`deliver`, `deliver_many`):
Dovecot picks new files up on the next SELECT/NOOP/IDLE, and it is ~100x faster
than APPEND for the 1,000-message and 25 MB tests.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from adapters.email.imap import encode_mailbox

DOVECOT = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)
DOVEADM = shutil.which("doveadm") or ("/usr/bin/doveadm" if Path("/usr/bin/doveadm").exists() else None)

USER = "support"
PASSWORD = "hunter2-jelszó"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(
    base: Path, port: int, mail_user: str, login_user: str, internal_user: str,
    tls: tuple[Path, Path] | None, ssl_port: int,
) -> str:
    ssl = f"ssl = yes\nssl_cert = <{tls[0]}\nssl_key = <{tls[1]}" if tls else "ssl = no"
    return f"""\
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
info_log_path = {base}/dovecot.log
protocols = imap
listen = 127.0.0.1
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = {login_user}
default_internal_user = {internal_user}
first_valid_uid = 1
mail_location = maildir:{base}/mail/%u/Maildir:LAYOUT=fs
mail_fsync = never
auth_failure_delay = 0
mailbox_list_index = yes
imap_idle_notify_interval = 1 secs
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {base}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_user} home={base}/mail/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \\Sent
    auto = create
  }}
  mailbox Archive {{
    auto = create
  }}
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {ssl_port}
  }}
}}
service imap {{
  process_limit = 64
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


class Dovecot:
    """One Dovecot instance; `start()`, `stop()`, `restart()`, plus seeding helpers."""

    def __init__(self, port: int | None = None, *, tls: tuple[Path, Path] | None = None) -> None:
        """`tls`: (cert, key) PEM files to offer STARTTLS on `port` and implicit TLS on `ssl_port`."""
        if DOVECOT is None:
            raise RuntimeError("dovecot binary not found (apt-get install dovecot-imapd)")
        self.base = Path(tempfile.mkdtemp(prefix="omnidesk-dovecot-"))
        os.chmod(self.base, 0o755)  # mail processes run as `dovecot`, they must reach the maildirs
        self.port = port or free_port()
        self.ssl_port = free_port() if tls else 0
        self.user = USER
        self.password = PASSWORD
        self._proc: subprocess.Popen[bytes] | None = None
        self._seq = 0
        if os.geteuid() == 0:
            mail_user, login_user, internal_user = "dovecot", "dovenull", "dovecot"
        else:
            mail_user = login_user = internal_user = pwd.getpwuid(os.geteuid()).pw_name
        pw = pwd.getpwnam(mail_user)
        self.uid, self.gid = pw.pw_uid, pw.pw_gid
        self.config = self.base / "dovecot.conf"
        self.config.write_text(
            _config(self.base, self.port, mail_user, login_user, internal_user, tls, self.ssl_port))
        (self.base / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        for d in ("run", "state", "mail"):
            (self.base / d).mkdir()
        self._chown(self.base / "mail")

    # ------------------------------------------------------------ lifecycle

    def start(self, timeout: float = 10.0) -> Dovecot:
        self._proc = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + timeout
        while True:
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
                raise RuntimeError(f"dovecot exited with {self._proc.returncode}: {err}\n{self.log()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2) as s:
                if s.recv(100).startswith(b"* OK"):
                    return self
            if time.monotonic() > deadline:
                raise RuntimeError(f"dovecot did not answer on port {self.port}\n{self.log()}")
            time.sleep(0.02)

    def stop(self, *, graceful: bool = True) -> None:
        """SIGTERM (Dovecot's own shutdown, ~1 s) or SIGKILL; then kill what the master left.

        Run in the foreground, Dovecot 2.3's master exits without taking every child
        (imap sessions, log, stats) with it, so survivors are killed by pid.
        """
        if self._proc is None:
            return
        children = self._children()
        if graceful:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        else:
            self._proc.kill()
            self._proc.wait()
        for pid, _ in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self._proc = None
        # The master's children go with it; wait until the port is free again.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.1):
                    pass
            except OSError:
                return
            time.sleep(0.02)

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop(graceful=False)
        shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> Dovecot:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc: object) -> None:
        self.close()

    def log(self) -> str:
        p = self.base / "dovecot.log"
        return p.read_text(errors="replace")[-4000:] if p.exists() else ""

    # ------------------------------------------------------------ sessions

    def _children(self) -> list[tuple[int, bytes]]:
        """(pid, cmdline) of the master's child processes."""
        if self._proc is None:
            return []
        master = self._proc.pid
        out = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                out.append((int(entry.name), cmdline))
        return out

    def imap_pids(self) -> list[int]:
        """Pids of the `imap` processes serving logged-in clients."""
        return [pid for pid, cmd in self._children()
                if cmd.startswith(b"dovecot/imap") and b"imap-login" not in cmd]

    def kill_sessions(self) -> int:
        """SIGKILL every IMAP session process: clients see the connection drop mid-command."""
        pids = self.imap_pids()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return len(pids)

    def doveadm(self, *args: str) -> str:
        if DOVEADM is None:
            raise RuntimeError("doveadm not found")
        res = subprocess.run([DOVEADM, "-c", str(self.config), *args], capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"doveadm {' '.join(args)} failed: {res.stderr}")
        return res.stdout

    def set_uidvalidity(self, folder: str, value: int) -> None:
        """Change a folder's UIDVALIDITY (what a server rebuild or migration does)."""
        self.doveadm("mailbox", "update", "-u", self.user, "--uid-validity", str(value), folder)

    def uidvalidity(self, folder: str = "INBOX") -> int:
        out = self.doveadm("-f", "flow", "mailbox", "status", "-u", self.user, "uidvalidity", folder)
        return int(out.split("=", 1)[1])

    # ------------------------------------------------------------ seeding

    def _chown(self, path: Path) -> None:
        if os.geteuid() == 0:
            os.chown(path, self.uid, self.gid)

    def maildir(self, folder: str = "INBOX") -> Path:
        root = self.base / "mail" / self.user / "Maildir"
        # Dovecot keeps folder names on disk in modified UTF-7, as on the wire.
        path = root if folder == "INBOX" else root / encode_mailbox(folder)[1:-1]
        for p in (self.base / "mail" / self.user, root, path):
            if not p.exists():
                p.mkdir()
                self._chown(p)
        for sub in ("cur", "new", "tmp"):
            d = path / sub
            if not d.exists():
                d.mkdir()
                self._chown(d)
        return path

    def deliver(self, raw: bytes, folder: str = "INBOX", flags: str = "") -> Path:
        """Drop one message into the folder's Maildir (tmp/ then rename, as an MDA does)."""
        return self.deliver_many([raw], folder, flags)[0]

    def deliver_many(self, raws: list[bytes], folder: str = "INBOX", flags: str = "") -> list[Path]:
        md = self.maildir(folder)
        paths = []
        now = int(time.time())
        for raw in raws:
            self._seq += 1
            name = f"{now}.M{self._seq}P{os.getpid()}.omnidesk-test"
            tmp = md / "tmp" / name
            tmp.write_bytes(raw)
            self._chown(tmp)
            # Flags (e.g. "S" = \Seen, set by "another client") need cur/ and the :2, suffix.
            dest = md / "cur" / f"{name}:2,{flags}" if flags else md / "new" / name
            os.rename(tmp, dest)
            paths.append(dest)
        return paths

    def message_files(self, folder: str = "INBOX") -> list[Path]:
        md = self.maildir(folder)
        return sorted([*(md / "new").iterdir(), *(md / "cur").iterdir()])
