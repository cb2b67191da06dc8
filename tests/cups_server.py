"""A real CUPS scheduler for the tests: Debian's cupsd with its own configuration in a temporary folder.

It listens only on a Unix socket in that folder (clients find it through CUPS_SERVER), keeps
its spool, logs and state there, and never touches the machine's own CUPS. Queues use the
cups-pdf virtual printer (printer-driver-cups-pdf), which writes each job as a PDF. cups-pdf
reads its settings only from /etc/cups (cups-pdf-NAME.conf for a device URI cups-pdf:/NAME),
so the server writes one such file named after its folder, pointing the PDFs into the
folder, and removes it when it stops. That needs root, as cups-pdf itself does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

CUPSD = Path("/usr/sbin/cupsd")
CUPS_PDF_BACKEND = Path("/usr/lib/cups/backend/cups-pdf")
CUPS_PDF_PPD = Path("/usr/share/ppd/cups-pdf/CUPS-PDF_noopt.ppd")
CUPS_PDF_CONF_DIR = Path("/etc/cups")

CUPSD_CONF = """\
Listen {root}/cups.sock
LogLevel info
PageLogFormat %p %j %{{copies}} %{{sides}} %{{media}} %{{job-name}}
WebInterface No
Browsing No
DefaultAuthType None
MaxJobs 0
PreserveJobHistory Yes
<Location />
  Order allow,deny
  Allow all
</Location>
<Policy default>
  <Limit All>
    Order deny,allow
  </Limit>
</Policy>
"""

CUPS_FILES_CONF = """\
ServerRoot {root}
RequestRoot {root}/spool
TempDir {root}/spool/tmp
CacheDir {root}/cache
StateDir {root}/state
ErrorLog {root}/log/error_log
AccessLog {root}/log/access_log
PageLog {root}/log/page_log
User lp
Group lp
SystemGroup root
"""

CUPS_PDF_CONF = """\
Out {root}/pdf
AnonDirName {root}/pdf
Log {root}/log
Label 1
Grp lp
"""


def missing() -> str | None:
    """Why a test CUPS cannot start here, or None."""
    for path, package in ((CUPSD, "cups"), (CUPS_PDF_BACKEND, "printer-driver-cups-pdf")):
        if not path.exists():
            return f"{path} is missing: run ./dev test, which installs Debian's {package} package"
    if shutil.which("lpadmin") is None:
        return "lpadmin is missing: run ./dev test, which installs Debian's cups-client package"
    if os.geteuid() != 0:
        return "the CUPS tests run cupsd and cups-pdf, which need root (as in CI)"
    return None


@dataclass
class CupsServer:
    root: Path
    process: subprocess.Popen[bytes] | None = None
    queues: list[str] = field(default_factory=list)

    @property
    def socket(self) -> Path:
        return self.root / "cups.sock"

    @property
    def pdf_dir(self) -> Path:
        return self.root / "pdf"

    @property
    def conf_name(self) -> str:
        return self.root.name

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "CUPS_SERVER": str(self.socket), "LC_ALL": "C"}

    def start(self) -> CupsServer:
        self.root.chmod(0o755)  # cupsd's filters run as lp and read the spool
        for sub in ("spool/tmp", "cache", "state", "log", "pdf"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        (self.root / "cupsd.conf").write_text(CUPSD_CONF.format(root=self.root))
        (self.root / "cups-files.conf").write_text(CUPS_FILES_CONF.format(root=self.root))
        self._cups_pdf_conf().write_text(CUPS_PDF_CONF.format(root=self.root))
        self.process = subprocess.Popen(
            [str(CUPSD), "-f", "-c", str(self.root / "cupsd.conf"), "-s", str(self.root / "cups-files.conf")],
            stdout=subprocess.DEVNULL,
            stderr=(self.root / "log" / "cupsd.out").open("wb"),
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            status = self.run("lpstat", "-r", check=False)
            if "scheduler is running" in status.stdout:
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        log = (self.root / "log" / "cupsd.out").read_text(errors="replace")
        self.stop()
        raise RuntimeError(f"cupsd did not start: {log}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._cups_pdf_conf().unlink(missing_ok=True)

    def close(self) -> None:
        """Stop the scheduler and remove its folder (spool, logs, PDFs)."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def _cups_pdf_conf(self) -> Path:
        return CUPS_PDF_CONF_DIR / f"cups-pdf-{self.conf_name}.conf"

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(list(args), capture_output=True, text=True, env=self.env, timeout=30)
        if check and result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)}: {result.stderr.strip()}")
        return result

    def add_pdf_queue(self, name: str, default: bool = False) -> None:
        """A cups-pdf queue; its PDFs land in pdf_dir as job_N-TITLE.pdf."""
        self.run("lpadmin", "-p", name, "-E", "-v", f"cups-pdf:/{self.conf_name}", "-P", str(CUPS_PDF_PPD))
        # poppler's pdftops (the default) re-encodes fonts so the PDF cups-pdf writes has no
        # readable text; pdftocairo keeps it, so the tests can check what arrived by its words.
        self.run("lpadmin", "-p", name, "-o", "pdftops-renderer-default=pdftocairo")
        if default:
            self.run("lpadmin", "-d", name)
        self.queues.append(name)

    def disable(self, name: str, reason: str) -> None:
        """Stop the queue with reason, once its jobs are done (a finishing job clears the reason)."""
        deadline = time.monotonic() + 60
        while self.run("lpstat", "-o", name, check=False).stdout.strip() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.2)  # the backend's last status message comes just after the job completes
        self.run("cupsdisable", "-r", reason, name)

    def enable(self, name: str) -> None:
        self.run("cupsenable", name)

    def reject(self, name: str, reason: str) -> None:
        self.run("cupsreject", "-r", reason, name)

    def arrived(self, job_id: str, timeout: float = 60) -> Path:
        """Wait for job_id (e.g. 'pdf-3') to complete; return the PDF cups-pdf wrote for it."""
        number = job_id.rsplit("-", 1)[1]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = self.run("lpstat", "-W", "completed", "-o", check=False).stdout.split()
            found = sorted(self.pdf_dir.glob(f"job_{number}-*"))
            if job_id in done and found:
                return found[0]
            time.sleep(0.1)
        raise AssertionError(f"job {job_id} did not arrive in {timeout:g} s: {self.error_log()[-2000:]}")

    def page_log(self) -> dict[str, dict[str, str]]:
        """What CUPS logged of each job by its id: copies, sides, media and title (job-name)."""
        page_log = self.root / "log" / "page_log"
        text = page_log.read_text(errors="replace") if page_log.exists() else ""
        jobs = {}
        for line in text.splitlines():
            printer, number, copies, sides, media, title = line.split(" ", 5)
            jobs[f"{printer}-{number}"] = {"copies": copies, "sides": sides, "media": media, "title": title}
        return jobs

    def error_log(self) -> str:
        return (self.root / "log" / "error_log").read_text(errors="replace")


def start_cups() -> CupsServer:
    # Short and in /tmp: a Unix socket's path is limited to about 100 bytes.
    return CupsServer(Path(tempfile.mkdtemp(prefix="hcups-", dir="/tmp"))).start()
