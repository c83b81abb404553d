"""The sandbox (moto with the fidelity extensions) in a process of its own, on 127.0.0.1 only."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.config import Config

# The role the sandbox lets anyone assume in any account, to hand out that account's credentials.
from healthaudit_sandbox.server import SANDBOX_ROLE_NAME

REGION = "eu-west-1"
READY_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str
    token: str

    def env(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_SESSION_TOKEN": self.token,
        }

    def session(self, region: str = REGION) -> boto3.Session:
        return boto3.Session(
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            aws_session_token=self.token,
            region_name=region,
        )


class SandboxProcess:
    """`healthaudit sandbox --port P` as a child process; stopped (by its own pid) on exit."""

    def __init__(self, log_path: Path) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._log_path = log_path
        self._process: subprocess.Popen | None = None

    def __enter__(self) -> SandboxProcess:
        log = self._log_path.open("wb")
        command = [sys.executable, "-m", "healthaudit.cli", "sandbox", "--port", str(self.port)]
        self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        self._wait_until_ready()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=15)

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def cpu_seconds(self) -> float:
        """User + system CPU the sandbox has used so far (from /proc; 0.0 where there is no /proc)."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (fields 14 and 15 of stat)

    def rss_mb(self) -> float:
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0

    def _wait_until_ready(self) -> None:
        """Bounded poll: the port accepts connections and STS answers, or fail after READY_TIMEOUT_S."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        sts = boto3.client(
            "sts",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="sandbox",
            aws_secret_access_key="sandbox",
            config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=5),
        )
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"sandbox exited with {self._process.returncode}; see {self._log_path}")
            try:
                sts.get_caller_identity()
                return
            except Exception:  # not up yet, whatever the reason
                time.sleep(0.2)
        raise RuntimeError(f"sandbox not ready after {READY_TIMEOUT_S:.0f} s; see {self._log_path}")

    def credentials_for(self, account: str) -> Credentials:
        """Temporary credentials that act in `account` (as Sandbox.session_for_account gets them)."""
        sts = boto3.client(
            "sts",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="sandbox",
            aws_secret_access_key="sandbox",
        )
        issued = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{SANDBOX_ROLE_NAME}", RoleSessionName="bench")[
            "Credentials"
        ]
        credentials = Credentials(issued["AccessKeyId"], issued["SecretAccessKey"], issued["SessionToken"])
        acting_as = credentials.session().client("sts", endpoint_url=self.endpoint).get_caller_identity()["Account"]
        if acting_as != account:
            raise RuntimeError(f"sandbox credentials act in {acting_as}, expected {account}")
        return credentials
