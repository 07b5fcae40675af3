"""The generated classic-BPF seccomp program (structure; behaviour is in the containment suite)."""

from __future__ import annotations

import json
import struct
import subprocess
import sys

import pytest

from atoll.runtime import seccomp


def decode(program: bytes) -> list[tuple[int, int, int, int]]:
    return [struct.unpack("=HBBI", program[i : i + 8]) for i in range(0, len(program), 8)]


def test_program_checks_the_architecture_first() -> None:
    insns = decode(seccomp.build_filter())
    assert insns[0] == (seccomp.BPF_LD_W_ABS, 0, 0, seccomp.OFFSET_ARCH)
    assert insns[1] == (seccomp.BPF_JEQ_K, 1, 0, seccomp.AUDIT_ARCH_X86_64)
    assert insns[2] == (seccomp.BPF_RET_K, 0, 0, seccomp.SECCOMP_RET_KILL_PROCESS)


def test_every_denied_syscall_returns_eperm_and_the_default_is_allow() -> None:
    insns = decode(seccomp.build_filter())
    checked = {k for code, _, _, k in insns if code == seccomp.BPF_JEQ_K}
    for name in ("ptrace", "mount", "umount2", "unshare", "setns", "keyctl", "bpf",
                 "perf_event_open", "kexec_load", "kexec_file_load", "reboot", "init_module",
                 "finit_module", "delete_module"):  # fmt: skip
        assert seccomp.DENIED[name] in checked, name
    assert insns[-1] == (seccomp.BPF_RET_K, 0, 0, seccomp.SECCOMP_RET_ALLOW)
    eperm = seccomp.SECCOMP_RET_ERRNO | 1
    rets = [k for code, _, _, k in insns if code == seccomp.BPF_RET_K]
    assert rets.count(eperm) == len(seccomp.DENIED) + 2  # + x32 numbers + namespace clone


def test_jumps_stay_inside_the_program() -> None:
    insns = decode(seccomp.build_filter())
    for index, (code, jt, jf, _k) in enumerate(insns):
        if code in (seccomp.BPF_JEQ_K, seccomp.BPF_JGE_K, seccomp.BPF_JSET_K):
            assert index + 1 + max(jt, jf) < len(insns)
    assert len(insns) < 4096  # BPF_MAXINSNS


# Installs the filter read from stdin on itself (as bwrap does), then reports what the kernel
# answers for each socket family: the program is judged by a real kernel, not by decoding it.
_UNDER_FILTER = r"""
import ctypes, errno, json, socket, sys

program = sys.stdin.buffer.read()
libc = ctypes.CDLL(None, use_errno=True)

class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

buffer = ctypes.create_string_buffer(program, len(program))
fprog = SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
ulong = ctypes.c_ulong
assert libc.prctl(38, ulong(1), ulong(0), ulong(0), ulong(0)) == 0  # PR_SET_NO_NEW_PRIVS
assert libc.prctl(22, ulong(2), ctypes.byref(fprog), ulong(0), ulong(0)) == 0  # SECCOMP filter

def outcome(call):
    try:
        call()
        return "ok"
    except OSError as exc:
        return errno.errorcode[exc.errno]

def raw_socket(family, kind):
    fd = libc.syscall(41, family, kind, 0)  # below Python's socket module
    return "ok" if fd >= 0 else errno.errorcode[ctypes.get_errno()]

S = socket
print(json.dumps({
    "unix": outcome(lambda: S.socket(S.AF_UNIX, S.SOCK_STREAM).close()),
    "inet": outcome(lambda: S.socket(S.AF_INET, S.SOCK_DGRAM).close()),
    "inet6": outcome(lambda: S.socket(S.AF_INET6, S.SOCK_STREAM).close()),
    "unix_pair": outcome(lambda: [s.close() for s in S.socketpair(S.AF_UNIX)]),
    "vsock": outcome(lambda: S.socket(40, S.SOCK_STREAM)),
    "netlink": outcome(lambda: S.socket(S.AF_NETLINK, S.SOCK_RAW, 0)),
    "packet": outcome(lambda: S.socket(S.AF_PACKET, S.SOCK_RAW, 0)),
    "alg": outcome(lambda: S.socket(38, S.SOCK_SEQPACKET, 0)),
    "vsock_raw": raw_socket(40, S.SOCK_STREAM),
    "netlink_raw": raw_socket(16, S.SOCK_RAW),
    # The family is an int: high bits of the register must not smuggle a family past.
    "vsock_high_bits": raw_socket((1 << 32) | 40, S.SOCK_STREAM),
    "vsock_pair": outcome(lambda: S.socketpair(40, S.SOCK_STREAM)),
    "netlink_pair": outcome(lambda: S.socketpair(S.AF_NETLINK, S.SOCK_RAW)),
}))
"""


@pytest.mark.skipif(not seccomp.supported(), reason="the filter is for x86_64")
def test_only_unix_and_ip_socket_families_can_be_opened() -> None:
    done = subprocess.run(
        [sys.executable, "-I", "-c", _UNDER_FILTER],
        input=seccomp.build_filter(),
        capture_output=True,
        check=True,
        timeout=60,
    )
    seen = json.loads(done.stdout)
    allowed = {"unix", "inet", "inet6", "unix_pair"}
    assert {k: v for k, v in seen.items() if k in allowed} == dict.fromkeys(allowed, "ok")
    # Refused with an errno (never a kill): programs probing for a family carry on.
    assert {k: v for k, v in seen.items() if k not in allowed} == {
        k: "EAFNOSUPPORT" for k in seen if k not in allowed
    }
